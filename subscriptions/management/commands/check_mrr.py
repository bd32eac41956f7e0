from django.core.management.base import BaseCommand, CommandError

from subscriptions.mrr import MONTHS_MAX
from subscriptions.mrr_check import check_mrr, retire_differing


class Command(BaseCommand):
    help = (
        "Check every partner's MRR figures as they are served against the subscription "
        "ledger, to the cent (subscriptions/mrr_check.py). Exits 1 on a difference."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months",
            type=int,
            default=12,
            choices=range(1, MONTHS_MAX + 1),
            metavar=f"1..{MONTHS_MAX}",
            help="How many months back to check (the dashboard's 12 by default).",
        )
        parser.add_argument(
            "--retire",
            action="store_true",
            help="Retire the cached figures of the partners found wrong, then check again.",
        )

    def handle(self, *args, months: int, retire: bool, **options):
        result = check_mrr(months=months)
        if retire and result.differences:
            self.stdout.write(self._report(result))
            retired = retire_differing(result)
            self.stdout.write(f"retired the cached figures of {retired} partners; checking again")
            result = check_mrr(months=months)
        summary = self._report(result)
        if result.differences:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))

    def _report(self, result) -> str:
        """Prints what is skipped and each difference; returns the summary line."""
        for reason in result.skipped:
            self.stdout.write(f"skipped {reason}")
        for difference in result.differences:
            self.stdout.write(str(difference))
        return (
            f"{result.books} books, {result.figures} figures, {len(result.differences)} differences"
        )
