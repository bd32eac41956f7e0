"""One load per request (issue 19, item 6; docs/architecture.md) on the money
paths: quotes, orders and the subscriptions' writes load the customer (or the
subscription) once through the permission function and hand it on; the
services check the grant again under its row lock (billing.services.orders.
ordering_side, subscriptions.services._lock_subscription) instead of asking the
permission function again, and the answer is rendered from what the service
saved. Each request's SQL statements are pinned (without the SAVEPOINT lines of
atomic blocks, as in customers/tests/test_one_load.py)."""

import pytest
from django.urls import reverse

from billing.models import Order
from billing.services.orders import LineRequest, order_place, quote
from billing.tests.conftest import grant, org
from customers.tests.test_one_load import _measured
from partners import selectors as partner_selectors
from partners.models import Partnership
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Subscription
from tests.spies import calls_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailboxes(world, hosting, mailbox) -> Subscription:
    """Bäckerei Müller gives Alpine IT full access; Alpine IT orders 2 mailboxes."""
    grant(world, access="full", payment="customer")
    placed = order_place(
        org=org(world.partner_owner, world.partner),
        customer_id=world.customer.pk,
        lines=[LineRequest(mailbox, 2)],
    )
    return placed.lines.get().subscription


def _order(customer, product="web-hosting", quantity=3) -> dict:
    return {"customer": str(customer.pk), "lines": [{"product": product, "quantity": quantity}]}


# name: (method, url, body, status, statements). Before issue 19's item 6 (the
# same requests; permission queries in brackets): quote 11 (2), order 31 (3),
# POST subscriptions/ 14 with dry_run (5) and 37 (6), and on a subscription:
# last day 10 (4), raise 12 with dry_run (4) and 33 (5), end at period end 9 (3),
# cancel 8 (2). Now one permission query each; issue 28 took one more from
# each order (the invoice number drawn by one UPDATE), then five or six more
# (the invoice number by one UPDATE … RETURNING, the emails queued as ids and
# rendered at delivery, the product not read again, an order's subscriptions
# inserted without a savepoint and a second grant check) and one from each
# preview (the product); issue 20's tier on the customer's total quantity adds
# one to each pricing (its live units of the product), and ending now is a
# credit order. MRR from the ledger: a new last day reads the ledger and writes
# its end (2), a raise reads the later changes it may restate (1), and every
# write of the ledger reads its subscriptions' latest change (1: writing order).
# A credit that takes cashback back finds the partners to email (1: end now).
# Issue 23: each domain event the write emits is one INSERT into the webhook
# outbox, in its transaction (order.placed, invoice.issued or credit_note.issued,
# subscription.changed): +3 for an order, +2 for a new last day or an end at
# the period's end (the ledger's change, and the new last day itself). Issue 28
# again: an order's new subscriptions' latest change is not read (they have
# none yet): -1 for an order and for a new subscription (an order too); and an
# order's outbox rows are one insert (core.events.events_gathered): -2 for each
# order (an order, a new subscription, a raise, a credit order ending now).
# Issue 27: each write to a subscription marks its customer pending for the
# partners' books (subscriptions.books), one INSERT: +1 each.
API = {
    "quote": ("post", "/api/v1/quotes/", "order", 200, 9),
    "order": ("post", "/api/v1/orders/", "order", 201, 25),
    "subscription preview": ("post", "/api/v1/subscriptions/", "subscribe dry", 200, 10),
    "subscription": ("post", "/api/v1/subscriptions/", "subscribe", 201, 29),
    "last day": ("patch", "/api/v1/subscriptions/{s}/", {"ends_on": "2099-01-01"}, 200, 14),
    "raise preview": (
        "patch",
        "/api/v1/subscriptions/{s}/",
        {"quantity": 5, "dry_run": True},
        200,
        8,
    ),
    "raise": ("patch", "/api/v1/subscriptions/{s}/", {"quantity": 5}, 200, 28),
    "end at period end": ("delete", "/api/v1/subscriptions/{s}/?at=period_end", None, 200, 14),
    "end now": ("delete", "/api/v1/subscriptions/{s}/", None, 200, 36),
}


def _body(body, world):
    if body == "order":
        return _order(world.customer)
    if body in ("subscribe", "subscribe dry"):
        data = {"customer": str(world.customer.pk), "product": "web-hosting", "quantity": 2}
        return {**data, "dry_run": True} if body == "subscribe dry" else data
    return body


@pytest.mark.parametrize("name", list(API))
def test_each_money_endpoint_loads_the_customer_once(world, api, mailboxes, name):
    method, url, body, status, expected = API[name]
    client = api(world.partner_owner, world.partner)
    client.get("/api/v1/subscriptions/")  # the session, warm
    url = url.format(s=mailboxes.pk)
    body = _body(body, world)
    send = getattr(client, method)

    response, count, loads, checks = _measured(
        lambda: send(url, body, format="json") if body is not None else send(url)
    )

    assert response.status_code == status, response.content
    assert loads <= 1 and checks == 1  # a subscription's own load narrows by the customers seen
    assert count == expected


def test_the_answers_show_what_was_saved(world, api, mailboxes):
    client = api(world.partner_owner, world.partner)
    url = f"/api/v1/subscriptions/{mailboxes.pk}/"

    raised = client.patch(url, {"quantity": 5}, format="json").json()
    assert raised["subscription"] == client.get(url).json()
    assert raised["subscription"]["quantity"] == 5

    ends = client.patch(url, {"ends_on": "2099-01-01"}, format="json").json()
    assert ends["subscription"] == client.get(url).json()
    assert ends["subscription"]["ends_on"] == "2099-01-01"

    period_end = client.delete(f"{url}?at=period_end").json()
    assert period_end["subscription"] == client.get(url).json()


# name: (url name, subscription in the URL, POST data or None, status,
# statements). Before (permission queries in brackets): order preview 14 (3),
# raise page 7 (2) and preview 14 (4), edit and cancel pages 8 (3) and their
# POSTs 9 (3); the order page as now. Issue 28: the previews one fewer (the
# product not read again). The cancel page now leads to "End now". The edit
# POST: its new last day read from and written to the ledger (2). A credit's
# preview reads the lines paying for the day once, their cashback from them (-1).
# POST: its new last day read from and written to the ledger (2), and its two
# subscription.changed events in the webhook outbox (2, issue 23). Issue 26: the
# partner's previews show its resale step, the price list read in one statement
# (+1); a credit's preview prices the credited units again for it, their prices
# and tiers read again (+2, not yet taken from the quote's).
PAGES = {
    "order page": ("customer_order_place", False, None, 200, 7),
    "order preview": ("customer_order_place", False, "lines", 200, 12),
    "raise page": ("customer_subscription_raise", True, None, 200, 6),
    "raise preview": ("customer_subscription_raise", True, {"quantity": 6}, 200, 11),
    "edit page": ("customer_subscription_edit", True, None, 200, 6),
    "edit": ("customer_subscription_edit", True, {"ends_on": "2099-01-01"}, 302, 14),
    "lower page": ("customer_subscription_lower", True, None, 200, 6),
    "lower preview": ("customer_subscription_lower", True, {"quantity": 1}, 200, 17),
    "end page": ("customer_subscription_end", True, None, 200, 6),
    "end preview": ("customer_subscription_end", True, {"action": "preview"}, 200, 15),
    "cancel page": ("customer_subscription_cancel", True, None, 302, 4),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_money_page_loads_the_customer_once(world, browser, hosting, mailboxes, name):
    url_name, with_subscription, data, status, expected = PAGES[name]
    client = browser(world.partner_owner)
    client.get(reverse("customer_subscriptions", args=["alpine", world.customer.pk]))  # warm
    args = ["alpine", world.customer.pk, *([mailboxes.pk] if with_subscription else [])]
    url = reverse(url_name, args=args)
    if data == "lines":
        data = {"product_0": hosting.pk, "quantity_0": 2}

    response, count, loads, checks = _measured(
        lambda: client.post(url, data) if data is not None else client.get(url)
    )

    assert response.status_code == status
    assert loads <= 1 and checks == 1
    assert count == expected


def _end_grant(world):
    def end(loaded):
        Partnership.unscoped.filter(customer=world.customer).update(status=Partnership.Status.ENDED)

    return end


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/orders/", "order"),
        ("post", "/api/v1/subscriptions/", "subscribe"),
        ("patch", "/api/v1/subscriptions/{s}/", {"quantity": 5}),
        ("patch", "/api/v1/subscriptions/{s}/", {"ends_on": "2099-01-01"}),
        ("delete", "/api/v1/subscriptions/{s}/?at=period_end", None),
        ("delete", "/api/v1/subscriptions/{s}/", None),
    ],
)
def test_a_grant_ended_after_the_load_writes_nothing(world, api, mailboxes, method, path, body):
    """Ended between the view's load and the service's lock: the service reads
    the grant again under the lock, answers the 404 of a customer out of reach
    and writes nothing."""
    client = api(world.partner_owner, world.partner)
    url, body = path.format(s=mailboxes.pk), _body(body, world)
    before = (
        Order.unscoped.count(),
        list(Subscription.unscoped.values_list("quantity", "ends_on", "cancelled_at")),
    )
    if "{s}" in path:
        module, loader = subscription_selectors, "subscription_get"
    else:
        module, loader = partner_selectors, "customer_get_for_partner"
    send = getattr(client, method)

    with calls_of(module, loader, after=_end_grant(world)):
        response = send(url, body, format="json") if body is not None else send(url)

    assert response.status_code == 404, response.content
    after = (
        Order.unscoped.count(),
        list(Subscription.unscoped.values_list("quantity", "ends_on", "cancelled_at")),
    )
    assert after == before


def test_an_order_page_placed_after_the_grant_ended_writes_nothing(world, browser, hosting):
    grant(world, access="full", payment="customer")
    client = browser(world.partner_owner)
    url = reverse("customer_order_place", args=["alpine", world.customer.pk])
    owner = org(world.partner_owner, world.partner)
    expected = quote(org=owner, customer_id=world.customer.pk, lines=[LineRequest(hosting, 2)])

    with calls_of(partner_selectors, "customer_get_for_partner", after=_end_grant(world)):
        response = client.post(
            url,
            {
                "product_0": hosting.pk,
                "quantity_0": 2,
                "action": "place",
                "expected_total": str(expected.charged),
            },
        )

    assert response.status_code == 404
    assert not Order.unscoped.exists()
