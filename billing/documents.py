"""Invoices as documents people can pay (SPEC §7 rev. 2, docs/invoices.md):
the same shape and the same PDF for the provider's invoices and credit notes
and for a partner's invoices to its customers.

A caller builds an `InvoiceDocument` (issuer, bill-to, dates, lines with their
periods, figures from `totals`) and prints it with `render_pdf`. Nothing here
reads the database: what is printed is what the caller stored.

Money steps, each rounded half-up to the cent once:
1. every line's `net` is already a rounded amount (the order line's charged
   amount, a contract's fee, …); the document's net is their exact sum;
2. VAT = the treatment's rate x that net, rounded once (one rate per
   document, so "per rate" is once per document);
3. total = net + VAT (exact).
A credit note's lines are negative and so are its figures; half-up rounds
away from zero, so a credit note of the same net mirrors its invoice to the
cent.
"""

import dataclasses
import datetime
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from django.http import HttpResponse
from django.utils import formats, translation
from django.utils.translation import gettext, pgettext
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from billing.vat import VatTreatment
from core.dates import local_date

if TYPE_CHECKING:
    from billing.models import VatFigures

CENT = Decimal("0.01")
FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"  # DejaVu Sans, embedded (billing/fonts/LICENSE): ä, è, € and the rest
INVOICE = "invoice"
CREDIT_NOTE = "credit_note"


@dataclasses.dataclass(frozen=True)
class Party:
    """Who issues or is billed, as printed: a name, the address one line each."""

    name: str
    address_lines: tuple[str, ...] = ()
    vat_number: str = ""


@dataclasses.dataclass(frozen=True)
class DocumentLine:
    """One line: what, for which days (inclusive; both None for a one-off),
    how many at which unit price, and its net amount (rounded already; it
    may differ from quantity x unit price after discounts or proration)."""

    description: str
    period_start: datetime.date | None
    period_end: datetime.date | None
    quantity: Decimal
    unit_price: Decimal
    net: Decimal


@dataclasses.dataclass(frozen=True)
class InvoiceDocument:
    """An invoice or credit note (`kind`: "invoice" or "credit_note") ready
    to print. `vat_rate` is a fraction (0.0810); a credit note has no due
    date. `vat_label` names the VAT line ("VAT 8.1 %"), `vat_note` explains
    a zero rate (reverse charge, outside the scope)."""

    kind: str
    number: str
    issued_on: datetime.date
    due_on: datetime.date | None
    currency: str
    issuer: Party
    bill_to: Party
    lines: tuple[DocumentLine, ...]
    net: Decimal
    vat_rate: Decimal
    vat_amount: Decimal
    total: Decimal
    vat_note: str = ""
    vat_label: str = ""


def party_of(snapshot: dict, *, vat_number_fallback: str = "") -> Party:
    """A party from the name-and-address snapshot an invoice keeps
    (`billing.services.invoices.bill_to`): street, postal code and city,
    state, country, one line each. `vat_number_fallback` names the key read
    when the snapshot has no `vat_number` (the provider's VAT number was
    kept under `tax_id` before)."""
    place = " ".join(part for part in (snapshot.get("postal_code"), snapshot.get("city")) if part)
    lines = (snapshot.get("address"), place, snapshot.get("state"), snapshot.get("country"))
    vat_number = snapshot.get("vat_number")
    if vat_number is None and vat_number_fallback:
        vat_number = snapshot.get(vat_number_fallback)
    return Party(
        name=snapshot.get("name") or "",
        address_lines=tuple(line for line in lines if line),
        vat_number=vat_number or "",
    )


def stored_document(
    invoice: "VatFigures", *, kind: str, issued_on: datetime.date, lines: Iterable[DocumentLine]
) -> InvoiceDocument:
    """A stored invoice (the provider's, or a partner's to its customer) as the
    document printed again: its number, dates, parties and figures as stored,
    the VAT texts in the active language."""
    treatment = invoice.vat
    return InvoiceDocument(
        kind=kind,
        number=invoice.number,
        issued_on=issued_on,
        due_on=invoice.due_on,
        currency=invoice.currency,
        issuer=party_of(invoice.issuer, vat_number_fallback="tax_id"),
        bill_to=party_of(invoice.bill_to),
        lines=tuple(lines),
        net=invoice.net,
        vat_rate=invoice.vat_rate,
        vat_amount=invoice.vat_amount,
        total=invoice.total,
        vat_note=treatment.note,
        vat_label=treatment.label,
    )


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def net_of(lines: Iterable[DocumentLine]) -> Decimal:
    """Step 1: a document's net, the exact sum of its lines' (rounded) nets."""
    return cents(sum((line.net for line in lines), Decimal("0")))


def vat_on(net: Decimal, rate: Decimal) -> Decimal:
    """Step 2: the VAT of a document's net at `rate`, rounded half-up once."""
    return cents(rate * net)


def totals(
    lines: Iterable[DocumentLine], treatment: VatTreatment
) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, total) of `lines` under `treatment` (module docstring: the
    steps)."""
    net = net_of(lines)
    vat = vat_on(net, treatment.rate)
    return net, vat, net + vat


def money(amount: Decimal, currency: str) -> str:
    """ "CHF 1,234.50" in the active language's number format."""
    figure = formats.number_format(cents(amount), decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{currency} {figure}"


def day(value: datetime.date) -> str:
    """7 December 2026, as the invoice page prints it."""
    return formats.date_format(value, pgettext("invoice date", "j F Y"), use_l10n=True)


def short_day(value: datetime.date) -> str:
    """1 Dec 2026: a line's period."""
    return local_date(value)


def _quantity(value: Decimal) -> str:
    value = value.normalize() if value == value.to_integral() else value
    places = max(0, -value.as_tuple().exponent)  # type: ignore[operator]
    return formats.number_format(value, decimal_pos=places, use_l10n=True)


def title(kind: str) -> str:
    return pgettext("document", "Credit note") if kind == CREDIT_NOTE else gettext("Invoice")


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, size=8)
        self.set_text_color(110)
        page = gettext("Page %(page)s of %(pages)s") % {
            "page": self.page_no(),
            "pages": "{nb}",
        }
        self.cell(0, 5, f"{self.footer_text}    {page}", align="C")


def render_pdf(doc: InvoiceDocument, language: str | None = None) -> bytes:
    """The document as an A4 PDF, labels in `language` (else the active one)."""
    with translation.override(language or translation.get_language()):
        return _render(doc)


def document_pdf_response(doc: InvoiceDocument, *, filename: str) -> HttpResponse:
    """The document's PDF in the active language, as a private download named
    `filename` (the provider's invoices and a partner's, API and pages alike)."""
    response = HttpResponse(render_pdf(doc), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _block(pdf: FPDF, x: float, y: float, heading: str, party: Party) -> float:
    pdf.set_xy(x, y)
    pdf.set_font(FONT, "B", 9)
    pdf.cell(85, 5, heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(85, 5, party.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    for line in party.address_lines:
        pdf.multi_cell(85, 5, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
    if party.vat_number:
        pdf.multi_cell(
            85,
            5,
            gettext("VAT number: %(number)s") % {"number": party.vat_number},
            new_x=XPos.LEFT,
            new_y=YPos.NEXT,
        )
    return pdf.get_y()


def _render(doc: InvoiceDocument) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    heading = f"{title(doc.kind)} {doc.number}"
    pdf.set_title(heading)
    pdf.set_author(doc.issuer.name)
    pdf.set_creation_date(
        datetime.datetime.combine(doc.issued_on, datetime.time(), tzinfo=datetime.UTC)
    )
    pdf.footer_text = " · ".join(
        part
        for part in (
            doc.issuer.name,
            gettext("VAT number: %(number)s") % {"number": doc.issuer.vat_number}
            if doc.issuer.vat_number
            else "",
        )
        if part
    )
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()

    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    pdf.cell(
        0,
        5,
        gettext("Invoice date: %(date)s") % {"date": day(doc.issued_on)},
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    due = (
        gettext("Due date: %(date)s") % {"date": day(doc.due_on)}
        if doc.due_on
        else gettext("Nothing to pay: the amount is credited to you.")
    )
    pdf.cell(0, 5, due, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    top = pdf.get_y() + 6
    bottom = max(
        _block(pdf, 18, top, gettext("From"), doc.issuer),
        _block(pdf, 108, top, gettext("Bill to"), doc.bill_to),
    )
    pdf.set_xy(18, bottom + 8)

    pdf.set_font(FONT, size=9)
    with pdf.table(
        col_widths=(62, 44, 16, 26, 26),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5,
        first_row_as_headings=True,
    ) as table:
        table.row(
            (
                gettext("Description"),
                gettext("Period"),
                gettext("Quantity"),
                gettext("Unit price"),
                gettext("Net"),
            )
        )
        for line in doc.lines:
            period = (
                f"{short_day(line.period_start)} \u2013 {short_day(line.period_end)}"
                if line.period_start and line.period_end
                else ""
            )
            table.row(
                (
                    line.description,
                    period,
                    _quantity(line.quantity),
                    money(line.unit_price, doc.currency),
                    money(line.net, doc.currency),
                )
            )

    pdf.ln(4)
    rows = (
        (gettext("Net"), doc.net, False),
        (doc.vat_label or gettext("VAT"), doc.vat_amount, False),
        (gettext("Total"), doc.total, True),
    )
    for label, amount, strong in rows:
        pdf.set_font(FONT, "B" if strong else "", 10)
        pdf.set_x(108)
        pdf.cell(50, 6, label)
        pdf.cell(0, 6, money(amount, doc.currency), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if doc.vat_note:
        pdf.ln(4)
        pdf.set_font(FONT, size=9)
        pdf.multi_cell(0, 5, doc.vat_note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
