"""Smart lists (SPEC §4): filters, figures, sorting, the streamed CSV, the
subscriptions switch, roles and isolation."""

import csv
import datetime
import io
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from partners.services import customer_add
from subscriptions import smart_lists, views_smart_lists
from subscriptions.models import SmartList, Subscription
from subscriptions.tests.ledger import cancel_on, open_ledger
from tenants.models import Tenant
from tenants.selectors import org_context_for
from tenants.tests.factories import CustomerFactory
from tests.clock import on
from tests.isolation import assert_all_404, missing_id, org_page_urls

# These tests are about one day (the last day of a month): they travel there (tests/clock.py).
MOMENT = on(2027, 1, 31)
TODAY = MOMENT.date()
pytestmark = pytest.mark.time_machine(MOMENT)
DAY = datetime.timedelta(days=1)


@dataclass
class Book:
    hosting: Product
    email: Product
    backup: Product
    sub_customer: Tenant


def _org(world, user=None):
    return org_context_for(user=user or world.partner_owner, slug=world.partner.slug)


def _customer(world, name, country="CH"):
    customer = customer_add(org=_org(world), name=name).customer
    Tenant.objects.filter(pk=customer.pk).update(country=country)
    return customer


def _subscribe(customer, product, price, *, starts_on=None, ends_on=None, period="monthly"):
    """A subscription with its ledger (`tests.ledger.open_ledger`): MRR reads it."""
    subscription = Subscription.unscoped.create(
        customer=customer,
        product=product,
        quantity=1,
        unit_price=Decimal(price),
        currency="CHF",
        billing_period=period,
        starts_on=starts_on or TODAY - 30 * DAY,
        ends_on=ends_on,
    )
    open_ledger(subscription)
    return subscription


@pytest.fixture
def book(world) -> Book:
    """Alpha (CH): 100 ending in 10 days, then nothing (down). Beta (DE): 50
    ending in 100 days, plus 30 from day 5 (up). Gamma (CH): 1800 a year (150)
    ending in 200 days, renewed at the same price (flat). Delta (AT): a cancelled
    subscription, 5 from day 20 (up). Sub Co: a customer the sub-partner manages."""
    hosting = ProductFactory(code="web", category=Product.Category.HOSTING)
    email = ProductFactory(code="mail", category=Product.Category.EMAIL)
    backup = ProductFactory(code="vault", category=Product.Category.BACKUP, billing_period="annual")
    alpha, beta = _customer(world, "Alpha"), _customer(world, "Beta", "DE")
    gamma, delta = _customer(world, "Gamma"), _customer(world, "Delta", "AT")
    _subscribe(alpha, hosting, "100.00", ends_on=TODAY + 10 * DAY)
    _subscribe(alpha, email, "5.00", ends_on=TODAY - DAY)  # ended: not counted
    _subscribe(beta, email, "50.00", ends_on=TODAY + 100 * DAY)
    _subscribe(beta, hosting, "30.00", starts_on=TODAY + 5 * DAY)
    _subscribe(gamma, backup, "1800.00", period="annual", ends_on=TODAY + 200 * DAY)
    _subscribe(gamma, backup, "1800.00", period="annual", starts_on=TODAY + 201 * DAY)
    _subscribe(delta, hosting, "5.00", starts_on=TODAY + 20 * DAY)
    cancelled = _subscribe(delta, hosting, "70.00")
    cancel_on(cancelled, timezone.now())
    lakeside = org_context_for(user=world.sub_partner_owner, slug=world.sub_partner.slug)
    sub_customer = customer_add(org=lakeside, name="Sub Co").customer
    _subscribe(sub_customer, hosting, "20.00")
    # below Lakeside in the tree but managed by nobody: in no list (SPEC §3)
    _subscribe(CustomerFactory(name="Unmanaged", parent=world.sub_partner), hosting, "9.00")
    return Book(hosting=hosting, email=email, backup=backup, sub_customer=sub_customer)


def _list(world, filters=None, columns=None, name="List", user=None):
    return smart_lists.smart_list_create(
        org=_org(world, user), name=name, filters=filters or {}, columns=columns
    )


def _names(world, smart_list, ordering=None, user=None):
    rows = smart_lists.smart_list_rows(
        org=_org(world, user), smart_list=smart_list, ordering=ordering
    )
    return [row["name"] for row in rows]


def _results_url(smart_list):
    return reverse("api:smart-list-results", args=[smart_list.pk])


# --- filters and figures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["Alpha", "Beta", "Delta", "Gamma"]),
        ({"mrr_min": "60"}, ["Alpha", "Gamma"]),
        ({"mrr_max": "60"}, ["Beta", "Delta"]),
        ({"mrr_min": "50", "mrr_max": "100"}, ["Alpha", "Beta"]),
        ({"mrr_min": "150.01"}, []),
        ({"ending_within_days": 10}, ["Alpha"]),
        ({"ending_within_days": 9}, []),
        ({"ending_within_days": 100}, ["Alpha", "Beta"]),
        ({"product": "web"}, ["Alpha"]),  # Beta's and Delta's web start later
        ({"category": "email"}, ["Beta"]),
        ({"category": "backup"}, ["Gamma"]),
        ({"trend": "up"}, ["Beta", "Delta"]),
        ({"trend": "down"}, ["Alpha"]),
        ({"trend": "flat"}, ["Gamma"]),
        ({"country": "ch"}, ["Alpha", "Gamma"]),
        ({"q": "ta"}, ["Beta", "Delta"]),
        ({"country": "CH", "mrr_min": "100", "trend": "flat"}, ["Gamma"]),
    ],
)
def test_each_filter_selects_its_customers(world, book, filters, expected):
    assert _names(world, _list(world, filters)) == expected


def test_sub_partner_filter_lists_that_sub_partners_customers(world, book):
    smart_list = _list(world, {"sub_partner": str(world.sub_partner.pk)})

    assert _names(world, smart_list) == ["Sub Co"]


def test_rows_carry_current_and_upcoming_mrr_end_date_and_trend(world, book, api):
    smart_list = _list(world)

    response = api(world.partner_owner, world.partner).get(_results_url(smart_list))

    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()["results"]}
    assert rows["Alpha"]["current_mrr"] == "100.00"
    assert rows["Alpha"]["upcoming_mrr"] == "0.00"
    assert rows["Alpha"]["current_end_date"] == (TODAY + 10 * DAY).isoformat()
    assert rows["Alpha"]["trend"] == "down"
    assert (rows["Beta"]["current_mrr"], rows["Beta"]["upcoming_mrr"]) == ("50.00", "80.00")
    assert rows["Beta"]["current_end_date"] == (TODAY + 100 * DAY).isoformat()
    assert rows["Beta"]["trend"] == "up"
    assert (rows["Gamma"]["current_mrr"], rows["Gamma"]["upcoming_mrr"]) == ("150.00", "150.00")
    assert rows["Gamma"]["trend"] == "flat"
    assert rows["Delta"]["current_mrr"] == "0.00"
    assert (rows["Delta"]["upcoming_mrr"], rows["Delta"]["trend"]) == ("5.00", "up")
    assert rows["Delta"]["current_end_date"] is None
    assert response.json()["count"] == 4


@pytest.mark.parametrize(
    ("ordering", "field", "expected"),
    [
        ("name", "name", ["Alpha", "Beta", "Delta", "Gamma"]),
        ("-name", "name", ["Gamma", "Delta", "Beta", "Alpha"]),
        ("country", "country", ["AT", "CH", "CH", "DE"]),
        ("-country", "country", ["DE", "CH", "CH", "AT"]),
        ("current_mrr", "name", ["Delta", "Beta", "Alpha", "Gamma"]),
        ("-current_mrr", "name", ["Gamma", "Alpha", "Beta", "Delta"]),
        ("upcoming_mrr", "name", ["Alpha", "Delta", "Beta", "Gamma"]),
        ("-upcoming_mrr", "name", ["Gamma", "Beta", "Delta", "Alpha"]),
        ("current_end_date", "name", ["Alpha", "Beta", "Gamma", "Delta"]),  # none: last
        ("-current_end_date", "name", ["Gamma", "Beta", "Alpha", "Delta"]),
        ("bogus", "name", ["Alpha", "Beta", "Delta", "Gamma"]),
    ],
)
def test_results_sort_by_each_column(world, book, api, ordering, field, expected):
    smart_list = _list(world)
    client = api(world.partner_owner, world.partner)

    response = client.get(_results_url(smart_list), {"ordering": ordering})

    assert [row[field] for row in response.json()["results"]] == expected


@pytest.mark.parametrize("ordering", ["country", "-country"])
def test_ties_break_by_id_in_the_sorts_direction(world, book, ordering):
    ids = sorted(Tenant.objects.filter(name__in=["Alpha", "Gamma"]).values_list("pk", flat=True))
    smart_list = _list(world, {"country": "CH"})
    rows = smart_lists.smart_list_rows(org=_org(world), smart_list=smart_list, ordering=ordering)
    expected = ids if ordering == "country" else ids[::-1]
    assert [row["id"] for row in rows] == expected


# --- the CSV ------------------------------------------------------------------------------


def test_csv_is_streamed_with_the_saved_columns(world, book, api):
    smart_list = _list(world, {"country": "CH"}, ["name", "current_mrr", "current_end_date"])
    smart_list.name = "Ending soon / CH"
    smart_list.save(update_fields=["name"])

    response = api(world.partner_owner, world.partner).get(
        reverse("api:smart-list-export", args=[smart_list.pk])
    )

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="ending-soon-ch.csv"' in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines == [
        ["Name", "Current MRR", "Current end date"],
        ["Alpha", "100.00", (TODAY + 10 * DAY).isoformat()],
        ["Gamma", "150.00", (TODAY + 200 * DAY).isoformat()],
    ]


def test_csv_page_download_reads_rows_in_chunks(world, book, browser, monkeypatch):
    smart_list = _list(world, columns=["name", "upcoming_mrr"])
    chunk_sizes = []
    real_iterator = type(SmartList.unscoped.all()).iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(SmartList.unscoped.all()), "iterator", spy)
    url = reverse("smart_list_export", args=[world.partner.slug, smart_list.pk])

    response = browser(world.partner_owner).get(url)
    body = b"".join(response.streaming_content).decode()

    assert isinstance(response, StreamingHttpResponse)
    assert chunk_sizes == [2000]
    assert body.splitlines() == [
        "Name,Upcoming MRR",
        "Alpha,0.00",
        "Beta,80.00",
        "Delta,5.00",
        "Gamma,150.00",
    ]


# --- the subscriptions switch -------------------------------------------------------------


def test_switch_off_ignores_filters_keeps_columns_then_on_brings_all_back(
    world, book, browser, api
):
    smart_list = _list(world, {"country": "CH", "mrr_min": "100", "trend": "flat"})
    saved = (dict(smart_list.filters), list(smart_list.columns))
    page_url = reverse("smart_list", args=[world.partner.slug, smart_list.pk])
    client = browser(world.partner_owner)
    Tenant.objects.filter(pk=world.partner.pk).update(subscriptions_enabled=False)

    page = client.get(page_url)
    # The edit form, resubmitted as shown, must not lose what is hidden.
    edited = client.post(
        page_url, {"name": "Renamed", "country": "CH", "columns": ["name", "country"]}
    )
    api_rows = api(world.partner_owner, world.partner).get(_results_url(smart_list)).json()

    assert page.status_code == 200
    # Existing columns stay (SPEC §4); the subscription filters are not offered and not applied.
    assert [h["key"] for h in page.context["headers"]] == list(smart_lists.COLUMNS)
    assert "Current MRR" in page.content.decode()
    assert [row[0] for row in page.context["table"]] == ["Alpha", "Gamma"]  # MRR/trend ignored
    assert "mrr_min" not in page.context["form"].fields
    assert "trend" not in page.context["form"].fields
    assert edited.status_code == 302
    assert api_rows["count"] == 2
    smart_list.refresh_from_db()
    assert smart_list.filters == saved[0]
    assert smart_list.columns == saved[1]

    Tenant.objects.filter(pk=world.partner.pk).update(subscriptions_enabled=True)
    page = client.get(page_url)

    assert [h["key"] for h in page.context["headers"]] == list(smart_lists.COLUMNS)
    assert [row[0] for row in page.context["table"]] == ["Gamma"]
    assert page.context["form"]["mrr_min"].value() == "100.00"


def test_switch_off_refuses_changing_hidden_filters_but_accepts_them_as_saved(world, book, api):
    smart_list = _list(world, {"mrr_min": "10"})
    Tenant.objects.filter(pk=world.partner.pk).update(subscriptions_enabled=False)
    client = api(world.partner_owner, world.partner)
    url = reverse("api:smart-list-detail", args=[smart_list.pk])

    changed = client.patch(url, {"filters": {"mrr_min": "20"}}, format="json")
    repeated = client.patch(url, {"filters": {"mrr_min": "10.00", "q": "a"}}, format="json")

    assert changed.status_code == 400
    assert "mrr_min" in changed.json()
    assert repeated.status_code == 200
    assert repeated.json()["filters"] == {"q": "a", "mrr_min": "10.00"}


def test_csv_keeps_the_saved_columns_while_off(world, book, api):
    smart_list = _list(world, {"country": "CH"}, ["name", "current_mrr"])
    Tenant.objects.filter(pk=world.partner.pk).update(subscriptions_enabled=False)

    response = api(world.partner_owner, world.partner).get(
        reverse("api:smart-list-export", args=[smart_list.pk])
    )

    body = b"".join(response.streaming_content).decode().splitlines()
    assert body == ["Name,Current MRR", "Alpha,100.00", "Gamma,150.00"]


# --- validation, roles, isolation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "filters": {"colour": "red"}}, "filters"),
        ({"name": "X", "filters": ["mrr_min"]}, "filters"),
        ({"name": "X", "columns": ["name", "password"]}, "columns"),
        ({"name": "X", "columns": []}, "columns"),
        ({"name": "X", "filters": {"mrr_min": "-1"}}, "mrr_min"),
        ({"name": "X", "filters": {"mrr_min": "abc"}}, "mrr_min"),
        ({"name": "X", "filters": {"mrr_min": "50", "mrr_max": "10"}}, "mrr_max"),
        ({"name": "X", "filters": {"ending_within_days": "soon"}}, "ending_within_days"),
        ({"name": "X", "filters": {"product": "no-such"}}, "product"),
        ({"name": "X", "filters": {"category": "food"}}, "category"),
        ({"name": "X", "filters": {"trend": "sideways"}}, "trend"),
        ({"name": "X", "filters": {"country": "Switzerland"}}, "country"),
        ({"name": "X", "filters": {"sub_partner": str(uuid.uuid4())}}, "sub_partner"),
        ({"name": "Taken"}, "name"),
        # NUL, which PostgreSQL cannot store in the JSON column (fuzzing found a 500)
        ({"name": "X", "filters": {"q": "Al\x00pha"}}, "q"),
        ({"name": "X", "filters": {"rank": "\x00"}}, "rank"),
    ],
)
def test_invalid_lists_are_400_with_field_errors(world, book, api, payload, field):
    _list(world, name="Taken")

    response = api(world.partner_owner, world.partner).post(
        reverse("api:smart-list-list"), payload, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert SmartList.unscoped.filter(partner=world.partner).count() == 1  # "Taken" alone


def test_a_nul_in_a_name_is_a_form_error_on_the_service_path(world, book):
    with pytest.raises(ValidationError) as caught:
        smart_lists.smart_list_create(org=_org(world), name="A\x00B")
    assert caught.value.message_dict == {"name": ["Null characters are not allowed."]}


def test_another_trees_partner_is_no_sub_partner(world, book, api):
    response = api(world.partner_owner, world.partner).post(
        reverse("api:smart-list-list"),
        {"name": "X", "filters": {"sub_partner": str(world.other_partner.pk)}},
        format="json",
    )
    assert response.status_code == 400


def test_members_read_authors_and_admins_write(world, book, api):
    owners = _list(world, name="Owner's")
    collaborator = api(world.collaborator, world.partner)

    created = collaborator.post(reverse("api:smart-list-list"), {"name": "Mine"}, format="json")
    listed = collaborator.get(reverse("api:smart-list-list"))
    foreign_edit = collaborator.patch(
        reverse("api:smart-list-detail", args=[owners.pk]), {"name": "Hacked"}, format="json"
    )
    foreign_delete = collaborator.delete(reverse("api:smart-list-detail", args=[owners.pk]))
    own_edit = collaborator.patch(
        reverse("api:smart-list-detail", args=[created.json()["id"]]),
        {"name": "Mine too"},
        format="json",
    )
    sub_partner = collaborator.post(
        reverse("api:smart-list-list"),
        {"name": "Sub", "filters": {"sub_partner": str(world.sub_partner.pk)}},
        format="json",
    )
    admin_delete = api(world.partner_admin, world.partner).delete(
        reverse("api:smart-list-detail", args=[owners.pk])
    )

    assert created.status_code == 201
    assert created.json()["columns"] == list(smart_lists.COLUMNS)
    assert {e["name"] for e in listed.json()["results"]} == {"Owner's", "Mine"}
    assert (foreign_edit.status_code, foreign_delete.status_code) == (403, 403)
    assert own_edit.status_code == 200
    assert sub_partner.status_code == 400
    assert admin_delete.status_code == 204
    assert not SmartList.unscoped.filter(pk=owners.pk).exists()


def test_a_collaborator_sees_only_assigned_customers_and_no_sub_partner(world, book):
    smart_list = _list(world)
    by_sub_partner = _list(world, {"sub_partner": str(world.sub_partner.pk)}, name="Sub")

    assert _names(world, smart_list, user=world.collaborator) == []
    assert _names(world, by_sub_partner, user=world.collaborator) == []


def test_customers_have_no_smart_lists(world, api):
    response = api(world.customer_owner, world.customer).get(reverse("api:smart-list-list"))
    assert response.status_code == 404


def test_another_partners_list_is_404_like_a_missing_one(world, book, api):
    smart_list = _list(world)
    client = api(world.other_owner, world.other_partner)

    for name in ("smart-list-detail", "smart-list-results", "smart-list-export"):
        foreign = client.get(reverse(f"api:{name}", args=[smart_list.pk]))
        missing = client.get(reverse(f"api:{name}", args=[missing_id()]))
        assert foreign.status_code == missing.status_code == 404, name
    edit = client.patch(reverse("api:smart-list-detail", args=[smart_list.pk]), {"name": "x"})
    assert edit.status_code == 404
    assert SmartList.unscoped.get(pk=smart_list.pk).name == "List"


def test_every_page_is_404_to_another_tenant(world, book, client):
    smart_list = _list(world)
    client.force_login(world.other_owner)

    urls = org_page_urls(views_smart_lists, slug=world.partner.slug, list_id=smart_list.pk)
    assert_all_404(client, urls)
    own_slug = org_page_urls(
        views_smart_lists, slug=world.other_partner.slug, list_id=smart_list.pk
    )
    assert_all_404(client, own_slug[1:], methods=("get",))


# --- the pages ------------------------------------------------------------------------------


def test_page_creates_a_list_and_shows_sortable_results(world, book, browser):
    client = browser(world.partner_owner)
    url = reverse("smart_lists", args=[world.partner.slug])

    form_page = client.get(url)
    created = client.post(url, {"name": "Big", "mrr_min": "60", "columns": ["name", "current_mrr"]})
    smart_list = SmartList.unscoped.get(name="Big")
    page = client.get(created["Location"], {"ordering": "-current_mrr"})

    assert "mrr_min" in form_page.context["form"].fields
    assert created.status_code == 302
    assert smart_list.filters == {"mrr_min": "60.00"}
    assert smart_list.created_by == world.partner_owner
    assert page.context["table"] == [["Gamma", Decimal("150.00")], ["Alpha", Decimal("100.00")]]
    body = page.content.decode()
    assert "Download CSV" in body
    assert "ordering=current_mrr" in body  # the sorted header toggles its direction


def test_page_shows_field_errors(world, book, browser):
    client = browser(world.partner_owner)
    response = client.post(
        reverse("smart_lists", args=[world.partner.slug]),
        {"name": "X", "mrr_min": "50", "mrr_max": "10", "columns": ["name"]},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["mrr_max"]


def test_page_delete(world, book, browser):
    smart_list = _list(world)
    client = browser(world.partner_owner)
    response = client.post(
        reverse("smart_list", args=[world.partner.slug, smart_list.pk]), {"action": "delete"}
    )
    assert response.status_code == 302
    assert not SmartList.unscoped.filter(pk=smart_list.pk).exists()


def test_service_refuses_unknown_filters_directly(world):
    with pytest.raises(ValidationError):
        smart_lists.smart_list_create(org=_org(world), name="X", filters={"nope": 1})


# --- query counts ---------------------------------------------------------------------------


def _count_queries(request):
    with CaptureQueriesContext(connection) as queries:
        response = request()
        if isinstance(response, StreamingHttpResponse):
            b"".join(response.streaming_content)
        else:
            assert response.status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_rows(world, book, api, browser, django_assert_num_queries):
    smart_list = _list(world)
    api_client = api(world.partner_owner, world.partner)
    page_client = browser(world.partner_owner)
    page_url = reverse("smart_list", args=[world.partner.slug, smart_list.pk])
    csv_url = reverse("api:smart-list-export", args=[smart_list.pk])
    requests = {
        "results": lambda: api_client.get(_results_url(smart_list), {"ordering": "-current_mrr"}),
        "page": lambda: page_client.get(page_url),
        "csv": lambda: api_client.get(csv_url),
    }
    before = {name: _count_queries(request) for name, request in requests.items()}
    for i in range(6):
        customer = _customer(world, f"More {i}")
        _subscribe(customer, book.hosting, "10.00", ends_on=TODAY + i * DAY)
        _subscribe(customer, book.email, "10.00", starts_on=TODAY + DAY)

    after = {name: _count_queries(request) for name, request in requests.items()}

    # results: session, user, membership, the list, count, rows; csv: no count,
    # plus its audit event; page: plus the template's switcher, branding and the
    # form's choices.
    assert before == after == {"results": 6, "page": 10, "csv": 6}
    with django_assert_num_queries(6):
        api_client.get(_results_url(smart_list), {"page_size": 2, "page": 2})


def test_a_limited_partner_counts_only_the_products_it_manages(world):
    """Like the subscription list and the widget: a limited grant's MRR is that of its products."""
    import datetime as dt

    from catalog.tests.factories import ProductFactory
    from partners import services as partner_services
    from subscriptions import services as subscription_services
    from subscriptions.smart_lists import row_values, smart_list_create, smart_list_rows
    from tenants.selectors import org_context_for

    managed = ProductFactory(code="managed-sl", prices={"CHF": "10.00", "EUR": "9.00"})
    other = ProductFactory(code="other-sl", prices={"CHF": "100.00", "EUR": "90.00"})
    customer_owner = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)
    partner_owner = org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    partnership = partner_services.partnership_invite_partner(
        org=customer_owner, partner=world.partner, access="limited", products=[managed]
    )
    partner_services.partnership_accept(org=partner_owner, partnership=partnership)
    start = TODAY - dt.timedelta(days=30)
    for product in (managed, other):
        open_ledger(
            subscription_services.subscription_create(
                org=customer_owner,
                customer=world.customer,
                product=product,
                quantity=1,
                starts_on=start,
            )
        )
    smart_list = smart_list_create(org=partner_owner, name="All")

    rows = [row_values(r) for r in smart_list_rows(org=partner_owner, smart_list=smart_list)]

    assert [(r["name"], r["current_mrr"]) for r in rows] == [("Bäckerei Müller", Decimal("10.00"))]
