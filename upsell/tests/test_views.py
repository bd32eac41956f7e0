"""The browser pages of upsell (SPEC §5, §9): the customer's Services with the
orange tags and the dialog's action element for each member type, Buy now
counted and redirected, Ask my partner, the partner's Requests turned into
offers, the switch on the customer page, and isolation between organizations."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import upsell.urls
from catalog.models import PriceTier
from catalog.tests.factories import ProductFactory
from offers.models import Offer
from partners.services import collaborators_set
from subscriptions.models import Subscription
from tenants.models import OutboundEmail, Role
from tenants.tests.factories import MembershipFactory
from tests.isolation import assert_all_404, missing_id, org_page_urls
from upsell import services
from upsell.models import FeatureInterest, UpgradeRequest, UpsellChange
from upsell.tests.conftest import MEMBER_TYPES, ordered
from upsell.tests.test_services import org, place_buy_url, switch

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CONTACT = "To upgrade the edition, contact your partner"


def text(response) -> str:
    return response.content.decode()


def url(name: str, slug: str, **kwargs) -> str:
    return reverse(name, kwargs={"slug": slug, **kwargs})


def subscription_of(shop) -> Subscription:
    return Subscription.unscoped.get(customer=shop.customer)


def feature_url(name: str, shop, feature_code: str) -> str:
    return url(
        name, "seeblick", subscription_id=subscription_of(shop).pk, feature_code=feature_code
    )


def tags(page: str) -> dict[str, str]:
    """The orange tags of a Services page: feature code → the edition it names."""
    found = {}
    for code, item in re.findall(
        r'<li class="feature feature-locked" data-feature="([\w-]+)">(.*?)</li>', page, re.S
    ):
        tag = re.search(r'<a class="upsell-tag"[^>]*>(.*?)</a>', item, re.S).group(1)
        found[code] = re.sub(r"<span class=\"visually-hidden\">.*?</span>", "", tag).strip()
    return found


def ask(world, shop, member="user, not a buyer", feature="vulnerability-assessment"):
    return services.upgrade_request_create(
        org=org(shop.members[member], shop.customer),
        subscription_id=subscription_of(shop).pk,
        feature_code=feature,
    )


def lakeside_admin(world):
    return MembershipFactory(tenant=world.sub_partner, role=Role.ADMIN).user


# --- the customer's Services ------------------------------------------------------------------


@pytest.mark.parametrize("upsell_on", [True, False], ids=["upsell on", "upsell off"])
@pytest.mark.parametrize("member", list(MEMBER_TYPES))
def test_the_services_page_and_its_dialog_for_each_member_type(
    world, shop, browser, member, upsell_on
):
    # Given a Buy URL at the provider, and upsell on or off for Seeblick
    place_buy_url(world, "provider")
    if upsell_on:
        switch(world, shop)
    client = browser(shop.members[member])

    # When the member opens Services
    response = client.get(url("services", "seeblick"))

    # Then the subscription shows with the feature it has
    assert response.status_code == 200
    page = text(response)
    assert "Backup Standard" in page
    assert "10 units" in page
    assert 'data-feature="file-backup"' in page
    dialog_url = feature_url("service_feature", shop, "patch-management")
    if not upsell_on:
        # missing features are not shown at all, and their dialog does not exist
        assert tags(page) == {}
        assert "Patch management" not in page
        assert "<dialog" not in page
        assert client.get(dialog_url, **HTMX).status_code == 404
        return
    # each missing feature has an orange tag naming the lowest edition that unlocks it
    assert tags(page) == {
        "patch-management": "Protect Advanced",
        "vulnerability-assessment": "Protect Standard",
    }
    # which loads the dialog with htmx, and is a plain link without JS
    assert f'href="{dialog_url}" hx-get="{dialog_url}"' in page
    assert '<dialog id="feature-dialog"' in page
    assert 'hx-target="#feature-dialog"' in page

    # When the member opens the tag (htmx): the dialog's content alone
    fragment = text(client.get(dialog_url, **HTMX))

    assert "<html" not in fragment
    assert "Patch management comes with Protect Advanced" in fragment
    assert 'method="dialog"' in fragment  # closable with a button
    role, buyer = MEMBER_TYPES[member]
    buy_url = feature_url("service_buy", shop, "patch-management")
    ask_url = feature_url("service_ask", shop, "patch-management")
    if role == Role.ADMIN and buyer:
        assert f'href="{buy_url}"' in fragment
        assert 'rel="noopener"' in fragment
        assert CONTACT not in fragment
        assert ask_url not in fragment
    else:
        assert buy_url not in fragment
        assert CONTACT in fragment
        assert "Lakeside" in fragment
        assert f'action="{ask_url}"' in fragment
        assert "csrfmiddlewaretoken" in fragment
    # and the look is recorded for Lakeside
    assert FeatureInterest.unscoped.filter(
        partner=world.sub_partner, kind=FeatureInterest.Kind.VIEWED, user=shop.members[member]
    ).exists()


def test_an_owner_buyer_without_a_buy_url_gets_the_partner_contact(world, shop, browser):
    # Given upsell on, no Buy URL anywhere, and Lakeside's support contact
    switch(world, shop)
    from tenants.models import Branding

    Branding.unscoped.create(
        tenant=world.sub_partner, support_email="help@lakeside.test", support_phone="+41 44 123"
    )
    owner = shop.customer.memberships.get(role=Role.OWNER).user

    fragment = text(
        browser(owner).get(feature_url("service_feature", shop, "patch-management"), **HTMX)
    )

    assert CONTACT in fragment
    assert 'href="mailto:help@lakeside.test"' in fragment
    assert "+41 44 123" in fragment
    assert "Ask my partner" in fragment
    assert feature_url("service_buy", shop, "patch-management") not in fragment


def test_without_js_the_dialog_is_a_full_page(world, shop, browser):
    switch(world, shop)
    client = browser(shop.members["user, buyer"])

    response = client.get(feature_url("service_feature", shop, "vulnerability-assessment"))

    page = text(response)
    assert response.status_code == 200
    assert "<html" in page
    assert "Vulnerability assessment comes with Protect Standard" in page
    assert f'href="{url("services", "seeblick")}"' in page  # back to Services
    assert 'method="dialog"' not in page  # no dialog to close
    assert CONTACT in page
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_several_subscriptions_of_a_product_are_one_service_on_the_page(
    world, shop, family, browser
):
    second = ordered(shop.customer, family.standard, 5)
    switch(world, shop)
    client = browser(shop.members["user, buyer"])

    page = text(client.get(url("services", "seeblick")))

    assert page.count('<article class="service"') == 1
    assert "15 units" in page
    address = url(
        "service_feature",
        "seeblick",
        subscription_id=second.pk,
        feature_code="vulnerability-assessment",
    )
    dialog = text(client.get(address))
    assert "Your Backup Standard (15 units) does not include" in dialog


def test_services_is_an_empty_state_without_subscriptions(world, browser):
    page = text(browser(world.customer_owner).get(url("services", "mueller")))

    assert "has no active subscriptions yet" in page
    assert "upsell-tag" not in page


def test_the_nav_shows_services_to_customers_and_requests_to_partner_admins(world, shop, browser):
    customer_page = text(
        browser(shop.members["user, not a buyer"]).get(url("services", "seeblick"))
    )
    assert (
        f'href="{url("services", "seeblick")}" aria-current="page" data-nav="services">Services'
        in customer_page
    )

    admin_page = text(browser(world.sub_partner_owner).get(url("upgrade_requests", "lakeside")))
    assert (
        f'href="{url("upgrade_requests", "lakeside")}" aria-current="page"'
        ' data-nav="upgrade_requests">Upgrade requests' in admin_page
    )
    collaborator = MembershipFactory(tenant=world.partner, role=Role.COLLABORATOR).user
    collaborator_page = text(browser(collaborator).get(url("org_dashboard", "alpine")))
    assert url("upgrade_requests", "alpine") not in collaborator_page


# --- Buy now and Ask my partner -------------------------------------------------------------


def test_buy_now_redirects_to_the_buy_url_with_its_context_and_counts_a_click(
    world, shop, family, browser
):
    # Given a Buy URL at Lakeside's parent and upsell on
    buy_url = place_buy_url(world, "parent")
    switch(world, shop)
    client = browser(shop.members["admin, buyer"])

    # When the buyer follows Buy now
    response = client.get(feature_url("service_buy", shop, "patch-management"))

    # Then they land at the shop with what it needs to show the right edition
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == buy_url.split("?")[0]
    assert parse_qs(target.query) == {
        "ref": ["portal"],
        "customer": [str(shop.customer.pk)],
        "current_edition": ["backup-standard"],
        "recommended_edition": ["protect-advanced"],
        "feature": ["patch-management"],
    }
    # And the click is counted for Lakeside
    clicks = FeatureInterest.unscoped.filter(kind=FeatureInterest.Kind.CLICKED)
    assert [(c.partner, c.user, c.recommended_product) for c in clicks] == [
        (world.sub_partner, shop.members["admin, buyer"], family.advanced)
    ]


@pytest.mark.parametrize("member", ["admin, not a buyer", "user, buyer", "user, not a buyer"])
def test_buy_now_is_a_404_for_a_member_without_it(world, shop, browser, member):
    place_buy_url(world, "provider")
    switch(world, shop)

    response = browser(shop.members[member]).get(
        feature_url("service_buy", shop, "patch-management")
    )

    assert response.status_code == 404
    assert not FeatureInterest.unscoped.filter(kind=FeatureInterest.Kind.CLICKED).exists()


def test_ask_my_partner_creates_a_request_and_emails_the_partner(
    world, shop, family, browser, django_capture_on_commit_callbacks
):
    # Given upsell on and a member who may not buy
    switch(world, shop)
    client = browser(shop.members["user, not a buyer"])

    # When they ask their partner from the dialog
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            feature_url("service_ask", shop, "vulnerability-assessment"), follow=True
        )

    # Then they are back on Services with a confirmation
    assert response.redirect_chain == [(url("services", "seeblick"), 302)]
    assert "Lakeside has been asked; they can send you an offer." in text(response)
    # And Lakeside has the request, and its owner an email
    request = UpgradeRequest.unscoped.get()
    assert (request.partner, request.recommended_product, request.quantity, request.status) == (
        world.sub_partner,
        family.protect,
        10,
        UpgradeRequest.Status.OPEN,
    )
    # (the partner's other email: the fixture's order, which earned it cashback)
    email = OutboundEmail.objects.get(to=world.sub_partner_owner.email, subject__contains="asks")
    assert "Hotel Seeblick asks for Protect Standard" in email.subject
    # And a GET of the ask URL changes nothing
    assert (
        client.get(feature_url("service_ask", shop, "vulnerability-assessment")).status_code == 405
    )
    assert UpgradeRequest.unscoped.count() == 1


def test_ask_my_partner_while_upsell_is_off_is_a_404(world, shop, browser):
    response = browser(shop.members["user, buyer"]).post(
        feature_url("service_ask", shop, "vulnerability-assessment")
    )

    assert response.status_code == 404
    assert not UpgradeRequest.unscoped.exists()


# --- the partner's Requests -------------------------------------------------------------------


def test_the_partner_turns_a_request_into_an_offer_from_the_requests_page(
    world, shop, family, browser
):
    # Given Seeblick asked Lakeside for Protect Standard
    switch(world, shop)
    request = ask(world, shop)
    client = browser(world.sub_partner_owner)

    # When Lakeside's owner opens Requests
    page = text(client.get(url("upgrade_requests", "lakeside")))

    # Then the open request shows with its two answers
    request_url = url("upgrade_request", "lakeside", request_id=request.pk)
    assert "Hotel Seeblick" in page
    assert "Protect Standard" in page and "Vulnerability assessment" in page
    assert page.count(f'action="{request_url}"') == 2
    assert 'value="offer"' in page and 'value="dismiss"' in page

    # When they turn it into an offer (one click)
    response = client.post(request_url, {"action": "offer"})

    # Then the offer exists and they are on its page, with a message
    offer = Offer.unscoped.get(customer=shop.customer)
    assert response.status_code == 302
    assert response["Location"] == url("offer_detail", "lakeside", offer_id=offer.pk)
    assert [(i.product, i.quantity, i.replaces) for i in offer.items.all()] == [
        (family.protect, 10, family.standard)
    ]
    request.refresh_from_db()
    assert (request.status, request.offer_id) == (UpgradeRequest.Status.OFFERED, offer.pk)
    assert "Upgrade to Protect Standard" in text(client.get(response["Location"]))

    # When it is answered again (offer or dismiss): the 409 message, never a 500
    for action in ("offer", "dismiss"):
        again = client.post(request_url, {"action": action}, follow=True)
        assert again.status_code == 200
        assert "This request was already answered." in text(again)
    assert Offer.unscoped.count() == 1
    # And the answered request shows with a link to its offer
    answered = text(client.get(url("upgrade_requests", "lakeside")))
    assert "Turned into an offer" in answered
    assert url("offer_detail", "lakeside", offer_id=offer.pk) in answered


def test_the_partner_dismisses_a_request(world, shop, browser):
    switch(world, shop)
    request = ask(world, shop)
    client = browser(world.sub_partner_owner)

    response = client.post(
        url("upgrade_request", "lakeside", request_id=request.pk),
        {"action": "dismiss"},
        follow=True,
    )

    assert response.redirect_chain == [(url("upgrade_requests", "lakeside"), 302)]
    assert "was dismissed" in text(response)
    request.refresh_from_db()
    assert request.status == UpgradeRequest.Status.DISMISSED
    assert not Offer.unscoped.exists()
    assert "No open requests" in text(response)


def test_an_unknown_answer_is_a_400(world, shop, browser):
    switch(world, shop)
    request = ask(world, shop)

    response = browser(world.sub_partner_owner).post(
        url("upgrade_request", "lakeside", request_id=request.pk), {"action": "accept"}
    )

    assert response.status_code == 400
    request.refresh_from_db()
    assert request.status == UpgradeRequest.Status.OPEN


# --- the switch and the customer's upsell page ------------------------------------------------


def test_the_customer_page_has_a_configure_section_with_the_switch(world, shop, browser):
    client = browser(world.sub_partner_owner)
    upsell_url = url("customer_upsell", "lakeside", customer_id=shop.customer.pk)

    page = text(client.get(url("customer_detail", "lakeside", customer_id=shop.customer.pk)))
    assert 'href="#configure"' in page
    assert f'hx-get="{upsell_url}?view=compact"' in page
    assert f'href="{upsell_url}"' in page  # without JS

    fragment = text(client.get(upsell_url, {"view": "compact"}, **HTMX))
    assert "<html" not in fragment
    assert 'data-upsell="off"' in fragment
    assert f'action="{upsell_url}"' in fragment
    assert 'name="enabled" value="on"' in fragment
    assert "Turn upsell on" in fragment


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_switch_upsell_from_the_customer_page(world, shop, browser, who):
    user = world.sub_partner_owner if who == "owner" else lakeside_admin(world)
    client = browser(user)
    upsell_url = url("customer_upsell", "lakeside", customer_id=shop.customer.pk)
    back = url("customer_detail", "lakeside", customer_id=shop.customer.pk) + "#configure"

    # When they switch it on from the Configure section
    response = client.post(upsell_url, {"enabled": "on", "next": back})

    # Then it is on, recorded, and they are back on the customer page
    assert response.status_code == 302
    assert response["Location"] == back
    assert [(c.enabled, c.actor, c.acting_for) for c in UpsellChange.unscoped.all()] == [
        (True, user, world.sub_partner)
    ]
    fragment = text(client.get(upsell_url, {"view": "compact"}))
    assert 'data-upsell="on"' in fragment
    assert "Turn upsell off" in fragment
    # And Seeblick's members see the tags
    services_page = text(browser(shop.members["user, buyer"]).get(url("services", "seeblick")))
    assert "upsell-tag" in services_page

    # When they switch it off on the upsell page
    response = browser(user).post(upsell_url, {"enabled": "off"}, follow=True)
    page = text(response)
    assert "Upsell is off for Hotel Seeblick" in page
    assert 'data-upsell="off"' in page
    assert page.count("<li><strong>O") == 2  # the history: off, then on


def test_a_collaborator_sees_the_switch_but_may_not_switch(world, shop, browser):
    collaborator = MembershipFactory(tenant=world.sub_partner, role=Role.COLLABORATOR).user
    collaborators_set(
        org=org(world.sub_partner_owner, world.sub_partner),
        customer=shop.customer,
        user_ids=[collaborator.id],
    )
    client = browser(collaborator)
    upsell_url = url("customer_upsell", "lakeside", customer_id=shop.customer.pk)

    page = text(client.get(upsell_url))
    assert 'data-upsell="off"' in page
    assert 'name="enabled"' not in page
    assert client.post(upsell_url, {"enabled": "on"}).status_code == 403
    assert not UpsellChange.unscoped.exists()


def test_another_partner_may_not_switch_and_gets_a_404(world, shop, browser):
    client = browser(world.other_owner)

    response = client.post(
        url("customer_upsell", "rhein", customer_id=shop.customer.pk), {"enabled": "on"}
    )

    assert response.status_code == 404
    assert not UpsellChange.unscoped.exists()


def test_an_invalid_switch_value_is_a_400(world, shop, browser):
    response = browser(world.sub_partner_owner).post(
        url("customer_upsell", "lakeside", customer_id=shop.customer.pk), {"enabled": "maybe"}
    )

    assert response.status_code == 400
    assert not UpsellChange.unscoped.exists()


def test_the_upsell_page_shows_history_interest_and_requests(world, shop, browser):
    # Given upsell on, a look and a click at Patch management, and a request
    place_buy_url(world, "provider")
    switch(world, shop)
    buyer = browser(shop.members["admin, buyer"])
    buyer.get(feature_url("service_feature", shop, "patch-management"), **HTMX)
    buyer.get(feature_url("service_buy", shop, "patch-management"))
    ask(world, shop)

    page = text(
        browser(world.sub_partner_owner).get(
            url("customer_upsell", "lakeside", customer_id=shop.customer.pk)
        )
    )

    # Then the switch's history names who switched it
    assert "<strong>On</strong>" in page
    assert world.sub_partner_owner.email in page
    # And per locked feature: looked at, clicked, asked
    row = re.search(r'<tr data-feature="patch-management">.*?</tr>', page, flags=re.S).group()
    assert re.findall(r'data-count="(\w+)">(\d+)<', row) == [
        ("viewed", "1"),
        ("clicked", "1"),
        ("asked", "0"),
    ]
    row = re.search(r'<tr data-feature="vulnerability-assessment">.*?</tr>', page, re.S).group()
    assert 'data-count="asked">1<' in row
    # And the request with its answers
    assert "Turn into an offer" in page


# --- isolation and queries --------------------------------------------------------------------


def test_every_upsell_page_of_another_organization_is_a_404(world, shop, browser):
    # Given Seeblick with upsell on and an open request to Lakeside
    place_buy_url(world, "provider")
    switch(world, shop)
    request = ask(world, shop)
    ids = {
        "subscription_id": subscription_of(shop).pk,
        "feature_code": "patch-management",
        "customer_id": shop.customer.pk,
        "request_id": request.pk,
    }

    # Then Rhein's owner reaches none of Lakeside's pages, whatever the method
    assert_all_404(browser(world.other_owner), org_page_urls(upsell.urls, slug="lakeside", **ids))
    # Nor Bergmann's owner any of Seeblick's
    assert_all_404(
        browser(world.other_customer_owner), org_page_urls(upsell.urls, slug="seeblick", **ids)
    )
    # And Seeblick's ids under their own organization are the 404 of a missing id
    for user, slug in [(world.other_owner, "rhein"), (world.other_customer_owner, "bergmann")]:
        with_ids = [
            page
            for page in org_page_urls(upsell.urls, slug=slug, **ids)
            if any(str(value) in page for value in ids.values())
        ]
        assert len(with_ids) == 5
        assert_all_404(browser(user), with_ids)
    # And Alpine, Lakeside's parent, does not answer its sub-partner's requests
    assert_all_404(
        browser(world.partner_owner),
        [
            url("customer_upsell", "alpine", customer_id=shop.customer.pk),
            url("upgrade_request", "alpine", request_id=request.pk),
        ],
    )
    # And missing ids are the same 404 for the rightful users
    missing = {**{key: missing_id() for key in ids}, "feature_code": "no-such-feature"}
    lakeside_pages = [
        page
        for page in org_page_urls(upsell.urls, slug="lakeside", **missing)
        if "customers" in page or missing["request_id"] in page
    ]
    assert len(lakeside_pages) == 2
    assert_all_404(browser(world.sub_partner_owner), lakeside_pages)
    # And nothing changed anywhere
    request.refresh_from_db()
    assert request.status == UpgradeRequest.Status.OPEN
    assert UpsellChange.unscoped.count() == 1
    assert not FeatureInterest.unscoped.exclude(kind=FeatureInterest.Kind.ASKED).exists()


def more_subscriptions(shop, family, count: int) -> None:
    """`count` more subscriptions, each of its own family with a higher edition."""
    for n in range(count):
        product = ProductFactory(
            code=f"mail-{n}", name=f"Mail {n}", family=f"mail-{n}", edition_rank=1
        )
        higher = ProductFactory(
            code=f"mail-{n}-plus", name=f"Mail {n} Plus", family=f"mail-{n}", edition_rank=2
        )
        product.features.set([family.features["file-backup"]])
        higher.features.set(family.features.values())
        ordered(shop.customer, product, n + 1)


@pytest.mark.parametrize("upsell_on", [True, False], ids=["upsell on", "upsell off"])
def test_the_services_page_takes_the_same_queries_for_1_or_6_subscriptions(
    world, shop, family, browser, upsell_on, django_assert_max_num_queries
):
    # Given a buyer of Seeblick with one subscription, a Buy URL, upsell on or off
    place_buy_url(world, "provider")
    if upsell_on:
        switch(world, shop)
    client = browser(shop.members["admin, buyer"])
    client.get(url("services", "seeblick"))
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("services", "seeblick")).status_code == 200

    # When it has five more, each of its own family
    more_subscriptions(shop, family, 5)

    # Then its Services page costs no more queries
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = text(client.get(url("services", "seeblick")))
    assert page.count('<article class="service"') == 6
    assert len(tags(page)) == (2 if upsell_on else 0)
    assert page.count('class="upsell-tag"') == (2 + 5 * 2 if upsell_on else 0)


def test_the_dialog_shows_the_customers_own_price_of_the_unlocking_edition(
    world, shop, family, browser
):
    """Issue 25: the locked feature's dialog showed no price. Protect Advanced at
    CHF 10.00 a unit, 10 % off from 10 units: CHF 90.00 a month for Seeblick's 10
    units — its public price, never Lakeside's preferential one."""
    PriceTier.objects.create(product=family.advanced, min_quantity=10, rate="0.10")
    world.sub_partner.discount_rate = "0.20"
    world.sub_partner.save(update_fields=["discount_rate"])
    switch(world, shop)

    fragment = text(
        browser(shop.members["user, buyer"]).get(
            feature_url("service_feature", shop, "patch-management"), **HTMX
        )
    )

    assert 'data-figure="edition-price"' in fragment
    assert "Protect Advanced for your 10 units: <strong>CHF 90.00 per month</strong>" in fragment
    assert "72.00" not in fragment  # the partner's preferential price stays its own


def test_services_lists_the_catalog_features_and_names_the_subscriptions_of_a_product(
    world, shop, family, browser
):
    ordered(shop.customer, family.standard, 5)
    ordered(shop.customer, family.standard, 2)
    bare = ProductFactory(code="mail", name="Mail", description="Mailboxes on our servers.")
    ordered(shop.customer, bare, 3)

    page = text(browser(shop.members["user, buyer"]).get(url("services", "seeblick")))

    assert page.count('<article class="service"') == 2
    assert "17 units" in page and 'data-subscriptions="3"' in page
    assert "in 3 subscriptions" in page
    assert 'data-feature="file-backup"' in page  # from the catalog's features
    assert "Mailboxes on our servers." in page  # a product without features: its description
