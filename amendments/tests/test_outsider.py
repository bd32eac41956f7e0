"""Issue 20 tried as an outsider would (the session's checklist): a line of
`POST orders/` naming a subscription (API.md rev. 2: `{subscription,
quantity}`), another organization's subscription in an order's body, a
suspended organization ordering, an order on the first of next month and the
renewal that follows, and a client's price on every write endpoint. The
opening list's reproductions are tests elsewhere (billing/tests/
test_money_path.py and the ones the report names); these are the ones that
had none.

Web hosting at CHF 9.92 a month, 10 % off from 10 units and 25 % from 30;
Alpine IT has 20 % off."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice, Order, Renewal
from billing.services import renewals
from billing.tests.conftest import grant
from offers import services as offer_services
from offers.tests.conftest import org
from offers.tests.test_effect import delivered, order_hostings, template_of
from partners.services import collaborators_set
from subscriptions.models import Subscription, SubscriptionChange
from tenants.models import Membership, Tenant
from tenants.tests.factories import CustomerFactory
from tests.clock import on

pytestmark = pytest.mark.django_db

D = Decimal
ORDERS = "/api/v1/orders/"
SUBSCRIPTIONS = "/api/v1/subscriptions/"


def written() -> tuple:
    return (
        Order.unscoped.count(),
        Invoice.unscoped.count(),
        SubscriptionChange.unscoped.count(),
        sorted(Subscription.unscoped.values_list("quantity", "unit_price", "cancelled_at")),
    )


@pytest.fixture
def thirty_five(world, api, hosting, time_machine):
    """On 1 April 2026 Müller orders 35 hostings (Alpine manages, Müller pays);
    then it is 16 April."""
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    placed = api(world.customer_owner, world.customer).post(
        SUBSCRIPTIONS, {"product": "web-hosting", "quantity": 35}, format="json"
    )
    assert placed.status_code == 201, placed.json()
    time_machine.move_to(on(2026, 4, 16, 9))
    return Subscription.unscoped.get(pk=placed.json()["subscription"]["id"])


@pytest.fixture
def foreign(world, hosting):
    """Another customer's subscription (not Alpine's, not Müller's)."""
    stranger = CustomerFactory(name="Fremd AG")
    return Subscription.unscoped.create(
        customer=stranger,
        product=hosting,
        quantity=5,
        unit_price=D("9.92"),
        currency="CHF",
        billing_period="monthly",
        starts_on=datetime.date(2026, 4, 1),
    )


# --- POST orders/ {subscription, quantity} ------------------------------------------------------


def test_an_order_line_naming_a_subscription_raises_it_after_its_preview(world, api, thirty_five):
    client = api(world.customer_owner, world.customer)
    line = {"subscription": str(thirty_five.pk), "product": "web-hosting", "quantity": 40}

    preview = client.post(ORDERS, {"lines": [line], "dry_run": True}, format="json")
    stale = client.post(ORDERS, {"lines": [line], "expected_total": "1.00"}, format="json")
    before = written()
    placed = client.post(ORDERS, {"lines": [line], "expected_total": "18.60"}, format="json")

    # 5 more at 7.44 for 15 of 30 days: round(297.60 / 2) - round(260.40 / 2)
    assert preview.status_code == 200, preview.json()
    assert preview.json()["totals"]["charged"] == "18.60"
    assert stale.status_code == 409 and stale.json()["quote"]["totals"]["net"] == "18.60"
    assert placed.status_code == 201, placed.json()
    assert placed.json()["charged"] == "18.60"
    assert written() != before
    thirty_five.refresh_from_db()
    assert thirty_five.quantity == 40
    assert Subscription.unscoped.count() == 1  # changed, not a second one opened
    assert thirty_five.changes.latest("created_at").kind == "increase"


def test_an_order_line_naming_a_subscription_lowers_it_with_a_credit(world, api, thirty_five):
    client = api(world.customer_owner, world.customer)
    line = {"subscription": str(thirty_five.pk), "quantity": 30}

    placed = client.post(ORDERS, {"lines": [line], "expected_total": "-18.60"}, format="json")

    assert placed.status_code == 201, placed.json()
    assert (placed.json()["kind"], placed.json()["credited_amount"]) == ("credit", "18.60")
    thirty_five.refresh_from_db()
    assert thirty_five.quantity == 30


def test_another_organizations_subscription_in_an_order_is_a_404_like_a_missing_one(
    world, api, thirty_five, foreign
):
    before = written()
    answers = []
    for client in (
        api(world.customer_owner, world.customer),
        api(world.partner_owner, world.partner),
    ):
        for subscription in (foreign.pk, "8d5e8f9c-0000-4000-8000-000000000000"):
            body = {
                "customer": str(world.customer.pk),
                "lines": [{"subscription": str(subscription), "quantity": 50}],
            }
            answers.append(client.post(ORDERS, body, format="json"))
            answers.append(client.post(ORDERS, {**body, "dry_run": True}, format="json"))

    assert [a.status_code for a in answers] == [404] * 8
    assert len({a.content for a in answers}) == 1  # the same answer: nothing revealed
    assert written() == before
    foreign.refresh_from_db()
    assert foreign.quantity == 5


def test_a_subscription_named_for_another_customer_or_product_is_refused(
    world, api, hosting, mailbox, thirty_five
):
    partner = api(world.partner_owner, world.partner)
    other = CustomerFactory(name="Anders GmbH")
    before = written()

    wrong_customer = partner.post(
        ORDERS,
        {
            "customer": str(other.pk),
            "lines": [{"subscription": str(thirty_five.pk), "quantity": 40}],
        },
        format="json",
    )
    wrong_product = partner.post(
        ORDERS,
        {
            "customer": str(world.customer.pk),
            "lines": [{"subscription": str(thirty_five.pk), "product": "mailbox", "quantity": 40}],
        },
        format="json",
    )
    two_lines = partner.post(
        ORDERS,
        {
            "customer": str(world.customer.pk),
            "lines": [
                {"subscription": str(thirty_five.pk), "quantity": 40},
                {"subscription": str(thirty_five.pk), "quantity": 41},
            ],
        },
        format="json",
    )
    same = partner.post(
        ORDERS,
        {
            "customer": str(world.customer.pk),
            "lines": [{"subscription": str(thirty_five.pk), "quantity": 35}],
        },
        format="json",
    )

    assert wrong_customer.status_code == 404
    assert wrong_product.status_code == 400 and "lines" in wrong_product.json()
    assert two_lines.status_code == 400 and "lines" in two_lines.json()
    assert same.status_code == 400 and "lines" in same.json()
    assert written() == before


def test_a_non_buyer_cannot_change_a_subscription_by_an_order(world, api, thirty_five):
    Membership.unscoped.filter(tenant=world.customer, user=world.customer_owner).update(buyer=False)
    before = written()

    response = api(world.customer_owner, world.customer).post(
        ORDERS, {"lines": [{"subscription": str(thirty_five.pk), "quantity": 40}]}, format="json"
    )

    assert response.status_code == 403
    assert written() == before


# --- a client's price, start or anchor, on every write endpoint ---------------------------------


@pytest.mark.parametrize("field", ["unit_price", "starts_on", "billing_anchor"])
def test_a_ruled_field_is_a_400_on_every_write_that_moves_money(
    world, api, hosting, thirty_five, field
):
    value = "0.00" if field == "unit_price" else "2030-01-01"
    customer = api(world.customer_owner, world.customer)
    partner = api(world.partner_owner, world.partner)
    template = offer_services.template_create(org=org(world.partner_owner, world.partner), name="T")
    offer_services.template_item_add(
        org=org(world.partner_owner, world.partner),
        template=template,
        product=hosting,
        quantity=1,
        license_mode="relative",
        term_months=12,
    )
    sub = f"{SUBSCRIPTIONS}{thirty_five.pk}/"
    before = written()

    answers = {
        "POST subscriptions/": customer.post(
            SUBSCRIPTIONS, {"product": "web-hosting", "quantity": 1, field: value}, format="json"
        ),
        "PATCH subscriptions/{id}/": customer.patch(
            sub, {"quantity": 36, field: value}, format="json"
        ),
        "DELETE subscriptions/{id}/": customer.delete(sub, {field: value}, format="json"),
        "POST orders/": customer.post(
            ORDERS,
            {"lines": [{"product": "web-hosting", "quantity": 1, field: value}]},
            format="json",
        ),
        "POST orders/ (a change)": customer.post(
            ORDERS,
            {"lines": [{"subscription": str(thirty_five.pk), "quantity": 36, field: value}]},
            format="json",
        ),
        "POST quotes/": customer.post(
            "/api/v1/quotes/",
            {"lines": [{"product": "web-hosting", "quantity": 1, field: value}]},
            format="json",
        ),
        "POST offer-templates/{id}/items/": partner.post(
            f"/api/v1/offer-templates/{template.pk}/items/",
            {
                "product": "mailbox",
                "quantity": 1,
                "license_mode": "relative",
                "term_months": 1,
                field: value,
            },
            format="json",
        ),
        "POST offers/": partner.post(
            "/api/v1/offers/",
            {"customer": str(world.customer.pk), "template": str(template.pk), field: value},
            format="json",
        ),
    }

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 400)
    for response in answers.values():  # named: on the body, or on its line
        assert field in str(response.json())
    assert written() == before
    assert not template.items.filter(product__code="mailbox").exists()


def test_a_price_sent_with_an_accept_is_a_400_and_nothing_changes(world, api, hosting, thirty_five):
    partner = org(world.partner_owner, world.partner)
    template = offer_services.template_create(org=partner, name="One more")
    offer_services.template_item_add(
        org=partner,
        template=template,
        product=hosting,
        quantity=1,
        license_mode="relative",
        term_months=12,
    )
    offer = offer_services.offer_send(
        org=partner, template=template, customer_ids=[world.customer.pk]
    ).offers.get()
    assert offer_services.offer_deliver(offer_id=offer.pk)
    before = written()

    response = api(world.customer_owner, world.customer).post(
        f"/api/v1/offers/{offer.pk}/accept/", {"unit_price": "0.01"}, format="json"
    )

    assert response.status_code == 400 and "unit_price" in response.json()
    assert written() == before


# --- a suspended organization, the first of next month ------------------------------------------


def test_a_suspended_customer_places_no_order_by_any_path(world, api, browser, hosting):
    grant(world, access="full", payment="customer")
    Tenant.objects.filter(pk=world.customer.pk).update(status=Tenant.Status.SUSPENDED)
    client = api(world.customer_owner, world.customer)

    answers = [
        client.post(ORDERS, {"lines": [{"product": "web-hosting", "quantity": 1}]}, format="json"),
        client.post(SUBSCRIPTIONS, {"product": "web-hosting", "quantity": 1}, format="json"),
        browser(world.customer_owner).post(
            reverse("order_place", kwargs={"slug": world.customer.slug}),
            {
                "product_0": str(hosting.pk),
                "quantity_0": "1",
                "action": "place",
                "expected_total": "9.92",
            },
        ),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403]
    assert not Order.unscoped.exists() and not Subscription.unscoped.exists()


def test_an_order_on_the_first_of_next_month_is_billed_once_and_renewed_a_month_later(
    world, api, hosting, time_machine
):
    time_machine.move_to(on(2026, 4, 30, 23))
    grant(world, access="full", payment="customer")
    time_machine.move_to(on(2026, 5, 1, 0, 5))  # just past midnight, the first of the month

    placed = api(world.customer_owner, world.customer).post(
        SUBSCRIPTIONS, {"product": "web-hosting", "quantity": 3}, format="json"
    )

    assert placed.status_code == 201, placed.json()
    subscription = Subscription.unscoped.get()
    line = subscription.order_lines.get()
    assert (subscription.starts_on, line.period_starts_on, line.period_ends_on) == (
        datetime.date(2026, 5, 1),
        datetime.date(2026, 5, 1),
        datetime.date(2026, 5, 31),
    )
    assert line.charged_amount == D("29.76")
    # the renewal job of the same day bills nothing more: May is the first period
    assert renewals.renewals_place_due(today=datetime.date(2026, 5, 1)) == 0
    assert renewals.renewals_place_due(today=datetime.date(2026, 5, 31)) == 0
    # on 1 June, June is billed, once
    time_machine.move_to(on(2026, 6, 1, 2))
    assert renewals.renewals_place_due(today=datetime.date(2026, 6, 1)) == 1
    assert renewals.renewals_place_due(today=datetime.date(2026, 6, 1)) == 0
    (renewal,) = Renewal.unscoped.filter(subscription=subscription)
    assert renewal.period_starts_on == datetime.date(2026, 6, 1)
    assert renewal.order.charged_amount == D("29.76")


@pytest.mark.parametrize("who", ["seeblick_owner", "collaborator"])
def test_a_member_without_the_buyer_flag_adds_nothing_in_the_browser(world, browser, hosting, who):
    """The opening list's first two reproductions, on the page: an owner who is
    not a buyer (seeblick.owner), and a partner collaborator (not a buyer)
    assigned to the customer (partner.collaborator, 5,000 x for Müller)."""
    grant(world, access="full", payment="customer")
    if who == "seeblick_owner":
        Membership.unscoped.filter(tenant=world.customer, user=world.customer_owner).update(
            buyer=False
        )
        user, url = (
            world.customer_owner,
            reverse("order_place", kwargs={"slug": world.customer.slug}),
        )
    else:
        collaborators_set(
            org=org(world.partner_owner, world.partner),
            customer=world.customer,
            user_ids=[world.collaborator.id],
        )
        user = world.collaborator
        url = reverse(
            "customer_order_place",
            kwargs={"slug": world.partner.slug, "customer_id": world.customer.pk},
        )
    form = {"product_0": str(hosting.pk), "quantity_0": "5000", "unit_price_0": "0.00"}

    answers = [
        browser(user).post(url, {**form, "action": "preview"}).status_code,
        browser(user).post(url, {**form, "action": "place", "expected_total": "0.00"}).status_code,
    ]

    assert answers == [403, 403]
    assert not Order.unscoped.exists() and not Subscription.unscoped.exists()


def test_an_offer_accepted_on_its_renewal_day_bills_no_day_twice(world, api, hosting, time_machine):
    """Office starter's reproduction: it billed 1 x .ch domain the same day a
    renewal billed 2. Two hostings since 1 March, renewed on 1 April; the same
    day Müller accepts "absolute 1": no new charge, the renewed unit it no
    longer uses credited for the whole of April, so April is paid for 1 unit."""
    time_machine.move_to(on(2026, 3, 1, 9))
    grant(world, access="full", payment="customer")
    subscription = order_hostings(world, hosting, 2)
    time_machine.move_to(on(2026, 4, 1, 9))
    assert renewals.renewals_place_due(today=datetime.date(2026, 4, 1)) == 1
    offer = delivered(world, template_of(world, "Office starter", (hosting, 1, "absolute")))
    customer = api(world.customer_owner, world.customer)

    preview = customer.post(f"/api/v1/offers/{offer.pk}/accept/", {"dry_run": True}, format="json")
    accepted = customer.post(
        f"/api/v1/offers/{offer.pk}/accept/",
        {"confirm_reduction": True, "expected_total": preview.json()["total"]},
        format="json",
    )

    assert preview.json()["total"] == "-9.92"
    assert accepted.status_code == 200, accepted.json()
    april = Order.unscoped.filter(lines__period_starts_on__gte=datetime.date(2026, 4, 1))
    assert not april.filter(kind="order").exists()  # nothing charged again
    charged = sum(o.charged_amount for o in april)
    credited = sum(o.credited_amount for o in april)
    assert (charged, credited) == (D("19.84"), D("9.92"))  # April: one unit, once
    subscription.refresh_from_db()
    assert subscription.quantity == 1
