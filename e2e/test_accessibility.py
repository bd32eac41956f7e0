"""The main pages under axe-core (vendored, e2e/vendor/axe.min.js) and at 375 px wide."""

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import AXE

NARROW = 375
BLOCKING = ("serious", "critical")


def _customer_page() -> str:
    from tenants.models import Tenant

    return f"/t/alpine-it/customers/{Tenant.objects.get(slug='baeckerei-mueller').pk}/"


def _provider_partner() -> str:
    from tenants.models import Tenant

    return f"/provider/partners/{Tenant.objects.get(slug='alpine-it').pk}/"


def _provider_move_preview() -> str:
    """Alpine IT under another top-level partner: a preview, not a refusal."""
    from tenants.models import Tenant

    alpine = Tenant.objects.get(slug="alpine-it")
    other = Tenant.objects.filter(kind="partner", parent=alpine.parent, status="active")
    target = other.exclude(pk=alpine.pk).first()
    return f"/provider/partners/{alpine.pk}/move/?preview=1&parent={target.pk}"


def _open_dialog(page: Page) -> None:
    page.locator("a.upsell-tag").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()


AREAS = {
    "partner": (
        "partner.owner@demo.test",
        [
            ("dashboard", "/t/alpine-it/"),
            ("customers", "/t/alpine-it/customers/"),
            ("customer page", _customer_page),
            ("offers", "/t/alpine-it/offers/"),
            ("offer templates", "/t/alpine-it/offer-templates/"),
            ("billing", "/t/alpine-it/billing/"),
            ("smart lists", "/t/alpine-it/smart-lists/"),
            ("members", "/t/alpine-it/members/"),
            ("organization", "/t/alpine-it/organization/"),
        ],
    ),
    "customer": (
        "customer.owner@demo.test",
        [
            ("overview", "/t/baeckerei-mueller/"),
            ("updates", "/t/baeckerei-mueller/updates/"),
            ("services", "/t/baeckerei-mueller/services/"),
            ("services, a locked feature's dialog", "/t/baeckerei-mueller/services/", _open_dialog),
            ("subscriptions", "/t/baeckerei-mueller/subscriptions/"),
            ("invoices", "/t/baeckerei-mueller/invoices/"),
            ("partners", "/t/baeckerei-mueller/partners/"),
        ],
    ),
    "provider": (
        "staff@demo.test",
        [
            ("provider console: partners", "/provider/partners/"),
            ("provider console: invite a partner", "/provider/partners/new/"),
            ("provider console: a partner", _provider_partner),
            ("provider console: a move's preview", _provider_move_preview),
            ("provider console: platform MRR", "/provider/mrr/"),
            ("provider console: audit log", "/provider/audit/"),
            ("provider console: requests for offers", "/provider/tenders/"),
        ],
    ),
    "public": (
        None,
        [
            ("login", "/accounts/login/"),
            ("directory", "/directory/"),
        ],
    ),
}


def axe_violations(page: Page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }"""
    )


def overflow(page: Page) -> dict | None:
    """The page body's width beyond the viewport, and the widest culprits."""
    return page.evaluate(
        """(limit) => {
            const width = document.documentElement.scrollWidth;
            if (width <= limit) return null;
            const culprits = [];
            for (const el of document.querySelectorAll("body *")) {
                const box = el.getBoundingClientRect();
                if (box.right > limit + 1 && el.offsetParent !== null) {
                    let inScroller = false;
                    for (let p = el.parentElement; p; p = p.parentElement) {
                        const s = getComputedStyle(p).overflowX;
                        if (s === "auto" || s === "scroll" || s === "hidden") { inScroller = true; break; }
                    }
                    if (!inScroller) culprits.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") + " right=" + Math.round(box.right));
                }
            }
            return {width, culprits: culprits.slice(0, 8)};
        }""",
        NARROW,
    )


@pytest.mark.parametrize("area", list(AREAS))
def test_main_pages_pass_axe_and_fit_375px(area, demo, new_tab, as_user, step):
    email, pages = AREAS[area]
    tab = new_tab(bypass_csp=True)  # axe is added as an inline script
    if email:
        as_user(email, tab)
    problems = []
    for name, url, *then in pages:
        with step(name, on=tab):
            tab.set_viewport_size({"width": 1280, "height": 800})
            tab.goto(url() if callable(url) else url)
            tab.wait_for_load_state("networkidle")  # htmx has loaded the page's parts
            for action in then:
                action(tab)
            for v in axe_violations(tab):
                print(name, v["impact"], v["id"], v["help"], [n["target"] for n in v["nodes"]][:5])
                if v["impact"] in BLOCKING:
                    targets = ", ".join(n["target"] for n in v["nodes"][:5])
                    problems.append(f"{name}: {v['impact']} {v['id']} ({v['help']}): {targets}")
            tab.set_viewport_size({"width": NARROW, "height": 800})
            if (wide := overflow(tab)) is not None:
                problems.append(
                    f"{name}: {wide['width']} px wide at {NARROW} px: {wide['culprits']}"
                )
    assert not problems, "\n".join(problems)
