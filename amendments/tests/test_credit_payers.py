"""A credit goes to whoever paid for the days it credits (SPEC §7 rev. 2;
amendments.credits): the units removed are the newest paid first, each credited
to the payer of the order line that paid it, one credit order (and credit
note) per payer; a unit already credited is never credited again.

Web hosting at CHF 9.92 a month, 10 % off from 10 units and 25 % from 30;
Alpine has 20 % off. A monthly subscription from 1 April 2026 (30 days): on 10
April 21 days remain, on 16 April 15."""

import datetime
from decimal import Decimal

from django.urls import reverse

from billing.models import CashbackEntry, Invoice, Order, OrderLine
from billing.tests.conftest import grant, org
from partners.services import partnership_change
from subscriptions.models import Subscription, SubscriptionChange
from tests.clock import on

LIST = "/api/v1/subscriptions/"


def url(subscription) -> str:
    return f"{LIST}{subscription.pk}/"


def _open(world, api, time_machine, payment):
    """On 1 April Alpine orders 35 web hostings for Müller under `payment`."""
    time_machine.move_to(on(2026, 4, 1, 9))
    partnership = grant(world, access="full", payment=payment)
    response = api(world.partner_owner, world.partner).post(
        LIST, {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 35}
    )
    assert response.status_code == 201, response.json()
    return partnership, Subscription.unscoped.get(pk=response.json()["subscription"]["id"])


def _switch_and_raise(world, api, time_machine, partnership, subscription, payment):
    """On 10 April Müller changes who pays; Alpine raises to 40."""
    time_machine.move_to(on(2026, 4, 10, 9))
    partnership_change(
        org=org(world.customer_owner, world.customer), partnership=partnership, payment=payment
    )
    raised = api(world.partner_owner, world.partner).patch(url(subscription), {"quantity": 40})
    assert raised.status_code == 200, raised.json()
    return Order.unscoped.get(pk=raised.json()["order"]["id"])


def _credit_orders():
    """The credit orders as placed: one act's share a moment, their credit
    notes numbered newest payer first."""
    return list(
        Order.unscoped.filter(kind="credit").order_by("placed_at", "invoices__sequence_number")
    )


def test_a_lowering_credits_the_customer_and_the_partner_each_for_the_units_it_paid(
    world, api, hosting, time_machine
):
    partnership, subscription = _open(world, api, time_machine, "customer")
    raise_order = _switch_and_raise(world, api, time_machine, partnership, subscription, "partner")
    # Alpine pays the 5 added units' 21 days at its preferential price: 166.66 - 145.82
    assert (raise_order.payer_tenant, raise_order.charged_amount) == (
        world.partner,
        Decimal("20.84"),
    )
    time_machine.move_to(on(2026, 4, 16, 9))
    client = api(world.partner_owner, world.partner)

    preview = client.patch(url(subscription), {"quantity": 30, "dry_run": True})
    placed = client.patch(url(subscription), {"quantity": 30, "expected_total": "-33.48"})

    # the 10 units removed: Alpine's 5 (its preferential 29.76 a month, half of it:
    # 14.88, no clawback: it earned none on them), then 5 of Müller's 35 (public
    # 130.20 - 111.60 = 18.60, and 3.72 of the cashback Alpine earned on them)
    assert preview.status_code == 200, preview.json()
    lines = preview.json()["lines"]
    assert [(line["payer"], line["quantity"], line["credit"]) for line in lines] == [
        ("partner", 5, "14.88"),
        ("customer", 5, "18.60"),
    ]
    assert preview.json()["totals"]["net"] == "-33.48"
    assert placed.status_code == 200, placed.json()
    to_partner, to_customer = _credit_orders()
    assert placed.json()["order"]["id"] == str(to_partner.pk)
    assert (to_partner.payer_tenant, to_partner.credited_amount, to_partner.clawback_amount) == (
        world.partner,
        Decimal("14.88"),
        Decimal("0.00"),
    )
    assert (to_customer.payer_tenant, to_customer.credited_amount) == (
        world.customer,
        Decimal("18.60"),
    )
    assert to_customer.clawback_amount == Decimal("3.72")
    notes = {note.payer: note for note in Invoice.unscoped.filter(kind="credit_note")}
    assert (notes[world.partner].number, notes[world.partner].total) == (
        "CN-2026-000001",
        Decimal("-14.88"),
    )
    assert (notes[world.customer].number, notes[world.customer].total) == (
        "CN-2026-000002",
        Decimal("-18.60"),
    )
    # one change in the ledger, carried by the first payer's credit order
    (decrease,) = SubscriptionChange.unscoped.filter(kind="decrease")
    assert (decrease.quantity_before, decrease.quantity_after) == (40, 30)
    assert decrease.order_id == to_partner.pk
    assert SubscriptionChange.unscoped.filter(order=to_customer).count() == 0


def test_ending_now_credits_the_partner_that_paid_before_and_the_customer_that_pays_now(
    world, api, hosting, time_machine
):
    partnership, subscription = _open(world, api, time_machine, "partner")
    raise_order = _switch_and_raise(world, api, time_machine, partnership, subscription, "customer")
    # Müller pays the 5 added units' 21 days at the public price: 208.32 - 182.28
    assert (raise_order.payer_tenant, raise_order.charged_amount) == (
        world.customer,
        Decimal("26.04"),
    )
    time_machine.move_to(on(2026, 4, 16, 9))

    customer = api(world.customer_owner, world.customer)
    preview = customer.delete(url(subscription) + "?dry_run=true").json()
    stale = customer.delete(url(subscription) + "?expected_total=-122.76")
    ended = customer.delete(url(subscription) + "?expected_total=-18.60")

    # Müller reads and confirms its own credit only: Alpine's is its preferential price
    assert (preview["totals"]["credit"], preview["totals"]["net"]) == ("18.60", "-18.60")
    assert sorted((line["payer"], line["credit"]) for line in preview["lines"]) == [
        ("customer", "18.60"),
        ("partner", None),
    ]
    assert "104.16" not in str(preview)
    assert stale.status_code == 409 and "104.16" not in stale.content.decode()

    # Müller's 5 units: 37.20 a month, half: 18.60 (and 3.72 of the cashback);
    # Alpine's 35: its preferential 208.32 a month, half: 104.16
    assert ended.status_code == 200, ended.json()
    to_customer, to_partner = _credit_orders()
    assert (to_customer.payer_tenant, to_customer.credited_amount) == (
        world.customer,
        Decimal("18.60"),
    )
    assert to_customer.clawback_amount == Decimal("3.72")
    assert (to_partner.payer_tenant, to_partner.credited_amount) == (
        world.partner,
        Decimal("104.16"),
    )
    assert to_partner.clawback_amount == Decimal("0.00")
    assert sorted(
        Invoice.unscoped.filter(kind="credit_note").values_list("number", "payer_id")
    ) == [
        ("CN-2026-000001", world.customer.pk),
        ("CN-2026-000002", world.partner.pk),
    ]
    (cancel,) = SubscriptionChange.unscoped.filter(kind="cancel")
    assert cancel.order_id == to_customer.pk
    # each payer paid exactly its units' days: Alpine 35 units for 1-15 April,
    # Müller 5 units for 10-15 April (6 of 30 days at 7.44)
    by_payer = {
        payer: sum(i.total for i in Invoice.unscoped.filter(payer=payer))
        for payer in (world.partner, world.customer)
    }
    assert by_payer == {world.partner: Decimal("104.16"), world.customer: Decimal("7.44")}


def test_ending_after_a_lowering_credits_only_what_is_still_paid_and_unused(
    world, api, hosting, time_machine
):
    """Lower 35 -> 10 on 10 April (25 units' 21 days credited), then end now on
    16 April: only the 10 units left, for 15 days, never the 25 again."""
    _partnership, subscription = _open(world, api, time_machine, "customer")
    client = lambda: api(world.customer_owner, world.customer)  # noqa: E731 (a token a day)
    time_machine.move_to(on(2026, 4, 10, 9))
    assert client().patch(url(subscription), {"quantity": 10}).status_code == 200
    time_machine.move_to(on(2026, 4, 16, 9))

    ended = client().delete(url(subscription))

    assert ended.status_code == 200, ended.json()
    lowered, end = _credit_orders()
    # 35 at 7.44: 260.40 a month; 21 days: 182.28, of which 10 units 52.08 kept
    assert lowered.credited_amount == Decimal("130.20")
    # the 10 units left, at April's price (7.44), 15 days: 37.20
    assert end.credited_amount == Decimal("37.20")
    assert OrderLine.unscoped.get(order=end).quantity == 10
    paid = sum(i.total for i in Invoice.unscoped.filter(payer=world.customer))
    # 35 units 1-9 April (9 days) and 10 units 10-15 April (6 days), exactly
    assert paid == Decimal("78.12") + Decimal("14.88")
    for credit in CashbackEntry.unscoped.filter(kind="credit"):
        assert -sum(r.amount for r in credit.reversed_by.all()) <= credit.amount


def test_ending_now_after_later_changes_writes_one_cancel_and_one_credit(
    world, api, hosting, time_machine
):
    """A lowering on 10 April, a raise on 12 April, the last day set to the
    period's end (a cancel dated 1 May in the ledger), then ending now on 16
    April: one cancel change and one credit order, crediting what is paid."""
    _partnership, subscription = _open(world, api, time_machine, "customer")
    client = lambda: api(world.customer_owner, world.customer)  # noqa: E731 (a token a day)
    time_machine.move_to(on(2026, 4, 10, 9))
    assert client().patch(url(subscription), {"quantity": 30}).status_code == 200
    time_machine.move_to(on(2026, 4, 12, 9))
    assert client().patch(url(subscription), {"quantity": 33}).status_code == 200
    assert client().delete(url(subscription) + "?at=period_end").status_code == 200
    time_machine.move_to(on(2026, 4, 16, 9))
    changes_before = set(SubscriptionChange.unscoped.values_list("pk", flat=True))
    credits_before = {o.pk for o in _credit_orders()}

    ended = client().delete(url(subscription))

    assert ended.status_code == 200, ended.json()
    written = SubscriptionChange.unscoped.exclude(pk__in=changes_before)
    (change,) = written
    (credit,) = [o for o in _credit_orders() if o.pk not in credits_before]
    assert (change.kind, change.quantity_before, change.quantity_after) == ("cancel", 33, 0)
    assert (change.effective_on, change.order_id) == (datetime.date(2026, 4, 16), credit.pk)
    # 3 units raised at 7.44 and 30 of the opening's at 7.44, 15 of 30 days
    assert credit.credited_amount == Decimal("122.76")
    assert OrderLine.unscoped.get(order=credit).quantity == 33
    # what Müller paid in all: 35 units for 9 days, 30 for 2, 33 for 4, to the cent
    paid = sum(i.total for i in Invoice.unscoped.filter(payer=world.customer))
    assert paid == Decimal("78.12") + Decimal("14.88") + Decimal("32.74")


def test_the_lower_page_names_each_payer_credited(world, api, browser, hosting, time_machine):
    partnership, subscription = _open(world, api, time_machine, "customer")
    _switch_and_raise(world, api, time_machine, partnership, subscription, "partner")
    time_machine.move_to(on(2026, 4, 16, 9))
    client = browser(world.partner_owner)
    page = reverse(
        "customer_subscription_lower",
        kwargs={
            "slug": "alpine",
            "customer_id": world.customer.pk,
            "subscription_id": subscription.pk,
        },
    )

    preview = client.post(page, {"quantity": "30", "action": "preview"}).content.decode()
    placed = client.post(
        page, {"quantity": "30", "action": "place", "expected_total": "-33.48"}, follow=True
    ).content.decode()

    assert "<li>You: CHF&nbsp;14.88</li>" in preview
    assert "<li>Bäckerei Müller: CHF&nbsp;18.60</li>" in preview
    assert 'data-figure="credit">CHF&nbsp;33.48' in preview
    assert "is credited CHF 14.88 (excl. VAT) for the unused days." in placed
    assert "Bäckerei Müller is credited CHF 18.60 (excl. VAT) for the unused days it paid." in (
        placed
    )
    assert Order.unscoped.filter(kind="credit").count() == 2
