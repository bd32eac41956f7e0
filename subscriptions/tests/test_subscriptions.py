"""Subscriptions and a customer's MRR (SPEC §4, API.md): who may add and change
them, their validation and status, and the widget's figures."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Order
from catalog.models import PriceTier
from catalog.tests.factories import ProductFactory
from core.exceptions import Conflict
from partners import services as partner_services
from subscriptions import mrr, selectors, services
from subscriptions.models import Subscription
from subscriptions.tests.ledger import cancel_on, open_ledger
from tenants.models import Membership
from tenants.selectors import org_context_for
from tests.clock import on
from tests.isolation import assert_all_404, missing_id

LIST = "/api/v1/subscriptions/"
TODAY = datetime.date(2025, 3, 15)


def detail(subscription) -> str:
    return f"{LIST}{subscription.pk}/"


def mrr_url(customer_id) -> str:
    return f"/api/v1/customers/{customer_id}/mrr/"


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def manage(world, *, access="full", products=None):
    """Bäckerei Müller gives Alpine IT access (full, or limited to `products`)."""
    invited = partner_services.partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access=access,
        payment="customer" if access == "full" else None,
        products=products,
    )
    return partner_services.partnership_accept(
        org=org(world.partner_owner, world.partner), partnership=invited
    )


def assign_collaborator(world) -> None:
    partner_services.collaborators_set(
        org=org(world.partner_owner, world.partner),
        customer=world.customer,
        user_ids=[world.collaborator.id],
    )


@pytest.fixture
def hosting(db):
    return ProductFactory(code="web-hosting", prices={"CHF": "9.92", "EUR": "5.75"})


def subscribe(world, product, quantity=1, **fields) -> Subscription:
    """A subscription of Bäckerei Müller, added by its owner."""
    fields.setdefault("starts_on", TODAY)
    subscription = services.subscription_create(
        org=org(world.customer_owner, world.customer),
        customer=world.customer,
        product=product,
        quantity=quantity,
        **fields,
    )
    open_ledger(subscription)  # as the order that places it does
    return subscription


# --- create, price, MRR --------------------------------------------------------------------


def test_a_partner_adds_a_subscription_by_an_order_at_the_customers_public_price(
    world, api, hosting
):
    manage(world)

    response = api(world.partner_owner, world.partner).post(
        LIST, {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 35}
    )

    assert response.status_code == 201, response.json()
    body = response.json()["subscription"]
    assert body["customer"] == str(world.customer.id)
    assert body["product"] == "web-hosting"
    assert body["unit_price"] == "9.92"
    assert body["currency"] == "CHF"
    assert body["billing_period"] == "monthly"
    assert body["starts_on"] == timezone.localdate().isoformat()
    assert body["ends_on"] is None
    assert body["status"] == "active"
    assert body["mrr"] == "347.20"
    # the order behind it: the customer pays the public price for this period
    order = response.json()["order"]
    assert (order["kind"], order["payer"], order["charged"]) == (
        "order",
        "customer",
        "347.20",
    )
    assert selectors.customer_mrr(customer=world.customer)["current_mrr"] == Decimal("347.20")


def test_the_default_price_includes_the_degressive_tier_reached(world, hosting):
    # SPEC §7: degressive tiers apply to everyone; 35 units reach the 25 % tier
    PriceTier.objects.create(product=hosting, min_quantity=30, rate=Decimal("0.25"))

    many = subscribe(world, hosting, quantity=35)
    few = subscribe(world, hosting, quantity=29)

    assert many.unit_price == Decimal("7.44")  # 9.92 x 0.75
    assert few.unit_price == Decimal("9.92")


def test_an_annual_price_is_divided_by_12_and_rounded_half_up_once(world):
    # 0.30 / 12 = 0.025: half-up gives 0.03 (banker's rounding would give 0.02).
    backup = ProductFactory(billing_period="annual", prices={"CHF": "0.30", "EUR": "0.30"})

    subscription = subscribe(world, backup, quantity=1)

    assert subscription.billing_period == "annual"
    assert subscription.mrr == Decimal("0.03")
    assert selectors.customer_mrr(customer=world.customer, today=TODAY)["current_mrr"] == Decimal(
        "0.03"
    )


def test_the_database_divides_a_whole_annual_price_exactly(world):
    domain = ProductFactory(billing_period="annual", prices={"CHF": "100.00", "EUR": "90.00"})
    subscribe(world, domain)

    assert selectors.customer_mrr(customer=world.customer, today=TODAY)["current_mrr"] == Decimal(
        "8.33"
    )


def test_a_customer_orders_with_an_end_date_but_never_its_own_price_or_start(world, api, hosting):
    client = api(world.customer_owner, world.customer)
    end = timezone.localdate() + datetime.timedelta(days=90)

    refused = client.post(
        LIST,
        {
            "product": "web-hosting",
            "quantity": 2,
            "unit_price": "8.50",
            "starts_on": "2030-01-01",
            "billing_anchor": "2030-01-01",
        },
    )
    ordered = client.post(
        LIST, {"product": "web-hosting", "quantity": 2, "ends_on": end.isoformat()}
    )

    assert refused.status_code == 400
    assert set(refused.json()) == {"unit_price", "starts_on", "billing_anchor"}
    assert ordered.status_code == 201, ordered.json()
    body = ordered.json()["subscription"]
    assert (body["customer"], body["unit_price"], body["mrr"]) == (
        str(world.customer.id),
        "9.92",
        "19.84",
    )
    assert (body["ends_on"], body["status"]) == (end.isoformat(), "active")
    assert Subscription.unscoped.count() == 1


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "side", "expected"),
    [
        ("partner_owner", "partner", 201),
        ("partner_admin", "partner", 403),  # not a buyer
        ("assigned collaborator", "partner", 403),  # not a buyer
        ("assigned buyer collaborator", "partner", 201),
        ("collaborator", "partner", 404),
        ("other_owner", "other_partner", 404),
        ("customer_owner", "customer", 201),
        ("customer_admin", "customer", 201),
        ("customer_user", "customer", 403),
    ],
)
def test_who_may_add_a_subscription(world, api, hosting, who, side, expected):
    manage(world)
    if who.startswith("assigned"):
        assign_collaborator(world)
        Membership.unscoped.filter(user=world.collaborator).update(buyer="buyer" in who)
        who = "collaborator"
    user, tenant = getattr(world, who), getattr(world, side)

    response = api(user, tenant).post(
        LIST, {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 1}
    )

    assert response.status_code == expected, response.json()
    assert Subscription.unscoped.count() == (1 if expected == 201 else 0)
    assert Order.unscoped.count() == (1 if expected == 201 else 0)


def test_a_customer_user_reads_but_does_not_change(world, api, hosting):
    subscription = subscribe(world, hosting, quantity=3)
    client = api(world.customer_user, world.customer)

    assert client.get(LIST).json()["count"] == 1
    assert client.get(detail(subscription)).json()["mrr"] == "29.76"
    assert client.get(mrr_url(world.customer.id)).status_code == 200
    assert client.patch(detail(subscription), {"quantity": 5}).status_code == 403
    assert client.delete(detail(subscription)).status_code == 403
    subscription.refresh_from_db()
    assert (subscription.quantity, subscription.cancelled_at) == (3, None)


def test_collaborators_see_only_assigned_customers(world, api, hosting):
    manage(world)
    subscription = subscribe(world, hosting)
    client = api(world.collaborator, world.partner)

    assert client.get(LIST).json()["count"] == 0
    assert client.get(detail(subscription)).status_code == 404
    assert client.get(mrr_url(world.customer.id)).status_code == 404

    assign_collaborator(world)

    assert client.get(LIST).json()["count"] == 1
    assert client.patch(detail(subscription), {"quantity": 4}).status_code == 403  # not a buyer
    Membership.unscoped.filter(user=world.collaborator).update(buyer=True)
    raised = client.patch(detail(subscription), {"quantity": 4})
    assert raised.json()["subscription"]["mrr"] == "39.68", raised.json()
    assert client.get(mrr_url(world.customer.id)).json()["current_mrr"] == "39.68"


def test_a_limited_grant_covers_only_its_listed_products(world, api, hosting):
    email = ProductFactory(code="mail-basic")
    manage(world, access="limited", products=[email])
    on_hosting = subscribe(world, hosting)
    subscribe(world, email)
    client = api(world.partner_owner, world.partner)

    listed = client.get(LIST, {"customer": str(world.customer.id)}).json()
    refused = client.post(
        LIST, {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 1}
    )

    assert [row["product"] for row in listed["results"]] == ["mail-basic"]
    assert client.get(detail(on_hosting)).status_code == 404
    assert refused.status_code == 404
    assert Subscription.unscoped.count() == 2


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 100_001}, "quantity"),
        ({"ends_on": "2025-04-30"}, "ends_on"),  # before today
        ({"product": "no-such-product"}, "product"),
        ({"product": "eur-only"}, "product"),
        ({"unit_price": "999999.00"}, "unit_price"),
        ({"starts_on": "2025-01-01"}, "starts_on"),
        ({"expected_total": "abc"}, "expected_total"),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_written(world, api, hosting, change, field):
    ProductFactory(code="eur-only", prices={"EUR": "5.00"})
    manage(world)
    body = {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 1}

    response = api(world.partner_owner, world.partner).post(LIST, {**body, **change})

    assert response.status_code == 400
    assert field in response.json()
    assert not Subscription.unscoped.exists()
    assert not Order.unscoped.exists()


def test_the_service_refuses_bad_values_itself(world, hosting):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        subscribe(world, hosting, quantity=0, ends_on=TODAY - datetime.timedelta(days=1))

    assert set(error.value.message_dict) == {"quantity", "ends_on"}
    assert not Subscription.unscoped.exists()


def test_an_update_is_checked_like_a_create(world, api, hosting):
    subscription = subscribe(world, hosting, starts_on=datetime.date(2025, 1, 1))
    client = api(world.customer_owner, world.customer)

    response = client.patch(detail(subscription), {"ends_on": "2024-12-31"})

    assert response.status_code == 400
    assert "ends_on" in response.json()
    subscription.refresh_from_db()
    assert subscription.ends_on is None


# --- status and cancelling --------------------------------------------------------------------


def test_the_status_follows_the_dates_and_a_cancel(world, api, hosting):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    scheduled = subscribe(world, hosting, starts_on=today + day)
    active = subscribe(world, hosting, starts_on=today - day, ends_on=today)
    ended = subscribe(world, hosting, starts_on=today - 10 * day, ends_on=today - day)
    cancelled = subscribe(world, hosting, starts_on=today - day)
    client = api(world.customer_owner, world.customer)

    assert client.delete(detail(cancelled)).status_code == 200  # ended now, by a credit order

    statuses = {row["id"]: row["status"] for row in client.get(LIST).json()["results"]}
    assert statuses == {
        str(scheduled.pk): "scheduled",
        str(active.pk): "active",
        str(ended.pk): "ended",
        str(cancelled.pk): "cancelled",
    }


def test_the_billing_anchor_is_the_first_day_and_renews_says_no_last_day(world, api, hosting):
    """API.md's `billing_anchor` and `renews`, read-only (docs/api-changelog.md)."""
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    renewing = subscribe(world, hosting, starts_on=today - 40 * day)
    with_end = subscribe(world, hosting, starts_on=today - day, ends_on=today + 30 * day)
    cancelled = subscribe(world, hosting, starts_on=today - day)
    client = api(world.customer_owner, world.customer)
    assert client.delete(detail(cancelled)).status_code == 200

    rows = {row["id"]: row for row in client.get(LIST).json()["results"]}
    assert {pk: (row["billing_anchor"], row["renews"]) for pk, row in rows.items()} == {
        str(renewing.pk): ((today - 40 * day).isoformat(), True),
        str(with_end.pk): ((today - day).isoformat(), False),
        str(cancelled.pk): ((today - day).isoformat(), False),
    }
    shown = client.get(detail(renewing)).json()
    assert (shown["billing_anchor"], shown["renews"]) == ((today - 40 * day).isoformat(), True)
    sent = client.patch(detail(renewing), {"billing_anchor": today.isoformat()}, format="json")
    assert sent.status_code == 400 and "billing_anchor" in sent.json()  # read-only: a 400


def test_cancelling_twice_is_a_conflict_and_a_cancelled_one_does_not_change(world, api, hosting):
    subscription = subscribe(world, hosting)
    client = api(world.customer_admin, world.customer)

    first = client.delete(detail(subscription))
    second = client.delete(detail(subscription))
    changed = client.patch(detail(subscription), {"quantity": 2})

    assert (first.status_code, second.status_code, changed.status_code) == (200, 409, 409)
    subscription.refresh_from_db()
    assert subscription.cancelled_at is not None
    assert subscription.quantity == 1
    with pytest.raises(Conflict):
        services.subscription_cancel(
            org=org(world.customer_owner, world.customer), subscription=subscription
        )


# --- the customer's MRR -----------------------------------------------------------------------


@pytest.fixture
def book(world, hosting):
    """Bäckerei Müller, seen on 15 March 2025:
    - 2 x 10.00 monthly from 1 June 2024, renewing                → 20.00
    - 35 x 9.92 monthly from 1 January to 31 March 2025            → 347.20
    - 1 x 120.00 annual from 10 April 2025, renewing              → 10.00
    - a cancelled one, cancelled on its first day: its ledger never holds it."""
    monthly = ProductFactory(prices={"CHF": "10.00", "EUR": "9.00"})
    annual = ProductFactory(billing_period="annual", prices={"CHF": "120.00", "EUR": "100.00"})
    subscribe(world, monthly, quantity=2, starts_on=datetime.date(2024, 6, 1))
    subscribe(
        world,
        hosting,
        quantity=35,
        starts_on=datetime.date(2025, 1, 1),
        ends_on=datetime.date(2025, 3, 31),
    )
    subscribe(world, annual, starts_on=datetime.date(2025, 4, 10))
    gone = subscribe(world, monthly, quantity=50, starts_on=datetime.date(2024, 1, 1))
    cancel_on(gone, on(2024, 1, 1))
    return world.customer


def test_the_current_and_upcoming_mrr_going_down(book):
    mrr = selectors.customer_mrr(customer=book, today=TODAY)

    assert mrr["currency"] == "CHF"
    assert mrr["current_mrr"] == Decimal("367.20")
    assert mrr["current_end_date"] == datetime.date(2025, 3, 31)
    assert mrr["upcoming"] == {
        "mrr": Decimal("20.00"),
        "trend": "down",
        "starts_on": datetime.date(2025, 4, 1),
        "ends_on": datetime.date(2025, 4, 9),
    }


def test_the_upcoming_mrr_going_up_then_none_once_nothing_changes(book):
    before_the_annual = selectors.customer_mrr(customer=book, today=datetime.date(2025, 4, 5))
    after_it = selectors.customer_mrr(customer=book, today=datetime.date(2025, 5, 1))

    assert before_the_annual["current_mrr"] == Decimal("20.00")
    assert before_the_annual["current_end_date"] is None
    assert before_the_annual["upcoming"] == {
        "mrr": Decimal("30.00"),
        "trend": "up",
        "starts_on": datetime.date(2025, 4, 10),
        "ends_on": None,
    }
    assert after_it["current_mrr"] == Decimal("30.00")
    assert after_it["upcoming"] is None


def test_the_history_is_the_mrr_on_each_months_last_day(book):
    history = selectors.customer_mrr(customer=book, today=TODAY)["history"]

    assert [row["month"] for row in history] == [
        *(f"2024-{m:02d}" for m in range(4, 13)),
        "2025-01",
        "2025-02",
        "2025-03",
    ]
    assert [row["mrr"] for row in history] == [
        Decimal("0.00"),
        Decimal("0.00"),
        *[Decimal("20.00")] * 7,
        *[Decimal("367.20")] * 3,
    ]


def test_the_current_months_bar_is_the_mrr_as_of_today_for_the_customer_and_the_book(
    world, hosting
):
    """docs/subscriptions.md: a past month reads its last day, the current month
    today, never a month-end projection; what is scheduled is the upcoming MRR."""
    manage(world)
    december_6 = datetime.date(2026, 12, 6)
    subscribe(world, hosting, quantity=35, starts_on=datetime.date(2026, 10, 1))
    subscribe(world, hosting, quantity=5, starts_on=datetime.date(2026, 12, 16))

    widget = selectors.customer_mrr(customer=world.customer, today=december_6)
    book = mrr.book_mrr(org=org(world.partner_owner, world.partner), today=december_6)

    for figures in (widget, book):
        assert figures["history"][-2]["month"] == "2026-11"
        assert figures["history"][-1]["month"] == "2026-12"
        assert figures["history"][-1]["mrr"] == Decimal("347.20")  # 35 x 9.92, not 396.80
    assert widget["current_mrr"] == book["current_mrr"] == Decimal("347.20")
    assert widget["upcoming"]["mrr"] == book["upcoming_mrr"] == Decimal("396.80")
    # On the last day of the month, the 5 have started: the bar reads 396.80
    december_31 = selectors.customer_mrr(customer=world.customer, today=datetime.date(2026, 12, 31))
    assert december_31["history"][-1]["mrr"] == Decimal("396.80")


@pytest.mark.parametrize("count", [3, 30])
def test_the_mrr_takes_two_queries_whatever_the_number_of_subscriptions(
    world, hosting, django_assert_num_queries, count
):
    services.subscriptions_open(  # with their ledgers
        [
            Subscription(
                customer=world.customer,
                product=hosting,
                quantity=1,
                unit_price=Decimal("9.92"),
                currency="CHF",
                billing_period="monthly",
                starts_on=TODAY - datetime.timedelta(days=i),
                ends_on=TODAY + datetime.timedelta(days=i),
            )
            for i in range(count)
        ]
    )

    with django_assert_num_queries(2):
        mrr = selectors.customer_mrr(customer=world.customer, today=TODAY)

    assert mrr["current_mrr"] == Decimal("9.92") * count
    assert mrr["upcoming"]["trend"] == "down"


def test_the_mrr_endpoint_for_the_partner_and_the_customers_members(world, api, hosting):
    manage(world)
    subscribe(world, hosting, quantity=35, starts_on=timezone.localdate())

    for user, tenant in (
        (world.partner_owner, world.partner),
        (world.customer_user, world.customer),
    ):
        body = api(user, tenant).get(mrr_url(world.customer.id)).json()
        assert (body["currency"], body["current_mrr"], body["current_end_date"]) == (
            "CHF",
            "347.20",
            None,
        )
        assert body["upcoming"] is None
        assert len(body["history"]) == 12
        assert body["history"][-1]["mrr"] == "347.20"


# --- lists and isolation ----------------------------------------------------------------------


# session and user, the membership of X-Tenant, the count, the page (with customer and product)
LIST_QUERIES = 5


def test_the_list_takes_the_same_queries_for_3_and_30_subscriptions(world, api, hosting):
    manage(world)
    client = api(world.partner_owner, world.partner)
    counts = []
    for total in (3, 30):
        for _ in range(total - Subscription.unscoped.count()):  # a row is never deleted
            subscribe(world, hosting)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST, {"customer": str(world.customer.id)})
        assert response.json()["count"] == total
        counts.append(len(queries))

    assert counts == [LIST_QUERIES, LIST_QUERIES]


def test_another_tenant_gets_the_404_of_a_missing_id(world, api, hosting):
    manage(world)
    subscription = subscribe(world, hosting)
    for user, tenant in (
        (world.other_owner, world.other_partner),
        (world.other_customer_owner, world.other_customer),
    ):
        client = api(user, tenant)
        foreign = client.get(detail(subscription))
        missing = client.get(f"{LIST}{missing_id()}/")
        assert foreign.json() == missing.json()
        assert_all_404(client, [detail(subscription)], methods=("get", "patch", "delete"))
        assert client.get(mrr_url(world.customer.id)).json() == (
            client.get(mrr_url(missing_id())).json()
        )
        assert_all_404(client, [mrr_url(world.customer.id)], methods=("get",))
        assert client.get(LIST, {"customer": str(world.customer.id)}).json()["count"] == 0
    subscription.refresh_from_db()
    assert subscription.cancelled_at is None


def test_a_limited_partner_sees_only_the_mrr_of_the_products_it_manages(world, api):
    from partners import services as partner_services

    managed = ProductFactory(code="managed-one", prices={"CHF": "10.00", "EUR": "9.00"})
    other = ProductFactory(code="not-managed", prices={"CHF": "100.00", "EUR": "90.00"})
    partnership = partner_services.partnership_invite_partner(
        org=org_context_for(user=world.customer_owner, tenant_id=world.customer.id),
        partner=world.partner,
        access="limited",
        products=[managed],
    )
    partner_services.partnership_accept(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id),
        partnership=partnership,
    )
    owner = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)
    for product, quantity in ((managed, 2), (other, 1)):
        open_ledger(
            services.subscription_create(
                org=owner,
                customer=world.customer,
                product=product,
                quantity=quantity,
                starts_on=TODAY - datetime.timedelta(days=40),
            )
        )
    url = f"/api/v1/customers/{world.customer.id}/mrr/"
    assert api(world.customer_owner, world.customer).get(url).json()["current_mrr"] == "120.00"
    assert api(world.partner_owner, world.partner).get(url).json()["current_mrr"] == "20.00"


def test_an_ended_subscription_cannot_be_cancelled_so_its_history_stays(world):
    product = ProductFactory(prices={"CHF": "10.00", "EUR": "9.00"})
    owner = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)
    ended = services.subscription_create(
        org=owner,
        customer=world.customer,
        product=product,
        quantity=1,
        starts_on=datetime.date(2020, 1, 1),
        ends_on=datetime.date(2020, 12, 31),
    )
    with pytest.raises(Conflict):
        services.subscription_cancel(org=owner, subscription=ended)
    ended.refresh_from_db()
    assert ended.cancelled_at is None and ended.status == "ended"
