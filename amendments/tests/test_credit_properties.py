"""The proration property per payer (SPEC §7 rev. 2, amendments.credits):
random sequences of raises, lowerings and early ends placed by the services,
with who pays switching between them (Müller changes its grant's payment mode),
and the renewal job between them, over up to three monthly periods.

For each payer, what its invoices charged minus what its credit notes
credited equals the sum over the days used of the units it paid for x their
daily price: each layer of units (an opening, a renewal or a raise) is paid by
its order's payer, and a lowering or an end removes the newest units first.
Within docs/billing.md's bound: less than a cent for each (day, layer) a
change touched, exact when nothing changed mid-period. Summed over the payers
it is the plain property of billing/tests/test_proration_orders.py, and it
fails as soon as a credit re-credits a day already credited or credits a
payer for units another paid.

A product without tiers at CHF 10.00 a month, Alpine's 20 % discount (so the
preferential unit price is 8.00 and every whole-period amount is exact: the
only roundings are the days'); Alpine's buyer places every change."""

import datetime
from fractions import Fraction

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from amendments import services as changes
from billing.models import CashbackEntry, Invoice, Order
from billing.proration import days_in, period_bounds
from billing.services.orders import LineRequest, order_place
from billing.services.renewals import renewals_place_due
from billing.tests.conftest import grant, org
from catalog.tests.factories import ProductFactory
from partners.services import partnership_change
from subscriptions.models import Subscription
from tests.clock import on

CENT = Fraction(1, 100)
PRICE = {"customer": Fraction(10), "partner": Fraction(8)}  # public, preferential
MARGIN = Fraction(2)  # the cashback of a unit the customer pays: 10.00 - 8.00

# (day offset from the anchor, target quantity (0 ends it now), who pays from then)
OPERATIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=70),
        st.integers(min_value=0, max_value=12),
        st.sampled_from(["customer", "partner"]),
    ),
    max_size=6,
)


@pytest.fixture
def plain(db):
    return ProductFactory(code="web-hosting", name="Web hosting", prices={"CHF": "10.00"})


@settings(
    deadline=None,
    database=None,
    max_examples=25,
    # no shrinking: each example replays months of orders (minutes per failure)
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    anchor_day=st.sampled_from([1, 15, 29, 31]),
    first=st.integers(min_value=1, max_value=12),
    first_payer=st.sampled_from(["customer", "partner"]),
    operations=OPERATIONS,
)
def test_each_payer_pays_exactly_the_days_of_the_units_it_paid_for(
    world, plain, time_machine, anchor_day, first, first_payer, operations
):
    anchor = datetime.date(2026, 1, anchor_day)
    operations = sorted(operations, key=lambda operation: operation[0])
    with transaction.atomic():
        _run(world, plain, time_machine, anchor, first, first_payer, operations)
        transaction.set_rollback(True)  # each example starts from the world alone


def _run(world, product, time_machine, anchor, first, first_payer, operations):
    time_machine.move_to(on(anchor.year, anchor.month, anchor.day, 9))
    partnership = grant(world, access="full", payment=first_payer)
    owner = org(world.customer_owner, world.customer)
    partner = org(world.partner_owner, world.partner)
    placed = order_place(
        org=partner, customer_id=world.customer.pk, lines=[LineRequest(product, first)]
    )
    subscription = placed.lines.get().subscription
    last_offset = max([0] + [offset for offset, _q, _p in operations])
    horizon = period_bounds(anchor, "monthly", anchor + datetime.timedelta(days=last_offset))[1]

    paying = first_payer
    layers: list[list] = [[first_payer, first]]  # the units of the period, oldest first
    exact = {"customer": Fraction(0), "partner": Fraction(0)}
    cashback = Fraction(0)
    touched = {"customer": 0, "partner": 0}
    quantity, ended = first, False
    pending = list(operations)
    day = anchor
    while day <= horizon:
        period = period_bounds(anchor, "monthly", day)
        if day != anchor and period[0] == day:
            time_machine.move_to(on(day.year, day.month, day.day, 6))
            renewals_place_due(today=day)
            layers = [[paying, quantity]] if quantity else []
        time_machine.move_to(on(day.year, day.month, day.day, 9))
        while pending and anchor + datetime.timedelta(days=pending[0][0]) == day:
            _offset, target, payer = pending.pop(0)
            if payer != paying:
                partnership = partnership_change(org=owner, partnership=partnership, payment=payer)
                paying = payer
            if ended or target == quantity:
                continue
            subscription = Subscription.unscoped.get(pk=subscription.pk)
            if target == 0:
                changes.subscription_end_now(org=partner, subscription=subscription)
                ended = True
            elif target > quantity:
                changes.subscription_raise(org=partner, subscription=subscription, quantity=target)
                layers.append([paying, target - quantity])
                touched[paying] += 1
            else:
                changes.subscription_lower(org=partner, subscription=subscription, quantity=target)
            removing = max(0, quantity - (0 if ended else target))
            for layer in reversed(layers):  # the newest units go first
                if removing == 0:
                    break
                take = min(layer[1], removing)
                layer[1] -= take
                removing -= take
                touched[layer[0]] += 1
            layers = [layer for layer in layers if layer[1] > 0]
            quantity = 0 if ended else target
        length = days_in(period)
        for payer, units in layers:
            exact[payer] += PRICE[payer] * units / length
            if payer == "customer":
                cashback += MARGIN * units / length
        day += datetime.timedelta(days=1)

    for payer, tenant in (("customer", world.customer), ("partner", world.partner)):
        settled = sum(i.total for i in Invoice.unscoped.filter(payer=tenant))
        orders = Order.unscoped.filter(payer_tenant=tenant)
        assert settled == sum(o.charged_amount - o.credited_amount for o in orders)
        error = abs(Fraction(settled) - exact[payer])
        assert error < CENT * touched[payer] or error == 0, (payer, settled, float(exact[payer]))
    earned = sum(e.amount for e in CashbackEntry.unscoped.filter(partner=world.partner))
    error = abs(Fraction(earned) - cashback)
    assert error < 2 * CENT * touched["customer"] or error == 0, (earned, float(cashback))
    for credit in CashbackEntry.unscoped.filter(kind="credit"):
        assert -sum(r.amount for r in credit.reversed_by.all()) <= credit.amount
