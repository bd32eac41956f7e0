"""The domain events of the money path (tenants.events): one per order,
invoice, credit note and ledger change, heard after the commit, none of an
order that was refused."""

from decimal import Decimal

import pytest

from billing.models import Invoice, Order
from billing.services.orders import LineRequest, PriceChanged, order_place, order_refund
from billing.tests.conftest import grant, org
from subscriptions.models import Subscription
from tenants.events import event_subscribe


@pytest.fixture
def heard():
    got: list = []
    unsubscribe = event_subscribe(lambda name, payloads: got.extend((name, p) for p in payloads))
    yield got
    unsubscribe()


def test_placing_an_order_emits_its_events_after_the_commit(
    world, hosting, heard, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    buyer = org(world.customer_owner, world.customer)

    with django_capture_on_commit_callbacks(execute=True):
        order = order_place(
            org=buyer, customer_id=world.customer.pk, lines=[LineRequest(hosting, 35)]
        )

    invoice = Invoice.unscoped.get(order=order)
    subscription = Subscription.unscoped.get()
    customer = str(world.customer.pk)
    assert sorted(heard, key=lambda e: e[0]) == [
        (
            "invoice.issued",
            {
                "id": str(invoice.pk),
                "kind": "invoice",
                "order": str(order.pk),
                "customer": customer,
                "payer": customer,
            },
        ),
        ("order.placed", {"id": str(order.pk), "kind": "order", "customer": customer}),
        (
            "subscription.changed",
            {
                "id": str(subscription.pk),
                "kind": "new",
                "change": str(subscription.changes.get().pk),
                "order": str(order.pk),
                "customer": customer,
            },
        ),
    ]
    # ids and kinds only: no amount, no email
    assert not any("260.40" in str(p) or "@" in str(p) for _, p in heard)


def test_a_refused_order_emits_nothing(world, hosting, heard, django_capture_on_commit_callbacks):
    grant(world, access="full", payment="customer")

    with django_capture_on_commit_callbacks(execute=True) as hooks, pytest.raises(PriceChanged):
        order_place(
            org=org(world.customer_owner, world.customer),
            customer_id=world.customer.pk,
            lines=[LineRequest(hosting, 35)],
            expected_total=Decimal("1.00"),
        )

    assert heard == [] and hooks == []
    assert not Order.unscoped.exists()


def test_a_refund_emits_its_credit_note(world, hosting, heard, django_capture_on_commit_callbacks):
    grant(world, access="full", payment="customer")
    order = order_place(
        org=org(world.customer_owner, world.customer),
        customer_id=world.customer.pk,
        lines=[LineRequest(hosting, 3)],
    )

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(actor=world.staff, order_id=order.pk, reason="test")

    credit_note = Invoice.unscoped.get(order=order, kind=Invoice.Kind.CREDIT_NOTE)
    assert [(name, p["id"], p["kind"]) for name, p in heard] == [
        ("credit_note.issued", str(credit_note.pk), "credit_note")
    ]
