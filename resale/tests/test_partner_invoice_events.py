"""`partner_invoice.issued` (core.events, docs/webhooks.md): emitted once by the
one place a partner invoice is written, in its transaction, and delivered to
the endpoints of the partner and of the billed customer that subscribed, each
with the invoice as its own `GET partner-invoices/{id}/` shows it."""

import json

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook

from core.events import event_subscribe
from resale import invoicing, notifications
from resale.models import PartnerInvoice
from resale.tests.conftest import d, ledger
from tests.clock import on
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.payloads import event_types
from webhooks.tests.test_webhooks import Receiver, deliver_all, endpoint_for

pytestmark = pytest.mark.django_db
NOVEMBER = d("2026-11-01")
TYPE = "partner_invoice.issued"


@pytest.fixture
def receivers():
    opened = []

    def make():
        opened.append(Receiver())
        return opened[-1]

    yield make
    for receiver in opened:
        receiver.close()


def issue(billed):
    with time_machine.travel(on(2026, 12, 1, 3)):
        return invoicing.partner_invoice_issue(partnership_id=billed.pk, month=NOVEMBER)


def test_issuing_emits_the_event_once_in_its_transaction(
    world, hosting, billed, django_capture_on_commit_callbacks
):
    ledger(world.customer, hosting, [(d("2026-10-01"), 35)])
    heard = []
    unsubscribe = event_subscribe(lambda name, payloads: heard.extend(payloads), names=[TYPE])
    try:
        with django_capture_on_commit_callbacks(execute=True):
            invoice = issue(billed)
        with django_capture_on_commit_callbacks(execute=True):
            assert issue(billed) is None  # a rerun issues and emits nothing
    finally:
        unsubscribe()
    expected = {
        "id": str(invoice.pk),
        "partner": str(world.partner.pk),
        "customer": str(world.customer.pk),
        "partnership": str(billed.pk),
    }
    assert heard == [expected]
    (event,) = WebhookEvent.objects.filter(type=TYPE)  # the outbox row, with the invoice
    assert (event.object_id, event.payload) == (str(invoice.pk), expected)


def test_an_issue_that_rolls_back_leaves_no_event(world, hosting, billed, monkeypatch):
    ledger(world.customer, hosting, [(d("2026-10-01"), 35)])

    def fail(**kwargs):
        raise RuntimeError("the mail queue is down")

    monkeypatch.setattr(notifications, "partner_invoice_issued", fail)
    with pytest.raises(RuntimeError):
        issue(billed)
    assert not PartnerInvoice.unscoped.exists()
    assert not WebhookEvent.objects.filter(type=TYPE).exists()


def test_the_partner_and_the_customer_hear_it_as_their_own_get_shows_it(
    world, api, hosting, billed, receivers
):
    partner_hook, customer_hook, other_hook, unsubscribed = (receivers() for _ in range(4))
    _endpoint, partner_secret = endpoint_for(
        world.partner_owner, world.partner, partner_hook.url, [TYPE]
    )
    _endpoint, customer_secret = endpoint_for(
        world.customer_owner, world.customer, customer_hook.url, [TYPE]
    )
    endpoint_for(world.other_owner, world.other_partner, other_hook.url, [TYPE])
    endpoint_for(world.partner_owner, world.partner, unsubscribed.url, ["invoice.issued"])
    ledger(world.customer, hosting, [(d("2026-10-01"), 35), (d("2026-11-16"), 40)])
    invoice = issue(billed)

    deliver_all()

    url = f"/api/v1/partner-invoices/{invoice.pk}/"
    for hook, secret, user, tenant in (
        (partner_hook, partner_secret, world.partner_owner, world.partner),
        (customer_hook, customer_secret, world.customer_owner, world.customer),
    ):
        ((headers, body),) = hook.received
        payload = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
        assert payload["type"] == TYPE
        assert payload["data"] == api(user, tenant).get(url).json()
    partner_data = json.loads(partner_hook.received[0][1])["data"]
    customer_data = json.loads(customer_hook.received[0][1])["data"]
    # at public prices: net 279.00, cost 223.50 (104.30 + 119.20), margin 55.50
    assert (partner_data["net"], partner_data["cost"], partner_data["margin"]) == (
        "279.00",
        "223.50",
        "55.50",
    )
    assert [line["cost"] for line in partner_data["lines"]] == ["104.30", "119.20"]
    # the customer's copy: the same invoice, without the partner's cost and margin
    assert customer_data["number"] == partner_data["number"] == "2026-00001"
    assert (customer_data["cost"], customer_data["margin"]) == (None, None)
    assert {line["cost"] for line in customer_data["lines"]} == {None}
    # Rhein Cloud may not see it, and an endpoint of other types is not sent it
    assert other_hook.received == [] and unsubscribed.received == []
    assert set(WebhookDelivery.unscoped.filter(type=TYPE).values_list("status", flat=True)) == {
        WebhookDelivery.Status.DELIVERED
    }
    assert WebhookDelivery.unscoped.filter(type=TYPE).count() == 2


def test_the_event_type_is_listed_with_its_get():
    (row,) = [row for row in event_types() if row["type"] == TYPE]
    assert (row["object"], row["object_path"]) == ("partner_invoice", "partner-invoices/{id}/")
    assert row["description"] == "A partner invoiced one of its customers."
    example = row["example"]["data"]
    assert {"id", "number", "partner", "customer", "net", "total", "lines"} <= set(example)
