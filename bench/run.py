"""Every benchmark in one go, on one scale data set: `make bench`.

Not a test: it prints one line per figure (its value, its floor measured in the
same run, the ratio, the goal, ok or MISS) and exits 1 when a figure misses.
See docs/performance.md for a run and bench/README.md for each figure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/run.py

PostgreSQL and Redis are required. The database `<name>_bench` next to the one
DATABASE_URL names is dropped and created afresh (and dropped at the end unless
--keep); **the Redis database REDIS_URL names is flushed**: give it one of its own.

1. migrate; `seed_demo --customers 100`; page weight at 100 customers;
2. top up to `seed_demo --customers 10000` (100,000 subscriptions); page weight
   again (pages.py);
3. MRR against a hand-written SQL aggregate (mrr.py); the smart-list CSV export
   against COPY (export.py);
4. API throughput: gunicorn with 2 sync workers, loaded from a second process
   (throughput.py, load.py);
5. offer fan-out with a real prefork worker on Redis (offers.py); webhook
   fan-out to a local Standard Webhooks receiver (webhook_fanout.py);
6. a 10,000-row import (import_customers.py);
7. month-end writes: orders under 20 concurrent writers, and a renewal run of
   --renewals due subscriptions (month_end.py).
"""

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import time

import benchdb
import export
import import_customers
import month_end
import mrr
import pages
import throughput
import webhook_fanout
from benchdb import (
    BENCH,
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    bench_database,
    database_label,
    is_postgres,
    load_average,
    report,
    setup_django,
)


def _bench_offers():
    """bench/offers.py, under another name: `offers` is the app's."""
    spec = importlib.util.spec_from_file_location("bench_offers", BENCH / "offers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


offers = _bench_offers()
SECTIONS = (
    "pages",
    "mrr",
    "export",
    "throughput",
    "offers",
    "webhooks",
    "import",
    "month-end",
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="The scale data set.")
    parser.add_argument("--runs", type=int, default=15, help="Measured requests per page.")
    parser.add_argument("--warmup", type=int, default=3, help="Unmeasured requests first.")
    parser.add_argument("--duration", type=float, default=15, help="Load seconds per target.")
    parser.add_argument("--connections", type=int, default=4, help="Concurrent connections.")
    parser.add_argument("--offers", type=int, default=5_000, help="Offers in the fan-out.")
    parser.add_argument("--webhook-events", type=int, default=500, help="Webhook events.")
    parser.add_argument("--webhook-endpoints", type=int, default=4, help="Endpoints per event.")
    parser.add_argument("--import-rows", type=int, default=10_000, help="Rows of the import.")
    parser.add_argument("--writers", type=int, default=20, help="Concurrent order writers.")
    parser.add_argument("--renewals", type=int, default=10_000, help="Due subscriptions.")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="Some figures only."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def versions(connection) -> str:
    import redis
    from django.conf import settings

    info = redis.Redis.from_url(settings.REDIS_URL).info("server")
    memory = "?"
    try:
        free = subprocess.run(["free", "-g"], capture_output=True, text=True, check=True)  # noqa: S607
        memory = free.stdout.splitlines()[1].split()[1] + " GB"
    except (OSError, subprocess.CalledProcessError, IndexError):
        pass
    return (
        f"{os.cpu_count()} CPUs, {memory} RAM, {platform.platform(terse=True)}; "
        f"Python {platform.python_version()}, {database_label(connection)}, "
        f"Redis {info['redis_version']}"
    )


def main() -> int:
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not is_postgres(database_url):
        sys.exit(
            f"make bench: PostgreSQL is required (DATABASE_URL is {database_url!r}). The figures "
            "compare with COPY, run gunicorn and a Celery worker against a real server: set "
            f"DATABASE_URL={DEFAULT_DATABASE_URL} (or leave it unset)."
        )
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # as offers.py's worker and production: persistent connections, no mail out
            **{k: v for k, v in offers.WORKER_ENV.items() if k != "DJANGO_SETTINGS_MODULE"},
        }
    )
    started = time.monotonic()
    load_at_start = load_average()
    database_url, remove = bench_database("bench")
    figures = []

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {message.strip()}", flush=True)

    try:
        setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        log(f"machine: {versions(connection)}")
        log(f"load average {load_at_start} at the start")
        if "pages" in args.only:
            figures += pages.run(
                customers=args.customers, runs=args.runs, warmup=args.warmup, log=log
            )
        else:
            log(f"seeded {args.customers} customers in {benchdb.seed(args.customers):.1f}s")
        if "mrr" in args.only:
            figures += mrr.run(runs=args.runs, warmup=args.warmup, log=log)
        if "export" in args.only:
            figures += export.run(runs=3, warmup=1, log=log)
        if "throughput" in args.only:
            figures += throughput.run(
                database_url=database_url,
                redis_url=redis_url,
                duration=args.duration,
                rounds=3,
                connections=args.connections,
                workers=2,
                log=log,
            )
        if "offers" in args.only:
            figures += offers.run(
                database_url=database_url,
                redis_url=redis_url,
                customers=min(args.offers, args.customers),
                concurrency=2,
                timeout=600,
                log=log,
            )
        if "webhooks" in args.only:
            figures += webhook_fanout.run(
                database_url=database_url,
                redis_url=redis_url,
                events=min(args.webhook_events, args.customers),
                endpoints=args.webhook_endpoints,
                concurrency=2,
                timeout=600,
                log=log,
            )
        if "import" in args.only:
            figures += import_customers.run(rows=args.import_rows, log=log)
        if "month-end" in args.only:
            figures += month_end.run(
                writers=args.writers,
                duration=args.duration,
                renewals=args.renewals,
                redis_url=redis_url,
                log=log,
            )
        connection.close()
    finally:
        if not args.keep:
            remove()
    log(f"done; load average {load_at_start} at the start, {load_average()} now")
    print()
    ok = report(figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
