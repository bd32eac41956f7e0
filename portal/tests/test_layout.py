"""Issue 25's layout: the grouped menu, dates in each language, the charts' axes,
translated 404 pages and the partner directory's menu and contacts."""

import datetime
import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from core.dates import local_date
from subscriptions.templatetags.subscription_charts import (
    BOTTOM,
    TOP,
    mrr_bar_chart,
    mrr_movement_chart,
    nice_top,
)
from tenants.models import Branding
from tenants.selectors import org_context_for

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<a href="([^"]+)"[^>]*data-nav="([a-z_]+)"')


def _menu(page: str) -> str:
    return page.split('<nav class="container-fluid subnav"')[1].split("</nav>")[0]


def _groups(menu: str) -> dict[str, list[str]]:
    """Each group's summary text → the keys of its links."""
    groups = {}
    for summary, body in re.findall(
        r"<summary[^>]*>([^<]+)</summary>\s*<ul>(.*?)</ul>", menu, flags=re.S
    ):
        groups[summary.strip()] = [key for _, key in NAV.findall(body)]
    return groups


def test_the_partner_owner_reaches_every_page_of_the_menu(world, browser):
    client = browser(world.partner_owner)
    menu = _menu(client.get("/t/alpine/").content.decode())
    links = {key: url for url, key in NAV.findall(menu)}
    assert list(links) == [
        "dashboard",
        "customers",
        "smart_lists",
        "offers",
        "offer_templates",
        "upgrade_requests",
        "tenders",
        "billing",
        "sla_policies",
        "members",
        "organization",
        "tokens",
        "webhooks",
        "audit_log",
        "sso",
    ]
    groups = _groups(menu)
    assert groups == {
        "Sales": ["offer_templates", "upgrade_requests", "tenders"],
        "Settings": [
            "sla_policies",
            "members",
            "organization",
            "tokens",
            "webhooks",
            "audit_log",
            "sso",
        ],
    }
    # one row of 7 entries: 5 links and 2 groups
    top_level = menu.split('<ul class="nav-items">')[1]
    assert top_level.count('<li class="nav-group">') == 2
    for key, url in links.items():
        assert client.get(url).status_code == 200, key
    # the renamed pages: "Requests" is now "Upgrade requests", in the menu and the page
    assert ">Upgrade requests</a>" in menu and ">Requests</a>" not in menu


def test_the_menu_follows_the_role(world, browser):
    page = browser(world.collaborator).get("/t/alpine/").content.decode()
    keys = [key for _, key in NAV.findall(_menu(page))]
    for admin_only in ("upgrade_requests", "tokens", "webhooks", "audit_log", "sso"):
        assert admin_only not in keys
    assert 'href="/t/alpine/orders/" data-nav="billing"' in _menu(page)  # not the billing summary

    page = browser(world.partner_admin).get("/t/alpine/").content.decode()
    keys = [key for _, key in NAV.findall(_menu(page))]
    assert "upgrade_requests" in keys and "tokens" in keys and "audit_log" not in keys


def test_the_customer_menu_groups_orders_and_invoices(world, browser):
    client = browser(world.customer_owner)
    menu = _menu(client.get("/t/mueller/").content.decode())
    links = {key: url for url, key in NAV.findall(menu)}
    assert set(links) >= {
        "dashboard",
        "updates",
        "services",
        "orders",
        "invoices",
        "partners",
        "tenders",
        "members",
        "organization",
        "tokens",
        "webhooks",
        "audit_log",
        "sso",
    }
    assert _groups(menu)["Billing"] == ["orders", "invoices"]
    for key, url in links.items():
        assert client.get(url).status_code == 200, key

    menu = _menu(browser(world.customer_user).get("/t/mueller/").content.decode())
    keys = [key for _, key in NAV.findall(menu)]
    assert "updates" not in keys and "tokens" not in keys and "invoices" in keys


def test_the_current_page_and_its_group_are_marked(world, browser):
    page = browser(world.partner_owner).get("/t/alpine/upsell/requests/").content.decode()
    menu = _menu(page)
    assert '<summary class="nav-current">Sales</summary>' in menu
    assert 'aria-current="page" data-nav="upgrade_requests"' in menu
    assert menu.count('aria-current="page"') == 1
    assert "<h1>Upgrade requests</h1>" in page


@pytest.mark.parametrize(
    ("language", "day", "may", "moment", "month"),
    [
        ("en", "6 Dec 2026", "3 May 2026", "6 Dec 2026, 14:05", "Dec 2026"),
        ("it", "6 dic 2026", "3 mag 2026", "6 dic 2026, 14:05", "dic 2026"),
        ("it-ch", "6 dic 2026", "3 mag 2026", "6 dic 2026, 14:05", "dic 2026"),
        ("de", "6. Dez. 2026", "3. Mai 2026", "6. Dez. 2026, 14:05", "Dez. 2026"),
        ("de-ch", "6. Dez. 2026", "3. Mai 2026", "6. Dez. 2026, 14:05", "Dez. 2026"),
    ],
)
def test_dates_are_written_the_way_each_language_writes_them(language, day, may, moment, month):
    dec, mai = datetime.date(2026, 12, 6), datetime.date(2026, 5, 3)
    at = datetime.datetime(2026, 12, 6, 14, 5, tzinfo=ZoneInfo("Europe/Zurich"))
    template = Template(
        '{{ d|date:"j M Y" }}|{{ m|date:"j M Y" }}|{{ t|date:"j M Y, H:i" }}|'
        '{{ d|date:"M Y" }}|{{ d|date:"Y-m-d" }}|{{ d|date:"F Y" }}'
    )
    with translation.override(language):
        shown = template.render(Context({"d": dec, "m": mai, "t": at})).split("|")
        assert shown[:5] == [day, may, moment, month, "2026-12-06"]
        assert local_date(dec) == day
        assert local_date(at, "j M Y, H:i") == moment
        if language.startswith("it"):
            assert shown[5] == "dicembre 2026"  # lower case, not Django's "Dicembre"


def _history(*amounts: str) -> list[dict]:
    zero = Decimal(0)
    return [
        {
            "month": f"2026-{n:02d}",
            "mrr": Decimal(a),
            "new": Decimal(a),
            "expansion": zero,
            "reactivation": zero,
            "contraction": zero,
            "churn": Decimal("-10") if n == 2 else zero,
        }
        for n, a in enumerate(amounts, start=1)
    ]


def test_the_mrr_chart_labels_its_axis_in_the_currency_and_its_months_with_the_year():
    assert nice_top(Decimal("881")) == Decimal("1000")
    assert nice_top(Decimal("1000")) == Decimal("1200")  # headroom: never exactly the top
    assert nice_top(Decimal("0")) == 0
    chart = mrr_bar_chart(_history("450", "881", "600"), "CHF", "MRR")
    assert [t["label"] for t in chart["ticks"]] == [
        "CHF 0",
        "CHF 250",
        "CHF 500",
        "CHF 750",
        "CHF 1,000",
    ]
    assert [b["label"] for b in chart["bars"]] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    tallest = min(bar["y"] for bar in chart["bars"])
    assert tallest > TOP + 5, "the tallest bar keeps room above it"
    assert max(bar["y"] + bar["height"] for bar in chart["bars"]) == pytest.approx(BOTTOM)
    with translation.override("de-ch"):
        chart = mrr_bar_chart(_history("1500"), "CHF", "MRR")
        assert chart["bars"][0]["label"] == "Jan. 2026"
        assert chart["ticks"][-1]["label"] == "CHF 2'000"
    with translation.override("it"):
        assert mrr_bar_chart(_history("5"), "EUR", "MRR")["bars"][0]["label"] == "gen 2026"


def test_the_movement_chart_labels_gains_and_losses(world):
    org = org_context_for(user=world.partner_owner, tenant_id=world.partner.pk)
    chart = mrr_movement_chart({"org": org}, _history("100", "40"), "CHF")
    labels = [t["label"] for t in chart["ticks"]]
    assert "CHF 0" in labels and labels[0].startswith("CHF -") and labels[-1] != "CHF 0"
    assert [m["label"] for m in chart["months"]] == ["Jan 2026", "Feb 2026"]
    zero = next(t for t in chart["ticks"] if t["label"] == "CHF 0")
    assert zero["y"] == chart["axis_y"]


def test_pages_draw_the_axis_and_the_months(world, browser):
    page = browser(world.partner_owner).get("/t/alpine/").content.decode()
    assert 'class="chart-y"' in page and ">CHF 0</text>" in page
    assert re.search(r'<li data-month="\d{4}-\d{2}">[A-Z][a-z]{2} \d{4}</li>', page)


def test_the_404_page_speaks_the_language_of_the_request(world, browser):
    client = browser(world.customer_owner)
    url = f"/t/mueller/invoices/{uuid.uuid4()}/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="it")
    assert page.status_code == 404
    body = page.content.decode()
    assert "Fattura inesistente." in body and "No such invoice." not in body
    assert "Non trovato" in body
    assert 'data-nav="invoices"' in body  # the console's menu stays
    german = client.get(f"/t/mueller/offers/{uuid.uuid4()}/", HTTP_ACCEPT_LANGUAGE="de")
    assert "Dieses Angebot gibt es nicht." in german.content.decode()
    # a URL no route matches, and Django's own message naming a model, say nothing more
    nowhere = client.get("/no/such/place/", HTTP_ACCEPT_LANGUAGE="it")
    assert nowhere.status_code == 404
    assert "Questa pagina non esiste" in nowhere.content.decode()
    # the API answers JSON, as before
    assert client.get("/api/v1/nowhere/").json() == {"detail": "Not found."}


def test_the_directory_keeps_the_menu_and_shows_published_contacts(world, browser):
    Branding.unscoped.update_or_create(
        tenant=world.partner,
        defaults={"support_email": "help@alpine.test", "support_phone": "+41 44 123 45 67"},
    )
    owner = browser(world.partner_owner)
    page = owner.get("/directory/?org=alpine").content.decode()
    assert 'data-nav="customers"' in page and 'data-nav="offers"' in page
    assert 'href="mailto:help@alpine.test"' in page and 'href="tel:+41441234567"' in page
    # the footer's link carries the organization
    assert 'href="/directory/?org=alpine"' in page
    # without ?org=, the person's first organization
    assert 'data-nav="customers"' in owner.get("/directory/").content.decode()
    # an organization that is not theirs: the page, without a menu
    foreign = owner.get("/directory/?org=rhein")
    assert foreign.status_code == 200
    assert "subnav" not in foreign.content.decode()
    # a visitor: no menu, the contacts the partner published
    public = Client().get("/directory/").content.decode()
    assert "subnav" not in public and "help@alpine.test" in public
    # the owners' own addresses are never listed
    assert world.partner_owner.email not in public
