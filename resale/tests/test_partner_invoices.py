"""Partner invoices as each side reads them (API, pages, CSV), and the margin."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from resale import invoicing
from resale.models import PartnerInvoice, ResalePriceEntry
from resale.tests.conftest import d, ledger
from tenants.models import AuditEvent, Role
from tenants.tests.factories import CustomerFactory, MembershipFactory
from tests.clock import on

LIST = "/api/v1/partner-invoices/"


def detail(invoice):
    return f"{LIST}{invoice.pk}/"


def markup(world, product):
    ResalePriceEntry.unscoped.create(
        partner=world.partner, product=product, currency="CHF", mode="markup",
        value=Decimal("30"), valid_from=d("2026-01-01"),
    )  # fmt: skip


@pytest.fixture
def invoice(world, hosting, billed):
    markup(world, hosting)
    ledger(world.customer, hosting, [(d("2026-10-01"), 35), (d("2026-11-16"), 40)])
    with time_machine.travel(on(2026, 12, 1, 3)):
        return invoicing.partner_invoice_issue(partnership_id=billed.pk, month=d("2026-11-01"))


# --- the API ---------------------------------------------------------------------------------


def test_the_partner_reads_its_invoice_with_cost_and_margin(world, api, invoice):
    client = api(world.partner_admin, world.partner)
    listed = client.get(LIST).json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert (row["number"], row["month"], row["customer_name"]) == (
        "2026-00001",
        "2026-11",
        "Bäckerei Müller",
    )
    assert (row["net"], row["total"], row["cost"], row["margin"]) == (
        "290.62",
        "290.62",
        "223.50",
        "67.12",
    )
    body = client.get(detail(invoice)).json()
    assert [(line["quantity"], line["amount"], line["margin"]) for line in body["lines"]] == [
        ("35.0000", "135.62", "31.32"),
        ("40.0000", "155.00", "35.80"),
    ]
    assert body["lines"][0]["period_start"] == "2026-11-01"


def test_the_billed_customer_reads_it_without_the_partners_cost_and_margin(world, api, invoice):
    for user in (world.customer_owner, world.customer_user):
        client = api(user, world.customer)
        row = client.get(LIST).json()["results"][0]
        assert (row["total"], row["cost"], row["margin"]) == ("290.62", None, None)
        body = client.get(detail(invoice)).json()
        assert all(line["cost"] is None and line["margin"] is None for line in body["lines"])
        assert "5.96" not in str(body) and "223.50" not in str(body)


def test_anyone_else_gets_the_404_of_a_missing_invoice(world, api, invoice):
    for user, tenant in [
        (world.other_owner, world.other_partner),
        (world.other_customer_owner, world.other_customer),
        (world.sub_partner_owner, world.sub_partner),
    ]:
        client = api(user, tenant)
        assert client.get(detail(invoice)).status_code == 404
        assert client.get(LIST).json()["count"] == 0
    # the victim's id in another organization's header: a missing organization
    assert api(world.other_owner, world.customer).get(detail(invoice)).status_code == 404
    assert api(world.partner_owner, world.partner).get(f"{LIST}not-an-id/").status_code == 404


def test_a_partner_collaborator_may_not_read_the_partners_invoices(world, api, invoice):
    assert api(world.collaborator, world.partner).get(LIST).status_code == 403
    assert api(world.collaborator, world.partner).get(detail(invoice)).status_code == 403


def test_the_customer_still_reads_its_invoice_after_the_grant_ended(world, api, invoice, billed):
    billed.status = "ended"
    billed.save(update_fields=["status"])
    assert api(world.customer_owner, world.customer).get(detail(invoice)).status_code == 200
    assert api(world.partner_owner, world.partner).get(detail(invoice)).status_code == 200


def test_the_csv_has_one_row_per_line_and_the_margin_for_the_partner_only(world, api, invoice):
    response = api(world.partner_owner, world.partner).get(f"{LIST}export.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-2:] == ["cost", "margin"]
    assert [(r[0], r[9], r[11], r[-1]) for r in rows[1:]] == [
        ("2026-00001", "35.00", "135.62", "31.32"),
        ("2026-00001", "40.00", "155.00", "35.80"),
    ]
    assert AuditEvent.unscoped.filter(
        tenant=world.partner, action="export.partner_invoices"
    ).exists()
    customer = api(world.customer_owner, world.customer).get(f"{LIST}export.csv")
    customer_rows = list(csv.reader(io.StringIO(b"".join(customer.streaming_content).decode())))
    assert "margin" not in customer_rows[0] and len(customer_rows) == 3
    other = api(world.other_owner, world.other_partner).get(f"{LIST}export.csv")
    assert len(list(csv.reader(io.StringIO(b"".join(other.streaming_content).decode())))) == 1


def test_the_list_takes_the_same_queries_for_1_or_5_invoices(
    world, api, hosting, invoice, django_assert_max_num_queries
):
    client = api(world.partner_owner, world.partner)
    client.get(LIST)
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).status_code == 200
    for n in range(4):
        customer = CustomerFactory(name=f"Kunde {n}", parent=world.partner, slug=f"kunde-{n}")
        grant = _grant(world, customer)
        ledger(customer, hosting, [(d("2026-10-01"), 2)])
        with time_machine.travel(on(2026, 12, 1, 3)):
            invoicing.partner_invoice_issue(partnership_id=grant.pk, month=d("2026-11-01"))
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(LIST).json()["count"] == 5


def _grant(world, customer):
    from partners.models import Partnership

    return Partnership.unscoped.create(
        partner=world.partner, customer=customer, access="full", payment="partner",
        status="active", initiated_by="partner",
    )  # fmt: skip


# --- the pages -------------------------------------------------------------------------------


def url(name, slug, **kwargs):
    return reverse(name, kwargs={"slug": slug, **kwargs})


def test_the_pages_show_the_invoice_to_both_sides(world, browser, invoice):
    partner_page = browser(world.partner_owner).get(
        url("partner_invoice_detail", "alpine", invoice_id=invoice.pk)
    )
    text = partner_page.content.decode()
    assert partner_page.status_code == 200
    assert 'data-figure="total">CHF 290.62' in text and 'data-figure="margin">CHF 67.12' in text
    listing = browser(world.partner_owner).get(url("partner_invoices", "alpine")).content.decode()
    assert "2026-00001" in listing and "Bäckerei Müller" in listing

    customer_page = browser(world.customer_user).get(
        url("partner_invoice_detail", "mueller", invoice_id=invoice.pk)
    )
    text = customer_page.content.decode()
    assert customer_page.status_code == 200
    assert 'data-figure="total">CHF 290.62' in text
    assert "67.12" not in text and "Your margin" not in text


def test_the_invoice_page_is_a_404_for_anyone_else(world, browser, invoice):
    assert (
        browser(world.other_owner)
        .get(url("partner_invoice_detail", "rhein", invoice_id=invoice.pk))
        .status_code
        == 404
    )
    assert (
        browser(world.other_customer_owner)
        .get(url("partner_invoice_detail", "bergmann", invoice_id=invoice.pk))
        .status_code
        == 404
    )


# --- the margin ------------------------------------------------------------------------------


@time_machine.travel(on(2026, 12, 15))
def test_the_margin_by_customer_and_product_with_its_drill_down(world, browser, invoice, mailbox):
    client = browser(world.partner_owner)
    page = client.get(url("resale_margin", "alpine")).content.decode()
    assert "November 2026" in page and "CHF 67.12" in page and "CHF 223.50" in page
    lines = client.get(
        url("resale_margin_lines", "alpine"),
        {"month": "2026-11", "customer": str(world.customer.pk)},
    ).content.decode()
    assert 'data-figure="margin">67.12' in lines and "135.62" in lines
    by_product = client.get(
        url("resale_margin_lines", "alpine"),
        {"month": "2026-11", "product": str(mailbox.pk)},
    ).content.decode()
    assert "No invoice line here." in by_product
    # another partner's customer in the filter: no line, as for a missing one
    foreign = client.get(
        url("resale_margin_lines", "alpine"),
        {"month": "2026-11", "customer": str(world.other_customer.pk)},
    ).content.decode()
    assert "No invoice line here." in foreign
    assert client.get(url("resale_margin_lines", "alpine"), {"month": "soon"}).status_code == 404


@time_machine.travel(on(2026, 12, 15))
def test_the_dashboard_shows_the_latest_months_margin(world, browser, invoice):
    page = browser(world.partner_owner).get(reverse("org_dashboard", args=["alpine"]))
    assert 'data-figure="margin">CHF 67.12' in page.content.decode()


@time_machine.travel(on(2026, 12, 15))
def test_the_margin_page_is_for_the_partners_owners_and_admins(world, browser, invoice):
    assert browser(world.collaborator).get(url("resale_margin", "alpine")).status_code == 403
    assert browser(world.customer_owner).get(url("resale_margin", "mueller")).status_code == 404
    other = browser(world.other_owner).get(url("resale_margin", "rhein")).content.decode()
    assert "67.12" not in other


@time_machine.travel(on(2026, 12, 15))
def test_the_margin_page_takes_the_same_queries_for_1_or_5_customers(
    world, browser, hosting, mailbox, invoice, django_assert_max_num_queries
):
    client = browser(world.partner_owner)
    client.get(url("resale_margin", "alpine"))
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("resale_margin", "alpine")).status_code == 200
    for n in range(4):
        customer = CustomerFactory(name=f"Kunde {n}", parent=world.partner, slug=f"kunde-{n}")
        MembershipFactory(tenant=customer, role=Role.OWNER)
        grant = _grant(world, customer)
        ledger(customer, hosting, [(d("2026-10-01"), 2)])
        ledger(customer, mailbox, [(d("2026-11-05"), 1)])
        with time_machine.travel(on(2026, 12, 1, 3)):
            invoicing.partner_invoice_issue(partnership_id=grant.pk, month=d("2026-11-01"))
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(url("resale_margin", "alpine")).content.decode()
    assert page.count("Kunde ") == 4
    assert len(PartnerInvoice.unscoped.all()) == 5


@time_machine.travel(on(2026, 12, 15))
def test_the_margin_selectors_sum_what_the_lines_say(world, invoice):
    from resale.selectors import margin_by_customer, margin_by_month, margin_by_product
    from tenants.selectors import org_context_for

    ctx = org_context_for(user=world.partner_owner, tenant_id=world.partner.pk)
    (month,) = margin_by_month(org=ctx)
    (customer,) = margin_by_customer(org=ctx)
    (product,) = margin_by_product(org=ctx)
    for row in (month, customer, product):
        assert (row.resale, row.cost, row.margin) == (
            Decimal("290.62"),
            Decimal("223.50"),
            Decimal("67.12"),
        )
        assert row.month == datetime.date(2026, 11, 1)
    assert customer.name == "Bäckerei Müller" and product.name == "Web hosting"


# --- the PDF ---------------------------------------------------------------------------------


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_customer_downloads_the_pdf_and_its_figures_are_the_invoices(world, api, invoice):
    response = api(world.customer_user, world.customer).get(
        f"{detail(invoice)}pdf/", HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="2026-00001.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    for figure in ("2026-00001", "Alpine IT", "Bäckerei Müller", "135.62", "155.00", "290.62"):
        assert figure in text, figure
    assert "67.12" not in text and "223.50" not in text  # never the partner's cost or margin


def test_the_pdf_is_a_404_for_anyone_else_and_on_the_page_for_both_sides(
    world, api, browser, invoice
):
    assert (
        api(world.other_owner, world.other_partner).get(f"{detail(invoice)}pdf/").status_code == 404
    )
    page = browser(world.partner_owner).get(
        url("partner_invoice_pdf", "alpine", invoice_id=invoice.pk)
    )
    assert page.status_code == 200 and "290.62" in pdf_text(page.content)
    assert (
        browser(world.other_customer_owner)
        .get(url("partner_invoice_pdf", "bergmann", invoice_id=invoice.pk))
        .status_code
        == 404
    )
