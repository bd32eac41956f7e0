"""Where one order's time goes (issue 28): `cProfile` of N orders placed one
after another through `billing.services.orders.order_place_for`, on one connection,
and the statements one order runs.

Not a test: it prints a profile. PostgreSQL recommended (database
`<name>_bench_order_profile`, dropped at the end unless --keep):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/order_profile.py --orders 100
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

from benchdb import DEFAULT_REDIS_URL, OWNER_EMAIL, PARTNER_SLUG, run_alone


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=50, help="Scale customers.")
    parser.add_argument("--orders", type=int, default=100, help="Orders profiled.")
    parser.add_argument(
        "--cpu", type=int, default=300, help="Orders timed unprofiled for the CPU per order."
    )
    parser.add_argument("--top", type=int, default=40, help="Lines of the profile printed.")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key.")
    parser.add_argument(
        "--process-time",
        action="store_true",
        help="Profile this process's CPU time (time.process_time), not the wall clock.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def profile(*, orders: int, cpu: int, top: int, sort: str, process_time: bool) -> list:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.services.orders import LineRequest, order_place_for
    from catalog.models import Product
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    customers = list(Tenant.objects.filter(slug__startswith="scale-").order_by("slug"))
    product = Product.objects.get(code="web-hosting")

    def place(n: int) -> None:
        order_place_for(
            org=org, customer=customers[n % len(customers)], lines=[LineRequest(product, 1)]
        )

    place(0)  # warm: templates, translations, connections
    with CaptureQueriesContext(connection) as queries:
        place(1)
    print(f"one order: {len(queries)} statements")
    for query in queries:
        print(f"  {query['sql'][:160]}")
    if cpu:
        from month_end import _cpu_seconds

        backend = None
        if connection.vendor == "postgresql":  # a local server's backend: /proc
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
        app_before = time.process_time()
        db_before = _cpu_seconds(backend) if backend else None
        started = time.perf_counter()
        for n in range(cpu):
            place(n + 2)
        seconds = time.perf_counter() - started
        app_ms = (time.process_time() - app_before) / cpu * 1000
        db_after = _cpu_seconds(backend) if backend else None
        db_ms = (
            (db_after - db_before) / cpu * 1000
            if db_before is not None and db_after is not None
            else None
        )
        print(
            f"{cpu} orders unprofiled in {seconds:.2f}s: CPU per order "
            + (
                f"{app_ms + db_ms:.1f} ms (this process {app_ms:.1f} ms + its PostgreSQL "
                f"backend {db_ms:.1f} ms; Redis not counted)"
                if db_ms is not None
                else f"{app_ms:.1f} ms in this process (the database's not readable here)"
            )
        )
    profiler = cProfile.Profile(time.process_time) if process_time else cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for n in range(orders):
        place(n + 2)
    profiler.disable()
    seconds = time.perf_counter() - started
    print(f"{orders} orders in {seconds:.2f}s: {seconds / orders * 1000:.1f} ms each (profiled)")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    print(out.getvalue())
    return []


def main() -> int:
    args = parse_args()
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")

    def measure(database_url: str) -> list:
        from benchdb import seed
        from month_end import clear_broker

        print(f"seeded {args.customers} customers in {seed(args.customers):.1f}s")
        try:
            return profile(
                orders=args.orders,
                cpu=args.cpu,
                top=args.top,
                sort=args.sort,
                process_time=args.process_time,
            )
        finally:
            clear_broker(os.environ["REDIS_URL"])

    return run_alone("bench_order_profile", keep=args.keep, measure=measure)


if __name__ == "__main__":
    sys.exit(main())
