"""The partner's book at 100,000 subscriptions: `book_mrr` against one hand-written SQL aggregate.

Not a test: it prints figures. See bench/README.md.

    .venv/bin/python bench/mrr.py                           # SQLite, a temp file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
        .venv/bin/python bench/mrr.py                       # PostgreSQL, database portal_bench_mrr

The demo is seeded with `seed_demo --customers 10000` (10 subscriptions each).
Then, --runs times each after --warmup, it times `subscriptions.mrr.book_mrr_kept`:
the dashboard's book as read after a write (from the book kept by deltas,
subscriptions.books, with no cache: a warm view reads it from the cache) for partner.owner@demo.test at Alpine IT over 12 months,
the same book computed afresh from the ledger (`cached=False`, for the record),
and one raw SQL
statement computing the same 12 month-end MRR figures (per customer, a CASE
per month end inside SUM, rounded half-up to the cent once per customer and
month as `book_mrr` does, then summed), checks the figures are equal and
prints the ratio of the medians. `make bench` (bench/run.py) runs it with the others.
"""

import argparse
import datetime
import sys
from decimal import Decimal

from benchdb import (
    OWNER_EMAIL,
    PARTNER_SLUG,
    Figure,
    run_alone,
    seed,
    timed,
)

RATIO_GOAL = 2.0
ANY_SIZE_MS = 10
MONTHS = 12


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="Scale customers.")
    parser.add_argument("--runs", type=int, default=15, help="Measured calls per figure.")
    parser.add_argument("--warmup", type=int, default=3, help="Unmeasured calls first.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def hand_sql(partner, currency: str, ends: list[datetime.date]) -> tuple[str, list]:
    """The month-end MRR of the partner's visible customers in `currency`, in cents.

    Amounts are whole cents times twelve (an annual price counts once, a monthly
    one twelve times), so the division by 12 is an exact integer one on every
    database: (twelfths + 6) / 12 is the cent rounded half-up."""
    from django.db import connection

    from partners.models import Partnership
    from subscriptions.models import Subscription
    from tenants.models import Tenant

    subscriptions = Subscription._meta.db_table
    tenants = Tenant._meta.db_table
    partnerships = Partnership._meta.db_table
    months = ",\n".join(
        f"SUM(CASE WHEN s.starts_on <= %s AND (s.ends_on IS NULL OR s.ends_on >= %s) "
        f"THEN s.twelfths ELSE 0 END) AS m{i}"
        for i in range(len(ends))
    )
    totals = ", ".join(f"SUM((CAST(m{i} AS BIGINT) + 6) / 12)" for i in range(len(ends)))
    query = f"""
        SELECT {totals} FROM (
            SELECT s.customer_id, {months}
            FROM (
                SELECT customer_id, starts_on, ends_on,
                       CAST(ROUND(quantity * unit_price * 100) AS BIGINT)
                       * CASE WHEN billing_period = 'annual' THEN 1 ELSE 12 END AS twelfths
                FROM {subscriptions}
                WHERE currency = %s AND cancelled_at IS NULL AND customer_id IN (
                    SELECT c.id FROM {tenants} c
                    WHERE c.kind = 'customer' AND c.currency = %s AND EXISTS (
                        SELECT 1 FROM {partnerships} p
                        WHERE p.customer_id = c.id AND p.partner_id = %s AND p.status = 'active'
                    )
                )
            ) s
            GROUP BY s.customer_id
        ) per_customer
    """  # noqa: S608 (names from the models, values as parameters)
    params = []
    for end in ends:
        day = connection.ops.adapt_datefield_value(end)
        params += [day, day]
    params += [currency, currency, Tenant._meta.pk.get_db_prep_value(partner.pk, connection)]
    return query, params


def hand_mrr(query: str, params: list) -> list[Decimal]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    return [(Decimal(int(cents or 0)) / 100).quantize(Decimal("0.01")) for cents in row]


def run(*, runs: int, warmup: int, log=print) -> list[Figure]:
    """On a database seeded with the scale book: `book_mrr` against the hand SQL."""
    from django.utils import timezone

    from subscriptions import mrr
    from subscriptions.models import Subscription
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.id)
    today = timezone.localdate()
    ends, labels = mrr.month_ends(today, MONTHS)
    query, params = hand_sql(partner, partner.currency, ends[1:])
    book_customers, _ = mrr.book_customers(org=org)
    log(
        f"  mrr: {Subscription.unscoped.count()} subscriptions; the {partner.currency} book: "
        f"{book_customers.count()} customers, "
        f"{Subscription.unscoped.filter(customer__in=book_customers).count()} subscriptions; "
        f"median of {runs} calls after {warmup} warm-up"
    )
    from subscriptions import books

    pending = books.shares_fold_all()  # what the beat's fold does
    kept = books.book_figures(
        partner=partner, subtree=False, currency=partner.currency, months=MONTHS, today=today
    )
    book_ms, _, book = timed(lambda: mrr.book_mrr(org=org, months=MONTHS), runs, warmup, scale=1000)
    computed_ms, _, computed = timed(
        lambda: mrr.book_mrr(org=org, months=MONTHS, cached=False), 3, 1, scale=1000
    )
    log(
        f"  mrr: read from the kept book: {kept is not None} ({pending} pending folded first); "
        f"computed afresh from the ledger {computed_ms:.1f} ms (same figures: {computed == book})"
    )
    sql_ms, _, figures = timed(lambda: hand_mrr(query, params), runs, warmup, scale=1000)
    expected = [month["mrr"] for month in book["history"]]
    for label, a, b in zip(labels, expected, figures, strict=True):
        if a != b:
            log(f"  mrr {label}: book_mrr {a} != SQL {b}")
    return [
        Figure("mrr book_mrr (12 months): ms", book_ms, sql_ms, f"<= {RATIO_GOAL:g}"),
        # issue 27: the book's figures read, not computed, at any size
        Figure("mrr book_mrr (12 months), any size: ms", book_ms, None, f"< {ANY_SIZE_MS:g}"),
        Figure("mrr book_mrr = hand SQL, 12 month ends", figures == expected, None, "true"),
        Figure(
            "mrr book_mrr = computed afresh", computed == book and kept is not None, None, "true"
        ),
    ]


def main() -> int:
    args = parse_args()

    def measure(_url: str) -> list[Figure]:
        print(f"seeded {args.customers} customers in {seed(args.customers):.1f}s")
        return run(runs=args.runs, warmup=args.warmup)

    return run_alone("bench_mrr", keep=args.keep, measure=measure)


if __name__ == "__main__":
    sys.exit(main())
