"""Italian and German as a person meets them (docs/i18n.md): the browser's
language first, then the picker in the footer, which a signed-in person keeps."""

import re

from django.utils import translation
from playwright.sync_api import expect

# an amount as the pages write it: CHF 1'234.50 in Swiss German, 1.234,50 in Italian
AMOUNT = re.compile(r"CHF\s([0-9][0-9'.,]*)")


def _in(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def _amounts(text: str) -> list[str]:
    return AMOUNT.findall(text)


def test_a_swiss_browser_reads_german_then_picks_italian(demo, new_tab, as_user, step):
    tab = new_tab(locale="de-CH")
    as_user("partner.owner@demo.test", tab)

    with step("a Swiss German browser gets German pages with Swiss amounts", on=tab):
        tab.goto("/t/alpine-it/billing/")
        expect(tab.locator("html")).to_have_attribute("lang", "de-ch")
        customers = tab.get_by_role("link", name=_in("de", "Customers"), exact=True)
        expect(customers.first).to_be_visible()
        amounts = _amounts(tab.content())
        assert amounts, "the billing summary shows amounts"
        for amount in amounts:
            assert re.fullmatch(r"[0-9]{1,3}(?:'[0-9]{3})*\.[0-9]{2}", amount), amount

    with step("the footer's picker switches to Italian", on=tab):
        picker = tab.get_by_label(_in("de", "Language"))
        picker.select_option("it")
        tab.get_by_role("button", name=_in("de", "Change language")).click()
        expect(tab.locator("html")).to_have_attribute("lang", "it")
        expect(tab).to_have_url(re.compile(r"/t/alpine-it/billing/$"))
        for amount in _amounts(tab.content()):
            assert re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{3})*,[0-9]{2}", amount), amount

    with step("the choice is the person's setting, wherever they sign in", on=tab):
        other = new_tab(locale="de-CH")
        as_user("partner.owner@demo.test", other)
        other.goto("/t/alpine-it/")
        expect(other.locator("html")).to_have_attribute("lang", "it")
