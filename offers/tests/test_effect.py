"""Offers show their effect before anyone commits (SPEC §6 rev. 2; issue 20,
item 6): `effect` and `reduces` in the API and on the pages, one quantity per
product over several subscriptions, the confirmation a reduction needs, the
reduction's credit orders (newest subscription first), the accept's preview
(`dry_run`, `expected_total`), and a bulk send that reports whom it left out.

Web hosting at CHF 9.92 a month, 10 % off from 10 units and 25 % from 30;
Alpine IT has 20 % off. Bäckerei Müller has 35 hostings from 1 April 2026 and
3 more from 10 April, both ordered by Alpine (Müller pays); on 16 April Alpine
offers "Office starter": Web hosting, absolute 1 (the demo's offer)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice, Order
from billing.services.orders import LineRequest, order_place_for
from offers import services
from offers.models import Offer, OfferBatch
from offers.tests.conftest import grant, org
from offers.tests.test_api import managed_customer
from partners.models import Partnership
from subscriptions.models import Subscription, SubscriptionChange
from tenants.models import Membership, Tenant
from tenants.tests.factories import CustomerFactory, MembershipFactory
from tests.clock import on

pytestmark = pytest.mark.django_db

D = Decimal
OFFERS = "/api/v1/offers/"
APRIL_16 = on(2026, 4, 16)


def partner_org(world):
    return org(world.partner_owner, world.partner)


def written() -> tuple:
    return (
        Order.unscoped.count(),
        Invoice.unscoped.count(),
        SubscriptionChange.unscoped.count(),
        sorted(Subscription.unscoped.values_list("quantity", "unit_price", "cancelled_at")),
    )


def order_hostings(world, hosting, quantity: int) -> Subscription:
    """Alpine orders `quantity` hostings for Müller today (a paid subscription)."""
    order = order_place_for(
        org=partner_org(world),
        customer=world.customer,
        lines=[LineRequest(hosting, quantity)],
    )
    return order.lines.get().subscription


@pytest.fixture
def two_subscriptions(world, hosting, time_machine):
    """35 hostings from 1 April and 3 from 10 April; then it is 16 April."""
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    older = order_hostings(world, hosting, 35)
    time_machine.move_to(on(2026, 4, 10, 9))
    newer = order_hostings(world, hosting, 3)
    time_machine.move_to(APRIL_16)
    return older, newer


def template_of(world, name, *items):
    template = services.template_create(org=partner_org(world), name=name)
    for product, quantity, mode in items:
        services.template_item_add(
            org=partner_org(world),
            template=template,
            product=product,
            quantity=quantity,
            license_mode=mode,
            term_months=12,
        )
    return template


def delivered(world, template, customer=None) -> Offer:
    batch = services.offer_send(
        org=partner_org(world), template=template, customer_ids=[(customer or world.customer).pk]
    )
    offer = batch.offers.get()
    assert services.offer_deliver(offer_id=offer.pk)
    return Offer.unscoped.get(pk=offer.pk)


@pytest.fixture
def office_starter(world, hosting, two_subscriptions):
    return delivered(world, template_of(world, "Office starter", (hosting, 1, "absolute")))


# --- the demo's reproduction ------------------------------------------------------------------


def test_office_starter_is_marked_as_reducing_and_needs_the_confirmation(
    world, api, hosting, two_subscriptions, office_starter
):
    older, newer = two_subscriptions
    customer = api(world.customer_owner, world.customer)
    url = f"{OFFERS}{office_starter.pk}/"

    seen = customer.get(url).json()
    by_partner = api(world.partner_owner, world.partner).get(url).json()

    # both sides read it before anyone commits: the two subscriptions are one quantity
    assert seen["reduces"] is True and by_partner["reduces"] is True
    (line,) = seen["effect"]
    assert (line["product"], line["current_quantity"], line["new_quantity"]) == (
        "web-hosting",
        38,
        1,
    )
    assert line["change"] == "decrease"
    assert line["text"] == "Web hosting: 38 → 1 licence"
    assert line["unit_price"] == "9.92"  # one unit reaches no tier
    assert by_partner["effect"][0]["text"] == line["text"]

    # accepting without the confirmation: 400 on the field, nothing written
    before = written()
    refused = customer.post(f"{url}accept/", {}, format="json")
    assert refused.status_code == 400
    assert "confirm the reduction" in refused.json()["confirm_reduction"][0]
    assert "Web hosting: 38 → 1 licence" in refused.json()["confirm_reduction"][0]
    assert written() == before
    assert Offer.unscoped.get(pk=office_starter.pk).status == "awaiting_confirmation"

    # the preview, then the accept of exactly that
    preview = customer.post(
        f"{url}accept/", {"dry_run": True, "confirm_reduction": True}, format="json"
    )
    assert preview.status_code == 200, preview.json()
    figures = preview.json()
    assert written() == before
    # the unused paid days at the price paid (25 % tier): the 3 of 10 April for
    # 24 of their 30 days (16 April-9 May): round(22.32 x 24/30) = 17.86; the 34
    # of the 35 of 1 April for 15 of 30 days: round(260.40 / 2) - round(7.44 / 2)
    assert figures["credit"] == "144.34"  # 17.86 + 126.48
    assert (figures["amount_now"], figures["total"]) == ("0.00", "-144.34")
    assert figures["payer"] == "customer" and figures["reduces"] is True
    assert figures["lines"][0]["amount_now"] == "-144.34"
    assert figures["lines"][0]["renewal_amount"] == "9.92"

    accepted = customer.post(
        f"{url}accept/",
        {"confirm_reduction": True, "expected_total": figures["total"]},
        format="json",
    )

    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["status"] == "accepted"
    older.refresh_from_db()
    newer.refresh_from_db()
    # the newest went first: all 3 of its seats, so it ended; the older keeps 1,
    # priced at the tier 1 reaches (none: 9.92), and the term sets its last day
    assert newer.cancelled_at is not None and newer.status == "cancelled"
    assert older.quantity == 1 and older.unit_price == D("9.92")
    assert older.ends_on is not None
    live = Subscription.unscoped.filter(customer=world.customer, cancelled_at=None)
    assert sum(s.quantity for s in live) == 1
    # one credit order each, with its credit note to Müller (who paid)
    credits = Order.unscoped.filter(kind="credit").order_by("credited_amount")
    assert [c.credited_amount for c in credits] == [D("17.86"), D("126.48")]
    notes = Invoice.unscoped.filter(kind=Invoice.Kind.CREDIT_NOTE)
    assert notes.count() == 2 and {n.order.payer_tenant for n in notes} == {world.customer}
    assert str(Offer.unscoped.get(pk=office_starter.pk).order_id) == accepted.json()["order"]
    assert accepted.json()["order"] in {str(c.pk) for c in credits}
    # and the ledger says so, under those orders
    assert newer.changes.get(kind="cancel").order.kind == "credit"
    assert older.changes.get(kind="decrease").quantity_after == 1


def test_a_changed_amount_at_accept_is_a_409_with_the_new_figures(world, api, office_starter):
    customer = api(world.customer_owner, world.customer)
    before = written()

    response = customer.post(
        f"{OFFERS}{office_starter.pk}/accept/",
        {"confirm_reduction": True, "expected_total": "-100.00"},
        format="json",
    )

    assert response.status_code == 409
    body = response.json()
    assert "The amount changed since the preview" in body["detail"]
    assert body["preview"]["total"] == "-144.34"
    assert written() == before
    assert Offer.unscoped.get(pk=office_starter.pk).status == "awaiting_confirmation"


# --- one quantity, increases ---------------------------------------------------------------------


def test_a_relative_offer_adds_to_the_total_and_raises_the_newest(
    world, api, hosting, two_subscriptions
):
    older, newer = two_subscriptions
    offer = delivered(world, template_of(world, "One more", (hosting, 1, "relative")))
    customer = api(world.customer_owner, world.customer)

    seen = customer.get(f"{OFFERS}{offer.pk}/").json()

    assert seen["reduces"] is False
    (line,) = seen["effect"]
    assert line["text"] == "Web hosting: 38 → 39 licences"
    assert (line["change"], line["unit_price"]) == ("increase", "7.44")
    # one unit more on the newest (10 April-9 May: 24 of 30 days left), at the 25 % tier
    assert line["amount_now"] == "5.95"  # round(29.76 x 24/30) - round(22.32 x 24/30)
    assert line["renewal_amount"] == "290.16"  # 39 x 7.44

    accepted = customer.post(
        f"{OFFERS}{offer.pk}/accept/", {"expected_total": "5.95"}, format="json"
    )

    assert accepted.status_code == 200, accepted.json()
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.quantity, newer.quantity) == (35, 4)
    order = Order.unscoped.get(pk=accepted.json()["order"])
    assert (order.kind, order.charged_amount) == ("order", D("5.95"))
    assert newer.changes.get(kind="increase").order_id == order.pk


def test_the_customer_does_not_read_what_its_partner_pays(world, api, hosting, time_machine):
    time_machine.move_to(APRIL_16)
    grant(world, access="full", payment="partner")
    offer = delivered(world, template_of(world, "Pack", (hosting, 5, "absolute")))

    by_customer = api(world.customer_owner, world.customer).get(f"{OFFERS}{offer.pk}/").json()
    by_partner = api(world.partner_owner, world.partner).get(f"{OFFERS}{offer.pk}/").json()

    (line,) = by_customer["effect"]
    assert (line["text"], line["change"]) == ("Web hosting: 0 → 5 licences", "new")
    # its own figures: Alpine pays, so nothing is Müller's to pay, now or after
    assert line["amount_now"] == "0.00" and line["renewal_amount"] == "0.00"
    assert by_partner["effect"][0]["amount_now"] == "39.68"  # 5 x 9.92 less 20 %
    assert "39.68" not in str(by_customer)


def test_a_closed_offer_has_no_effect_any_more(world, api, office_starter):
    services.offer_cancel(org=partner_org(world), offer=office_starter)
    seen = api(world.partner_owner, world.partner).get(f"{OFFERS}{office_starter.pk}/").json()
    assert (seen["effect"], seen["reduces"]) == ([], False)


# --- the bulk send -------------------------------------------------------------------------------


@pytest.fixture
def book(world, template, mailbox):
    """Müller (limited to mailboxes: not the template's hostings), a suspended
    customer, one nobody can answer for, and one eligible."""
    grant(world, access="limited", products=[mailbox])
    suspended = managed_customer(world, "Ruhend AG")
    Tenant.objects.filter(pk=suspended.pk).update(status=Tenant.Status.SUSPENDED)
    nobody = managed_customer(world, "Niemand GmbH")
    Membership.unscoped.filter(tenant=nobody).delete()
    eligible = managed_customer(world, "Zahlt Gern SA")
    return [world.customer, suspended, nobody, eligible]


def test_a_bulk_send_sends_to_the_eligible_and_reports_the_others(world, api, template, book):
    body = {"template": str(template.pk), "customers": [str(c.pk) for c in book]}

    response = api(world.partner_owner, world.partner).post(OFFERS, body, format="json")

    assert response.status_code == 201, response.json()
    sent = response.json()
    assert sent["count"] == 1
    assert [o["customer"]["name"] for o in sent["offers"]] == ["Zahlt Gern SA"]
    assert sent["offers"][0]["effect"][0]["text"] == "Web hosting: 0 → 35 licences"
    assert sent["skipped"] == [
        {
            "customer": "Bäckerei Müller",
            "reason": "Your limited access does not include Web hosting.",
        },
        {"customer": "Ruhend AG", "reason": "This organization is suspended."},
        {
            "customer": "Niemand GmbH",
            "reason": "Nobody there can answer: it has no owner or admin.",
        },
    ]
    assert list(Offer.unscoped.values_list("customer__name", flat=True)) == ["Zahlt Gern SA"]


def test_all_or_nothing_refuses_the_whole_send(world, api, template, book):
    body = {
        "template": str(template.pk),
        "customers": [str(c.pk) for c in book],
        "all_or_nothing": True,
    }

    response = api(world.partner_owner, world.partner).post(OFFERS, body, format="json")

    assert response.status_code == 400
    assert response.json()["customers"] == [
        "Bäckerei Müller: Your limited access does not include Web hosting.",
        "Ruhend AG: This organization is suspended.",
        "Niemand GmbH: Nobody there can answer: it has no owner or admin.",
    ]
    assert not Offer.unscoped.exists() and not OfferBatch.unscoped.exists()


def test_one_customer_left_out_is_a_400_with_the_reason(world, api, template, book):
    body = {"template": str(template.pk), "customer": str(book[1].pk)}

    response = api(world.partner_owner, world.partner).post(OFFERS, body, format="json")

    assert response.status_code == 400
    assert response.json()["customers"] == ["Ruhend AG: This organization is suspended."]
    assert not Offer.unscoped.exists() and not OfferBatch.unscoped.exists()


def test_one_eligible_customer_is_answered_the_offer_itself(world, api, template, book):
    client = api(world.partner_owner, world.partner)

    response = client.post(
        OFFERS, {"template": str(template.pk), "customer": str(book[3].pk)}, format="json"
    )

    assert response.status_code == 201, response.json()
    offer = response.json()
    assert "skipped" not in offer and "batch" not in offer
    assert offer["customer"]["name"] == "Zahlt Gern SA"
    assert offer["effect"][0]["text"] == "Web hosting: 0 → 35 licences"
    assert offer == client.get(f"{OFFERS}{offer['id']}/").json()


def test_an_id_out_of_reach_refuses_the_send_like_a_missing_one(world, api, template, book):
    foreign = CustomerFactory(name="Fremd GmbH")
    MembershipFactory(tenant=foreign, role="owner")
    missing = "00000000-0000-4000-8000-000000000000"
    body = {"template": str(template.pk), "customers": [str(book[-1].pk), str(foreign.pk), missing]}

    response = api(world.partner_owner, world.partner).post(OFFERS, body, format="json")

    assert response.status_code == 400
    assert response.json()["customers"] == [
        f"{foreign.pk}: You do not manage this customer.",
        f"{missing}: You do not manage this customer.",
    ]
    assert not Offer.unscoped.exists()


def test_nobody_eligible_is_a_400_naming_each(world, api, template, book):
    body = {"template": str(template.pk), "customers": [str(c.pk) for c in book[:3]]}
    response = api(world.partner_owner, world.partner).post(OFFERS, body, format="json")
    assert response.status_code == 400
    assert len(response.json()["customers"]) == 3
    assert not Offer.unscoped.exists()


def test_an_offer_of_another_customer_cannot_be_accepted_or_previewed(world, api, office_starter):
    # an owner of another customer (of another partner)
    user = MembershipFactory(tenant=world.other_customer, role="owner").user
    other = api(user, world.other_customer)
    for body in ({}, {"dry_run": True}, {"confirm_reduction": True}):
        response = other.post(f"{OFFERS}{office_starter.pk}/accept/", body, format="json")
        assert response.status_code == 404
    assert Offer.unscoped.get(pk=office_starter.pk).status == "awaiting_confirmation"


# --- the pages ------------------------------------------------------------------------------------


def page_url(name: str, slug: str, **kwargs) -> str:
    return reverse(name, kwargs={"slug": slug, **kwargs})


def test_the_customer_card_shows_the_reduction_and_asks_to_confirm(
    world, browser, office_starter, two_subscriptions
):
    client = browser(world.customer_owner)
    offer_url = page_url("offer_detail", "mueller", offer_id=office_starter.pk)

    for page in (client.get(page_url("updates", "mueller")), client.get(offer_url)):
        html = page.content.decode()
        assert "Web hosting: 38 → 1 licence" in html
        assert "This offer lowers a quantity you have now." in html
        assert 'name="confirm_reduction" required' in html
        assert 'name="expected_total" value="-144.34"' in html

    before = written()
    unconfirmed = client.post(
        offer_url, {"action": "accept", "expected_total": "-144.34"}, follow=True
    )
    assert "confirm the reduction to accept it" in unconfirmed.content.decode()
    assert written() == before

    confirmed = client.post(
        offer_url,
        {"action": "accept", "expected_total": "-144.34", "confirm_reduction": "on"},
        follow=True,
    )
    assert "You accepted “Office starter”" in confirmed.content.decode()
    _older, newer = two_subscriptions
    newer.refresh_from_db()
    assert newer.cancelled_at is not None
    assert Invoice.unscoped.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 2


def test_the_send_page_previews_each_customer_and_names_the_left_out(
    world, browser, template, book
):
    client = browser(world.partner_owner)
    form = {"template": str(template.pk), "customers": [str(c.pk) for c in book]}

    preview = client.post(page_url("offer_send", "alpine"), {**form, "action": "preview"})

    html = preview.content.decode()
    assert preview.status_code == 200
    assert "1 customer would get the offer." in html
    assert "Zahlt Gern SA" in html and "Web hosting: 0 → 35 licences" in html
    assert "Ruhend AG: This organization is suspended." in html
    assert "Niemand GmbH: Nobody there can answer: it has no owner or admin." in html
    assert not Offer.unscoped.exists()

    sent = client.post(page_url("offer_send", "alpine"), {**form, "action": "send"}, follow=True)

    after = sent.content.decode()
    assert "Not sent to Ruhend AG: This organization is suspended." in after
    assert "Not sent to Bäckerei Müller: Your limited access does not include Web hosting." in after
    assert list(Offer.unscoped.values_list("customer__name", flat=True)) == ["Zahlt Gern SA"]

    refused = client.post(
        page_url("offer_send", "alpine"), {**form, "action": "send", "all_or_nothing": "on"}
    )
    assert refused.status_code == 400
    assert "Ruhend AG: This organization is suspended." in refused.content.decode()
    assert Offer.unscoped.count() == 1


def test_the_send_page_warns_of_a_reduction_before_sending(
    world, browser, hosting, two_subscriptions
):
    template = template_of(world, "Office starter", (hosting, 1, "absolute"))
    client = browser(world.partner_owner)

    preview = client.post(
        page_url("offer_send", "alpine"),
        {"template": str(template.pk), "customers": [str(world.customer.pk)], "action": "preview"},
    )

    html = preview.content.decode()
    assert "For 1 of them it lowers a quantity they have now." in html
    assert "Web hosting: 38 → 1 licence" in html
    assert "This offer lowers a quantity the customer has now." in html
    assert not Offer.unscoped.exists()
    assert Partnership.unscoped.count() == 1


def test_the_updates_list_carries_each_offers_effect(world, api, office_starter):
    body = api(world.customer_owner, world.customer).get("/api/v1/updates/").json()
    (offer,) = body["offers"]
    assert offer["reduces"] is True
    assert offer["effect"][0]["text"] == "Web hosting: 38 → 1 licence"
