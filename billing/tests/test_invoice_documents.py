"""The provider's invoices and credit notes as documents people can pay (SPEC §7
rev. 2, docs/invoices.md): the issuer's VAT number, the VAT by the payer's
country on the invoice date, the due date after the payer's terms, the page
and the PDF (its text read back), and only the payer's organization sees them."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from billing.models import CashbackEntry, Invoice, VatRate
from billing.services.orders import LineRequest, order_place, order_refund
from billing.tests.conftest import grant, org
from tests.clock import on

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("vat_table")]
D = Decimal


@pytest.fixture
def provider(world):
    provider = world.provider
    provider.name = "Acme Cloud AG"
    provider.address = "Bahnhofstrasse 1"
    provider.postal_code = "8001"
    provider.city = "Zürich"
    provider.country = "CH"
    provider.vat_number = "CHE-123.456.788 MWST"
    provider.save()
    return provider


def payer_in(world, country: str, vat_number: str = "", terms: int = 30):
    customer = world.customer
    customer.address = "Marktgasse 3"
    customer.postal_code = "3011"
    customer.city = "Bern"
    customer.country = country
    customer.vat_number = vat_number
    customer.payment_terms_days = terms
    customer.save()
    return customer


def customer_orders(world, product, quantity=35):
    """Bäckerei Müller orders 35 web hostings: CHF 347.20 less 25 % = 260.40 net."""
    return order_place(
        org=org(world.customer_owner, world.customer),
        customer_id=world.customer.pk,
        lines=[LineRequest(product, quantity)],
    )


def invoice_of(order, kind=Invoice.Kind.INVOICE) -> Invoice:
    return Invoice.unscoped.get(order=order, kind=kind)


def figures(invoice: Invoice) -> tuple:
    return (invoice.net, invoice.vat_rate, invoice.vat_amount, invoice.total)


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def page_url(name: str, tenant, invoice) -> str:
    return reverse(name, kwargs={"slug": tenant.slug, "invoice_id": invoice.pk})


# --- figures -----------------------------------------------------------------------------------


@pytest.mark.time_machine(on(2026, 12, 7))
def test_a_swiss_payer_in_2026_owes_net_plus_8_1_percent_due_after_30_days(
    world, provider, hosting
):
    payer_in(world, "CH")
    order = customer_orders(world, hosting)
    invoice = invoice_of(order)
    # 260.40 x 8.1 % = 21.0924 -> 21.09
    assert figures(invoice) == (D("260.40"), D("0.0810"), D("21.09"), D("281.49"))
    assert (invoice.vat_treatment, invoice.vat_country) == ("domestic", "CH")
    assert invoice.net == order.charged_amount  # the order, its ledger and cashback stay net
    assert invoice.due_on == datetime.date(2027, 1, 6)
    assert invoice.issuer["vat_number"] == "CHE-123.456.788 MWST"
    assert invoice.bill_to["city"] == "Bern"


@pytest.mark.time_machine(on(2023, 6, 1))
def test_an_invoice_dated_2023_bills_the_rate_of_then_7_7_percent(world, provider, hosting):
    payer_in(world, "CH", terms=10)
    invoice = invoice_of(customer_orders(world, hosting))
    # 260.40 x 7.7 % = 20.0508 -> 20.05
    assert figures(invoice) == (D("260.40"), D("0.0770"), D("20.05"), D("280.45"))
    assert invoice.due_on == datetime.date(2023, 6, 11)  # the payer's own terms


@pytest.mark.time_machine(on(2026, 12, 7))
def test_an_eu_consumer_pays_its_countrys_rate(world, provider, hosting):
    payer_in(world, "DE")
    invoice = invoice_of(customer_orders(world, hosting))
    # 260.40 x 19 % = 49.476 -> 49.48
    assert figures(invoice) == (D("260.40"), D("0.1900"), D("49.48"), D("309.88"))
    assert (invoice.vat_treatment, invoice.vat_country) == ("eu_consumer", "DE")


@pytest.mark.time_machine(on(2026, 12, 7))
def test_an_eu_business_is_reverse_charged_and_the_pdf_says_so(world, provider, hosting, client):
    payer_in(world, "AT", vat_number="ATU13585627")
    invoice = invoice_of(customer_orders(world, hosting))
    assert figures(invoice) == (D("260.40"), D("0.0000"), D("0.00"), D("260.40"))
    assert invoice.vat_treatment == "reverse_charge"
    client.force_login(world.customer_owner)
    text = pdf_text(client.get(page_url("invoice_pdf", world.customer, invoice)).content)
    assert "VAT number: ATU13585627" in text
    assert "VAT 0 % (reverse charge)" in text
    assert "Reverse charge: VAT is to be accounted for by the recipient" in text


@pytest.mark.time_machine(on(2026, 12, 7))
def test_a_payer_outside_switzerland_and_the_eu_is_outside_the_scope(world, provider, hosting):
    payer_in(world, "US")
    invoice = invoice_of(customer_orders(world, hosting))
    assert figures(invoice) == (D("260.40"), D("0.0000"), D("0.00"), D("260.40"))
    assert invoice.vat_treatment == "outside_scope"


def test_the_refunds_credit_note_mirrors_its_invoice_at_the_rate_of_the_invoice(
    world, provider, hosting, time_machine
):
    payer_in(world, "CH")
    time_machine.move_to(on(2026, 12, 31))
    order = customer_orders(world, hosting)
    VatRate.objects.create(country="CH", rate=D("0.0900"), valid_from=datetime.date(2027, 1, 1))
    time_machine.move_to(on(2027, 1, 2))
    order_refund(actor=world.staff, order_id=order.pk, reason="Ordered twice")
    invoice, credit = invoice_of(order), invoice_of(order, Invoice.Kind.CREDIT_NOTE)
    assert figures(credit) == (D("-260.40"), D("0.0810"), D("-21.09"), D("-281.49"))
    assert figures(credit) == (-invoice.net, invoice.vat_rate, -invoice.vat_amount, -invoice.total)
    assert credit.due_on is None and credit.number.startswith("CN-2027-")
    # a new order in 2027 bills the new rate
    assert invoice_of(customer_orders(world, hosting)).vat_rate == D("0.0900")


@pytest.mark.time_machine(on(2026, 12, 7))
def test_cashback_and_the_order_stay_net_of_vat(world, provider, hosting):
    """Prices are excl. VAT (SPEC §7): the cashback is public - preferential on
    the net amounts, whatever VAT the payer's invoice adds."""
    payer_in(world, "CH")
    grant(world, access="full", payment="customer")
    order = customer_orders(world, hosting)
    invoice = invoice_of(order)
    entry = CashbackEntry.unscoped.get(order=order)
    assert entry.amount == order.cashback_amount == order.public_amount - order.preferential_amount
    assert invoice.net == order.charged_amount == D("260.40")
    assert invoice.total == D("281.49")


@pytest.mark.time_machine(on(2026, 12, 7))
def test_the_provider_without_a_country_bills_no_vat(world, hosting):
    """Before the operator sets the provider's country, nothing is charged on
    top: VAT 0, outside the scope (docs/invoices.md)."""
    payer_in(world, "CH")
    invoice = invoice_of(customer_orders(world, hosting))
    assert figures(invoice) == (D("260.40"), D("0.0000"), D("0.00"), D("260.40"))


# --- the page, the PDF and the API -------------------------------------------------------------


@pytest.mark.time_machine(on(2026, 12, 7))
def test_the_page_and_the_pdf_show_the_whole_document(world, provider, hosting, client):
    payer_in(world, "CH")
    invoice = invoice_of(customer_orders(world, hosting))
    client.force_login(world.customer_owner)
    page = client.get(page_url("invoice_detail", world.customer, invoice)).content.decode()
    assert "Due 6 January 2027" in page
    assert "VAT number: CHE-123.456.788 MWST" in page
    assert 'data-figure="invoice-net">CHF 260.40' in page
    assert "VAT 8.1 %" in page and 'data-figure="invoice-vat">CHF 21.09' in page
    assert "CHF 281.49" in page
    assert page_url("invoice_pdf", world.customer, invoice) in page

    response = client.get(page_url("invoice_pdf", world.customer, invoice))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert f"Invoice {invoice.number}" in text
    assert "Invoice date: 7 December 2026" in text and "Due date: 6 January 2027" in text
    assert "Acme Cloud AG" in text and "VAT number: CHE-123.456.788 MWST" in text
    assert "Bäckerei Müller" in text and "3011 Bern" in text
    line = invoice.order.lines.get()
    period = f"{line.period_starts_on:%-d %b %Y} \u2013 {line.period_ends_on:%-d %b %Y}"
    assert "Web hosting" in text and period in text and period.startswith("7 Dec 2026")
    assert "CHF 260.40" in text and "VAT 8.1 %" in text
    assert "CHF 21.09" in text and "CHF 281.49" in text


@pytest.mark.time_machine(on(2026, 12, 7))
def test_the_pdf_speaks_the_requests_language(world, provider, hosting, client):
    payer_in(world, "CH")
    invoice = invoice_of(customer_orders(world, hosting))
    client.force_login(world.customer_owner)
    url = page_url("invoice_pdf", world.customer, invoice)
    text = pdf_text(client.get(url, HTTP_ACCEPT_LANGUAGE="de").content)
    assert f"Rechnung {invoice.number}" in text and "MWST 8,1 %" in text
    assert "Fälligkeitsdatum: 6. Januar 2027" in text


@pytest.mark.time_machine(on(2026, 12, 7))
def test_a_credit_note_pdf_is_negative_with_nothing_to_pay(world, provider, hosting, api):
    payer_in(world, "CH")
    order = customer_orders(world, hosting)
    order_refund(actor=world.staff, order_id=order.pk, reason="Ordered twice")
    credit = invoice_of(order, Invoice.Kind.CREDIT_NOTE)
    response = api(world.customer_owner, world.customer).get(f"/api/v1/invoices/{credit.pk}/pdf/")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert f"Credit note {credit.number}" in text
    assert "CHF -260.40" in text and "CHF -21.09" in text and "CHF -281.49" in text
    assert "Nothing to pay" in text and "Due date" not in text


@pytest.mark.time_machine(on(2026, 12, 7))
def test_the_api_gives_the_figures_lines_and_pdf(world, provider, hosting, api):
    payer_in(world, "CH", vat_number="CHE-999.999.996 MWST")
    invoice = invoice_of(customer_orders(world, hosting))
    client = api(world.customer_owner, world.customer)
    data = client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert (data["net"], data["vat_rate"], data["vat_amount"], data["total"]) == (
        "260.40",
        "0.0810",
        "21.09",
        "281.49",
    )
    assert (data["vat_treatment"], data["issued_on"], data["due_on"]) == (
        "domestic",
        "2026-12-07",
        "2027-01-06",
    )
    assert data["issuer"]["vat_number"] == "CHE-123.456.788 MWST"
    assert data["bill_to"]["vat_number"] == "CHE-999.999.996 MWST"
    (line,) = data["lines"]
    assert (line["description"], line["quantity"], line["unit_price"], line["amount"]) == (
        "Web hosting",
        35,
        "9.92",
        "260.40",
    )
    assert line["period_starts_on"] == "2026-12-07"
    pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "CHF 281.49" in pdf_text(pdf.content)


@pytest.mark.time_machine(on(2026, 12, 7))
def test_only_the_payers_organization_gets_the_pdf(world, provider, hosting, api, client):
    """The partner that manages the customer but does not pay, another
    organization, a missing id: the same 404, in the browser and the API."""
    payer_in(world, "CH")
    grant(world, access="full", payment="customer")
    invoice = invoice_of(customer_orders(world, hosting))
    for user, tenant in (
        (world.partner_owner, world.partner),
        (world.other_customer_owner, world.other_customer),
        (world.other_owner, world.other_partner),
    ):
        client.force_login(user)
        assert client.get(page_url("invoice_pdf", tenant, invoice)).status_code == 404
        response = api(user, tenant).get(f"/api/v1/invoices/{invoice.pk}/pdf/")
        assert response.status_code == 404
        assert b"%PDF" not in response.content
    missing = "00000000-0000-4000-8000-000000000000"
    assert (
        api(world.customer_owner, world.customer)
        .get(f"/api/v1/invoices/{missing}/pdf/")
        .status_code
        == 404
    )
    # the payer's plain user reads its invoices too
    client.force_login(world.customer_user)
    assert client.get(page_url("invoice_pdf", world.customer, invoice)).status_code == 200
