"""Month-end writes (issue 28): orders placed by 20 concurrent writers, and a
renewal run of N due subscriptions.

Not a test: it prints figures. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/month_end.py          # database portal_bench_month_end

PostgreSQL only (row locks, concurrent writers). It seeds `seed_demo
--customers N` (full, partner-pays partnerships with the demo partner), then:

1. **Orders under concurrent writers**: --writers processes (forked after
   Django's set-up, each with its own connection) place orders for --duration
   seconds through `billing.services.orders.order_place_for`, the service every order
   page and `POST orders/` call (subscription, order, lines, ledger, invoice
   number, cashback, emails queued in the outbox, the branch cache's
   retirements in Redis), each writer for customers of its own. Orders per
   second, against the goal of 100 (the issue's); p50/p99 per order logged.
2. **A renewal run**: --renewals monthly subscriptions that started a month
   ago today (so their second period begins today) are added with bulk
   inserts, then `billing.services.renewals.renewals_place_due` runs once, timed.
   Subscriptions renewed per second, and the time 100,000 would take at that
   rate, against the goal of 10 minutes (>= 167/s).

The email deliveries the orders enqueue go to the broker of REDIS_URL: give the
bench a Redis database of its own (it is not flushed; the queued tasks are
removed at the end).
"""

import argparse
import gc
import multiprocessing
import os
import statistics
import sys
import time

from benchdb import DEFAULT_REDIS_URL, OWNER_EMAIL, PARTNER_SLUG, Figure, is_postgres, run_alone

GC_THRESHOLD = 7_000  # gunicorn.conf.py's, a web worker's
ORDERS_GOAL = 100.0  # orders/s under 20 writers (issue 28)
RENEWALS_TARGET = 100_000  # subscriptions in one run ...
RENEWALS_BUDGET = 600.0  # ... within 10 minutes: >= 167/s
RENEWALS_GOAL = RENEWALS_TARGET / RENEWALS_BUDGET


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000, help="Scale customers.")
    parser.add_argument("--writers", type=int, default=20, help="Concurrent order writers.")
    parser.add_argument("--duration", type=float, default=15.0, help="Seconds of orders.")
    parser.add_argument("--renewals", type=int, default=5_000, help="Due subscriptions.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def _product():
    from catalog.models import Product

    return Product.objects.prefetch_related("prices").get(code="web-hosting")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a local process so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _writer(customer_ids, duration, ready, go, results) -> None:
    """One writer process: one unmeasured order, then orders until the time is up.
    Also the CPU time this process and its PostgreSQL backend (when local) spent
    on the measured orders: a figure that a shared machine's load moves far less
    than the rate."""
    from django.db import connection

    from billing.services.orders import LineRequest, order_place_for
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    customers = list(Tenant.objects.filter(pk__in=customer_ids))
    product = _product()
    placed, failed, latencies = 0, 0, []

    def place(n: int) -> None:
        order_place_for(
            org=org, customer=customers[n % len(customers)], lines=[LineRequest(product, 1)]
        )

    place(0)
    # As a gunicorn worker after start-up (gunicorn.conf.py, post_worker_init):
    # what is alive now (here also the heap of every section `make bench` ran
    # before this one, inherited through the fork) is frozen out of the
    # collector's walks, and young collections come at production's threshold.
    # Without it the writers' CPU per order was 40 % higher in `make bench`
    # than alone (docs/performance.md).
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    ready.put(os.getpid())
    go.wait()
    app_before, db_before = _cpu_seconds(os.getpid()), _cpu_seconds(backend)
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            place(placed + failed + 1)
            placed += 1
            latencies.append(time.perf_counter() - started)
        except Exception:  # a bench counts failures, it does not stop on one
            failed += 1
    app_after, db_after = _cpu_seconds(os.getpid()), _cpu_seconds(backend)
    app_cpu = app_after - app_before if app_before is not None and app_after else None
    db_cpu = db_after - db_before if db_before is not None and db_after is not None else None
    connection.close()
    results.put((placed, failed, latencies, app_cpu, db_cpu))


def orders_run(*, writers: int, duration: float, log=print) -> list[Figure]:
    """`writers` forked processes placing orders for `duration` seconds."""
    from django.db import connections

    from billing.models import Invoice
    from tenants.models import Tenant

    ids = list(
        Tenant.objects.filter(slug__startswith="scale-")
        .order_by("slug")
        .values_list("pk", flat=True)[: writers * 20]
    )
    assert len(ids) >= writers, "seed more customers than writers"
    _product()  # fails early without the demo catalog
    connections.close_all()  # each child opens its own
    context = multiprocessing.get_context("fork")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    children = [
        context.Process(target=_writer, args=(ids[i::writers], duration, ready, go, results))
        for i in range(writers)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=120)
    go.set()
    outcomes = [results.get(timeout=duration + 120) for _ in children]
    for child in children:
        child.join(timeout=30)
    placed = sum(o[0] for o in outcomes)
    failed = sum(o[1] for o in outcomes)
    latencies = sorted(x for o in outcomes for x in o[2])
    numbers = list(
        Invoice.unscoped.order_by("sequence_number").values_list("sequence_number", flat=True)
    )
    gap_free = numbers == list(range(1, len(numbers) + 1))
    rate = placed / duration
    app_cpu = [o[3] for o in outcomes]
    db_cpu = [o[4] for o in outcomes]
    cpu_ms = None
    if placed and None not in app_cpu and None not in db_cpu:
        app_ms, db_ms = sum(app_cpu) / placed * 1000, sum(db_cpu) / placed * 1000
        cpu_ms = app_ms + db_ms
        cores = os.cpu_count() or 1
        log(
            f"  orders: CPU per order {cpu_ms:.1f} ms (writers {app_ms:.1f} ms + PostgreSQL "
            f"backends {db_ms:.1f} ms; Redis not counted): at most {cores * 1000 / cpu_ms:.0f} "
            f"orders/s on {cores} cores"
        )
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    log(
        f"  orders: {writers} writers x {duration:.0f}s: {placed} placed, {failed} failed, "
        f"{rate:.1f}/s; per order p50 {statistics.median(latencies) * 1000 if latencies else 0:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms; invoice numbers 1..{len(numbers)} gap-free: {gap_free}"
    )
    return [
        Figure(f"orders, {writers} writers: orders/s", rate, ORDERS_GOAL, ">= 1"),
        Figure("orders: failed", failed, None, "< 1"),
        Figure("orders: invoice numbers gap-free", gap_free, None, "true"),
        *(
            [Figure("orders: CPU per order (writer + PostgreSQL)", cpu_ms, None, "-", "ms")]
            if cpu_ms is not None
            else []
        ),
    ]


def renewals_run(*, count: int, log=print) -> list[Figure]:
    """`count` monthly subscriptions whose second period begins today, renewed
    by one `renewals_place_due`."""
    import datetime

    from dateutil.relativedelta import relativedelta
    from django.db import transaction
    from django.utils import timezone

    from billing.models import Renewal
    from billing.services.renewals import renewals_due, renewals_place_due
    from subscriptions.services import subscription_build, subscriptions_open
    from tenants.models import Tenant

    today = timezone.localdate()
    started_on = today - relativedelta(months=1)
    product = _product()
    prices = {price.currency: price.amount for price in product.prices.all()}
    customers = list(Tenant.objects.filter(slug__startswith="scale-").order_by("slug"))
    with transaction.atomic():
        subscriptions_open(
            [
                subscription_build(
                    customer=customer,
                    product=product,
                    quantity=1 + n % 40,
                    unit_price=prices[customer.currency],
                    starts_on=started_on,
                )
                for n in range(count)
                for customer in [customers[n % len(customers)]]
            ]
        )
    due = sum(1 for _ in renewals_due(today=today))
    before = Renewal.unscoped.count()
    started = time.perf_counter()
    placed = renewals_place_due(today=today)
    seconds = time.perf_counter() - started
    billed = Renewal.unscoped.count() - before
    again = renewals_place_due(today=today)
    rate = placed / seconds if seconds else 0.0
    projected = RENEWALS_TARGET / rate if rate else float("inf")
    log(
        f"  renewals: {due} due ({count} added, the rest seeded), {placed} placed in "
        f"{seconds:.1f}s: {rate:.0f}/s; 100,000 would take {datetime.timedelta(seconds=round(projected))}"
        f"; a second run placed {again}"
    )
    return [
        Figure("renewals: subscriptions/s", rate, RENEWALS_GOAL, ">= 1"),
        Figure("renewals: 100,000 projected", projected, None, f"< {RENEWALS_BUDGET:g}", "s", 0),
        Figure(
            "renewals: all due billed once", placed == due == billed and again == 0, None, "true"
        ),
    ]


def clear_broker(redis_url: str) -> None:
    """The email deliveries the orders enqueued (no worker runs here)."""
    import redis

    redis.Redis.from_url(redis_url).delete("celery")


def run(*, writers: int, duration: float, renewals: int, redis_url: str, log=print) -> list[Figure]:
    try:
        figures = orders_run(writers=writers, duration=duration, log=log)
    finally:
        clear_broker(redis_url)
    try:
        figures += renewals_run(count=renewals, log=log)
    finally:
        clear_broker(redis_url)
    return figures


def main() -> int:
    args = parse_args()
    if not is_postgres(os.environ.get("DATABASE_URL", "")):
        sys.exit("bench/month_end.py: PostgreSQL only; set DATABASE_URL=postgres://...")
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")

    def measure(database_url: str) -> list[Figure]:
        from benchdb import seed

        print(f"seeded {args.customers} customers in {seed(args.customers):.1f}s")
        return run(
            writers=args.writers,
            duration=args.duration,
            renewals=args.renewals,
            redis_url=redis_url,
        )

    return run_alone("bench_month_end", keep=args.keep, measure=measure)


if __name__ == "__main__":
    sys.exit(main())
