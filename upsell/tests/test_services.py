"""Upsell (SPEC §5) through its selectors and services: the whole matrix of who
looks, upsell on or off, and where the Buy URL is set; the switch and its history;
clicks and looks counted for the partner; Ask my partner turned into an offer."""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.exceptions import Conflict
from offers.models import Offer
from offers.services import offer_accept, offers_deliver
from subscriptions.models import Subscription
from tenants.models import Branding, OutboundEmail
from tenants.selectors import org_context_for
from upsell import selectors, services
from upsell.models import FeatureInterest, UpgradeRequest, UpsellChange
from upsell.tests.conftest import MEMBER_TYPES

BUY_URL_PLACES = ["partner", "parent", "provider", "nowhere"]


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def switch(world, shop, enabled=True):
    return services.upsell_set(
        org=org(world.sub_partner_owner, world.sub_partner),
        customer_id=shop.customer.pk,
        enabled=enabled,
    )


def place_buy_url(world, where: str) -> str:
    tenant = {
        "partner": world.sub_partner,
        "parent": world.partner,
        "provider": world.provider,
    }.get(where)
    if tenant is None:
        return ""
    url = f"https://shop.{tenant.slug}.test/buy?ref=portal"
    Branding.unscoped.update_or_create(tenant=tenant, defaults={"buy_url": url})
    return url


@pytest.mark.parametrize("where", BUY_URL_PLACES)
@pytest.mark.parametrize("upsell_on", [True, False], ids=["upsell on", "upsell off"])
@pytest.mark.parametrize("member", list(MEMBER_TYPES))
def test_the_matrix_of_who_sees_what(world, shop, family, member, upsell_on, where):
    buy_url = place_buy_url(world, where)
    if upsell_on:
        switch(world, shop)

    (line,) = selectors.services_for(org=org(shop.members[member], shop.customer))

    have = [f.feature.code for f in line.features if f.available]
    locked = {f.feature.code: f for f in line.features if not f.available}
    assert have == ["file-backup"]
    if not upsell_on:
        assert locked == {}  # missing features are not shown at all
        return
    # each missing feature names the lowest edition that unlocks it
    assert {code: f.unlocked_by.code for code, f in locked.items()} == {
        "vulnerability-assessment": "protect-standard",
        "patch-management": "protect-advanced",
    }
    role, buyer = MEMBER_TYPES[member]
    for feature in locked.values():
        if role == "admin" and buyer and buy_url:
            assert feature.action["kind"] == "buy_now"
            url = feature.action["url"]
            assert url.startswith(buy_url.split("?")[0])
            query = parse_qs(urlsplit(url).query)
            assert query["ref"] == ["portal"]
            assert query["customer"] == [str(shop.customer.pk)]
            assert query["current_edition"] == ["backup-standard"]
            assert query["recommended_edition"] == [feature.unlocked_by.code]
            assert query["feature"] == [feature.feature.code]
        else:
            assert feature.action == {
                "kind": "contact_partner",
                "message": "To upgrade the edition, contact your partner",
            }
    # the contact is the managing partner, Lakeside, with its support contact
    assert line.contact.partner == world.sub_partner


def test_the_nearest_buy_url_wins(world, shop):
    place_buy_url(world, "provider")
    nearest = place_buy_url(world, "partner")
    switch(world, shop)
    (line,) = selectors.services_for(org=org(shop.members["admin, buyer"], shop.customer))
    assert all(
        f.action["url"].startswith(nearest.split("?")[0]) for f in line.features if not f.available
    )


def test_upsell_is_off_by_default_and_switched_by_partner_admins_with_history(world, shop):
    assert selectors.upsell_enabled(customer=shop.customer) is False
    with pytest.raises(Http404):  # another partner
        services.upsell_set(
            org=org(world.other_owner, world.other_partner),
            customer_id=shop.customer.pk,
            enabled=True,
        )
    switch(world, shop, True)
    switch(world, shop, True)  # no change, nothing recorded
    services.upsell_set(
        org=org(world.staff, world.sub_partner), customer_id=shop.customer.pk, enabled=False
    )
    history = list(selectors.upsell_history(customer=shop.customer))
    assert [(c.enabled, c.actor) for c in history] == [
        (False, world.staff),
        (True, world.sub_partner_owner),
    ]
    with pytest.raises(ValueError, match="cannot be edited"):
        history[0].save()


def test_a_collaborator_may_not_switch(world, shop):
    from partners.services import collaborators_set
    from tenants.tests.factories import MembershipFactory

    collaborator = MembershipFactory(tenant=world.sub_partner, role="collaborator").user
    collaborators_set(
        org=org(world.sub_partner_owner, world.sub_partner),
        customer=shop.customer,
        user_ids=[collaborator.id],
    )
    with pytest.raises(PermissionDenied):
        services.upsell_set(
            org=org(collaborator, world.sub_partner), customer_id=shop.customer.pk, enabled=True
        )
    assert not UpsellChange.unscoped.exists()


def test_looks_and_clicks_are_counted_for_the_partner(world, shop):
    place_buy_url(world, "provider")
    switch(world, shop)
    buyer = org(shop.members["admin, buyer"], shop.customer)
    subscription = Subscription.unscoped.get(customer=shop.customer)
    services.locked_feature_view(
        org=buyer, subscription_id=subscription.pk, feature_code="patch-management"
    )
    url = services.buy_now_click(
        org=buyer, subscription_id=subscription.pk, feature_code="patch-management"
    )
    assert url.startswith("https://shop.provider.test/buy?")
    # a member without Buy now cannot make a click count
    with pytest.raises(Http404):
        services.buy_now_click(
            org=org(shop.members["user, buyer"], shop.customer),
            subscription_id=subscription.pk,
            feature_code="patch-management",
        )
    insight = selectors.interest_for(
        org=org(world.sub_partner_owner, world.sub_partner), customer=shop.customer
    )
    assert [(i["feature"], i["viewed"], i["clicked"], i["asked"]) for i in insight] == [
        ("patch-management", 1, 1, 0)
    ]
    assert selectors.buy_clicks_by_partner(partner=world.sub_partner) == 1
    # other partners see nothing of it
    assert (
        selectors.interest_for(
            org=org(world.other_owner, world.other_partner), customer=shop.customer
        )
        == []
    )


def test_a_locked_feature_is_404_while_upsell_is_off(world, shop):
    subscription = Subscription.unscoped.get(customer=shop.customer)
    with pytest.raises(Http404):
        services.locked_feature_view(
            org=org(shop.members["admin, buyer"], shop.customer),
            subscription_id=subscription.pk,
            feature_code="patch-management",
        )
    assert not FeatureInterest.unscoped.exists()


def test_ask_my_partner_becomes_an_offer_in_one_click_and_upgrades_on_accept(
    world, shop, family, django_capture_on_commit_callbacks
):
    switch(world, shop)
    asker = org(shop.members["user, not a buyer"], shop.customer)
    subscription = Subscription.unscoped.get(customer=shop.customer)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.upgrade_request_create(
            org=asker, subscription_id=subscription.pk, feature_code="vulnerability-assessment"
        )
    again = services.upgrade_request_create(
        org=asker, subscription_id=subscription.pk, feature_code="vulnerability-assessment"
    )
    assert again.pk == request.pk
    assert (request.partner, request.recommended_product, request.quantity) == (
        world.sub_partner,
        family.protect,
        10,
    )
    assert OutboundEmail.objects.filter(
        to=world.sub_partner_owner.email, subject__contains="asks for Protect Standard"
    ).exists()
    partner = org(world.sub_partner_owner, world.sub_partner)
    assert list(selectors.upgrade_requests_for(org=partner)) == [request]

    services.upgrade_request_to_offer(org=partner, request=request)

    request.refresh_from_db()
    assert request.status == UpgradeRequest.Status.OFFERED
    offer = Offer.unscoped.get(pk=request.offer_id)
    assert [(i.product, i.quantity, i.license_mode, i.replaces) for i in offer.items.all()] == [
        (family.protect, 10, "absolute", family.standard)
    ]
    with pytest.raises(Conflict):
        services.upgrade_request_to_offer(org=partner, request=request)
    # the customer accepts: Protect Standard x 10, Backup Standard ends
    offers_deliver(offer_ids=[offer.pk])
    owner = shop.customer.memberships.get(role="owner").user
    offer_accept(org=org(owner, shop.customer), offer=Offer.unscoped.get(pk=offer.pk))
    subscription.refresh_from_db()
    assert subscription.ends_on is not None
    upgraded = Subscription.unscoped.get(customer=shop.customer, product=family.protect)
    assert upgraded.quantity == 10
    # The ledger tells the upgrade on both sides: the new edition under the
    # accepting order, the replaced one going to nothing from the day it no
    # longer serves under its credit order (its unused paid days given back).
    accepted = Offer.unscoped.get(pk=offer.pk)
    (ended,) = subscription.changes.exclude(kind="new")
    assert (ended.kind, ended.quantity_before, ended.quantity_after, ended.unit_price_after) == (
        "upgrade",
        subscription.quantity,
        0,
        Decimal("0.00"),
    )
    assert ended.order.kind == "credit" and ended.order.customer == shop.customer
    assert ended.effective_on == subscription.ends_on + datetime.timedelta(days=1)
    opened, term_end = upgraded.changes.order_by("effective_on")
    assert (opened.kind, opened.order_id) == ("new", accepted.order_id)
    # its term's last day is in the ledger too (MRR reads it): no order, nothing billed
    assert (term_end.kind, term_end.quantity_after, term_end.order_id) == ("cancel", 0, None)
    assert term_end.effective_on == upgraded.ends_on + datetime.timedelta(days=1)


def test_requests_of_another_partner_are_not_found(world, shop):
    switch(world, shop)
    subscription = Subscription.unscoped.get(customer=shop.customer)
    request = services.upgrade_request_create(
        org=org(shop.members["user, buyer"], shop.customer),
        subscription_id=subscription.pk,
        feature_code="patch-management",
    )
    with pytest.raises(Http404):
        selectors.upgrade_request_get(
            org=org(world.other_owner, world.other_partner), request_id=request.pk
        )
    with pytest.raises(Http404):
        services.upgrade_request_dismiss(
            org=org(world.other_owner, world.other_partner), request=request
        )
