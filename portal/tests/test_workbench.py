"""The customer list as a workbench (issue 25): its figures against the
selectors, sorting by each column, saved views, the bulk actions (with foreign
ids and roles), the query count at 5 and at 50 customers, and it/de."""

import csv
import datetime
import io
import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from billing.tests.conftest import grant, hosting, mailbox  # noqa: F401 (fixtures)
from catalog.tests.factories import ProductFactory
from offers import services as offer_services
from offers.models import Offer
from offers.tests.conftest import template  # noqa: F401 (fixture)
from partners.models import CustomerAssignment
from partners.services import collaborators_set, customer_add
from portal.workbench.selectors import ORDER_BY, row_figures, workbench_customers
from subscriptions import smart_lists
from subscriptions.models import SmartList, Subscription
from subscriptions.tests.ledger import open_ledger
from tenants.models import Tenant
from tenants.selectors import org_context_for
from tests.clock import on
from upsell.models import UpsellChange, UpsellSwitch
from upsell.services import upsell_switch

MOMENT = on(2027, 1, 31)
TODAY = MOMENT.date()
DAY = datetime.timedelta(days=1)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MOMENT)]
LIST = "/t/alpine/customers/"
BULK = "/t/alpine/customers/bulk/"
# The page's queries, signed in with a session, whatever the number of customers.
PINNED_QUERIES = 13


def _org(world, user=None):
    return org_context_for(user=user or world.partner_owner, slug=world.partner.slug)


def _customer(world, name, country="CH"):
    customer = customer_add(org=_org(world), name=name).customer
    Tenant.objects.filter(pk=customer.pk).update(country=country)
    return customer


def _subscribe(customer, product, price, *, quantity=1, starts_on=None, ends_on=None):
    subscription = Subscription.unscoped.create(
        customer=customer,
        product=product,
        quantity=quantity,
        unit_price=Decimal(price),
        currency="CHF",
        billing_period="monthly",
        starts_on=starts_on or TODAY - 30 * DAY,
        ends_on=ends_on,
    )
    open_ledger(subscription)
    return subscription


@pytest.fixture
def book(world):
    """Alpha: 2 x 100 ending in 10 days (down); Beta: 3 x 50 renewing, plus 30
    from day 5 (up); Gamma: nothing."""
    web = ProductFactory(code="web")
    alpha, beta = _customer(world, "Alpha"), _customer(world, "Beta", "DE")
    gamma = _customer(world, "Gamma", "AT")
    _subscribe(alpha, web, "100.00", quantity=2, ends_on=TODAY + 10 * DAY)
    _subscribe(beta, web, "50.00", quantity=3)
    _subscribe(beta, web, "30.00", starts_on=TODAY + 5 * DAY)
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "web": web}


def _rows(response):
    return {c.name: (c, figures) for c, figures in response.context["rows"]}


def _names(response):
    return [c.name for c, _figures in response.context["rows"]]


def _messages(response):
    return [str(m) for m in response.context["messages"]]


# --- the columns ----------------------------------------------------------------------


def test_each_rows_figures_are_the_smart_lists_and_the_ledgers(world, book, browser):
    upsell_switch(org=_org(world), customer=book["beta"], enabled=True)
    page = browser(world.partner_owner).get(LIST)
    assert page.status_code == 200
    rows = _rows(page)
    everyone = smart_lists.smart_list_create(org=_org(world), name="All")
    expected = {
        r["name"]: smart_lists.row_values(r)
        for r in smart_lists.smart_list_rows(org=_org(world), smart_list=everyone)
    }
    for name in ("Alpha", "Beta", "Gamma"):
        customer, figures = rows[name]
        assert figures["current_mrr"] == expected[name]["current_mrr"]
        assert figures["upcoming_mrr"] == expected[name]["upcoming_mrr"]
        assert figures["trend"] == expected[name]["trend"]
        assert customer.current_end_date == expected[name]["current_end_date"]
    alpha, alpha_figures = rows["Alpha"]
    assert alpha_figures["current_mrr"] == Decimal("200.00") and alpha.seats == 2
    assert alpha_figures["trend"] == "down" and alpha_figures["difference"] == Decimal("-200.00")
    assert alpha.current_end_date == TODAY + 10 * DAY
    beta, beta_figures = rows["Beta"]
    assert beta.seats == 3 and beta_figures["difference"] == Decimal("30.00")
    assert beta.upsell_on and not alpha.upsell_on
    assert alpha.grant_access == "full" and alpha.pending == 0
    html = page.content.decode()
    assert 'CHF 180.00 <span class="wb-trend wb-up"' in html and "↑ +30.00" in html
    assert "↓ -200.00" in html
    assert 'class="wb-col-mrr nowrap-cell">CHF 200.00<' in html


def test_pending_counts_open_offers_and_the_invitation_waiting(world, template, browser):  # noqa: F811 (the fixture imported above)
    grant(world)
    ctx = _org(world)
    offer_services.offer_send(org=ctx, template=template, customer_ids=[world.customer.pk])
    rows = _rows(browser(world.partner_owner).get(LIST))
    customer, _figures = rows[world.customer.name]
    assert customer.open_offers == 1 and customer.pending == 1
    assert customer.invitation_waiting is False


def test_a_limited_grant_counts_only_its_products(world, hosting, mailbox, browser):  # noqa: F811
    grant(world, access="limited", products=[hosting])
    _subscribe(world.customer, hosting, "10.00", quantity=4)
    _subscribe(world.customer, mailbox, "99.00", quantity=7)
    customer, figures = _rows(browser(world.partner_owner).get(LIST))[world.customer.name]
    assert figures["current_mrr"] == Decimal("40.00") and customer.seats == 4
    assert customer.grant_access == "limited"


# --- sorting --------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(ORDER_BY))
def test_every_column_sorts_both_ways_with_aria_sort(world, book, browser, key):
    upsell_switch(org=_org(world), customer=book["gamma"], enabled=True)
    client = browser(world.partner_owner)
    field = ORDER_BY[key]
    customers = list(workbench_customers(org=_org(world)))
    for descending in (False, True):
        ordering = f"-{key}" if descending else key
        page = client.get(LIST, {"ordering": ordering})
        assert page.status_code == 200

        def sort_key(c, descending=descending):
            value = getattr(c, field)
            missing = value is None
            return (missing, value if not missing else 0, c.pk)

        present = [c for c in customers if getattr(c, field) is not None]
        absent = [c for c in customers if getattr(c, field) is None]
        present.sort(key=lambda c: (getattr(c, field), c.pk), reverse=descending)
        absent.sort(key=lambda c: c.pk, reverse=descending)
        assert _names(page) == [c.name for c in present + absent], ordering
        html = page.content.decode()
        header = next((h for h in page.context["headers"] if h["key"] == key), None)
        if header is None:  # sorted from the form's "Sort by" only
            assert "aria-sort=" not in html
            continue
        assert header["sort"] == ("descending" if descending else "ascending")
        assert f'class="wb-col-{key}" aria-sort="{header["sort"]}"' in html
        assert html.count("aria-sort=") == 1


def test_the_mrr_header_toggles_and_an_unknown_key_is_refused(world, book, browser):
    client = browser(world.partner_owner)
    first = client.get(LIST, {"ordering": "mrr", "country": "CH"})
    mrr = next(h for h in first.context["headers"] if h["key"] == "mrr")
    assert "ordering=-mrr" in mrr["href"] and "country=CH" in mrr["href"]
    assert "Sorted by MRR." in first.content.decode()
    refused = client.get(LIST, {"ordering": "password"})
    assert refused.status_code == 400 and "form-errors" in refused.content.decode()


def test_the_subscription_filters_use_the_smart_lists_rules(world, book, browser):
    client = browser(world.partner_owner)
    assert _names(client.get(LIST, {"ending_within_days": "30"})) == ["Alpha"]
    assert _names(client.get(LIST, {"trend": "up"})) == ["Beta"]
    assert _names(client.get(LIST, {"mrr_min": "150", "ordering": "-mrr"})) == ["Alpha", "Beta"]
    bad = client.get(LIST, {"product": "nope", "mrr_min": "-1"})
    assert bad.status_code == 400
    errors = bad.context["filter_form"].errors
    assert "product" in errors and "mrr_min" in errors  # every error at once


# --- saved views ----------------------------------------------------------------------


def test_a_view_is_saved_as_a_smart_list_and_opened_again(world, book, browser):
    client = browser(world.partner_admin)
    query = "?ending_within_days=300&status=active&access=full&ordering=-mrr"
    saved = client.post(LIST + query, {"view_name": "Renewals"})
    assert saved.status_code == 302
    view = SmartList.unscoped.get(partner=world.partner, name="Renewals")
    assert view.ordering == "-mrr"
    assert view.filters == {"ending_within_days": 300, "status": "active", "access": "full"}
    opened = client.get(LIST, {"view": str(view.pk)})
    assert opened.status_code == 302
    page = client.get(opened["Location"])
    assert _names(page) == ["Alpha"] and page.context["ordering"] == "-mrr"
    # the smart list page lists the same customers
    rows = smart_lists.smart_list_rows(org=_org(world), smart_list=view)
    assert [r["name"] for r in rows] == ["Alpha"]


def test_a_view_needs_a_name_and_anothers_view_is_a_404(world, book, browser):
    client = browser(world.partner_admin)
    refused = client.post(LIST, {"view_name": " "})
    assert refused.status_code == 400 and not SmartList.unscoped.exists()
    other = smart_lists.smart_list_create(
        org=org_context_for(user=world.other_owner, slug=world.other_partner.slug), name="Theirs"
    )
    assert client.get(LIST, {"view": str(other.pk)}).status_code == 404
    assert client.get(LIST, {"view": "not-an-id"}).status_code == 404


def test_the_smart_list_page_keeps_a_views_own_filters(world, book, browser):
    view = smart_lists.smart_list_create(
        org=_org(world), name="Full", filters={"access": "full"}, ordering="seats"
    )
    client = browser(world.partner_owner)
    url = reverse("smart_list", args=["alpine", view.pk])
    assert client.post(url, {"name": "Full ones", "columns": ["name"]}).status_code == 302
    view.refresh_from_db()
    assert view.filters == {"access": "full"} and view.ordering == "seats"


# --- bulk actions ---------------------------------------------------------------------


def test_send_an_offer_sends_to_the_eligible_and_reports_the_skipped(world, template, browser):  # noqa: F811 (the fixture imported above)
    grant(world)
    nobody = _customer(world, "Ohne Owner")  # unclaimed: nobody there can answer
    client = browser(world.partner_owner)
    response = client.post(
        BULK,
        {
            "action": "offer",
            "template": str(template.pk),
            "customers": [str(world.customer.pk), str(nobody.pk)],
        },
        follow=True,
    )
    assert response.status_code == 200
    assert list(Offer.unscoped.values_list("customer", flat=True)) == [world.customer.pk]
    said = _messages(response)
    assert any("was sent to 1 customer" in m for m in said)
    assert any("Not sent to Ohne Owner: Nobody there can answer" in m for m in said)


def test_a_foreign_id_refuses_every_action_and_writes_nothing(world, book, template, browser):  # noqa: F811 (the fixture imported above)
    client = browser(world.partner_owner)
    ours = [str(book["alpha"].pk), str(book["beta"].pk)]
    for foreign in (str(world.other_customer.pk), str(uuid.uuid4()), "1; drop"):
        for action in ("offer", "upsell_on", "assign", "export"):
            response = client.post(
                BULK,
                {
                    "action": action,
                    "template": str(template.pk),
                    "collaborator": str(world.collaborator.pk),
                    "customers": [*ours, foreign],
                },
            )
            assert response.status_code == 404, (action, foreign)
    assert not Offer.unscoped.exists() and not UpsellSwitch.unscoped.exists()
    assert not CustomerAssignment.unscoped.exists()


def test_upsell_on_and_off_report_what_was_done_and_left(world, book, browser):
    upsell_switch(org=_org(world), customer=book["alpha"], enabled=True)
    client = browser(world.partner_admin)
    ids = [str(book["alpha"].pk), str(book["beta"].pk)]
    response = client.post(BULK, {"action": "upsell_on", "customers": ids}, follow=True)
    said = _messages(response)
    assert "Upsell switched on for 1 customer." in said
    assert "Left as it was: Alpha: Upsell was on already." in said
    assert set(UpsellSwitch.unscoped.filter(enabled=True).values_list("customer", flat=True)) == {
        book["alpha"].pk,
        book["beta"].pk,
    }
    client.post(BULK, {"action": "upsell_off", "customers": ids})
    assert not UpsellSwitch.unscoped.filter(enabled=True).exists()
    assert UpsellChange.unscoped.count() == 4  # alpha on, beta on, both off: each recorded


def test_every_customer_on_the_page_without_javascript(world, book, browser):
    client = browser(world.partner_admin)
    page_ids = [str(book[n].pk) for n in ("alpha", "beta", "gamma")]
    client.post(BULK, {"action": "upsell_on", "all_on_page": "on", "page_ids": page_ids})
    assert UpsellSwitch.unscoped.filter(enabled=True).count() == 3


def test_assign_a_collaborator_keeps_those_assigned(world, book, browser):
    ctx = _org(world)
    collaborators_set(org=ctx, customer=book["alpha"], user_ids=[world.collaborator.pk])
    client = browser(world.partner_admin)
    ids = [str(book["alpha"].pk), str(book["beta"].pk)]
    response = client.post(
        BULK,
        {"action": "assign", "collaborator": str(world.collaborator.pk), "customers": ids},
        follow=True,
    )
    said = _messages(response)
    assert "The collaborator was assigned to 1 customer." in said
    assert "Left as it was: Alpha: Assigned already." in said
    assigned = CustomerAssignment.unscoped.filter(user=world.collaborator)
    assert {a.customer_id for a in assigned} == {book["alpha"].pk, book["beta"].pk}
    # an owner is no collaborator: refused, nothing written
    response = client.post(
        BULK,
        {"action": "assign", "collaborator": str(world.partner_owner.pk), "customers": ids},
        follow=True,
    )
    assert "Choose collaborators of your organization." in _messages(response)
    assert CustomerAssignment.unscoped.count() == 2


def test_a_collaborator_may_offer_and_export_only_their_customers(world, book, template, browser):  # noqa: F811 (the fixture imported above)
    collaborators_set(org=_org(world), customer=book["alpha"], user_ids=[world.collaborator.pk])
    client = browser(world.collaborator)
    page = client.get(LIST)
    assert _names(page) == ["Alpha"]
    offered = [value for value, _label in page.context["bulk_form"].offered]
    assert offered == ["offer", "export"]
    for action in ("upsell_on", "assign"):
        refused = client.post(
            BULK,
            {
                "action": action,
                "customers": [str(book["alpha"].pk)],
                "collaborator": str(world.collaborator.pk),
            },
        )
        assert refused.status_code == 403
        assert "owners and admins" in refused.content.decode()
    assert not UpsellSwitch.unscoped.exists()
    not_theirs = client.post(BULK, {"action": "export", "customers": [str(book["beta"].pk)]})
    assert not_theirs.status_code == 404
    export = client.post(BULK, {"action": "export", "customers": [str(book["alpha"].pk)]})
    assert export.status_code == 200


def test_export_is_the_selection_as_csv(world, book, browser):
    client = browser(world.partner_owner)
    response = client.post(
        BULK, {"action": "export", "customers": [str(book["beta"].pk), str(book["alpha"].pk)]}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["Name", "Country", "Currency", "Current MRR", "Upcoming MRR"]
    assert rows[1][:8] == ["Alpha", "CH", "CHF", "200.00", "0.00", "down", "2", "2027-02-10"]
    assert rows[2][:7] == ["Beta", "DE", "CHF", "150.00", "180.00", "up", "3"]
    assert len(rows) == 3


def test_an_empty_selection_says_so_and_writes_nothing(world, book, browser):
    response = browser(world.partner_admin).post(
        BULK, {"action": "upsell_on", "return_query": "country=CH"}, follow=True
    )
    assert "Choose at least one customer." in _messages(response)
    assert response.redirect_chain[-1][0] == LIST + "?country=CH"
    assert not UpsellSwitch.unscoped.exists()
    odd = browser(world.partner_admin).post(
        BULK, {"action": "upsell_on", "return_query": "https://evil.test/\r\nX: 1"}
    )
    assert odd.status_code == 302 and odd["Location"].startswith(LIST + "?")


# --- query counts ---------------------------------------------------------------------


def _grow(world, web, start, count):
    for n in range(start, start + count):
        customer = _customer(world, f"Kunde {n:03}")
        _subscribe(customer, web, "10.00", quantity=n + 1, ends_on=TODAY + (n + 1) * DAY)
        if n % 2:
            upsell_switch(org=_org(world), customer=customer, enabled=True)


def _count(client, params):
    client.get(LIST, params)  # warm: session, caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, params)
    assert response.status_code == 200
    return len(captured), response


@pytest.mark.parametrize("params", [{}, {"ordering": "-mrr"}, {"ending_within_days": "400"}])
def test_the_page_costs_the_same_queries_at_5_and_at_50_customers(world, browser, params):
    web = ProductFactory(code="web")
    _grow(world, web, 0, 5)
    client = browser(world.partner_owner)
    few, small = _count(client, params)
    _grow(world, web, 5, 45)
    many, large = _count(client, params)
    assert few == many == PINNED_QUERIES
    assert len(small.context["rows"]) == 5 and len(large.context["rows"]) == 50
    # and the figures on the page are the selector's for each customer
    by_pk = {c.pk: c for c in workbench_customers(org=_org(world))}
    for customer, figures in large.context["rows"]:
        assert figures == row_figures(by_pk[customer.pk])


# --- languages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("it", ("Prossima scadenza", "Azioni in blocco", "Salva la vista")),
        ("de", ("Nächstes Enddatum", "Sammelaktionen", "Ansicht speichern")),
    ],
)
def test_the_page_speaks_italian_and_german(world, book, browser, language, words):
    client = browser(world.partner_owner)
    client.cookies["django_language"] = language
    html = client.get(LIST, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    translation.activate("en")
    for word in words:
        assert word in html, word
    assert re.search(r"\d", html)
