"""One load per request (issue 19, item 6; docs/architecture.md) in upsell: the
switch is set on the customer the view loaded once through the permission
function (upsell.services.upsell_switch locks the switch and checks the grant
again), and a request is answered on the request the view loaded once and
rendered as the service saved it. Statements as in customers/tests/test_one_load.py."""

import pytest
from django.urls import reverse

from customers.tests.test_one_load import _measured
from partners import selectors as partner_selectors
from partners.models import Partnership
from tests.spies import calls_of
from upsell import selectors
from upsell.models import UpsellChange, UpsellSwitch
from upsell.tests.test_api import REQUESTS, as_lakeside, ask_url, subscription_of, switch_on

pytestmark = pytest.mark.django_db


def upsell_url(shop) -> str:
    return f"/api/v1/customers/{shop.customer.pk}/upsell/"


def test_the_switch_loads_the_customer_once(api, world, shop):
    """Before: 13 statements, the customer loaded twice (the view, then the service)."""
    client = as_lakeside(api, world)
    client.get(upsell_url(shop))  # the session, warm

    response, count, loads, checks = _measured(
        lambda: client.put(upsell_url(shop), {"enabled": True}, format="json")
    )

    assert response.status_code == 200 and response.json()["enabled"] is True
    assert (loads, checks) == (1, 1)
    assert count == 11


def test_the_switch_page_loads_the_customer_once(browser, world, shop):
    """Before: the same 10 statements, the customer loaded twice."""
    client = browser(world.sub_partner_owner)
    url = reverse("customer_upsell", args=["lakeside", shop.customer.pk])
    client.get(url)  # the session, warm

    response, count, loads, checks = _measured(lambda: client.post(url, {"enabled": "on"}))

    assert response.status_code == 302
    assert UpsellSwitch.unscoped.get(customer=shop.customer).enabled
    assert (loads, checks) == (1, 1)
    assert count == 10


def test_a_switch_after_the_grant_ended_is_a_404_and_records_nothing(api, world, shop):
    def end(loaded):
        Partnership.unscoped.filter(customer=shop.customer).update(status="ended")

    with calls_of(partner_selectors, "customer_get_for_partner", after=end):
        response = as_lakeside(api, world).put(upsell_url(shop), {"enabled": True}, format="json")

    assert response.status_code == 404
    assert not UpsellChange.unscoped.exists()
    assert not UpsellSwitch.unscoped.filter(enabled=True).exists()


@pytest.mark.parametrize(("answer", "statements"), [("dismiss", 6), ("offer", 20)])
def test_a_request_is_answered_on_the_one_it_loaded(api, world, shop, answer, statements):
    """Before, the view read the request again through the selector after the
    service (dismiss 7 statements, offer 19). Sending the offer still checks its
    customer for the send (offers.services.offer_propose, a send by ids), and
    since issue 20 whether someone there can answer it (one statement more), and
    prices the item at the tier of the customer's total units (one more)."""
    switch_on(api, world, shop)
    asker = api(shop.members["admin, buyer"], shop.customer)
    request_id = asker.post(ask_url(subscription_of(shop).pk, "patch-management")).json()["id"]
    client = as_lakeside(api, world)
    client.get(REQUESTS)  # the session, warm

    with calls_of(selectors, "upgrade_request_get") as loads:
        response, count, _loads, _checks = _measured(
            lambda: client.post(f"{REQUESTS}{request_id}/{answer}/")
        )

    assert response.status_code == 200, response.content
    assert len(loads) == 1
    assert response.json() == client.get(f"{REQUESTS}{request_id}/").json()
    assert count == statements
