"""The provider console's catalog in Chromium (issue 22): staff open it from the
partners page, add a product of the backup family, are told on the price that
an active product needs one in every currency, give both with a degressive
tier, a known feature and a new one, and find it in the list; then they stop
selling it and sell it again. The list and the form pass axe and fit 375 px."""

import re

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Product
from e2e.test_accessibility import BLOCKING, NARROW, axe_violations, overflow

STAFF = "staff@demo.test"


def fits_and_passes_axe(tab: Page) -> list[str]:
    problems = [
        f"{tab.url}: {v['impact']} {v['id']}"
        for v in axe_violations(tab)
        if v["impact"] in BLOCKING
    ]
    tab.set_viewport_size({"width": NARROW, "height": 800})
    if (wide := overflow(tab)) is not None:
        problems.append(f"{tab.url}: {wide['width']} px wide at {NARROW} px: {wide['culprits']}")
    tab.set_viewport_size({"width": 1280, "height": 800})
    return problems


@pytest.mark.usefixtures("demo")
def test_staff_add_a_product_priced_in_both_currencies(new_tab, as_user, step):
    page = new_tab(bypass_csp=True)  # axe is added as an inline script
    as_user(STAFF, page)
    problems: list[str] = []

    with step("staff open the catalog from the provider console"):
        page.goto("/provider/partners/")
        page.get_by_role("link", name="Catalog").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Catalog")
        expect(page.get_by_role("row").filter(has_text="Web Hosting")).to_contain_text(
            "CHF 9.92 · EUR 5.75"
        )
        problems += fits_and_passes_axe(page)

    with step("an active product with a CHF price only is refused on the EUR price"):
        page.get_by_role("link", name="Add a product").click()
        page.get_by_label(re.compile(r"^Name")).fill("Backup Ultimate")
        page.get_by_label(re.compile(r"^Code")).fill("backup-ultimate")
        page.get_by_label("Description").fill("Everything of Protect Advanced, kept a year.")
        page.get_by_label("Category").select_option("backup")
        page.get_by_label("Billing period").select_option("monthly")
        page.get_by_label("Family").fill("backup")
        page.get_by_label("Edition rank").fill("4")
        page.get_by_label("CHF").fill("14.90")
        page.get_by_role("button", name="Add the product").click()
        expect(page.get_by_role("alert").filter(has_text="missing: EUR")).to_be_visible()
        expect(page.get_by_label("EUR")).to_have_attribute("aria-invalid", "true")
        assert not Product.objects.filter(code="backup-ultimate").exists()
        problems += fits_and_passes_axe(page)

    with step("with both prices, a tier and features, it is added and listed"):
        page.get_by_label("EUR").fill("13.50")
        page.get_by_label("From quantity (tier 1)").fill("20")
        page.get_by_label("Discount (%) (tier 1)").fill("15")
        page.get_by_label("Cloud storage").check()
        page.get_by_label("Feature code (new feature 1)").fill("long-retention")
        page.get_by_label("Feature name (new feature 1)").fill("One-year retention")
        page.get_by_role("button", name="Add the product").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Backup Ultimate was added to the catalog."
        )
        row = page.get_by_role("row").filter(has_text="Backup Ultimate")
        expect(row).to_contain_text("CHF 14.90 · EUR 13.50")
        expect(row).to_contain_text("backup, rank 4")
        expect(row).to_contain_text("from 20: 15 % off")
        expect(row).to_contain_text("Active")

    with step("the family filter shows the backup editions"):
        page.get_by_label("Family").select_option("backup")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_role("row").filter(has_text="Backup Ultimate")).to_be_visible()
        expect(page.get_by_role("row").filter(has_text="Web Hosting")).to_have_count(0)

    with step("staff stop selling it, then sell it again"):
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Deactivate Backup Ultimate").click()
        expect(page.get_by_role("status")).to_contain_text("Backup Ultimate is no longer sold")
        row = page.get_by_role("row").filter(has_text="Backup Ultimate")
        expect(row).to_contain_text("Inactive")
        row.get_by_role("button", name="Reactivate Backup Ultimate").click()
        expect(page.get_by_role("status")).to_contain_text("Backup Ultimate is sold again.")

    product = Product.objects.get(code="backup-ultimate")
    assert product.is_active
    assert set(product.features.values_list("code", flat=True)) == {
        "cloud-storage",
        "long-retention",
    }
    assert not problems, "\n".join(problems)
