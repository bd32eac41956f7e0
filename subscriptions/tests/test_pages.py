"""The browser pages of subscriptions (SPEC §4, §9): the widget on the customer
page, add / edit / cancel from both sides, the partner dashboard's MRR with its
movements and their drill-down, the feature switch, and isolation."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import subscriptions.urls
from catalog.tests.factories import ProductFactory
from partners.services import customer_add
from subscriptions.models import Subscription
from subscriptions.services import subscription_create
from subscriptions.tests.ledger import open_ledger
from tenants.models import Membership
from tenants.selectors import org_context_for
from tests.clock import on
from tests.isolation import assert_all_404, org_page_urls

# These tests are about one day: they travel there (tests/clock.py).
MOMENT = on(2026, 12, 6)
TODAY = MOMENT.date()
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MOMENT)]
DAY = datetime.timedelta(days=1)


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def product(world):
    return ProductFactory(name="Mail Pro", prices={"CHF": "9.92", "EUR": "8.90"})


@pytest.fixture
def managed(world):
    """A customer Alpine manages (unclaimed: full access, paid by Alpine)."""
    return customer_add(org=ctx(world.partner_owner, world.partner), name="Neu AG").customer


def subscribe(world, customer, product, quantity=35, starts_on=TODAY - 40 * DAY, **kwargs):
    org = (
        ctx(world.customer_owner, customer)
        if customer == world.customer
        else ctx(world.partner_owner, world.partner)
    )
    subscription = subscription_create(
        org=org,
        customer=customer,
        product=product,
        quantity=quantity,
        starts_on=starts_on,
        **kwargs,
    )
    open_ledger(subscription)  # as the order that places it does
    return subscription


def partner_url(name, customer, subscription=None, slug="alpine") -> str:
    kwargs = {"slug": slug, "customer_id": customer.pk}
    if subscription is not None:
        kwargs["subscription_id"] = subscription.pk
    return reverse(f"customer_{name}", kwargs=kwargs)


def customer_url(name, subscription=None, slug="mueller") -> str:
    kwargs = {"slug": slug}
    if subscription is not None:
        kwargs["subscription_id"] = subscription.pk
    return reverse(name, kwargs=kwargs)


def detail_url(customer) -> str:
    return reverse("customer_detail", kwargs={"slug": "alpine", "customer_id": customer.pk})


# --- the widget -------------------------------------------------------------------------


def test_widget_on_the_customer_page_shows_current_and_upcoming_mrr(
    world, browser, managed, product
):
    # On 6 December 2026: 35 x 9.92 live until 4 February, and 5 more from 16 December
    subscribe(world, managed, product, ends_on=TODAY + 60 * DAY)
    subscribe(world, managed, product, quantity=5, starts_on=TODAY + 10 * DAY)

    page = text(browser(world.partner_owner).get(detail_url(managed)))

    assert 'data-figure="current-mrr">CHF 347.20' in page  # 35 x 9.92
    assert f"Ends {(TODAY + 60 * DAY):%-d %b %Y}" in page
    # 347.20 + 5 x 9.92 = 396.80, up, until the first subscription's last day
    assert 'data-figure="upcoming-mrr">CHF 396.80' in page
    assert "</span> up</span>" in page
    assert f"From {(TODAY + 10 * DAY):%-d %b %Y} to {(TODAY + 60 * DAY):%-d %b %Y}" in page
    # The history: 12 bars, each with its title, and the table fallback
    widget = page.split('data-testid="subscription-widget"')[1]
    assert widget.count("<title>") == 12
    # December's bar is the MRR as of today, and says so: the 5 starting on the
    # 16th are the upcoming MRR, not this month's (docs/subscriptions.md)
    assert "<title>Dec 2026 (as of today): CHF 347.20</title>" in widget
    assert "<title>Nov 2026: CHF 347.20</title>" in widget
    assert "the current month, the MRR as of today" in widget
    assert "as a table</summary>" in widget
    assert partner_url("subscription_add", managed) in widget


def test_customer_subscriptions_page_lists_with_the_widget(world, browser, product):
    subscribe(world, world.customer, product, quantity=2, ends_on=TODAY + 5 * DAY)

    response = browser(world.customer_user).get(customer_url("subscriptions"))

    page = text(response)
    assert response.status_code == 200
    assert "CHF 19.84" in page  # 2 x 9.92
    assert "</span> down</span>" in page  # nothing after its last day
    assert "Mail Pro" in page and "Active" in page
    assert customer_url("subscription_add") not in page  # a user reads only


# --- add, edit, cancel ------------------------------------------------------------------


def order_url(customer=None) -> str:
    if customer is None:
        return reverse("order_place", kwargs={"slug": "mueller"})
    return reverse("customer_order_place", kwargs={"slug": "alpine", "customer_id": customer.pk})


def order_form(product, quantity="35", **fields) -> dict:
    return {"product_0": str(product.pk), "quantity_0": quantity, **fields}


def test_adding_a_subscription_is_placing_an_order_after_its_preview(
    world, browser, managed, product
):
    client = browser(world.partner_owner)

    add = client.get(partner_url("subscription_add", managed) + f"?product={product.pk}")
    # "Place order" before any preview: the preview, and nothing written
    unseen = client.post(order_url(managed), order_form(product, action="place"))
    # then the amount the partner saw comes back with the order
    placed = client.post(
        order_url(managed), order_form(product, action="place", expected_total="277.76")
    )

    assert add.status_code == 302
    assert add["Location"] == f"{order_url(managed)}?product_0={product.pk}&quantity_0=1"
    assert unseen.status_code == 200
    assert 'name="expected_total" value="277.76"' in text(unseen)  # Alpine pays, 20 % off
    assert placed.status_code == 302, text(placed)
    subscription = Subscription.unscoped.get(customer=managed)
    assert (subscription.quantity, subscription.unit_price) == (35, Decimal("9.92"))
    assert subscription.mrr == Decimal("347.20")
    assert list(subscription.changes.values_list("kind", "quantity_after")) == [("new", 35)]
    assert "CHF 347.20" in text(client.get(partner_url("subscriptions", managed)))


def test_an_amount_that_changed_since_the_preview_is_shown_again_and_nothing_is_written(
    world, browser, managed, product
):
    response = browser(world.partner_owner).post(
        order_url(managed), order_form(product, action="place", expected_total="200.00")
    )

    assert response.status_code == 409
    page = text(response)
    assert "The amount changed since the preview: CHF 277.76 now." in page
    assert 'name="expected_total" value="277.76"' in page
    assert not Subscription.unscoped.exists()


def test_a_price_typed_into_the_browser_is_never_taken(world, browser, product):
    """Outside review: customer.owner added 50 x at CHF 0.00 in the browser, active,
    no order. The add page is the order page now, which has no price to type."""
    client = browser(world.customer_owner)

    old_form = client.post(
        customer_url("subscription_add"),
        {"product": str(product.pk), "quantity": "50", "unit_price": "0.00"},
    )
    placed = client.post(
        order_url(),
        order_form(product, "50", unit_price="0.00", action="place", expected_total="496.00"),
    )

    assert old_form.status_code == 405
    assert placed.status_code == 302, text(placed)
    subscription = Subscription.unscoped.get()
    assert (subscription.quantity, subscription.unit_price) == (50, Decimal("9.92"))
    assert subscription.order_lines.get().order.charged_amount == Decimal("496.00")


def test_edit_changes_only_the_last_day_and_shows_errors_inline(world, browser, managed, product):
    subscription = subscribe(world, managed, product)
    client = browser(world.partner_owner)
    url = partner_url("subscription_edit", managed, subscription)
    yesterday = (TODAY - DAY).isoformat()
    last_day = (TODAY + 30 * DAY).isoformat()

    page = client.get(url)
    refused = client.post(url, {"ends_on": yesterday})
    saved = client.post(url, {"ends_on": last_day, "quantity": "4000", "unit_price": "0.01"})

    assert page.status_code == 200
    assert 'name="unit_price"' not in text(page) and 'name="quantity"' not in text(page)
    assert refused.status_code == 400
    assert refused.context["form"].errors["ends_on"] == [
        "The last day of service cannot be in the past."
    ]
    assert saved.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.quantity, subscription.unit_price) == (35, Decimal("9.92"))
    assert subscription.ends_on.isoformat() == last_day


def test_cancel_leads_to_ending_now_with_its_credit(world, browser, managed, product):
    subscription = subscribe(world, managed, product)
    client = browser(world.partner_owner)
    url = partner_url("subscription_cancel", managed, subscription)
    end = partner_url("subscription_end", managed, subscription)

    asked = client.get(url)
    posted = client.post(url)
    ended = client.post(end, {"action": "place", "expected_total": "0.00"}, follow=True)
    again = client.post(end, {"action": "preview"}, follow=True)

    assert (asked["Location"], posted["Location"]) == (end, end)
    assert ended.status_code == 200
    subscription.refresh_from_db()
    assert subscription.cancelled_at is not None  # no order billed it: nothing to credit
    assert "already cancelled" in text(again)
    assert "CHF 0.00" in text(client.get(partner_url("subscriptions", managed)))


def test_customer_admin_adds_and_customer_user_may_not(world, browser, product):
    url = customer_url("subscription_add")
    data = order_form(product, "3", action="place", expected_total="29.76")

    user = browser(world.customer_user)
    assert user.get(url).status_code == 403
    assert user.post(order_url(), data).status_code == 403
    admin = browser(world.customer_admin)  # a buyer
    assert admin.get(url)["Location"] == order_url()
    assert admin.post(order_url(), data).status_code == 302

    assert Subscription.unscoped.get(customer=world.customer).quantity == 3


def test_unassigned_collaborator_gets_404(world, browser, managed, product):
    subscription = subscribe(world, managed, product)
    client = browser(world.collaborator)

    for name in ("subscriptions", "subscription_add"):
        assert client.get(partner_url(name, managed)).status_code == 404
    for name in ("subscription_edit", "subscription_cancel"):
        assert client.post(partner_url(name, managed, subscription)).status_code == 404
    assert Subscription.unscoped.get().cancelled_at is None


# --- the partner dashboard and its drill-down ---------------------------------------------


def test_dashboard_shows_mrr_and_movement_links(world, browser, managed, product):
    subscribe(world, managed, product, starts_on=TODAY)
    subscribe(world, managed, product, quantity=10, starts_on=TODAY + 5 * DAY)
    month = f"{TODAY:%Y-%m}"

    response = browser(world.partner_owner).get(f"/t/{world.partner.slug}/")

    page = text(response)
    assert 'data-figure="book-mrr">CHF 347.20' in page
    assert 'data-figure="book-upcoming-mrr">CHF 446.40' in page  # + 10 x 9.92
    movements = reverse("mrr_movements", kwargs={"slug": "alpine"})
    assert f'href="{movements}?month={month}&amp;kind=new" data-movement="{month}-new">347.20' in (
        page
    )
    assert page.count("<title>") >= 12


def test_drill_down_total_equals_the_dashboard_figure(world, browser, managed, product):
    other = customer_add(org=ctx(world.partner_owner, world.partner), name="Zweite AG").customer
    subscribe(world, managed, product, starts_on=TODAY)
    subscribe(world, other, product, quantity=7, starts_on=TODAY)
    client = browser(world.partner_owner)
    month = f"{TODAY:%Y-%m}"

    figure = client.get(f"/t/{world.partner.slug}/").context["book"]["history"][-1]["new"]
    drill = client.get(
        reverse("mrr_movements", kwargs={"slug": "alpine"}), {"month": month, "kind": "new"}
    )

    assert figure == Decimal("416.64")  # (35 + 7) x 9.92
    assert drill.status_code == 200
    assert drill.context["total"] == figure
    page = text(drill)
    assert "Neu AG" in page and "Zweite AG" in page
    assert f'data-figure="total"><strong>CHF {figure}' in page


def test_drill_down_pages_through_the_customers_with_the_total_of_every_page(
    world, browser, managed, product, monkeypatch
):
    monkeypatch.setattr("subscriptions.views.PAGE_SIZE", 1)
    other = customer_add(org=ctx(world.partner_owner, world.partner), name="Zweite AG").customer
    subscribe(world, managed, product, starts_on=TODAY)
    subscribe(world, other, product, quantity=7, starts_on=TODAY)
    url = reverse("mrr_movements", kwargs={"slug": "alpine"})
    client = browser(world.partner_owner)

    first = client.get(url, {"month": f"{TODAY:%Y-%m}"})
    second = client.get(url, {"month": f"{TODAY:%Y-%m}", "page": 2})

    assert "Neu AG" in text(first) and "Zweite AG" not in text(first)
    assert "Zweite AG" in text(second) and "Neu AG" not in text(second)
    assert first.context["total"] == second.context["total"] == Decimal("416.64")
    assert "Total of every page" in text(second) and "Page 2 of 2 (2 in all)" in text(second)
    assert [s["change"] for s in second.context["moves"][0]["subscriptions"]] == ["started"]


def test_drill_down_refuses_a_bad_month(world, browser):
    url = reverse("mrr_movements", kwargs={"slug": "alpine"})

    response = browser(world.partner_owner).get(url, {"month": "2024-13"})

    assert response.status_code == 400
    assert "A month as YYYY-MM." in text(response)


def _dashboard_queries(client, slug) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/t/{slug}/").status_code == 200
    return len(queries)


def test_dashboard_query_count_does_not_grow_with_the_book(world, browser, product):
    org = ctx(world.partner_owner, world.partner)
    client = browser(world.partner_owner)

    def grow(count):
        for i in range(count):
            customer = customer_add(org=org, name=f"Kunde {Subscription.unscoped.count()} {i}")
            subscribe(world, customer.customer, product, quantity=i + 1)

    grow(3)
    small = _dashboard_queries(client, world.partner.slug)
    grow(17)
    large = _dashboard_queries(client, world.partner.slug)

    assert large == small


# --- the feature switch -------------------------------------------------------------------


def test_switch_off_hides_the_widget_and_closes_the_pages(world, browser, managed, product):
    subscription = subscribe(world, managed, product)
    world.partner.subscriptions_enabled = False
    world.partner.save(update_fields=["subscriptions_enabled"])
    client = browser(world.partner_owner)

    detail = text(client.get(detail_url(managed)))
    dashboard = text(client.get(f"/t/{world.partner.slug}/"))

    assert "subscription-widget" not in detail and 'href="#subscriptions"' not in detail
    assert "Monthly recurring revenue" not in dashboard and "mrr/movements" not in dashboard
    for url in org_page_urls(
        subscriptions.urls, slug="alpine", customer_id=managed.pk, subscription_id=subscription.pk
    ):
        assert client.get(url).status_code == 404, url
    # Switched on again: as it was
    world.partner.subscriptions_enabled = True
    world.partner.save(update_fields=["subscriptions_enabled"])
    assert "CHF 347.20" in text(client.get(detail_url(managed)))


def test_switch_off_for_a_customer_hides_its_link_and_page(world, browser, product):
    subscribe(world, world.customer, product)
    world.customer.subscriptions_enabled = False
    world.customer.save(update_fields=["subscriptions_enabled"])
    client = browser(world.customer_owner)

    overview = text(client.get(f"/t/{world.customer.slug}/"))

    assert customer_url("subscriptions") not in overview
    assert "subscription-widget" not in overview
    assert client.get(customer_url("subscriptions")).status_code == 404


# --- isolation ----------------------------------------------------------------------------


def test_every_page_is_404_for_an_outsider(world, client, managed, product):
    subscription = subscribe(world, managed, product)
    client.force_login(world.other_owner)

    urls = org_page_urls(
        subscriptions.urls, slug="alpine", customer_id=managed.pk, subscription_id=subscription.pk
    )

    assert_all_404(client, urls)


def test_another_partners_customer_and_subscription_are_404(world, client, managed, product):
    subscription = subscribe(world, managed, product)
    client.force_login(world.other_owner)
    rhein_customer = world.other_customer

    urls = [
        partner_url(name, customer, sub, slug="rhein")
        for name, customer, sub in (
            ("subscriptions", managed, None),
            ("subscription_add", managed, None),
            ("subscription_edit", managed, subscription),
            ("subscription_cancel", managed, subscription),
            ("subscription_edit", rhein_customer, subscription),
        )
    ]

    assert_all_404(client, urls)
    assert_all_404(client, [customer_url("subscriptions", slug="rhein")])


def test_a_member_without_the_buyer_flag_neither_ends_nor_cancels(world, browser, product):
    subscription = subscribe(world, world.customer, product)
    Membership.unscoped.filter(tenant=world.customer, user=world.customer_admin).update(buyer=False)
    client = browser(world.customer_admin)

    edited = client.post(customer_url("subscription_edit", subscription), {"ends_on": "2099-12-31"})
    cancelled = client.post(customer_url("subscription_cancel", subscription), follow=True)

    assert (edited.status_code, cancelled.status_code) == (403, 403)
    subscription.refresh_from_db()
    assert (subscription.ends_on, subscription.cancelled_at) == (None, None)


def test_drill_down_names_products_and_signs_each_change(world, browser, managed, product):
    """Issue 25: the drill-down showed product codes; a change reads "+ 347.20"."""
    subscribe(world, managed, product, starts_on=TODAY)

    drill = text(
        browser(world.partner_owner).get(
            reverse("mrr_movements", kwargs={"slug": "alpine"}), {"month": f"{TODAY:%Y-%m}"}
        )
    )

    assert "35 \N{MULTIPLICATION SIGN} Mail Pro (" in drill
    assert product.code not in drill
    assert ">+ 347.20<" in drill
