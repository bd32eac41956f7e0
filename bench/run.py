"""Every benchmark in one go, at each scale: `make bench`.

Not a test: it prints one line per figure and scale (its value, its floor
measured in the same run, the ratio, the goal, ok or MISS) and exits 1 when
a figure misses. See docs/performance.md for a run and bench/README.md for
each figure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/run.py --scales 10000 100000

PostgreSQL and Redis are required. The database `<name>_bench` next to the one
DATABASE_URL names is dropped and created afresh (and dropped at the end unless
--keep); **the Redis database REDIS_URL names is flushed**: give it one of its own.

1. migrate; `seed_demo --customers 100`; page weight at 100 customers (the
   pages' floor at every scale);
2. for each of --scales (10,000 and 100,000 customers: 100,000 and 1,000,000
   subscriptions), smallest first: top the book up to it (`seed_demo
   --customers N`, timed), then measure there:
   - page weight again (pages.py);
   - MRR against a hand-written SQL aggregate (mrr.py); the smart-list CSV
     export against COPY (export.py);
   - API throughput: gunicorn with 2 gthread workers, loaded from a second
     process (throughput.py, load.py);
3. at the first scale only, before the next top-up (what they measure does not
   grow with the book, and the month-end renewal run bills every seeded
   subscription due today: about 14,000 at 10,000 customers, ten times that
   at 100,000):
   - offer fan-out with a real prefork worker on Redis (offers.py); webhook
     fan-out to a local receiver (webhook_fanout.py);
   - a 10,000-row import (import_customers.py);
   - month-end writes: orders under 20 concurrent writers, and a renewal run
     of --renewals due subscriptions (month_end.py);
4. the whole run's minutes, against the budget (< 20).
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
    Figure,
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
ONCE = ("offers", "webhooks", "import", "month-end")  # at the first scale only


DEFAULT_SCALES = (10_000, 100_000)
BUDGET_MINUTES = 20  # the whole `make bench` at 100,000 customers (issue 27)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales",
        type=int,
        nargs="+",
        default=None,
        help="Book sizes (customers of Alpine IT), each measured in turn: "
        f"{' '.join(str(n) for n in DEFAULT_SCALES)} unless told.",
    )
    parser.add_argument(
        "--customers", type=int, default=None, help="One scale only, instead of --scales."
    )
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
    args = parser.parse_args()
    # `make bench` always gives --scales; BENCH_ARGS="--customers N" narrows it to N
    scales = [args.customers] if args.customers else args.scales or list(DEFAULT_SCALES)
    args.scales = sorted(set(scales))
    if args.scales[0] <= pages.SMALL:
        parser.error(f"each scale is above the pages' floor of {pages.SMALL} customers")
    return args


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


def at_scale(args, small, database_url: str, redis_url: str, log) -> list[Figure]:
    """The figures that grow with the book, measured on it as seeded now."""
    figures = []
    if small is not None:
        figures += pages.at_scale(small, runs=args.runs, warmup=args.warmup, log=log)
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
    return figures


def once(args, database_url: str, redis_url: str, log) -> list[Figure]:
    """The figures measured once, on the first scale's book."""
    figures = []
    customers = args.scales[0]
    if "offers" in args.only:
        figures += offers.run(
            database_url=database_url,
            redis_url=redis_url,
            customers=min(args.offers, customers),
            concurrency=2,
            timeout=600,
            log=log,
        )
    if "webhooks" in args.only:
        figures += webhook_fanout.run(
            database_url=database_url,
            redis_url=redis_url,
            events=min(args.webhook_events, customers),
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
    return figures


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
    removers = [remove]
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
        small = None
        if "pages" in args.only:
            small = pages.baseline(runs=args.runs, warmup=args.warmup, log=log)
        for index, scale in enumerate(args.scales):
            seconds = benchdb.seed(scale)
            log(f"topped up to {scale} customers in {seconds:.1f}s (load average {load_average()})")
            measured = [Figure("seed_demo top-up, VACUUM ANALYZE: s", seconds, None, "-")]
            measured += at_scale(args, small, database_url, redis_url, log)
            if index == 0:
                later = None
                if len(args.scales) > 1 and set(args.only) & set(ONCE):
                    # The later scales grow a copy of the book as seeded: the
                    # sections below write into it (offers, orders, renewals
                    # repriced), which the hand-written MRR SQL cannot follow.
                    connection.close()
                    later, drop = benchdb.copy_database(database_url, "next")
                    removers.append(drop)
                    log(f"the book at {scale} customers copied for the next scales")
                measured += once(args, database_url, redis_url, log)
                if later is not None:
                    benchdb.use_database(later, redis_url)
                    database_url = later
            figures += [figure.at(scale) for figure in measured]
        connection.close()
    finally:
        if args.keep:
            log(f"kept: {database_url} (the last scale's book)")
        else:
            for remover in removers:
                remover()
    minutes = (time.monotonic() - started) / 60
    figures.append(
        Figure("make bench: minutes", minutes, None, f"< {BUDGET_MINUTES}").at(args.scales[-1])
    )
    log(f"done; load average {load_at_start} at the start, {load_average()} now")
    print()
    ok = report(figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
