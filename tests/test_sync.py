"""Whole-book syncs (API.md rev. 2, tenants.api_sync): `?cursor=` and
`?updated_since=` on customers, subscriptions, orders and invoices. A walk reads
every row once even while rows are inserted between its pages; the page-number
list stays as it was when neither parameter is given."""

import datetime

import pytest
from django.utils import timezone

from billing.services.orders import LineRequest, order_place
from catalog.tests.factories import ProductFactory
from partners.models import Partnership
from subscriptions.models import Subscription
from tenants.selectors import org_context_for
from tenants.tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)
LISTS = ["customers", "subscriptions", "orders", "invoices"]
EPOCH = "1970-01-01T00:00:00Z"


@pytest.fixture
def book(world, time_machine):
    """`add()` writes one row of each list (a customer of Alpine IT; an order of
    Bäckerei Müller, with its subscription and invoice), a second later each time."""
    time_machine.move_to(START, tick=False)
    product = ProductFactory(code="web-hosting", prices={"CHF": "9.92", "EUR": "5.75"})
    customer_org = org_context_for(user=world.customer_owner, tenant_id=world.customer.pk)

    def add() -> None:
        time_machine.shift(datetime.timedelta(seconds=1))
        customer = CustomerFactory(parent=world.partner)
        MembershipFactory(tenant=customer, role="owner")
        Partnership.unscoped.create(
            partner=world.partner,
            customer=customer,
            access="full",
            payment="customer",
            status="active",
            initiated_by="partner",
            activated_at=timezone.now(),
        )
        order_place(
            org=customer_org, customer_id=world.customer.pk, lines=[LineRequest(product, 1)]
        )

    return add


def reader(world, api, name):
    """The client that reads the list: Alpine IT its customers, Bäckerei Müller the rest."""
    if name == "customers":
        return api(world.partner_owner, world.partner)
    return api(world.customer_owner, world.customer)


def all_ids(client, name) -> list[str]:
    body = client.get(f"/api/v1/{name}/", {"page_size": 200}).json()
    return [row["id"] for row in body["results"]]


@pytest.mark.parametrize("name", LISTS)
def test_a_walk_misses_nothing_while_rows_are_inserted(world, api, book, name):
    for _ in range(5):
        book()
    client = reader(world, api, name)

    seen: list[str] = []
    response = client.get(f"/api/v1/{name}/", {"updated_since": EPOCH, "page_size": 2})
    pages = 0
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["previous"] is None
        seen += [row["id"] for row in body["results"]]
        pages += 1
        if pages <= 3:
            book()  # written between two pages
        if body["next"] is None:
            break
        response = client.get(body["next"])

    changed = "issued_at" if name == "invoices" else "updated_at"  # where the next walk starts
    assert all(row[changed] for row in client.get(f"/api/v1/{name}/").json()["results"])
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(seen) == set(all_ids(client, name))  # nothing missed: 5 + 3 inserted
    assert len(seen) == 8


@pytest.mark.parametrize("name", LISTS)
def test_updated_since_keeps_the_rows_changed_from_then(world, api, book, name):
    book()
    book()
    since = timezone.now()
    book()
    client = reader(world, api, name)

    body = client.get(f"/api/v1/{name}/", {"updated_since": since.isoformat()}).json()
    naive = client.get(
        f"/api/v1/{name}/", {"updated_since": since.replace(tzinfo=None).isoformat()}
    ).json()

    assert body["count"] == len(body["results"]) == 2  # at or after: the 2nd and the 3rd
    assert naive == body  # a time without an offset is UTC


@pytest.mark.parametrize(
    ("since", "count"),
    [
        ("0034-11-27T12:24:44+16:25", 1),  # an offset PostgreSQL has no room for (make fuzz)
        ("0001-01-01T00:30:00+01:00", 1),  # before year 1 in UTC: the whole book
        ("9999-12-31T23:30:00-01:00", 0),  # after 9999 in UTC: nothing
    ],
)
def test_any_iso_time_is_read_in_utc(world, api, book, since, count):
    book()
    response = reader(world, api, "orders").get("/api/v1/orders/", {"updated_since": since})
    assert response.status_code == 200, response.json()
    assert response.json()["count"] == count


def test_a_change_brings_a_row_read_before_back_at_the_end(world, api, book, time_machine):
    book()
    book()
    client = reader(world, api, "subscriptions")
    first = client.get("/api/v1/subscriptions/", {"updated_since": EPOCH, "page_size": 1}).json()
    (row,) = first["results"]
    subscription = Subscription.unscoped.get(pk=row["id"])
    time_machine.shift(datetime.timedelta(seconds=1))
    subscription.ends_on = timezone.localdate() + datetime.timedelta(days=60)
    subscription.save(update_fields=["ends_on", "updated_at"])

    rest, url = [], first["next"]
    while url:
        body = client.get(url).json()
        rest += [r["id"] for r in body["results"]]
        url = body["next"]

    assert rest[-1] == row["id"] and len(rest) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-13-40T00:00:00Z"}, "updated_since"),
        ({"updated_since": ""}, "updated_since"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"updated_since": EPOCH, "page": "2"}, "page"),
        ({"updated_since": EPOCH, "ordering": "starts_on"}, "ordering"),
    ],
)
def test_bad_sync_parameters_are_a_400_on_the_field(world, api, book, query, field):
    book()
    response = reader(world, api, "subscriptions").get("/api/v1/subscriptions/", query)
    assert response.status_code == 400
    assert field in response.json()


def test_a_cursor_is_for_the_list_that_gave_it(world, api, book):
    book()
    book()
    client = reader(world, api, "orders")
    orders = client.get("/api/v1/orders/", {"updated_since": EPOCH, "page_size": 1}).json()
    token = orders["next"].split("cursor=")[1].split("&")[0]

    response = client.get("/api/v1/invoices/", {"cursor": token})

    assert response.status_code == 400 and "cursor" in response.json()


def test_without_sync_parameters_the_list_keeps_its_pages_and_order(world, api, book):
    for _ in range(3):
        book()
    client = reader(world, api, "orders")

    body = client.get("/api/v1/orders/", {"page_size": 2}).json()

    assert body["count"] == 3 and body["next"].endswith("page=2&page_size=2")
    placed = [row["placed_at"] for row in body["results"]]
    assert placed == sorted(placed, reverse=True)  # newest first, as before
