import time

from django.core.management.base import BaseCommand

from subscriptions.books import books_compact, shares_fold_all


class Command(BaseCommand):
    help = (
        "Count the pending customers' shares of the partners' books again and fold "
        "each book's month deltas (subscriptions/books.py); what the beat's "
        "fold-book-shares does, until nothing is pending."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        folded = shares_fold_all()
        compacted = books_compact()
        self.stdout.write(
            self.style.SUCCESS(
                f"{folded} customers counted again, {compacted} books compacted "
                f"in {time.monotonic() - started:.1f}s"
            )
        )
