"""One money path (SPEC §4, §7 rev. 2; issue 20): the outside review's
reproductions, each failing the way the rules say, and the API's preview then
commit. Before, each of these wrote a subscription with no order."""

from decimal import Decimal

import pytest

from billing.models import Invoice, Order
from billing.tests.conftest import grant
from partners.services import collaborators_set
from subscriptions.models import Subscription, SubscriptionChange
from tenants.models import Membership, Role
from tenants.selectors import org_context_for
from tenants.tests.factories import MembershipFactory
from tests.clock import on

LIST = "/api/v1/subscriptions/"


def nothing_written() -> bool:
    return not (
        Subscription.unscoped.exists()
        or Order.unscoped.exists()
        or Invoice.unscoped.exists()
        or SubscriptionChange.unscoped.exists()
    )


def test_an_owner_who_is_not_a_buyer_cannot_subscribe_nor_name_a_price(world, api, hosting):
    """seeblick.owner (owner, not a buyer) posted 100,000 x at CHF 0.00: 201, and the
    renewal then invoiced CHF 952,000.00 to the partner that pays."""
    grant(world, access="full", payment="partner")
    Membership.unscoped.filter(tenant=world.customer, user=world.customer_owner).update(buyer=False)
    client = api(world.customer_owner, world.customer)

    priced = client.post(
        LIST, {"product": "web-hosting", "quantity": 100_000, "unit_price": "0.00"}
    )
    unpriced = client.post(LIST, {"product": "web-hosting", "quantity": 100_000})

    assert priced.status_code == 400
    assert set(priced.json()) == {"unit_price"}
    assert unpriced.status_code == 403
    assert nothing_written()


def test_a_collaborator_who_is_not_a_buyer_cannot_subscribe_its_customer(world, api, hosting):
    """partner.collaborator posted 5,000 x for Bäckerei Müller: 201, and the renewal
    billed Müller CHF 59,500."""
    grant(world, access="full", payment="customer")
    collaborators_set(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id),
        customer=world.customer,
        user_ids=[world.collaborator.id],
    )

    response = api(world.collaborator, world.partner).post(
        LIST, {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 5000}
    )

    assert response.status_code == 403
    assert nothing_written()


def test_the_start_and_the_price_of_a_subscription_are_never_edited(world, api, hosting):
    """PATCH {"starts_on": today} made the renewal job skip the subscription for good;
    a price of 999,999.00 made the programme's `qualifies` true at no cost."""
    grant(world, access="full", payment="customer")
    client = api(world.customer_owner, world.customer)
    placed = client.post(LIST, {"product": "web-hosting", "quantity": 3}).json()
    url = f"{LIST}{placed['subscription']['id']}/"

    answers = {
        field: client.patch(url, {field: value})
        for field, value in {
            "starts_on": "2030-01-01",
            "unit_price": "999999.00",
            "billing_anchor": "2030-01-01",
        }.items()
    }

    assert {field: r.status_code for field, r in answers.items()} == dict.fromkeys(answers, 400)
    assert all(field in r.json() for field, r in answers.items())
    subscription = Subscription.unscoped.get()
    assert (subscription.quantity, subscription.unit_price) == (3, Decimal("9.92"))
    assert SubscriptionChange.unscoped.count() == 1


def test_a_dry_run_previews_and_writes_nothing(world, api, hosting):
    grant(world, access="full", payment="customer")

    response = api(world.partner_owner, world.partner).post(
        LIST,
        {
            "customer": str(world.customer.id),
            "product": "web-hosting",
            "quantity": 35,
            "dry_run": True,
        },
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    # SPEC §7's worked example: 35 at 9.92, 25 % degressive, the customer pays public
    assert (body["totals"]["charged"], body["lines"][0]["cashback"]) == ("260.40", "52.08")
    assert nothing_written()


def test_the_order_commits_only_the_amount_previewed(world, api, hosting):
    grant(world, access="full", payment="customer")
    client = api(world.partner_owner, world.partner)
    body = {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 35}

    stale = client.post(LIST, {**body, "expected_total": "347.20"})  # before the 25 % tier
    placed = client.post(LIST, {**body, "expected_total": "260.40"})

    assert stale.status_code == 409
    assert "260.40" in stale.json()["detail"]
    assert stale.json()["quote"]["totals"]["charged"] == "260.40"
    assert placed.status_code == 201, placed.json()
    assert placed.json()["order"]["charged"] == "260.40"
    assert Order.unscoped.count() == 1 and Subscription.unscoped.count() == 1


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_a_customer_buyer_subscribes_at_its_public_price_whatever_it_sends(
    world, api, hosting, role
):
    buyer = MembershipFactory(tenant=world.customer, role=role, buyer=True).user

    response = api(buyer, world.customer).post(LIST, {"product": "web-hosting", "quantity": 35})

    assert response.status_code == 201, response.json()
    order = Order.unscoped.get()
    assert (order.payer_tenant, order.charged_amount) == (world.customer, Decimal("260.40"))
    assert Invoice.unscoped.get(order=order).total == Decimal("260.40")


# --- found by an outside review of this change ------------------------------------------

ORDERS = "/api/v1/orders/"


def test_orders_preview_commit_only_the_previewed_amount_and_refuse_a_price(world, api, hosting):
    grant(world, access="full", payment="customer")
    client = api(world.customer_owner, world.customer)
    lines = [{"product": "web-hosting", "quantity": 35}]

    preview = client.post(ORDERS, {"lines": lines, "dry_run": True}, format="json")
    priced = client.post(
        ORDERS, {"lines": [{**lines[0], "unit_price": "0.01"}], "unit_price": "0.01"}, format="json"
    )
    stale = client.post(ORDERS, {"lines": lines, "expected_total": "1.00"}, format="json")
    assert nothing_written()
    placed = client.post(ORDERS, {"lines": lines, "expected_total": "260.40"}, format="json")

    assert preview.status_code == 200 and preview.json()["totals"]["charged"] == "260.40"
    assert priced.status_code == 400
    assert set(priced.json()) == {"unit_price", "lines"}
    assert stale.status_code == 409 and stale.json()["quote"]["totals"]["charged"] == "260.40"
    assert placed.status_code == 201, placed.json()


def test_ending_or_cancelling_needs_the_buyer_flag_too(world, api, hosting):
    grant(world, access="full", payment="customer")
    placed = api(world.customer_owner, world.customer).post(
        LIST, {"product": "web-hosting", "quantity": 3}
    )
    url = f"{LIST}{placed.json()['subscription']['id']}/"
    Membership.unscoped.filter(tenant=world.customer, user=world.customer_admin).update(buyer=False)
    not_buyers = [
        api(world.customer_admin, world.customer),
        api(world.partner_admin, world.partner),
    ]

    answers = [
        (c.patch(url, {"ends_on": "2099-12-31"}).status_code, c.delete(url).status_code)
        for c in not_buyers
    ]

    assert answers == [(403, 403), (403, 403)]
    subscription = Subscription.unscoped.get()
    assert (subscription.ends_on, subscription.cancelled_at) == (None, None)


def test_the_last_day_is_never_set_in_the_past_nor_on_an_ended_subscription(
    world, api, hosting, time_machine
):
    time_machine.move_to(on(2026, 9, 1, 9))
    grant(world, access="full", payment="customer")
    url = (
        LIST
        + api(world.customer_owner, world.customer)
        .post(LIST, {"product": "web-hosting", "quantity": 3})
        .json()["subscription"]["id"]
        + "/"
    )
    time_machine.move_to(on(2026, 11, 15))
    client = api(world.customer_owner, world.customer)

    backdated = client.patch(url, {"ends_on": "2026-09-01"})
    ending = client.patch(url, {"ends_on": "2026-11-15"})
    time_machine.move_to(on(2026, 11, 16))
    client = api(world.customer_owner, world.customer)
    revived = client.patch(url, {"ends_on": None}, format="json")

    assert backdated.status_code == 400 and "ends_on" in backdated.json()
    assert ending.status_code == 200
    assert revived.status_code == 409
    assert Subscription.unscoped.get().ends_on.isoformat() == "2026-11-15"


def test_ending_at_the_period_end_keeps_the_days_paid(world, api, hosting, time_machine):
    time_machine.move_to(on(2026, 9, 10, 9))
    grant(world, access="full", payment="customer")
    subscription_id = (
        api(world.customer_owner, world.customer)
        .post(LIST, {"product": "web-hosting", "quantity": 3})
        .json()["subscription"]["id"]
    )
    time_machine.move_to(on(2026, 11, 15))
    client = api(world.customer_owner, world.customer)

    wrong = client.delete(f"{LIST}{subscription_id}/?at=tomorrow")
    response = client.delete(f"{LIST}{subscription_id}/?at=period_end")

    assert wrong.status_code == 400 and "at" in wrong.json()
    assert response.status_code == 200, response.json()
    body = response.json()["subscription"]
    # periods from 10 September: 10 Nov - 9 Dec is the one paid
    assert (body["ends_on"], body["status"]) == ("2026-12-09", "active")
    assert Subscription.unscoped.get().cancelled_at is None
