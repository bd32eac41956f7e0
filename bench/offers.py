"""Offer fan-out with a real Celery worker on Redis: one template sent to 5,000
customers, offers delivered per second against a no-op task's throughput on the
same broker and worker, in one run (goal: at least 90 %, issue 27).

Not a test: it prints figures. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/offers.py

The broker database (REDIS_URL, default redis://127.0.0.1:6379/14) is flushed:
give the bench a Redis database of its own.
"""

import argparse
import io
import os
import subprocess
import sys
import time
import uuid

from benchdb import (
    DEFAULT_REDIS_URL,
    OWNER_EMAIL,
    PARTNER_SLUG,
    ROOT,
    Figure,
    analyze,
    bench_database,
    database_label,
    report,
    setup_django,
)

RATIO_GOAL = 0.9  # issue 27 (0.5 before)
WORKER_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
    "DEBUG": "False",
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    "CONN_MAX_AGE": "60",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5_000, help="Offers to send.")
    parser.add_argument("--concurrency", type=int, default=2, help="Worker processes.")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds per phase, at most.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def add_owners() -> int:
    """Scale customers are unclaimed: give each an owner who can answer offers.
    Their tables analyzed after, as autovacuum would within its minute: the
    sections after this one (orders: each reads the payer's owners) measured
    a planner that still thought the membership table held 11 rows (a
    sequential scan, 2.8 ms an order)."""
    from core.db import analyze as analyze_tables
    from tenants.models import Membership, Role, Tenant, User

    customers = list(
        Tenant.objects.filter(slug__startswith="scale-").exclude(memberships__role=Role.OWNER)
    )
    users = User.objects.bulk_create(
        [User(email=f"owner@{c.slug}.bench.test", password="!") for c in customers],
        batch_size=2000,
    )
    Membership.unscoped.bulk_create(
        [
            Membership(tenant=c, user=u, role=Role.OWNER, buyer=True)
            for c, u in zip(customers, users, strict=True)
        ],
        batch_size=2000,
    )
    analyze_tables([User, Membership])
    return len(customers)


def start_worker(database_url: str, redis_url: str, concurrency: int) -> subprocess.Popen:
    env = {**os.environ, **WORKER_ENV, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(done, timeout: float, poll: float = 0.05) -> float:
    """Seconds until `done()` is true (polled), or exit after `timeout`."""
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > timeout:
            sys.exit("bench: timed out waiting for the worker")
        time.sleep(poll)
    return time.perf_counter() - started


def noop_throughput(count: int, timeout: float) -> float:
    """`count` no-op tasks (`portal.tasks.ping`: one cache write) through the
    broker and the worker; tasks per second from the first enqueue to the last done."""
    from django.core.cache import cache

    from portal.tasks import ping

    tokens = [f"bench-{uuid.uuid4().hex}" for _ in range(count)]
    keys = [f"ping:{t}" for t in tokens]
    started = time.perf_counter()
    for token in tokens:
        ping.delay(token)

    def done():
        return len(cache.get_many(keys)) == count

    wait_until(done, timeout)
    return count / (time.perf_counter() - started)


def offer_throughput(customer_ids: list, timeout: float) -> tuple[float, float]:
    """Send one template to every customer (one action), then count offers per
    second from the send's commit until every offer awaits the customer's answer.
    Returns (send seconds, offers per second)."""
    from django.db import transaction

    from catalog.models import Product
    from offers import services
    from offers.models import Offer
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    template = services.template_create(org=org, name=f"Bench {uuid.uuid4().hex[:6]}")
    for code, quantity, mode in (("web-hosting", 1, "absolute"), ("mail-pro", 5, "relative")):
        services.template_item_add(
            org=org,
            template=template,
            product=Product.objects.get(code=code),
            quantity=quantity,
            license_mode=mode,
            term_months=12,
        )
    started = time.perf_counter()
    with transaction.atomic():
        batch = services.offer_send(org=org, template=template, customer_ids=customer_ids)
    sent = time.perf_counter()
    count = len(customer_ids)

    def done():
        return (
            Offer.unscoped.filter(batch=batch, status=Offer.Status.AWAITING_CONFIRMATION).count()
            == count
        )

    wait_until(done, timeout, poll=0.1)
    failed = Offer.unscoped.filter(batch=batch, status=Offer.Status.FAILED).count()
    if failed:
        sys.exit(f"bench: {failed} offers failed")
    return sent - started, count / (time.perf_counter() - sent)


def run(
    *,
    database_url: str,
    redis_url: str,
    customers: int,
    concurrency: int,
    timeout: float,
    log=print,
) -> list[Figure]:
    """On a database seeded with at least `customers` scale customers and Django
    set up with REDIS_URL: a real worker, the no-op floor, then one send to
    `customers` customers. Flushes the Redis database."""
    import redis
    from django.db import connection

    from tenants.models import Tenant

    redis.Redis.from_url(redis_url).flushdb()
    owners = add_owners()
    ids = list(
        Tenant.objects.filter(slug__startswith="scale-")
        .order_by("slug")
        .values_list("pk", flat=True)[:customers]
    )
    assert len(ids) == customers, (len(ids), customers)
    connection.close()
    worker = start_worker(database_url, redis_url, concurrency)
    try:
        noop_throughput(20, timeout)  # the worker is up and warm
        noop = noop_throughput(customers, timeout)
        send_seconds, offers = offer_throughput(ids, timeout)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    log(
        f"  offers: {owners} customer owners added; worker prefork x{concurrency} on "
        f"{redis_url}; {customers} offers, the send (validate, price, write) {send_seconds:.1f}s"
    )
    return [
        Figure(
            f"offers delivered/s ({customers:,} offers)", offers, noop, f">= {RATIO_GOAL}", digits=0
        ),
    ]


def main() -> int:
    args = parse_args()
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    database_url, drop = bench_database("offers")
    os.environ["REDIS_URL"] = redis_url
    os.environ.update({k: v for k, v in WORKER_ENV.items() if k != "DJANGO_SETTINGS_MODULE"})
    setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        started = time.monotonic()
        call_command("seed_demo", customers=args.customers, quiet_logins=True, stdout=io.StringIO())
        analyze()
        print(
            f"{database_label(connection)}; {args.customers} customers seeded "
            f"in {time.monotonic() - started:.0f} s"
        )
        result = run(
            database_url=database_url,
            redis_url=redis_url,
            customers=args.customers,
            concurrency=args.concurrency,
            timeout=args.timeout,
        )
    finally:
        connection.close()
        if not args.keep:
            drop()
    return 0 if report(result) else 1


if __name__ == "__main__":
    sys.exit(main())
