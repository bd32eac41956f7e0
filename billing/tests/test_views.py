"""The browser pages of billing (SPEC §7, §9): the quote with its waterfall,
placing an order from both sides, orders and invoices as each side may see
them, the partner's summary, cashback ledger and CSV export, roles, and
isolation between organizations."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import amendments.urls
import billing.urls
from billing.models import Invoice, Order
from billing.selectors import BILLING_EXPORT_COLUMNS
from billing.services.orders import LineRequest, order_place, order_refund
from billing.tests.conftest import grant, org
from partners import services as partner_services
from tenants.models import Membership
from tests.isolation import assert_all_404, missing_id, org_page_urls

pytestmark = pytest.mark.django_db

TIMES = "\N{MULTIPLICATION SIGN}"


def text(response) -> str:
    return response.content.decode()


def url(name: str, slug: str, **kwargs) -> str:
    return reverse(name, kwargs={"slug": slug, **kwargs})


def lines_data(*lines, **extra) -> dict:
    """Form data for the order lines: (product, quantity) pairs."""
    data = {}
    for n, (product, quantity) in enumerate(lines):
        data[f"product_{n}"] = str(product.pk)
        data[f"quantity_{n}"] = str(quantity)
    data.update(extra)
    return data


def customer_orders(world, product, quantity=35) -> Order:
    """Bäckerei Müller's owner orders for itself."""
    return order_place(
        org=org(world.customer_owner, world.customer),
        customer_id=world.customer.pk,
        lines=[LineRequest(product, quantity)],
    )


def partner_orders(world, product, quantity=35) -> Order:
    """Alpine IT's owner orders for Bäckerei Müller."""
    return order_place(
        org=org(world.partner_owner, world.partner),
        customer_id=world.customer.pk,
        lines=[LineRequest(product, quantity)],
    )


def own_invoice(order: Order) -> Invoice:
    return Invoice.unscoped.get(order=order, kind=Invoice.Kind.INVOICE)


@pytest.fixture
def foreign(world, hosting):
    """Rhein Cloud's tree: Bergmann invites Rhein (full, customer pays) and
    orders, so Rhein has an order, Bergmann an invoice."""
    invited = partner_services.partnership_invite_partner(
        org=org(world.other_customer_owner, world.other_customer),
        partner=world.other_partner,
        access="full",
        payment="customer",
    )
    partner_services.partnership_accept(
        org=org(world.other_owner, world.other_partner), partnership=invited
    )
    Membership.unscoped.filter(user=world.other_customer_owner).update(buyer=True)
    order = order_place(
        org=org(world.other_customer_owner, world.other_customer),
        customer_id=world.other_customer.pk,
        lines=[LineRequest(hosting, 3)],
    )
    return {
        "order_id": order.pk,
        "customer_id": world.other_customer.pk,
        "invoice_id": own_invoice(order).pk,
        "subscription_id": order.lines.get().subscription_id,
    }


# --- the quote --------------------------------------------------------------------------


def test_the_partner_quote_shows_the_waterfall_and_the_cashback(world, browser, hosting):
    # Given a full partnership in which the customer pays (CHF, 20 % partner)
    grant(world, access="full", payment="customer")

    # When Alpine's owner quotes 35 web hostings for Müller
    response = browser(world.partner_owner).post(
        url("quote", "alpine"), lines_data((hosting, 35), customer=str(world.customer.pk))
    )

    # Then every step of SPEC §7's worked example shows, with who pays and the cashback
    page = text(response)
    assert response.status_code == 200
    waterfall = page.split('class="stack waterfall"')[1]
    for amount in ("347.20", "277.76", "208.32", "260.40", "52.08"):
        assert f"CHF {amount}" in waterfall
    assert 'data-figure="payer">Bäckerei Müller · public price' in page
    assert 'data-figure="cashback">CHF 52.08' in page
    assert 'data-figure="charged">CHF 260.40' in page
    # And a buyer is offered to order it, with the lines carried over
    order_link = url("customer_order_place", "alpine", customer_id=world.customer.pk)
    assert f'href="{order_link}?product_0={hosting.pk}&amp;quantity_0=35"' in page


def test_the_customer_quote_shows_list_public_and_charged_only(world, browser, hosting):
    grant(world, access="full", payment="customer")

    response = browser(world.customer_user).post(url("quote", "mueller"), lines_data((hosting, 35)))

    page = text(response)
    assert response.status_code == 200
    assert "CHF 347.20" in page and "CHF 260.40" in page
    assert 'data-figure="payer">You · public price' in page
    for secret in ("277.76", "208.32", "52.08", "Preferential", "Cashback", "After your discount"):
        assert secret not in page
    # A customer user may look, but not order
    assert url("order_place", "mueller") + "?" not in page


def test_the_quote_answers_htmx_with_the_panel_only(world, browser, hosting):
    grant(world, access="full", payment="customer")

    response = browser(world.customer_owner).post(
        url("quote", "mueller"), lines_data((hosting, 35)), HTTP_HX_REQUEST="true"
    )

    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="quote-panel">')
    assert "<html" not in page and "CHF 260.40" in page
    assert "HX-Request" in response["Vary"]


def test_the_quote_form_shows_its_errors_inline(world, browser, hosting, mailbox):
    client = browser(world.customer_owner)
    quote_url = url("quote", "mueller")

    empty = client.post(quote_url, {})
    no_quantity = client.post(quote_url, {"product_0": str(hosting.pk)})
    twice = client.post(quote_url, lines_data((hosting, 2), (hosting, 3)))

    assert empty.status_code == 400
    assert "Choose at least one product and its quantity." in text(empty)
    assert no_quantity.status_code == 400 and "Give a quantity." in text(no_quantity)
    assert "Give each product once, with its whole quantity." in text(twice)  # the service's
    assert Order.unscoped.count() == 0


def test_the_partner_quote_offers_only_the_customers_it_may_act_on(world, browser, hosting):
    grant(world, access="full", payment="customer")

    page = text(browser(world.partner_owner).get(url("quote", "alpine")))
    collaborator_page = text(browser(world.collaborator).get(url("quote", "alpine")))

    assert f'<option value="{world.customer.pk}">Bäckerei Müller</option>' in page
    assert "Bergmann" not in page
    # A collaborator without assigned customers is told what to do instead
    assert "You have no customer to quote for yet" in collaborator_page


# --- placing orders ---------------------------------------------------------------------


def test_a_customer_buyer_places_an_order_and_lands_on_it(world, browser, hosting):
    grant(world, access="full", payment="customer")
    client = browser(world.customer_owner)

    response = client.post(
        url("order_place", "mueller"),
        lines_data((hosting, 35), action="place", expected_total="260.40"),
    )

    order = Order.unscoped.get()
    assert response.status_code == 302
    assert response["Location"] == url("order_detail", "mueller", order_id=order.pk)
    assert (order.customer, order.payer_tenant, order.charged_amount) == (
        world.customer,
        world.customer,
        order.public_amount,
    )
    page = text(client.get(response["Location"]))
    number = own_invoice(order).number
    assert f"We issued invoice {number} to you for CHF 260.40 (excl. VAT)." in page


def test_a_partner_buyer_orders_for_a_customer_and_pays_the_preferential_price(
    world, browser, hosting
):
    # Given full access paid by the partner
    grant(world, access="full", payment="partner")
    client = browser(world.partner_owner)
    place_url = url("customer_order_place", "alpine", customer_id=world.customer.pk)

    response = client.post(
        place_url, lines_data((hosting, 35), action="place", expected_total="208.32"), follow=True
    )

    order = Order.unscoped.get()
    assert response.redirect_chain == [(url("order_detail", "alpine", order_id=order.pk), 302)]
    assert order.payer_tenant == world.partner and str(order.charged_amount) == "208.32"
    page = text(response)
    assert f"We issued invoice {own_invoice(order).number} to you for CHF 208.32" in page
    assert 'data-figure="discount">CHF 52.08' in page


def test_a_partner_ordering_for_a_paying_customer_is_told_its_cashback(world, browser, hosting):
    grant(world, access="full", payment="customer")
    place_url = url("customer_order_place", "alpine", customer_id=world.customer.pk)

    response = browser(world.partner_owner).post(
        place_url, lines_data((hosting, 35), action="place", expected_total="260.40"), follow=True
    )

    page = text(response)
    assert "Bäckerei Müller is invoiced CHF 260.40 (excl. VAT)." in page
    assert "Your cashback of CHF 52.08 was credited to your prepaid account." in page


def test_preview_shows_the_price_and_orders_nothing(world, browser, hosting):
    grant(world, access="full", payment="customer")
    place_url = url("order_place", "mueller")
    client = browser(world.customer_owner)

    plain = client.post(place_url, lines_data((hosting, 35), action="preview"))
    htmx = client.post(place_url, lines_data((hosting, 35)), HTTP_HX_REQUEST="true")

    assert plain.status_code == 200 and "CHF 260.40" in text(plain) and "<html" in text(plain)
    assert text(htmx).lstrip().startswith('<div id="order-panel">') and "CHF 260.40" in text(htmx)
    assert Order.unscoped.count() == 0


def test_the_order_page_is_prefilled_from_the_quote(world, browser, hosting):
    grant(world, access="full", payment="customer")

    page = text(
        browser(world.customer_owner).get(
            url("order_place", "mueller"), {"product_0": hosting.pk, "quantity_0": 35}
        )
    )

    assert f'<option value="{hosting.pk}" selected>' in page
    assert 'name="quantity_0" value="35"' in page


def test_an_order_error_of_the_service_shows_inline(world, browser, hosting, mailbox):
    # Given the partner manages only the mailbox: the two products have different partners
    grant(world, access="limited", products=[mailbox])

    response = browser(world.customer_owner).post(
        url("order_place", "mueller"), lines_data((hosting, 1), (mailbox, 1), action="place")
    )

    assert response.status_code == 400
    assert "These products are managed by different partners" in text(response)
    assert Order.unscoped.count() == 0


def test_a_partner_with_limited_access_is_told_which_products_it_may_not_order(
    world, browser, hosting, mailbox
):
    grant(world, access="limited", products=[mailbox])
    place_url = url("customer_order_place", "alpine", customer_id=world.customer.pk)

    response = browser(world.partner_owner).post(
        place_url, lines_data((hosting, 1), action="place")
    )

    assert response.status_code == 400
    assert "Your access to Bäckerei Müller does not include Web hosting." in text(response)
    assert Order.unscoped.count() == 0


def test_who_may_not_order_gets_the_reason_and_a_403(world, browser, hosting):
    grant(world, access="full", payment="customer")
    partner_place = url("customer_order_place", "alpine", customer_id=world.customer.pk)
    customer_place = url("order_place", "mueller")

    not_buyer = browser(world.partner_admin).get(partner_place)
    not_buyer_post = browser(world.partner_admin).post(
        partner_place, lines_data((hosting, 1), action="place")
    )
    customer_user = browser(world.customer_user).get(customer_place)

    assert not_buyer.status_code == 403
    assert "Only members with the buyer flag may order." in text(not_buyer)
    assert 'name="product_0"' not in text(not_buyer)
    assert not_buyer_post.status_code == 403
    assert customer_user.status_code == 403
    assert "Only owners and admins who are buyers may order." in text(customer_user)
    assert Order.unscoped.count() == 0


def test_each_order_page_answers_only_on_its_own_side(world, browser, hosting):
    grant(world, access="full", payment="customer")

    partner_on_customer_page = browser(world.partner_owner).get(url("order_place", "alpine"))
    customer_on_partner_page = browser(world.customer_owner).get(
        url("customer_order_place", "mueller", customer_id=world.customer.pk)
    )

    assert partner_on_customer_page.status_code == 404
    assert customer_on_partner_page.status_code == 404


# --- orders and invoices as each side sees them -----------------------------------------


def test_the_customer_does_not_see_the_partners_figures_on_its_order(world, browser, hosting):
    grant(world, access="full", payment="customer")
    order = customer_orders(world, hosting)

    customer_page = text(
        browser(world.customer_user).get(url("order_detail", "mueller", order_id=order.pk))
    )
    partner_page = text(
        browser(world.partner_owner).get(url("order_detail", "alpine", order_id=order.pk))
    )

    assert 'data-figure="charged">CHF 260.40' in customer_page
    for secret in ("208.32", "277.76", "52.08", "Cashback", "Preferential", "discount rate"):
        assert secret not in customer_page
    assert 'data-figure="cashback">CHF 52.08' in partner_page
    assert "CHF 208.32" in partner_page and "CHF 277.76" in partner_page


def test_the_customer_does_not_see_what_its_partner_paid(world, browser, hosting):
    grant(world, access="full", payment="partner")
    order = partner_orders(world, hosting)
    client = browser(world.customer_owner)

    detail = text(client.get(url("order_detail", "mueller", order_id=order.pk)))
    listing = text(client.get(url("billing_orders", "mueller")))

    assert "Paid by Alpine IT: the amount is on its invoice." in detail
    assert "208.32" not in detail and "52.08" not in detail and "preferential" not in detail
    assert "CHF 260.40" in detail  # the public price of the line is the customer's own
    assert "paid by Alpine IT" in listing and "208.32" not in listing
    assert own_invoice(order).number not in detail + listing


def test_an_invoice_is_seen_by_its_payer_only(world, browser, hosting):
    grant(world, access="full", payment="customer")
    invoice = own_invoice(customer_orders(world, hosting))
    customer = browser(world.customer_user)

    page = text(customer.get(url("invoice_detail", "mueller", invoice_id=invoice.pk)))
    listing = text(customer.get(url("invoices", "mueller")))
    partner = browser(world.partner_owner)
    theirs = partner.get(url("invoice_detail", "alpine", invoice_id=invoice.pk))
    partner_listing = text(partner.get(url("invoices", "alpine")))

    assert f"Invoice {invoice.number}" in page and "Bill to" in page
    assert "Bäckerei Müller" in page and 'data-figure="invoice-total">CHF 260.40' in page
    assert (
        "Net" in page
        and "Total" in page
        and '<button type="button" data-print>Print</button>' in page
    )
    assert invoice.number in listing
    assert theirs.status_code == 404
    assert (
        invoice.number not in partner_listing and "No invoices to Alpine IT yet" in partner_listing
    )


def test_an_invoice_to_the_partner_is_hidden_from_the_customer(world, browser, hosting):
    grant(world, access="full", payment="partner")
    invoice = own_invoice(partner_orders(world, hosting))

    partner_page = browser(world.partner_owner).get(
        url("invoice_detail", "alpine", invoice_id=invoice.pk)
    )
    customer_page = browser(world.customer_owner).get(
        url("invoice_detail", "mueller", invoice_id=invoice.pk)
    )

    assert partner_page.status_code == 200
    assert 'data-figure="invoice-total">CHF 208.32' in text(partner_page)
    assert customer_page.status_code == 404


def test_a_credit_note_shows_negative_amounts(world, browser, hosting):
    grant(world, access="full", payment="customer")
    order = customer_orders(world, hosting)
    order_refund(actor=world.staff, order_id=order.pk, reason="Ordered twice")
    credit_note = Invoice.unscoped.get(order=order, kind=Invoice.Kind.CREDIT_NOTE)

    page = text(
        browser(world.customer_owner).get(
            url("invoice_detail", "mueller", invoice_id=credit_note.pk)
        )
    )

    assert f"Credit note {credit_note.number}" in page
    assert 'data-figure="invoice-total">\u2212 CHF 260.40' in page
    assert (
        f'Credits invoice <a href="{url("invoice_detail", "mueller", invoice_id=own_invoice(order).pk)}">'
        in page
    )
    assert "Ordered twice" in page


def test_the_orders_list_filters_by_kind_and_shows_the_earnings(world, browser, hosting):
    grant(world, access="full", payment="customer")
    customer_orders(world, hosting)
    client = browser(world.partner_admin)

    everything = text(client.get(url("billing_orders", "alpine")))
    renewals = text(client.get(url("billing_orders", "alpine"), {"kind": "renewal"}))

    assert f"35 {TIMES} Web hosting" in everything and "Bäckerei Müller" in everything
    assert "CHF 260.40" in everything and "CHF 52.08 <small" in everything
    assert "No renewals yet." in renewals and f"35 {TIMES} Web hosting" not in renewals


def test_the_orders_list_takes_the_same_queries_for_1_or_20_orders(
    world, browser, hosting, django_assert_max_num_queries
):
    grant(world, access="full", payment="customer")
    customer_orders(world, hosting)
    client = browser(world.partner_owner)
    client.get(url("billing_orders", "alpine"))
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("billing_orders", "alpine")).status_code == 200

    for quantity in range(2, 21):
        customer_orders(world, hosting, quantity=quantity)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = text(client.get(url("billing_orders", "alpine")))

    assert page.count(f"{TIMES} Web hosting") == 20


# --- the partner's summary, ledger and export -------------------------------------------


def test_the_billing_summary_shows_the_month_and_the_balance(world, browser, hosting):
    grant(world, access="full", payment="customer")
    customer_orders(world, hosting)

    response = browser(world.partner_admin).get(url("billing", "alpine"))

    page = text(response)
    assert response.status_code == 200
    assert "CHF 260.40" in page  # public volume
    assert 'data-figure="balance-CHF">CHF 52.08' in page
    assert url("billing_export", "alpine") in page and "Export billing data (CSV)" in page
    assert re.search(r'aria-current="page" data-nav="[a-z_]+">Billing</a>', page)


def test_the_cashback_ledger_links_each_entry_to_its_order(world, browser, hosting):
    grant(world, access="full", payment="customer")
    order = customer_orders(world, hosting)

    page = text(browser(world.partner_owner).get(url("cashback", "alpine")))

    assert 'data-figure="balance-CHF">CHF 52.08' in page
    assert url("order_detail", "alpine", order_id=order.pk) in page
    assert "Order for Bäckerei Müller" in page


def test_empty_pages_say_what_to_do_next(world, browser):
    partner = browser(world.partner_owner)

    assert "No orders this month yet." in text(partner.get(url("billing", "alpine")))
    assert "No cashback yet." in text(partner.get(url("cashback", "alpine")))
    assert "No orders yet." in text(partner.get(url("billing_orders", "alpine")))
    customer = text(browser(world.customer_owner).get(url("billing_orders", "mueller")))
    assert "No orders yet." in customer and url("order_place", "mueller") in customer


def test_the_export_has_the_header_and_only_the_partners_own_orders(
    world, browser, hosting, foreign
):
    grant(world, access="full", payment="customer")
    order = customer_orders(world, hosting)

    response = browser(world.partner_owner).get(url("billing_export", "alpine"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="billing-alpine-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert tuple(rows[0]) == BILLING_EXPORT_COLUMNS
    assert len(rows) == 2
    row = dict(zip(BILLING_EXPORT_COLUMNS, rows[1], strict=True))
    assert row["order_id"] == str(order.pk) and row["customer"] == "Bäckerei Müller"
    assert (row["public_amount"], row["preferential_amount"], row["cashback_amount"]) == (
        "260.40",
        "208.32",
        "52.08",
    )
    assert row["invoice_number"] == ""  # the customer's invoice is not Alpine's
    assert str(foreign["order_id"]) not in b"".join(response.streaming_content).decode()


# --- roles, kinds and isolation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "slug", "name"),
    [
        ("partner_owner", "alpine", "billing"),
        ("partner_admin", "alpine", "billing"),
        ("partner_admin", "alpine", "cashback"),
        ("partner_admin", "alpine", "billing_export"),
        ("collaborator", "alpine", "billing_orders"),
        ("collaborator", "alpine", "invoices"),
        ("collaborator", "alpine", "quote"),
        ("customer_user", "mueller", "billing_orders"),
        ("customer_user", "mueller", "invoices"),
        ("customer_user", "mueller", "quote"),
        ("customer_admin", "mueller", "order_place"),
    ],
)
def test_each_page_opens_for_its_roles(world, browser, user, slug, name):
    response = browser(getattr(world, user)).get(url(name, slug))

    assert response.status_code == 200


@pytest.mark.parametrize("name", ["billing", "cashback", "billing_export"])
def test_a_collaborator_may_not_open_the_partners_money_pages(world, browser, name):
    assert browser(world.collaborator).get(url(name, "alpine")).status_code == 403


@pytest.mark.parametrize("name", ["billing", "cashback", "billing_export"])
def test_a_customer_has_no_partner_billing_pages(world, browser, name):
    assert browser(world.customer_owner).get(url(name, "mueller")).status_code == 404


def test_the_navigation_and_dashboards_link_to_billing(world, browser, hosting):
    grant(world, access="full", payment="customer")
    customer_orders(world, hosting)

    partner = text(browser(world.partner_owner).get(url("org_dashboard", "alpine")))
    customer = text(browser(world.customer_owner).get(url("org_dashboard", "mueller")))
    invoices = text(browser(world.customer_owner).get(url("invoices", "mueller")))

    assert re.search(
        rf'<a href="{url("billing", "alpine")}" data-nav="[a-z_]+">Billing</a>', partner
    )
    assert 'data-figure="cashback-balance">CHF 52.08' in partner
    assert "Invoiced to you: <strong>CHF 260.40</strong>" in customer
    assert re.search(
        rf'<a href="{url("invoices", "mueller")}" aria-current="page" data-nav="[a-z_]+">Invoices</a>',
        invoices,
    )


def test_every_billing_page_of_another_organization_is_a_404(world, browser, hosting, foreign):
    # Given Alpine's own order, invoice (paid by Alpine) and customer
    grant(world, access="full", payment="partner")
    ours = partner_orders(world, hosting)
    alpine_ids = {
        "order_id": ours.pk,
        "customer_id": world.customer.pk,
        "invoice_id": own_invoice(ours).pk,
        "subscription_id": ours.lines.get().subscription_id,
    }

    # Then Rhein's owner reaches none of Alpine's pages, whatever the method
    assert_all_404(
        browser(world.other_owner),
        org_page_urls(billing.urls, amendments.urls, slug="alpine", **alpine_ids),
    )
    # And Alpine's owner reaches none of Rhein's, nor Bergmann's
    client = browser(world.partner_owner)
    assert_all_404(client, org_page_urls(billing.urls, amendments.urls, slug="rhein", **foreign))
    assert_all_404(client, org_page_urls(billing.urls, amendments.urls, slug="bergmann", **foreign))
    # And Rhein's ids under Alpine's own slug are the 404 of a missing id
    for ids in (foreign, {key: missing_id() for key in foreign}):
        with_ids = [
            page
            for page in org_page_urls(billing.urls, amendments.urls, slug="alpine", **ids)
            if any(str(value) in page for value in ids.values())
        ]
        # order, its customer, invoice and its PDF; raise, lower, end on both sides
        assert len(with_ids) == 10
        assert_all_404(client, with_ids)
    # And Bergmann's ids under Müller's slug too
    customer_pages = [
        page
        for page in org_page_urls(billing.urls, amendments.urls, slug="mueller", **foreign)
        if any(str(value) in page for value in foreign.values())
    ]
    assert_all_404(browser(world.customer_owner), customer_pages)
    assert Order.unscoped.count() == 2
