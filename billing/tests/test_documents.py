"""The document layer (billing.vat, billing.documents): the VAT rules by the
invoice's date, the totals' rounding, and the PDF's text read back."""

import datetime
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from billing.documents import (
    CREDIT_NOTE,
    INVOICE,
    DocumentLine,
    InvoiceDocument,
    Party,
    render_pdf,
    totals,
)
from billing.vat import (
    EU_COUNTRIES,
    Treatment,
    VatRate,
    VatRateMissing,
    VatTreatment,
    rate_on,
    treatment_of,
    vat_treatment,
)
from tenants.models import Tenant

D = Decimal


@pytest.fixture(autouse=True)
def _vat_table(request):
    """The seeded VAT table for the tests that read it."""
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("vat_table")


def payer(country: str, vat_number: str = "") -> Tenant:
    """An unsaved organization: vat_treatment reads only its country and VAT number."""
    return Tenant(kind=Tenant.Kind.CUSTOMER, name="Payer", country=country, vat_number=vat_number)


# --- the VAT rules -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_swiss_to_swiss_is_8_1_percent_in_2026_and_7_7_percent_for_an_invoice_of_2023():
    in_2026 = vat_treatment("CH", payer("CH"), datetime.date(2026, 12, 7))
    assert (in_2026.rate, in_2026.reverse_charge, in_2026.kind) == (D("0.0810"), False, "domestic")
    assert in_2026.label == "VAT 8.1 %"
    in_2023 = vat_treatment("CH", payer("CH", vat_number="CHE-1"), datetime.date(2023, 12, 31))
    assert in_2023.rate == D("0.0770") and in_2023.label == "VAT 7.7 %"
    # the day the rate changed belongs to the new rate
    assert vat_treatment("CH", payer("CH"), datetime.date(2024, 1, 1)).rate == D("0.0810")
    # Liechtenstein shares Swiss VAT
    assert vat_treatment("CH", payer("LI"), datetime.date(2026, 1, 5)).rate == D("0.0810")


@pytest.mark.django_db
def test_an_eu_consumer_pays_its_own_countrys_standard_rate():
    treatment = vat_treatment("CH", payer("DE"), datetime.date(2026, 6, 1))
    assert (treatment.rate, treatment.kind, treatment.country) == (D("0.1900"), "eu_consumer", "DE")
    assert treatment.label == "VAT 19 %" and "DE" in treatment.note
    assert not treatment.reverse_charge
    assert vat_treatment("CH", payer("FI"), datetime.date(2024, 8, 31)).rate == D("0.2400")
    assert vat_treatment("CH", payer("FI"), datetime.date(2024, 9, 1)).rate == D("0.2550")


@pytest.mark.django_db
def test_an_eu_business_with_a_vat_number_is_reverse_charged():
    treatment = vat_treatment(
        "CH", payer("AT", vat_number="ATU13585627"), datetime.date(2026, 6, 1)
    )
    assert (treatment.rate, treatment.reverse_charge, treatment.kind) == (
        D("0"),
        True,
        "reverse_charge",
    )
    assert "Reverse charge" in treatment.note and "recipient" in treatment.note
    # a domestic business is no reverse charge: a German issuer bills German VAT
    domestic = vat_treatment("DE", payer("DE", vat_number="DE136695976"), datetime.date(2026, 6, 1))
    assert (domestic.rate, domestic.reverse_charge) == (D("0.1900"), False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number",
    [
        "ATU12345678",  # stored before the check: its check digit is wrong
        "DE136695976",  # a valid number, but Germany's, not Austria's
        "n/a",
    ],
)
def test_only_a_valid_number_of_the_payers_country_is_reverse_charged(number):
    """tenants.vat_numbers checks a number where it is written; one stored
    before that, or of another country, makes the payer an EU consumer."""
    treatment = vat_treatment("CH", payer("AT", vat_number=number), datetime.date(2026, 6, 1))
    assert (treatment.rate, treatment.reverse_charge, treatment.kind) == (
        D("0.2000"),
        False,
        "eu_consumer",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("issuer", "bill_to"),
    [("CH", payer("US")), ("CH", payer("")), ("", payer("CH")), ("US", payer("US"))],
)
def test_anything_else_is_outside_the_scope_of_vat(issuer, bill_to):
    treatment = vat_treatment(issuer, bill_to, datetime.date(2026, 6, 1))
    assert (treatment.rate, treatment.reverse_charge, treatment.kind) == (
        D("0"),
        False,
        "outside_scope",
    )
    assert treatment.note == "Outside the scope of VAT."


@pytest.mark.django_db
def test_rates_come_from_the_one_table_by_date_and_a_missing_rate_says_so():
    VatRate.objects.create(country="CH", rate=D("0.0850"), valid_from=datetime.date(2027, 1, 1))
    assert rate_on("CH", datetime.date(2026, 12, 31)) == D("0.0810")
    assert vat_treatment("CH", payer("CH"), datetime.date(2027, 1, 1)).rate == D("0.0850")
    with pytest.raises(VatRateMissing):
        vat_treatment("CH", payer("CH"), datetime.date(2017, 12, 31))
    with pytest.raises(VatRateMissing):
        vat_treatment("CH", payer("DE"), datetime.date(2023, 6, 1))  # before the DE row


@pytest.mark.django_db
def test_the_seeded_table_has_switzerland_and_every_eu_country():
    countries = set(VatRate.objects.values_list("country", flat=True))
    assert countries == {"CH"} | EU_COUNTRIES
    assert len(EU_COUNTRIES) == 27


def test_labels_follow_the_language():
    from django.utils import translation

    with translation.override("de"):
        assert treatment_of(Treatment.DOMESTIC, D("0.0810"), "CH").label == "MWST 8,1 %"
    with translation.override("it"):
        assert treatment_of(Treatment.DOMESTIC, D("0.0810"), "CH").label == "IVA 8,1 %"


# --- totals ------------------------------------------------------------------------------------


def line(net: str, quantity: str = "1", unit: str | None = None) -> DocumentLine:
    return DocumentLine(
        description="Web hosting",
        period_start=datetime.date(2026, 12, 1),
        period_end=datetime.date(2026, 12, 31),
        quantity=D(quantity),
        unit_price=D(unit or net),
        net=D(net),
    )


SWISS = VatTreatment(D("0.0810"), "VAT 8.1 %", False, "")


def test_vat_is_the_rate_times_the_net_rounded_half_up_once():
    # 208.32 x 8.1 % = 16.87392 → 16.87; 0.50 + 0.12 … one rounding on the sum
    assert totals([line("208.32")], SWISS) == (D("208.32"), D("16.87"), D("225.19"))
    # 6.17 x 0.081 = 0.49977 and 6.18 x 0.081 = 0.50058: rounded per document, not per line
    assert totals([line("6.17"), line("6.18")], SWISS) == (D("12.35"), D("1.00"), D("13.35"))
    # exactly half a cent rounds up: 50.00 x 0.081 = 4.05; 0.50 x 0.081 = 0.0405 → 0.04
    half = VatTreatment(D("0.0050"), "", False, "")
    assert totals([line("1.00")], half) == (D("1.00"), D("0.01"), D("1.01"))  # 0.005 → 0.01


def test_a_credit_note_mirrors_its_invoice_to_the_cent():
    half = VatTreatment(D("0.0050"), "", False, "")
    assert totals([line("-1.00")], half) == (D("-1.00"), D("-0.01"), D("-1.01"))
    assert totals([line("-208.32")], SWISS) == (D("-208.32"), D("-16.87"), D("-225.19"))


amounts = st.decimals(min_value=D("-99999.99"), max_value=D("99999.99"), places=2)
rates = st.decimals(min_value=D("0"), max_value=D("0.3"), places=4)


@given(nets=st.lists(amounts, min_size=1, max_size=12), rate=rates)
def test_property_vat_is_rate_times_net_to_the_cent_and_total_is_net_plus_vat(nets, rate):
    treatment = VatTreatment(rate, "", False, "")
    net, vat, total = totals([line(str(n)) for n in nets], treatment)
    assert net == sum(nets, D("0"))
    assert abs(vat - rate * net) <= D("0.005")  # the exact product, to the cent
    assert vat == (rate * net).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert total == net + vat
    assert vat.as_tuple().exponent == -2 and total.as_tuple().exponent == -2
    # the credit note of the same lines is the exact mirror
    assert totals([line(str(-n)) for n in nets], treatment) == (-net, -vat, -total)


# --- the PDF -----------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def document(kind: str = INVOICE, sign: int = 1, **changes) -> InvoiceDocument:
    lines = (
        DocumentLine(
            "Web hosting \u2013 Zürich",
            datetime.date(2026, 12, 1),
            datetime.date(2026, 12, 31),
            D("35"),
            D("9.92"),
            D("208.32") * sign,
        ),
        DocumentLine(
            "Mailbox Genève",
            datetime.date(2026, 12, 15),
            datetime.date(2026, 12, 31),
            D("2"),
            D("4.00"),
            D("4.39") * sign,
        ),
    )
    net, vat, total = totals(lines, SWISS)
    fields = {
        "kind": kind,
        "number": "INV-2026-000042" if kind == INVOICE else "CN-2026-000007",
        "issued_on": datetime.date(2026, 12, 7),
        "due_on": datetime.date(2027, 1, 6) if kind == INVOICE else None,
        "currency": "CHF",
        "issuer": Party(
            "Acme Cloud AG", ("Bahnhofstrasse 1", "8001 Zürich", "CH"), "CHE-123.456.788 MWST"
        ),
        "bill_to": Party("Bäckerei Müller", ("Marktgasse 3", "3011 Bern", "CH"), ""),
        "lines": lines,
        "net": net,
        "vat_rate": SWISS.rate,
        "vat_amount": vat,
        "total": total,
        "vat_note": "",
        "vat_label": SWISS.label,
    }
    return InvoiceDocument(**{**fields, **changes})


def test_the_pdf_says_what_the_invoice_says():
    text = pdf_text(render_pdf(document(), language="en"))
    assert "Invoice INV-2026-000042" in text
    assert "Invoice date: 7 December 2026" in text
    assert "Due date: 6 January 2027" in text
    assert "Acme Cloud AG" in text and "8001 Zürich" in text
    assert "VAT number: CHE-123.456.788 MWST" in text
    assert "Bäckerei Müller" in text and "3011 Bern" in text
    assert "Web hosting \u2013 Zürich" in text and "Mailbox Genève" in text
    assert "1 Dec 2026 \u2013 31 Dec 2026" in text
    assert "CHF 9.92" in text and "CHF 208.32" in text and "CHF 4.39" in text
    assert "CHF 212.71" in text  # net
    assert "VAT 8.1 %" in text and "CHF 17.23" in text  # 212.71 x 8.1 % = 17.229…
    assert "CHF 229.94" in text  # total


def test_the_pdf_speaks_the_bill_tos_language():
    de = pdf_text(render_pdf(document(vat_label="MWST 8,1 %"), language="de"))
    assert "Rechnung INV-2026-000042" in de
    assert "Fälligkeitsdatum" in de and "MWST-Nr.: CHE-123.456.788 MWST" in de
    assert "CHF 212.71" in de or "CHF 212,71" in de
    it = pdf_text(render_pdf(document(), language="it"))
    assert "Fattura INV-2026-000042" in it and "Scadenza" in it


def test_a_credit_note_pdf_is_negative_and_has_nothing_to_pay():
    credit = document(kind=CREDIT_NOTE, sign=-1)
    assert (credit.net, credit.vat_amount, credit.total) == (
        D("-212.71"),
        D("-17.23"),
        D("-229.94"),
    )
    text = pdf_text(render_pdf(credit, language="en"))
    assert "Credit note CN-2026-000007" in text
    assert "CHF -212.71" in text and "CHF -17.23" in text and "CHF -229.94" in text
    assert "Nothing to pay" in text and "Due date" not in text


def test_a_reverse_charge_pdf_prints_the_note_and_the_euro_sign():
    reverse = treatment_of(Treatment.REVERSE_CHARGE, D("0"), "AT")
    doc = document(
        currency="EUR",
        bill_to=Party("Wiener Würstel GmbH", ("Ring 1", "1010 Wien", "AT"), "ATU13585627"),
        vat_rate=D("0"),
        vat_amount=D("0.00"),
        total=D("212.71"),
        vat_label=reverse.label,
        vat_note=reverse.note + " Preis: 5 €.",
    )
    text = pdf_text(render_pdf(doc, language="en"))
    assert "VAT number: ATU13585627" in text
    assert "VAT 0 % (reverse charge)" in text
    assert "Reverse charge: VAT is to be accounted for by the recipient" in text
    assert "EUR 212.71" in text and "5 €" in text
