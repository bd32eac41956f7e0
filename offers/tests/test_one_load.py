"""One load per request (issue 19, item 6; docs/architecture.md) for offers: an
answer, a cancel or a retry runs on the offer the view loaded once through the
selector and is rendered as the service saved it, not read again. Statements
as in customers/tests/test_one_load.py."""

import pytest

from billing.tests.conftest import grant
from customers.tests.test_one_load import _measured
from offers import selectors
from offers.tests.test_api import delivered
from tests.spies import calls_of

pytestmark = pytest.mark.django_db


# action: (who, statements). Before, the view read the offer again through the
# selector after the service: cancel 14, decline 15, accept 47; accept 44 until
# issue 28 (the order's emails queued as ids, the invoice number by UPDATE …
# RETURNING, the product not read again), 39 once the offer's effect was worked
# out once and carried out (offers.effects), 35 with both; 37 with MRR from the
# ledger: one INSERT per subscription the offer opens, its term's end in the ledger;
# 40 with the ledger's writer reading each batch's latest changes (writing order).
# Issue 23: each domain event is one INSERT into the webhook outbox: cancel and
# decline 1 (offer.*), accept 6 (offer.accepted, order.placed, invoice.issued,
# subscription.changed, and the replaced edition's credit order and note);
# issue 28 again: an order's events reach the outbox in one insert
# (core.events.events_gathered): accept 44.
# Issue 27: the customer marked pending for the partners' books
# (subscriptions.books) by the accept's ledger writes and tenant changes, one
# INSERT each: accept 47.
ACTIONS = {"cancel": ("partner", 11), "decline": ("customer", 11), "accept": ("customer", 47)}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_an_offer_is_acted_on_as_loaded_and_answered_as_saved(world, api, template, action):
    who, statements = ACTIONS[action]
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    if who == "partner":
        client = api(world.partner_owner, world.partner)
    else:
        client = api(world.customer_owner, world.customer)
    client.get("/api/v1/offers/")  # the session, warm
    url = f"/api/v1/offers/{offer.pk}/"

    with calls_of(selectors, "offer_get") as loads:
        response, count, _loads, _checks = _measured(
            lambda: client.post(f"{url}{action}/", {}, format="json")
        )

    assert response.status_code == 200, response.content
    assert len(loads) == 1
    assert count == statements
    assert response.json() == client.get(url).json()
