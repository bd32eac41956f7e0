"""The resale price list (SPEC §7 rev. 2): the one rule, the API and the page."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from billing.tests.test_views import lines_data
from resale.models import ResalePriceEntry
from resale.selectors import resale_unit_price
from resale.tests.conftest import grant, org
from tenants.models import AuditEvent
from tests.clock import on

DAY = datetime.date(2026, 11, 20)
URL = "/api/v1/resale-prices/"


def set_rule(partner, product, mode, value=None, *, currency="CHF", valid_from=DAY):
    return ResalePriceEntry.unscoped.create(
        partner=partner,
        product=product,
        currency=currency,
        mode=mode,
        value=Decimal(value) if value is not None else None,
        valid_from=valid_from,
    )


def price(world, product, quantity=35, on_day=DAY, currency="CHF"):
    return resale_unit_price(
        partner=world.partner, product=product, currency=currency, quantity=quantity, on=on_day
    )


# --- the rule --------------------------------------------------------------------------------


def test_the_public_price_is_the_default_and_the_margin_is_public_minus_cost(world, hosting):
    found = price(world, hosting)
    # 9.92 x 0.75 = 7.44; round(round(9.92 x 0.80) x 0.75) = round(7.94 x 0.75) = 5.96
    assert (found.public, found.cost, found.unit_price, found.margin) == (
        Decimal("7.44"),
        Decimal("5.96"),
        Decimal("7.44"),
        Decimal("1.48"),
    )


def test_a_markup_applies_to_the_partners_cost_rounded_half_up_once(world, hosting):
    set_rule(world.partner, hosting, "markup", "30")
    found = price(world, hosting)
    assert found.unit_price == Decimal("7.75")  # 5.96 x 1.30 = 7.748
    assert found.margin == Decimal("1.79")


def test_a_fixed_price_is_the_price_and_may_sell_below_cost(world, hosting):
    set_rule(world.partner, hosting, "fixed", "5.00")
    found = price(world, hosting)
    assert (found.unit_price, found.margin) == (Decimal("5.00"), Decimal("-0.96"))


def test_the_tier_of_the_quantity_applies_and_each_currency_has_its_rule(world, hosting):
    set_rule(world.partner, hosting, "markup", "10", currency="EUR")
    one = price(world, hosting, quantity=1)
    assert (one.public, one.cost) == (Decimal("9.92"), Decimal("7.94"))
    assert one.unit_price == Decimal("9.92")  # CHF: no rule, public
    eur = price(world, hosting, quantity=1, currency="EUR")
    assert eur.cost == Decimal("4.60")  # 5.75 x 0.80
    assert eur.unit_price == Decimal("5.06")  # 4.60 x 1.10


def test_a_rule_applies_from_its_day_on(world, hosting):
    set_rule(world.partner, hosting, "fixed", "8.00", valid_from=DAY)
    set_rule(world.partner, hosting, "fixed", "9.00", valid_from=DAY + datetime.timedelta(days=5))
    assert price(world, hosting, on_day=DAY - datetime.timedelta(days=1)).unit_price == Decimal(
        "7.44"
    )
    assert price(world, hosting, on_day=DAY).unit_price == Decimal("8.00")
    assert price(world, hosting, on_day=DAY + datetime.timedelta(days=9)).unit_price == Decimal(
        "9.00"
    )


def test_another_partners_rules_do_not_apply(world, hosting):
    set_rule(world.other_partner, hosting, "fixed", "1.00")
    assert price(world, hosting).unit_price == Decimal("7.44")


# --- the API ---------------------------------------------------------------------------------


def rows(response):
    return {(row["product"], row["currency"]): row for row in response.json()}


@time_machine.travel(on(2026, 11, 20))
def test_the_partner_reads_its_price_list_with_cost_and_margin(world, api, hosting, mailbox):
    set_rule(world.partner, hosting, "markup", "30")
    response = api(world.partner_admin, world.partner).get(URL)
    assert response.status_code == 200
    listed = rows(response)
    assert set(listed) == {
        ("web-hosting", "CHF"),
        ("web-hosting", "EUR"),
        ("mailbox", "CHF"),
        ("mailbox", "EUR"),
    }
    hosting_chf = listed[("web-hosting", "CHF")]
    assert (hosting_chf["mode"], hosting_chf["value"]) == ("markup", "30.00")
    # one unit, no tier: cost 7.94, resale round(7.94 x 1.30) = 10.32
    assert (hosting_chf["public"], hosting_chf["cost"]) == ("9.92", "7.94")
    assert (hosting_chf["unit_price"], hosting_chf["margin"]) == ("10.32", "2.38")
    assert listed[("mailbox", "EUR")]["mode"] == "public"
    only_eur = api(world.partner_admin, world.partner).get(URL, {"currency": "EUR"}).json()
    assert {row["currency"] for row in only_eur} == {"EUR"}


@time_machine.travel(on(2026, 11, 20))
def test_an_owner_sets_prices_from_today_audited(world, api, hosting, mailbox):
    client = api(world.partner_owner, world.partner)
    body = [
        {"product": "web-hosting", "currency": "CHF", "mode": "markup", "value": "25"},
        {"product": "mailbox", "currency": "EUR", "mode": "fixed", "value": "4.20"},
    ]
    response = client.put(URL, body, format="json")
    assert response.status_code == 200, response.json()
    assert rows(response)[("mailbox", "EUR")]["unit_price"] == "4.20"
    entries = ResalePriceEntry.unscoped.filter(partner=world.partner)
    assert {(e.product.code, e.currency, e.mode, e.value, e.valid_from) for e in entries} == {
        ("web-hosting", "CHF", "markup", Decimal("25.00"), datetime.date(2026, 11, 20)),
        ("mailbox", "EUR", "fixed", Decimal("4.20"), datetime.date(2026, 11, 20)),
    }
    event = AuditEvent.unscoped.get(tenant=world.partner, action="resale.prices_changed")
    assert event.actor == world.partner_owner
    # the same day again: the day's row is replaced, back to public
    back = [{"product": "web-hosting", "currency": "CHF", "mode": "public"}]
    assert client.put(URL, back, format="json").status_code == 200
    assert ResalePriceEntry.unscoped.get(partner=world.partner, product=hosting).mode == "public"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"product": "web-hosting", "currency": "CHF", "mode": "markup", "value": "-1"}, "value"),
        (
            {"product": "web-hosting", "currency": "CHF", "mode": "markup", "value": "1000.01"},
            "value",
        ),
        ({"product": "web-hosting", "currency": "CHF", "mode": "markup"}, "value"),
        ({"product": "web-hosting", "currency": "CHF", "mode": "fixed", "value": "-0.01"}, "value"),
        ({"product": "web-hosting", "currency": "CHF", "mode": "public", "value": "3"}, "value"),
        ({"product": "web-hosting", "currency": "CHF", "mode": "cheap", "value": "3"}, "mode"),
        ({"product": "web-hosting", "currency": "USD", "mode": "fixed", "value": "3"}, "currency"),
        ({"product": "no-such-product", "currency": "CHF", "mode": "public"}, "product"),
        ({"product": "web-hosting", "currency": "CHF", "mode": "fixed", "value": "x"}, "value"),
    ],
)
def test_bad_entries_are_400_by_field_and_nothing_is_written(
    world, api, hosting, mailbox, entry, field
):
    good = {"product": "mailbox", "currency": "CHF", "mode": "markup", "value": "10"}
    response = api(world.partner_owner, world.partner).put(URL, [good, entry], format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["1"] and field in errors["1"], errors
    assert not ResalePriceEntry.unscoped.exists()


def test_a_product_and_currency_twice_is_400(world, api, hosting):
    entry = {"product": "web-hosting", "currency": "CHF", "mode": "markup", "value": "10"}
    response = api(world.partner_owner, world.partner).put(URL, [entry, entry], format="json")
    assert response.status_code == 400
    assert "product" in response.json()["1"]
    assert not ResalePriceEntry.unscoped.exists()


def test_a_body_that_is_not_a_list_is_400(world, api, hosting):
    response = api(world.partner_owner, world.partner).put(URL, {"product": "x"}, format="json")
    assert response.status_code == 400


def test_who_may_read_and_write_the_price_list(world, api, hosting):
    entry = [{"product": "web-hosting", "currency": "CHF", "mode": "fixed", "value": "8"}]
    assert api(world.collaborator, world.partner).get(URL).status_code == 403
    assert api(world.collaborator, world.partner).put(URL, entry, format="json").status_code == 403
    assert api(world.customer_owner, world.customer).get(URL).status_code == 404
    assert (
        api(world.customer_owner, world.customer).put(URL, entry, format="json").status_code == 404
    )
    # another partner's list is its own: writing it leaves Alpine's untouched
    assert (
        api(world.other_owner, world.other_partner).put(URL, entry, format="json").status_code
        == 200
    )
    assert not ResalePriceEntry.unscoped.filter(partner=world.partner).exists()
    assert api().get(URL).status_code in (401, 403)


def test_a_suspended_partner_reads_no_price_list(world, api, hosting):
    world.partner.status = "suspended"
    world.partner.save(update_fields=["status"])
    assert api(world.partner_owner, world.partner).get(URL).status_code in (403, 404)


# --- the page --------------------------------------------------------------------------------


def page_url(slug="alpine"):
    return reverse("resale_prices", kwargs={"slug": slug})


@time_machine.travel(on(2026, 11, 20))
def test_the_page_lists_and_saves_every_price_at_once(world, browser, hosting, mailbox):
    client = browser(world.partner_owner)
    page = client.get(page_url())
    assert page.status_code == 200
    assert "Web hosting" in page.content.decode()
    response = client.post(
        page_url(),
        {
            "mode-web-hosting:CHF": "markup",
            "value-web-hosting:CHF": "30",
            "mode-mailbox:CHF": "fixed",
            "value-mailbox:CHF": "4,50",
        },
    )
    assert response.status_code == 302
    saved = {(e.product.code, e.mode, e.value) for e in ResalePriceEntry.unscoped.all()}
    assert saved == {
        ("web-hosting", "markup", Decimal("30.00")),
        ("mailbox", "fixed", Decimal("4.50")),
    }


def test_the_page_shows_every_error_and_writes_nothing(world, browser, hosting, mailbox):
    client = browser(world.partner_owner)
    response = client.post(
        page_url(),
        {
            "mode-web-hosting:CHF": "markup",
            "value-web-hosting:CHF": "2000",
            "mode-mailbox:CHF": "fixed",
            "value-mailbox:CHF": "abc",
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "A markup goes up to 1000 %." in text
    assert "Enter a number." in text
    assert not ResalePriceEntry.unscoped.exists()


def test_the_page_is_for_the_partners_owners_and_admins(world, browser, hosting):
    assert browser(world.collaborator).get(page_url()).status_code == 403
    assert browser(world.customer_owner).get(page_url("mueller")).status_code == 404
    assert browser(world.other_owner).get(page_url()).status_code == 404


# --- the waterfall's resale step -------------------------------------------------------------


def test_the_partners_quote_shows_the_resale_step_and_its_margin(world, browser, hosting):
    grant(world, access="full", payment="partner")
    set_rule(world.partner, hosting, "markup", "30", valid_from=datetime.date(2020, 1, 1))
    url = reverse("quote", kwargs={"slug": "alpine"})
    page = browser(world.partner_owner).post(
        url, lines_data((hosting, 35), customer=str(world.customer.pk))
    )
    text = page.content.decode()
    # 35 x 7.75 = 271.25 resale; 35 x 1.79 = 62.65 margin
    assert "Resale" in text and "CHF 271.25" in text and "CHF 62.65" in text


def test_the_customers_quote_has_no_resale_step(world, browser, hosting):
    grant(world, access="full", payment="partner")
    set_rule(world.partner, hosting, "markup", "30", valid_from=datetime.date(2020, 1, 1))
    url = reverse("quote", kwargs={"slug": "mueller"})
    page = browser(world.customer_owner).post(url, lines_data((hosting, 35)))
    text = page.content.decode()
    assert "271.25" not in text and "Your resale margin" not in text


def test_the_partners_offer_shows_the_resale_step_and_the_customer_does_not(
    world, browser, hosting, mailbox
):
    from offers import services as offer_services
    from offers.tests.test_views import delivered

    grant(world, access="full", payment="customer")
    set_rule(world.partner, hosting, "markup", "30", valid_from=datetime.date(2020, 1, 1))
    ctx = org(world.partner_owner, world.partner)
    template = offer_services.template_create(org=ctx, name="Starter pack")
    offer_services.template_item_add(
        org=ctx, template=template, product=hosting, quantity=35,
        license_mode="absolute", term_months=12,
    )  # fmt: skip
    offer = delivered(world, template)

    partner_page = (
        browser(world.partner_owner)
        .get(reverse("offer_detail", kwargs={"slug": "alpine", "offer_id": offer.pk}))
        .content.decode()
    )
    assert 'data-figure="resale">CHF 271.25' in partner_page
    assert 'data-figure="resale-margin">CHF 62.65' in partner_page
    customer_page = (
        browser(world.customer_owner)
        .get(reverse("offer_detail", kwargs={"slug": "mueller", "offer_id": offer.pk}))
        .content.decode()
    )
    assert "271.25" not in customer_page and "Your resale margin" not in customer_page
