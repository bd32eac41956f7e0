"""Properties of the partner invoice (Hypothesis): for any ledger of a month,
any billing anchor and period, and any resale rules changing on any days,
the invoice's net is the sum of its lines, each line's margin is its amount
minus its cost to the cent, the invoice's margin is net minus cost, and each
line is the provider's proration of its state (quantity x unit price x days /
days of the period, to less than a cent)."""

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import prefetch_related_objects
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.documents import totals
from billing.proration import days_in, period_bounds
from billing.vat import VatTreatment
from resale.invoicing import (
    InvoiceDraft,
    LineDraft,
    document_lines,
    month_bounds,
    subscription_lines,
)
from resale.pricing import PriceBook, Rule
from subscriptions.models import Subscription, SubscriptionChange

MONTH = datetime.date(2026, 11, 1)
properties = settings(
    deadline=None,
    database=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
DAYS = st.dates(min_value=datetime.date(2026, 9, 1), max_value=datetime.date(2026, 12, 31))
RULES = st.lists(
    st.tuples(
        st.dates(min_value=datetime.date(2026, 10, 1), max_value=datetime.date(2026, 11, 30)),
        st.sampled_from(["public", "markup", "fixed"]),
        st.decimals(min_value=0, max_value=1000, places=2),
    ),
    max_size=3,
    unique_by=lambda rule: rule[0],
)


def book_of(partner, product, rules) -> PriceBook:
    """A price book of `rules` without the database (the catalog rows prefetched)."""
    book = PriceBook.__new__(PriceBook)
    book.partner, book.currency = partner, "CHF"
    book.rules = defaultdict(list)
    for day, mode, value in sorted(rules, reverse=True):
        book.rules[product.pk].append(Rule(day, mode, None if mode == "public" else value))
    return book


@pytest.fixture
def catalog(world, hosting):
    prefetch_related_objects([hosting], "prices", "tiers")
    return world.partner, hosting


@properties
@given(
    anchor=st.dates(min_value=datetime.date(2025, 12, 1), max_value=datetime.date(2026, 11, 30)),
    billing_period=st.sampled_from(["monthly", "annual"]),
    changes=st.lists(st.tuples(DAYS, st.integers(0, 60)), min_size=1, max_size=6),
    rules=RULES,
    contracts=st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=200, places=4),
            st.decimals(min_value=0, max_value=500, places=2),
        ),
        max_size=3,
    ),
    rate=st.sampled_from([Decimal("0"), Decimal("0.0810"), Decimal("0.19"), Decimal("0.2150")]),
)
def test_the_invoice_adds_up_to_the_cent(
    catalog, anchor, billing_period, changes, rules, contracts, rate
):
    partner, product = catalog
    changes = sorted(changes, key=lambda change: change[0])
    anchor = min(anchor, changes[0][0])
    subscription = Subscription(
        product=product,
        starts_on=anchor,
        billing_period=billing_period,
        currency="CHF",
        quantity=1,
        unit_price=Decimal("9.92"),
    )
    ledger = [SubscriptionChange(effective_on=day, quantity_after=q) for day, q in changes]
    month_start, month_end = month_bounds(MONTH)
    lines = subscription_lines(
        subscription=subscription,
        changes=ledger,
        book=book_of(partner, product, rules),
        month_start=month_start,
        month_end=month_end,
    )
    # the contract lines as customers.contract_billing makes them (amount rounded once)
    charges = [
        LineDraft(
            kind="contract",
            description="Contract",
            quantity=quantity,
            unit_price=price,
            amount=(quantity * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            period_start=month_start,
            period_end=month_end,
        )
        for quantity, price in contracts
    ]
    draft = InvoiceDraft(partnership=None, month=MONTH, currency="CHF", lines=lines + charges)  # type: ignore[arg-type]

    assert draft.net == sum((line.amount for line in lines + charges), Decimal("0.00"))
    assert draft.margin == draft.net - draft.cost
    assert draft.cost == sum((line.cost for line in lines), Decimal("0.00"))
    treatment = VatTreatment(rate, "VAT", False, "")
    net, vat, total = totals(document_lines(draft.lines), treatment)
    assert net == draft.net
    assert vat == (rate * net).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert total == net + vat
    covered = 0
    for line in lines:
        assert line.margin == line.amount - line.cost
        assert line.amount == line.amount.quantize(Decimal("0.01"))
        assert month_start <= line.period_start <= line.period_end <= month_end
        period = period_bounds(anchor, billing_period, line.period_start)
        assert line.period_end <= period[1]  # a line never spans two billing periods
        days = (line.period_end - line.period_start).days + 1
        covered += days
        exact = line.quantity * line.unit_price * days / days_in(period)
        assert abs(line.amount - exact) < Decimal("0.01")
        exact_cost = line.quantity * line.unit_cost * days / days_in(period)
        assert abs(line.cost - exact_cost) < Decimal("0.01")
    # every day of the month with a quantity is billed once, and no other day
    live = set()
    for index, (day, quantity) in enumerate(changes):  # a same-day change replaces it
        last = (
            changes[index + 1][0] - datetime.timedelta(days=1)
            if index + 1 < len(changes)
            else month_end
        )
        current = max(day, month_start)
        while quantity and current <= min(last, month_end):
            live.add(current)
            current += datetime.timedelta(days=1)
    billed = set()
    for line in lines:
        current = line.period_start
        while current <= line.period_end:
            assert current not in billed
            billed.add(current)
            current += datetime.timedelta(days=1)
    assert covered == len(billed)
    assert billed == live


@properties
@given(quantity=st.integers(1, 60), markup=st.decimals(min_value=0, max_value=1000, places=2))
def test_a_whole_period_is_quantity_times_the_unit_price(catalog, quantity, markup):
    partner, product = catalog
    subscription = Subscription(
        product=product, starts_on=datetime.date(2026, 10, 1), billing_period="monthly",
        currency="CHF", quantity=quantity, unit_price=Decimal("9.92"),
    )  # fmt: skip
    ledger = [SubscriptionChange(effective_on=datetime.date(2026, 10, 1), quantity_after=quantity)]
    book = book_of(partner, product, [(datetime.date(2026, 10, 1), "markup", markup)])
    (line,) = subscription_lines(
        subscription=subscription,
        changes=ledger,
        book=book,
        month_start=datetime.date(2026, 11, 1),
        month_end=datetime.date(2026, 11, 30),
    )
    assert line.amount == quantity * line.unit_price
    assert line.cost == quantity * line.unit_cost
    assert line.margin == quantity * (line.unit_price - line.unit_cost)
