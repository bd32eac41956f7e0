"""The proration property of test_proration.py, through the orders themselves:
random sequences of raises, lowerings and early ends placed by the services
(billing.services.changes) between the renewal job's runs, over up to three
monthly periods. What the payer was charged minus what it was credited (its
invoices and credit notes), and what the partner earned minus what it gave
back, equal the sum over the days used of quantity x the daily price, within
docs/billing.md's bound: less than a cent per day (not a period's first) on
which the quantity changed, exact when nothing changed mid-period (the
cashback, public minus preferential each rounded on its own: two cents).

Web hosting without degressive tiers at CHF 9.92 a month (a price that rounds
unevenly by days), Alpine's 20 % discount, Müller pays the public price and
Alpine earns cashback; the partner's buyer places every change."""

import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import CashbackEntry, Invoice, Order
from billing.pricing import waterfall
from billing.proration import days_in, period_bounds
from billing.services import changes
from billing.services.orders import LineRequest, order_place
from billing.services.renewals import renewals_place_due
from billing.tests.conftest import grant
from catalog.tests.factories import ProductFactory
from subscriptions.models import Subscription
from tenants.selectors import org_context_for
from tests.clock import on

CENT = Fraction(1, 100)
UNIT = Decimal("9.92")
DISCOUNT = Decimal("0.20")

# (day offset from the anchor, target quantity; 0 ends the subscription now)
OPERATIONS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=80), st.integers(min_value=0, max_value=25)),
    max_size=6,
)


def margin(quantity: int) -> Decimal:
    """The partner's cashback on `quantity` units for a whole period."""
    price = waterfall(
        unit_price=UNIT, quantity=quantity, tier_rate=Decimal("0"), discount_rate=DISCOUNT
    )
    return price.public_amount - price.preferential_amount


@pytest.fixture
def plain(db):
    return ProductFactory(code="web-hosting", name="Web hosting", prices={"CHF": "9.92"})


@settings(
    deadline=None,
    database=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    anchor_day=st.sampled_from([1, 15, 28, 29, 30, 31]),
    anchor_month=st.sampled_from([1, 2, 3, 12]),
    first=st.integers(min_value=1, max_value=25),
    operations=OPERATIONS,
)
def test_charges_minus_credits_through_the_orders_are_the_days_used(
    world, plain, time_machine, anchor_day, anchor_month, first, operations
):
    last_of = {1: 31, 2: 28, 3: 31, 12: 31}[anchor_month]
    anchor = datetime.date(2026, anchor_month, min(anchor_day, last_of))
    operations = sorted(operations)
    with transaction.atomic():
        _run(world, plain, time_machine, anchor, first, operations)
        transaction.set_rollback(True)  # each example starts from the world alone


def _run(world, product, time_machine, anchor, first, operations):
    time_machine.move_to(on(anchor.year, anchor.month, anchor.day, 9))
    grant(world, access="full", payment="customer")
    partner = org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    placed = order_place(
        org=partner, customer_id=world.customer.pk, lines=[LineRequest(product, first)]
    )
    subscription = placed.lines.get().subscription
    horizon = period_bounds(
        anchor, "monthly", anchor + datetime.timedelta(days=max([0] + [d for d, _q in operations]))
    )[1]
    quantity_on: dict[datetime.date, int] = {}
    changed_days: set[datetime.date] = set()
    quantity, ended = first, False
    pending = list(operations)
    day = anchor
    while day <= horizon:
        if day != anchor and period_bounds(anchor, "monthly", day)[0] == day:
            time_machine.move_to(on(day.year, day.month, day.day, 6))
            renewals_place_due(today=day)
        time_machine.move_to(on(day.year, day.month, day.day, 9))
        while pending and anchor + datetime.timedelta(days=pending[0][0]) == day:
            _offset, target = pending.pop(0)
            if ended or target == quantity:
                continue
            subscription = Subscription.unscoped.get(pk=subscription.pk)
            if target == 0:
                changes.subscription_end_now(org=partner, subscription=subscription)
                ended = True
            elif target > quantity:
                changes.subscription_raise(org=partner, subscription=subscription, quantity=target)
            else:
                changes.subscription_lower(org=partner, subscription=subscription, quantity=target)
            quantity = 0 if ended else target
            if period_bounds(anchor, "monthly", day)[0] != day:
                changed_days.add(day)
        quantity_on[day] = 0 if ended else quantity
        day += datetime.timedelta(days=1)

    # what the orders settled, by the payer's documents and the prepaid account
    invoiced = sum(i.total for i in Invoice.unscoped.filter(payer=world.customer))
    orders = Order.unscoped.filter(customer=world.customer)
    assert invoiced == sum(o.charged_amount - o.credited_amount for o in orders)
    cashback = sum(e.amount for e in CashbackEntry.unscoped.filter(partner=world.partner))
    # the exact figures: each day used at its quantity's daily price
    exact_paid = Fraction(0)
    exact_cashback = Fraction(0)
    for used, units in quantity_on.items():
        length = days_in(period_bounds(anchor, "monthly", used))
        exact_paid += Fraction(UNIT * units) / length
        exact_cashback += Fraction(margin(units)) / length
    # the cashback is public - preferential, each rounded on its own: twice the bound
    bound = CENT * len(changed_days)
    for settled, exact, within in (
        (invoiced, exact_paid, bound),
        (cashback, exact_cashback, 2 * bound),
    ):
        error = abs(Fraction(settled) - exact)
        if not changed_days:
            assert error == 0, (settled, exact)
        else:
            assert error < within, (settled, float(exact), sorted(changed_days))
    # and a clawback never takes back more than the credit it reverses
    for credit in CashbackEntry.unscoped.filter(kind="credit"):
        assert -sum(r.amount for r in credit.reversed_by.all()) <= credit.amount
