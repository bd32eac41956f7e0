"""The organization's menu (issue 25): one row at 1280 px, a "Menu" button at 375 px."""

import re

from playwright.sync_api import Page, expect

PARTNER = "partner.owner@demo.test"
CUSTOMER = "customer.owner@demo.test"


def _top_level_boxes(tab: Page) -> list[dict]:
    items = tab.locator(".subnav .nav-items > li")
    return [items.nth(i).bounding_box() for i in range(items.count())]


def test_wide_menu_is_one_row_and_its_groups_open(demo, new_tab, as_user, step):
    tab = new_tab(width=1280, height=800)
    for email, home in ((PARTNER, "/t/alpine-it/"), (CUSTOMER, "/t/baeckerei-mueller/")):
        with step(f"{email}: the menu is one row", on=tab):
            as_user(email, tab)
            tab.goto(home)
            expect(tab.locator(".nav-toggle")).to_be_hidden()
            boxes = _top_level_boxes(tab)
            assert len(boxes) >= 6, boxes
            tops = {round(box["y"]) for box in boxes}
            assert len(tops) == 1, f"the menu wraps: rows at {sorted(tops)}"
            assert max(box["x"] + box["width"] for box in boxes) <= 1280
            nav = tab.locator(".subnav").bounding_box()
            assert nav["height"] < 80, nav

    with step("the partner opens Sales and goes to the upgrade requests", on=tab):
        as_user(PARTNER, tab)
        tab.goto("/t/alpine-it/")
        requests = tab.get_by_role("link", name="Upgrade requests", exact=True)
        expect(requests).to_be_hidden()
        tab.locator(".subnav summary", has_text="Sales").click()
        expect(requests).to_be_visible()
        tab.keyboard.press("Escape")
        expect(requests).to_be_hidden()
        tab.locator(".subnav summary", has_text="Sales").click()
        requests.click()
        expect(tab).to_have_url(re.compile(r"/t/alpine-it/upsell/requests/$"))
        expect(tab.get_by_role("heading", level=1)).to_have_text("Upgrade requests")
        # the group of the page is marked, the page's link is current
        expect(tab.locator(".subnav summary.nav-current")).to_have_text("Sales")

    with step("a click elsewhere closes an open group", on=tab):
        tab.locator(".subnav summary", has_text="Settings").click()
        members = tab.get_by_role("link", name="Members", exact=True)
        expect(members).to_be_visible()
        tab.locator("main h1").click()
        expect(members).to_be_hidden()


def test_phone_menu_opens_and_navigates(demo, new_tab, as_user, step):
    tab = new_tab(width=375, height=812)
    as_user(PARTNER, tab)

    with step("at 375 px the menu is one button above the page", on=tab):
        tab.goto("/t/alpine-it/")
        toggle = tab.locator(".nav-toggle")
        expect(toggle).to_be_visible()
        expect(tab.get_by_role("link", name="Customers", exact=True)).to_be_hidden()
        heading = tab.get_by_role("heading", level=1).bounding_box()
        assert heading["y"] < 300, f"the content starts at {heading['y']} px"

    with step("the Menu button opens the links, a group opens in place", on=tab):
        toggle.click()
        expect(tab.get_by_role("link", name="Customers", exact=True)).to_be_visible()
        tab.locator(".subnav summary", has_text="Settings").click()
        tab.get_by_role("link", name="Members", exact=True).click()
        expect(tab).to_have_url(re.compile(r"/t/alpine-it/members/$"))
        width = tab.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways ({width} px)"

    with step("the customer's menu reaches its invoices", on=tab):
        as_user(CUSTOMER, tab)
        tab.goto("/t/baeckerei-mueller/")
        tab.locator(".nav-toggle").click()
        tab.locator(".subnav summary", has_text="Billing").click()
        tab.locator(".subnav").get_by_role("link", name="Invoices", exact=True).click()
        expect(tab).to_have_url(re.compile(r"/t/baeckerei-mueller/invoices/$"))
        expect(tab.locator(".nav-toggle")).to_be_visible()
