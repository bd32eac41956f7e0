"""Issue 26: a partner's month end in Chromium. Lakeside Resellers (full access to
Hotel Seeblick, Lakeside pays: it bills Seeblick itself) sets its resale price of
web hosting, the month ends (beat's `issue_partner_invoices`, run here as beat
would on the first of next month), the partner reads its invoice to Seeblick with
its margin, downloads the PDF and the CSV; Seeblick's owner finds the invoice
from its partner, without the partner's cost or margin, and downloads the same
PDF. axe-core finds nothing serious on any of those pages."""

import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from e2e.conftest import mail_to
from e2e.test_accessibility import BLOCKING, axe_violations

PARTNER = "/t/lakeside-resellers"
CUSTOMER = "/t/hotel-seeblick"


def first_of_next_month(today: datetime.date) -> datetime.date:
    return (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def axe_clean(page: Page) -> None:
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not blocking, blocking


def figure(page: Page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').inner_text().strip()


def amount(shown: str) -> Decimal:
    """An amount as the page shows it (currency, grouping marks) as a Decimal."""
    return Decimal("".join(c for c in shown if c.isdigit() or c in ".-"))


def pdf_text(page: Page, link_name: str) -> str:
    with page.expect_download() as download_info:
        page.get_by_role("link", name=link_name).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    reader = PdfReader(download.path())
    return "\n".join(p.extract_text() for p in reader.pages)


def test_partner_runs_a_month_end_and_its_customer_downloads_the_invoice(demo, new_tab, as_user):
    from resale.models import PartnerInvoice
    from resale.tasks import issue_partner_invoices

    page = new_tab(bypass_csp=True)  # axe-core is injected as a script
    step = page.steps
    as_user("subpartner.owner@demo.test", tab=page)

    with step("the partner resells web hosting at its cost + 30 %", on=page):
        page.goto(f"{PARTNER}/")
        page.get_by_role("link", name="resale prices").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Resale prices")
        page.get_by_label("How you resell Web Hosting in CHF").select_option("markup")
        page.get_by_label("Markup % or fixed price of Web Hosting in CHF").fill("30")
        page.get_by_role("button", name="Save resale prices").click()
        expect(page.get_by_role("status")).to_have_text(
            "Resale prices saved: they apply from today."
        )
        row = page.get_by_role("row").filter(has_text="Web Hosting").filter(has_text="CHF")
        cost = amount(row.locator('[data-label="Your cost"]').inner_text())
        resale = amount(row.locator('[data-figure="resale"]').inner_text())
        margin = amount(row.locator('[data-figure="margin"]').inner_text())
        # a markup applies to the partner's cost, rounded half-up once
        assert resale == (cost * Decimal("1.30")).quantize(Decimal("0.01"))
        assert margin == resale - cost
        axe_clean(page)

    # The month ends: beat's hourly run on the first of next month, 03:00.
    month_end = first_of_next_month(timezone.localdate())
    moment = timezone.make_aware(datetime.datetime.combine(month_end, datetime.time(3)))
    with time_machine.travel(moment, tick=True):
        issued = issue_partner_invoices()
        assert issued >= 1
        invoice = PartnerInvoice.unscoped.get(
            partner__slug="lakeside-resellers", customer__slug="hotel-seeblick"
        )
        assert invoice.total == invoice.net + invoice.vat_amount > 0
        emailed = mail_to("marco@seeblick.ch")
        assert any(invoice.number in m.subject or invoice.number in m.body for m in emailed)

        as_user("subpartner.owner@demo.test", tab=page)  # a session of the new day
        with step("the partner reads its invoice to Seeblick with its margin", on=page):
            page.goto(f"{PARTNER}/")
            page.get_by_role("link", name="your invoices to customers").click()
            table = page.get_by_role("table")
            invoice_row = table.get_by_role("row").filter(has_text=invoice.number)
            expect(invoice_row).to_contain_text("Hotel Seeblick")
            invoice_row.get_by_role("link", name=invoice.number).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
            assert amount(figure(page, "total")) == invoice.total
            assert amount(figure(page, "net")) == invoice.net
            assert amount(figure(page, "margin")) == invoice.margin
            lines = page.get_by_role("table").locator("tbody tr")
            expect(lines.first).to_contain_text("Web Hosting")
            axe_clean(page)

        with step("the partner downloads the PDF and the CSV", on=page):
            text = pdf_text(page, "Download PDF")
            assert invoice.number in text
            assert f"{invoice.total:.2f}" in text.replace("\u2019", "").replace("'", "")
            assert "margin" not in text.lower()  # the customer's document
            page.get_by_role("link", name="Your invoices to customers").first.click()
            with page.expect_download() as download_info:
                page.get_by_role("link", name="Export as CSV").click()
            exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(exported)))
            ours = [r for r in rows if invoice.number in r.values()]
            assert ours, rows[:3]

        customer = new_tab(width=375, height=800, bypass_csp=True)
        as_user("seeblick.owner@demo.test", tab=customer)
        with step("Seeblick finds its partner's invoice and downloads it", on=customer):
            customer.goto(f"{CUSTOMER}/")
            customer.get_by_role("link", name="Invoices from your partner").click()
            expect(customer.get_by_role("heading", level=1)).to_have_text(
                "Invoices from your partner"
            )
            customer.get_by_role("link", name=invoice.number).click()
            assert amount(figure(customer, "total")) == invoice.total
            expect(customer.locator('[data-figure="margin"]')).to_have_count(0)
            expect(customer.get_by_role("main")).not_to_contain_text("Your margin")
            axe_clean(customer)
            text = pdf_text(customer, "Download PDF")
            assert invoice.number in text
