"""How the customer list scales: the page and the API at 100 and at 10,000 customers.

Not a test: it prints figures. See bench/README.md.

    .venv/bin/python bench/customers.py                      # SQLite, a temp file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
        .venv/bin/python bench/customers.py                  # PostgreSQL, database portal_bench

On PostgreSQL the database `<name>_bench` is dropped and created afresh (and
dropped at the end unless --keep); on SQLite a temp file is used. The demo is
seeded with `seed_demo --customers 100`, each list is requested --runs times
(after --warmup requests) signed in as partner.owner@demo.test, then the book is
topped up to --customers (10,000) and measured again.
"""

import argparse
import io
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

from benchdb import bench_database

ROOT = Path(__file__).resolve().parent.parent
SMALL = 100
PARTNER_SLUG = "alpine-it"
OWNER_EMAIL = "partner.owner@demo.test"
TIME_RATIO_GOAL = 1.5
QUERY_GOAL = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="The large book size.")
    parser.add_argument("--runs", type=int, default=15, help="Measured requests per figure.")
    parser.add_argument("--warmup", type=int, default=3, help="Unmeasured requests first.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


# --- the database --------------------------------------------------------------------------


def database_label(connection) -> str:
    if connection.vendor == "postgresql":
        version = connection.pg_version
        return (
            f"PostgreSQL {version // 10000}.{version % 10000} ({connection.settings_dict['NAME']})"
        )
    return f"SQLite {connection.Database.sqlite_version} ({connection.settings_dict['NAME']})"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.dev"
    os.environ["DEBUG"] = "False"
    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings(
        "ignore", "No directory at", UserWarning
    )  # whitenoise, no collectstatic
    import django
    from django.conf import settings

    django.setup()
    assert settings.DEBUG is False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # No collectstatic for a bench: static URLs without the manifest's hashes.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# --- measuring -------------------------------------------------------------------------------


def measure(client, url: str, runs: int, warmup: int, **headers) -> tuple[float, int]:
    """The median server time of `runs` requests (ms) and the queries of one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        assert client.get(url, **headers).status_code == 200, url
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, **headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        client.get(url, **headers)
    return statistics.median(timings), len(captured)


def analyze() -> None:
    """Fresh planner statistics (and on PostgreSQL the visibility map), as
    autovacuum would leave them in production, so that it does not run in the
    middle of the measurements either."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def measure_all(args) -> dict[str, tuple[float, int]]:
    from django.test import Client

    from tenants.models import Tenant, User

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    client = Client()
    client.force_login(User.objects.get(email=OWNER_EMAIL))
    page = measure(client, f"/t/{PARTNER_SLUG}/customers/", args.runs, args.warmup)
    api = measure(
        client, "/api/v1/customers/", args.runs, args.warmup, HTTP_X_TENANT=str(partner.id)
    )
    return {"page": page, "api": api}


def seed(customers: int) -> float:
    from django.core.management import call_command

    started = time.monotonic()
    call_command("seed_demo", customers=customers, quiet_logins=True, stdout=io.StringIO())
    analyze()
    return time.monotonic() - started


# --- report ------------------------------------------------------------------------------------


def report(small: dict, large: dict, size: int) -> bool:
    print(f"{'figure':<22}{SMALL:>10}{size:>10}{'ratio':>8}  {'goal':<26}result")
    all_ok = True
    for name in ("page", "api"):
        (time_s, queries_s), (time_l, queries_l) = small[name], large[name]
        ratio = time_l / time_s
        rows = [
            (
                f"{name} time (ms)",
                f"{time_s:.1f}",
                f"{time_l:.1f}",
                f"{ratio:.2f}",
                f"ratio <= {TIME_RATIO_GOAL}",
                ratio <= TIME_RATIO_GOAL,
            ),
            (
                f"{name} queries",
                str(queries_s),
                str(queries_l),
                f"{queries_l / queries_s:.2f}",
                f"equal and <= {QUERY_GOAL}",
                queries_s == queries_l <= QUERY_GOAL,
            ),
        ]
        for label, a, b, r, goal, ok in rows:
            all_ok &= ok
            print(f"{label:<22}{a:>10}{b:>10}{r:>8}  {goal:<26}{'ok' if ok else 'MISS'}")
    return all_ok


def main() -> int:
    args = parse_args()
    load_at_start = os.getloadavg()[0]
    database_url, remove = bench_database("bench")
    try:
        setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        started = time.monotonic()
        call_command("migrate", verbosity=0)
        print(
            f"database: {database_label(connection)}; migrated in {time.monotonic() - started:.1f}s"
        )
        print(f"seeded {SMALL} customers in {seed(SMALL):.1f}s")
        small = measure_all(args)
        print(f"topped up to {args.customers} customers in {seed(args.customers):.1f}s")
        large = measure_all(args)
        print(
            f"median of {args.runs} requests after {args.warmup} warm-up, DEBUG=False; "
            f"load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} now "
            f"({os.cpu_count()} CPUs)"
        )
        ok = report(small, large, args.customers)
        connection.close()
    finally:
        if not args.keep:
            remove()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
