"""Page weight: the partner's main pages at 100 and at 10,000 customers.

Not a test: it prints figures. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
        .venv/bin/python bench/pages.py                      # database portal_bench_pages
    .venv/bin/python bench/pages.py                          # SQLite, a temp file

`seed_demo --customers 100`, then each page is requested --runs times (after
--warmup requests) signed in as partner.owner@demo.test through Django's test
Client: the median server time and the queries of one request. Then the book
is topped up to --customers (10,000: 100,000 subscriptions) and measured again.
Goals: time at 10,000 <= 1.5 x the time at 100; the same number of queries;
the first view after a write (one customer's subscription changed through the
service, which retires the book's cached figures and logs the customer: the
figures are patched, tenants.branch_cache) <= 1.5 x the warm view at the same
size (issue 27).
`make bench` (bench/run.py) runs this as part of the whole set.
"""

import argparse
import itertools
import logging
import statistics
import sys
import time

from benchdb import (
    OWNER_EMAIL,
    PARTNER_SLUG,
    Figure,
    analyze,
    run_alone,
    seed,
)

SMALL = 100
TIME_RATIO_GOAL = 1.5
DETAIL_CUSTOMER = "scale-customer-00001"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="The large book size.")
    parser.add_argument("--runs", type=int, default=15, help="Measured requests per page.")
    parser.add_argument("--warmup", type=int, default=3, help="Unmeasured requests first.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def prepare() -> None:
    """What some pages need to show something: a saved smart list (no filters)."""
    from subscriptions import smart_lists
    from subscriptions.models import SmartList
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    if not SmartList.unscoped.filter(partner=partner, name="Bench: everyone").exists():
        smart_lists.smart_list_create(org=org, name="Bench: everyone", filters={})


def pages() -> dict[str, tuple[str, dict]]:
    """The partner's main pages, and the customer list API: name -> (url, headers)."""
    from django.urls import reverse

    from subscriptions.models import SmartList
    from tenants.models import Tenant

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    customer = Tenant.objects.get(slug=DETAIL_CUSTOMER)
    smart_list = SmartList.unscoped.get(partner=partner, name="Bench: everyone")
    slug = PARTNER_SLUG

    def url(name, *args):
        return reverse(name, args=[slug, *args])

    return {
        "dashboard": (url("org_dashboard"), {}),
        "customers": (url("partner_customers"), {}),
        "customer detail": (url("customer_detail", customer.pk), {}),
        "customer subscriptions": (url("customer_subscriptions", customer.pk), {}),
        "mrr movements": (url("mrr_movements"), {}),
        "smart lists": (url("smart_lists"), {}),
        "smart list (all customers)": (url("smart_list", smart_list.pk), {}),
        "offers sent": (url("offers_sent"), {}),
        "offer templates": (url("offer_templates"), {}),
        "upsell requests": (url("upgrade_requests"), {}),
        "billing": (url("billing"), {}),
        "orders": (url("billing_orders"), {}),
        "invoices": (url("invoices"), {}),
        "api customers (session)": ("/api/v1/customers/", {"HTTP_X_TENANT": str(partner.pk)}),
    }


# Pages whose book figures are cached until the book changes (subscriptions.book_cache):
# also timed as the first view after a write, with a subscription changed before each request.
AFTER_A_WRITE = ("dashboard", "mrr movements")
AFTER_A_WRITE_SUFFIX = ", after a write"


def measure(
    client, url: str, runs: int, warmup: int, headers: dict, before=lambda: None
) -> tuple[float, int]:
    """The median server time of `runs` requests (ms) and the queries of one;
    `before()` runs ahead of each request, outside the timing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        before()
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        response = client.get(url, **headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    before()
    with CaptureQueriesContext(connection) as captured:
        client.get(url, **headers)
    return statistics.median(timings), len(captured)


def measure_all(runs: int, warmup: int) -> dict[str, tuple[float, int]]:
    from django.test import Client

    from tenants.models import Tenant, User

    client = Client()
    client.force_login(User.objects.get(email=OWNER_EMAIL))
    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    measured = {
        name: measure(client, url, runs, warmup, headers)
        for name, (url, headers) in pages().items()
    }
    write = a_write(partner)
    for name in AFTER_A_WRITE:
        url, headers = pages()[name]
        measured[f"{name}{AFTER_A_WRITE_SUFFIX}"] = measure(
            client, url, runs, warmup, headers, write
        )
    return measured


def a_write(partner):
    """A write to the book: the detail customer's first subscription changes its
    quantity (up, then back) through the service, recorded in the ledger as
    an order's change is."""
    from django.db import transaction

    from subscriptions import services
    from subscriptions.models import Subscription
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    customer = Tenant.objects.get(slug=DETAIL_CUSTOMER)
    subscription = Subscription.unscoped.filter(customer=customer, cancelled_at=None).earliest(
        "created_at"
    )
    steps = itertools.cycle([1, -1])
    logging.getLogger("core.events").setLevel(logging.WARNING)  # a line per write's event

    def write() -> None:
        nonlocal subscription
        before = (subscription.quantity, subscription.unit_price)
        quantity = subscription.quantity + next(steps)
        with transaction.atomic():
            subscription = services.subscription_update(
                org=org, subscription=subscription, data={"quantity": quantity}
            )
            services.ledger_record(
                entries=[(subscription, services.LedgerEntry.change(before, subscription))]
            )

    return write


def figures(small: dict, large: dict) -> list[Figure]:
    """Per page: its time at the large size against the small one, and its
    queries. The first view after a write against the warm view at the same
    size (issue 27: at most 1.5 times), its queries against the small size's."""
    result = []
    for name in small:
        (time_s, queries_s), (time_l, queries_l) = small[name], large[name]
        floor = time_s
        if name.endswith(AFTER_A_WRITE_SUFFIX):
            floor = large[name.removesuffix(AFTER_A_WRITE_SUFFIX)][0]
        result.append(Figure(f"page {name}: ms", time_l, floor, f"<= {TIME_RATIO_GOAL}"))
        result.append(Figure(f"page {name}: queries", queries_l, queries_s, "equal"))
    return result


def baseline(*, runs: int, warmup: int, log=print) -> dict[str, tuple[float, int]]:
    """On a migrated database: seed 100 customers and measure every page there:
    the floor of each page's figures at every larger size."""
    log(f"  seeded {SMALL} customers in {seed(SMALL):.1f}s")
    prepare()
    analyze()
    return measure_all(runs, warmup)


def at_scale(small: dict, *, runs: int, warmup: int, log=print) -> list[Figure]:
    """On the book as seeded now: every page measured again, against `small`."""
    large = measure_all(runs, warmup)
    log(f"  pages: median of {runs} requests after {warmup} warm-up, DEBUG=False")
    return figures(small, large)


def run(*, customers: int, runs: int, warmup: int, log=print) -> list[Figure]:
    """On a migrated database: seed 100 customers, measure, top up to `customers`,
    measure again. Leaves the database seeded at `customers`."""
    small = baseline(runs=runs, warmup=warmup, log=log)
    log(f"  topped up to {customers} customers in {seed(customers):.1f}s")
    return at_scale(small, runs=runs, warmup=warmup, log=log)


def main() -> int:
    args = parse_args()
    return run_alone(
        "bench_pages",
        keep=args.keep,
        measure=lambda _url: run(customers=args.customers, runs=args.runs, warmup=args.warmup),
    )


if __name__ == "__main__":
    sys.exit(main())
