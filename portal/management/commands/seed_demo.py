import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.db import analyze
from partners.models import PendingShare
from portal.demo import (
    DEMO_PASSWORD,
    seed_demo,
    seed_scale_customers,
    seed_scale_subscriptions,
    seed_statistics,
)
from subscriptions.books import shares_fold_all
from subscriptions.models import Book, BookDayDelta, BookShare


class Command(BaseCommand):
    help = "Load the demo data (idempotent). --customers N adds N customers for scale work."

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers",
            type=int,
            default=0,
            help="How many scale customers the demo partner has (each with 10 subscriptions).",
        )
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args, customers: int, quiet_logins: bool, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError(
                "seed_demo refuses to run here: these are production settings "
                "(DEMO_DATA_ALLOWED is off), and the demo data includes a superuser with a "
                "public password. Set up a real install with `manage.py setup_platform` "
                "(docs/operations.md); for a demo stack, `docker compose --profile demo up`."
            )
        logins = seed_demo()
        if customers:
            started = time.monotonic()
            created = seed_scale_customers(count=customers)
            self.stdout.write(
                f"Scale customers: {created} created in {time.monotonic() - started:.1f}s "
                f"({customers} in all)."
            )
            started = time.monotonic()
            subscriptions = seed_scale_subscriptions()
            self.stdout.write(
                f"Scale subscriptions: {subscriptions} created in "
                f"{time.monotonic() - started:.1f}s."
            )
        analyzed = seed_statistics()  # the fold's statements are planned on them
        started = time.monotonic()
        folded = shares_fold_all(limit=5000)
        self.stdout.write(
            f"Books: {folded} customers counted in {time.monotonic() - started:.1f}s."
        )
        if folded:  # the books' own tables, written by the fold
            analyze([Book, BookShare, BookDayDelta, PendingShare])
        if analyzed:
            self.stdout.write(f"Statistics refreshed (ANALYZE): {len(analyzed)} tables.")
        if quiet_logins:
            return
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for login in logins:
            self.stdout.write(f"  {login.email:<34} {login.organization} — {login.role}")
