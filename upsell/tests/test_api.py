"""The upsell API (API.md `services/`, `customers/{id}/upsell/`, `upsell/requests/`;
SPEC §5): the whole matrix of who looks, upsell on or off and where the Buy URL
is set, read through `GET services/`; the partner's switch and its history;
what the partner sees of its customers' interest; Ask my partner turned into an
offer in one click; the buyer flag and the Buy URL set through their own
endpoints; and the 403/404/409 of API.md."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from offers.models import Offer
from partners.services import collaborators_set
from subscriptions.models import Subscription
from tenants.models import Role
from tenants.selectors import org_context_for
from tenants.tests.factories import CustomerFactory, MembershipFactory
from tests.isolation import assert_all_404, missing_id
from upsell import services
from upsell.models import FeatureInterest, UpgradeRequest, UpsellChange
from upsell.tests.conftest import MEMBER_TYPES, ordered
from upsell.tests.test_services import BUY_URL_PLACES, place_buy_url

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"
REQUESTS = "/api/v1/upsell/requests/"
CONTACT_PARTNER = {
    "kind": "contact_partner",
    "message": "To upgrade the edition, contact your partner",
}
FILE_BACKUP = {
    "code": "file-backup",
    "name": "File backup",
    "available": True,
    "unlocked_by": None,
    "action": None,
}


# --- helpers ------------------------------------------------------------------------------


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def upsell_url(customer_id) -> str:
    return f"/api/v1/customers/{customer_id}/upsell/"


def interest_url(customer_id) -> str:
    return f"/api/v1/customers/{customer_id}/upsell/interest/"


def ask_url(subscription_id, feature_code: str) -> str:
    return f"{SERVICES}{subscription_id}/features/{feature_code}/ask/"


def subscription_of(shop) -> Subscription:
    return Subscription.unscoped.get(customer=shop.customer)


def as_lakeside(api, world):
    """The owner of Lakeside, the partner managing the shop."""
    return api(world.sub_partner_owner, world.sub_partner)


def switch_on(api, world, shop) -> None:
    response = as_lakeside(api, world).put(upsell_url(shop.customer.pk), {"enabled": True})
    assert response.status_code == 200, response.json()


def locked_features(body: dict) -> dict:
    (service,) = body["services"]
    return {f["code"]: f for f in service["features"] if not f["available"]}


def shop_owner(shop):
    return shop.customer.memberships.get(role=Role.OWNER).user


def add_subscriptions(shop, family, count: int) -> None:
    editions = [family.standard, family.protect, family.advanced]
    for n in range(count):
        ordered(shop.customer, editions[n % 3], n + 1)


# --- GET services/: the matrix ------------------------------------------------------------


@pytest.mark.parametrize("where", BUY_URL_PLACES)
@pytest.mark.parametrize("upsell_on", [True, False], ids=["upsell on", "upsell off"])
@pytest.mark.parametrize("member", list(MEMBER_TYPES))
def test_services_show_each_member_type_its_action(api, world, shop, member, upsell_on, where):
    # given a Buy URL on Lakeside, Alpine IT, the provider or nowhere, and upsell on or off
    buy_url = place_buy_url(world, where)
    if upsell_on:
        switch_on(api, world, shop)

    # when a member of Seeblick opens its Services
    response = api(shop.members[member], shop.customer).get(SERVICES)

    # then Backup Standard x 10 is listed with the feature it has
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["customer"], body["upsell_enabled"]) == (str(shop.customer.pk), upsell_on)
    (service,) = body["services"]
    assert service["subscription"] == str(subscription_of(shop).pk)
    assert service["product"] == {
        "code": "backup-standard",
        "name": "Backup Standard",
        "family": "backup",
        "edition_rank": 1,
    }
    assert service["quantity"] == 10
    assert service["features"][0] == FILE_BACKUP
    if not upsell_on:
        # missing features are not shown at all
        assert service["features"] == [FILE_BACKUP]
        assert service["contact"] is None
        return
    # each missing feature is tagged with the lowest edition that unlocks it
    locked = locked_features(body)
    assert [f["code"] for f in service["features"]] == [
        "file-backup",
        "patch-management",
        "vulnerability-assessment",
    ]
    assert {code: f["unlocked_by"] for code, f in locked.items()} == {
        "vulnerability-assessment": "protect-standard",
        "patch-management": "protect-advanced",
    }
    role, buyer = MEMBER_TYPES[member]
    for code, feature in locked.items():
        if role == Role.ADMIN and buyer and buy_url:
            # Buy now, to the nearest Buy URL with what the shop needs to know
            assert set(feature["action"]) == {"kind", "url"}
            assert feature["action"]["kind"] == "buy_now"
            url = feature["action"]["url"]
            assert url.startswith(buy_url.split("?")[0] + "?")
            assert parse_qs(urlsplit(url).query) == {
                "ref": ["portal"],
                "customer": [str(shop.customer.pk)],
                "current_edition": ["backup-standard"],
                "recommended_edition": [feature["unlocked_by"]],
                "feature": [code],
            }
        else:
            assert feature["action"] == CONTACT_PARTNER
    # the partner to contact is Lakeside, which manages the product
    assert service["contact"] == {
        "partner": str(world.sub_partner.pk),
        "name": "Lakeside",
        "support_email": "",
        "support_phone": "",
    }


@pytest.mark.parametrize("upsell_on", [True, False], ids=["upsell on", "upsell off"])
def test_services_queries_do_not_grow_with_subscriptions(
    api, world, shop, family, upsell_on, django_assert_max_num_queries
):
    # given a buyer of Seeblick with one subscription of the backup family
    place_buy_url(world, "provider")
    if upsell_on:
        switch_on(api, world, shop)
    client = api(shop.members["admin, buyer"], shop.customer)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(SERVICES).json()["services"]) == 1

    # when it has ten, of all three editions
    add_subscriptions(shop, family, 9)

    # then its Services cost no more queries
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(SERVICES)
    services_listed = response.json()["services"]
    # one service per product (API.md rev. 2), its units summed
    assert [
        (s["product"]["code"], s["quantity"], len(s["subscriptions"])) for s in services_listed
    ] == [
        ("backup-standard", 10 + 1 + 4 + 7, 4),
        ("protect-standard", 2 + 5 + 8, 3),
        ("protect-advanced", 3 + 6 + 9, 3),
    ]
    if upsell_on:
        advanced = [s for s in services_listed if s["product"]["code"] == "protect-advanced"]
        assert advanced and all(f["available"] for s in advanced for f in s["features"])


def test_several_subscriptions_of_a_product_are_one_service(api, world, shop, family):
    first = subscription_of(shop)
    second = ordered(shop.customer, family.standard, 5)
    switch_on(api, world, shop)
    client = api(shop.members["admin, not a buyer"], shop.customer)

    body = client.get(SERVICES).json()

    (service,) = body["services"]
    assert service["subscription"] == str(first.pk)  # the oldest names the service
    assert service["subscriptions"] == [str(first.pk), str(second.pk)]
    assert service["quantity"] == 15
    assert [f["code"] for f in service["features"]].count("file-backup") == 1
    # any of its subscriptions names it: asking through the second is the same request
    asked = client.post(ask_url(second.pk, "patch-management"))
    assert asked.status_code == 201, asked.json()
    assert asked.json()["quantity"] == 15
    again = client.post(ask_url(first.pk, "patch-management"))
    assert (again.status_code, again.json()["id"]) == (200, asked.json()["id"])
    assert UpgradeRequest.unscoped.count() == 1


def test_services_are_for_customer_members_only(api, world, shop):
    # a partner organization has no Services: the 404 of a missing page
    response = as_lakeside(api, world).get(SERVICES)
    assert response.status_code == 404
    assert api().get(SERVICES).status_code in (401, 403)


def test_a_direct_customer_is_told_to_contact_the_provider(api, world, family):
    # given a customer no partner manages, upsell switched on by staff
    customer = CustomerFactory(name="Direct AG", parent=None, slug="direct")
    member = MembershipFactory(tenant=customer, role=Role.USER).user
    ordered(customer, family.standard, 3)
    services.upsell_set(org=org(world.staff, customer), customer_id=customer.pk, enabled=True)
    client = api(member, customer)

    # when its member reads Services and asks for a locked feature
    body = client.get(SERVICES).json()
    asked = client.post(ask_url(body["services"][0]["subscription"], "patch-management"))

    # then there is no partner to contact, and asking is a 400
    assert body["services"][0]["contact"]["partner"] is None
    assert locked_features(body)["patch-management"]["action"] == CONTACT_PARTNER
    assert asked.status_code == 400
    assert set(asked.json()) == {"feature"}
    assert not UpgradeRequest.unscoped.exists()


# --- the buyer flag and the Buy URL, through their own endpoints ---------------------------


def test_an_owner_making_an_admin_a_buyer_turns_contact_into_buy_now(api, world, shop):
    # given upsell on and a Buy URL on Alpine IT, and an admin who is not a buyer
    place_buy_url(world, "parent")
    switch_on(api, world, shop)
    admin = shop.members["admin, not a buyer"]
    as_admin = api(admin, shop.customer)
    before = locked_features(as_admin.get(SERVICES).json())
    assert {f["action"]["kind"] for f in before.values()} == {"contact_partner"}

    # when Seeblick's owner makes the admin a buyer
    membership = shop.customer.memberships.get(user=admin)
    owner = api(shop_owner(shop), shop.customer)
    patched = owner.patch(f"/api/v1/members/{membership.pk}/", {"buyer": True})
    assert patched.status_code == 200, patched.json()
    assert patched.json()["buyer"] is True

    # then the admin gets Buy now, to Alpine IT's shop
    after = locked_features(as_admin.get(SERVICES).json())
    assert {f["action"]["kind"] for f in after.values()} == {"buy_now"}
    assert all(
        f["action"]["url"].startswith("https://shop.alpine.test/buy?") for f in after.values()
    )


def test_the_buy_url_is_https_and_inherited_from_the_nearest_ancestor(api, world, shop):
    lakeside = as_lakeside(api, world)
    # a Buy URL that is not https is refused
    refused = lakeside.put("/api/v1/organization/branding/", {"buy_url": "http://lakeside.test/"})
    assert refused.status_code == 400
    assert set(refused.json()) == {"buy_url"}

    customer = api(shop_owner(shop), shop.customer)

    def effective_buy_url() -> str:
        response = customer.get("/api/v1/organization/branding/")
        assert response.status_code == 200
        assert response.json()["buy_url"] == ""  # the customer's own: none
        return response.json()["effective"]["buy_url"]

    assert effective_buy_url() == ""
    # set on the provider (by staff), then on Alpine IT, then on Lakeside: the nearest wins
    for client, url in [
        (api(world.staff, world.provider), "https://provider.test/buy"),
        (api(world.partner_owner, world.partner), "https://alpine.test/buy"),
        (lakeside, "https://lakeside.test/buy"),
    ]:
        response = client.put("/api/v1/organization/branding/", {"buy_url": url})
        assert response.status_code == 200, response.json()
        assert effective_buy_url() == url
    # and the Buy now of a buyer goes there
    switch_on(api, world, shop)
    buyer = api(shop.members["admin, buyer"], shop.customer)
    locked = locked_features(buyer.get(SERVICES).json())
    assert all(f["action"]["url"].startswith("https://lakeside.test/buy?") for f in locked.values())


# --- the partner's switch -----------------------------------------------------------------


def test_upsell_is_off_by_default_and_switched_by_partner_admins_and_staff(api, world, shop):
    url = upsell_url(shop.customer.pk)
    # off by default, never switched
    response = as_lakeside(api, world).get(url)
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "customer": str(shop.customer.pk),
        "enabled": False,
        "updated_at": None,
        "updated_by": None,
        "history": [],
    }

    # the owner switches it on, an admin off, staff acting in Lakeside on again
    admin = MembershipFactory(tenant=world.sub_partner, role=Role.ADMIN).user
    for client, enabled in [
        (as_lakeside(api, world), True),
        (api(admin, world.sub_partner), False),
        (api(world.staff, world.sub_partner), True),
    ]:
        response = client.put(url, {"enabled": enabled})
        assert response.status_code == 200, response.json()
        assert response.json()["enabled"] is enabled

    # switching to the state it has records nothing
    assert as_lakeside(api, world).put(url, {"enabled": True}).status_code == 200

    body = as_lakeside(api, world).get(url).json()
    assert body["enabled"] is True
    assert body["updated_by"] == world.staff.email
    assert [(c["enabled"], c["actor"]) for c in body["history"]] == [
        (True, world.staff.email),
        (False, admin.email),
        (True, world.sub_partner_owner.email),
    ]
    ats = [datetime.datetime.fromisoformat(c["at"]) for c in body["history"]]
    assert ats == sorted(ats, reverse=True)
    updated_at = datetime.datetime.fromisoformat(body["updated_at"])
    assert abs(updated_at - ats[0]) < datetime.timedelta(seconds=1)
    assert UpsellChange.unscoped.filter(customer=shop.customer).count() == 3
    # and the customer's Services follow
    services_body = api(shop.members["user, buyer"], shop.customer).get(SERVICES).json()
    assert services_body["upsell_enabled"] is True


def test_a_collaborator_and_a_customer_member_may_not_switch(api, world, shop):
    url = upsell_url(shop.customer.pk)
    collaborator = MembershipFactory(tenant=world.sub_partner, role=Role.COLLABORATOR).user
    collaborators_set(
        org=org(world.sub_partner_owner, world.sub_partner),
        customer=shop.customer,
        user_ids=[collaborator.id],
    )
    as_collaborator = api(collaborator, world.sub_partner)

    # the assigned collaborator reads the switch but may not set it
    assert as_collaborator.get(url).status_code == 200
    assert as_collaborator.put(url, {"enabled": True}).status_code == 403
    # neither may the customer's own owner, nor read it
    as_owner = api(shop_owner(shop), shop.customer)
    assert as_owner.put(url, {"enabled": True}).status_code == 403
    assert as_owner.get(url).status_code == 403
    assert as_owner.get(interest_url(shop.customer.pk)).status_code == 403
    # a bad body is a 400
    bad = as_lakeside(api, world).put(url, {"enabled": "perhaps"})
    assert bad.status_code == 400 and set(bad.json()) == {"enabled"}
    assert not UpsellChange.unscoped.exists()
    assert (
        api(shop.members["user, buyer"], shop.customer).get(SERVICES).json()["upsell_enabled"]
        is False
    )


# --- interest -------------------------------------------------------------------------------


def test_the_partner_sees_looks_clicks_and_requests(api, world, shop):
    # given upsell on and a Buy URL on the provider
    place_buy_url(world, "provider")
    switch_on(api, world, shop)
    subscription = subscription_of(shop)
    buyer = org(shop.members["admin, buyer"], shop.customer)

    # when a buyer looks at Patch management twice and clicks Buy now,
    # and a user asks for Vulnerability assessment
    for _ in range(2):
        services.locked_feature_view(
            org=buyer, subscription_id=subscription.pk, feature_code="patch-management"
        )
    services.buy_now_click(
        org=buyer, subscription_id=subscription.pk, feature_code="patch-management"
    )
    asker = api(shop.members["user, not a buyer"], shop.customer)
    assert asker.post(ask_url(subscription.pk, "vulnerability-assessment")).status_code == 201

    # then Lakeside reads it per feature
    response = as_lakeside(api, world).get(interest_url(shop.customer.pk))
    assert response.status_code == 200, response.json()
    rows = response.json()
    assert [
        (r["feature"], r["feature_name"], r["recommended"], r["viewed"], r["clicked"], r["asked"])
        for r in rows
    ] == [
        ("patch-management", "Patch management", "Protect Advanced", 2, 1, 0),
        ("vulnerability-assessment", "Vulnerability assessment", "Protect Standard", 0, 0, 1),
    ]
    latest = FeatureInterest.unscoped.filter(feature__code="patch-management").latest("at")
    assert datetime.datetime.fromisoformat(rows[0]["last"]) == latest.at


# --- Ask my partner -------------------------------------------------------------------------


def test_ask_my_partner_becomes_an_offer_in_one_click(
    api, world, shop, family, django_capture_on_commit_callbacks
):
    # given upsell on and a member who may not buy
    switch_on(api, world, shop)
    subscription = subscription_of(shop)
    asker = api(shop.members["user, not a buyer"], shop.customer)
    url = ask_url(subscription.pk, "vulnerability-assessment")

    # when the member asks, then asks again
    with django_capture_on_commit_callbacks(execute=True):
        first = asker.post(url)
    again = asker.post(url)

    # then one request is open for Protect Standard x 10, to Lakeside
    assert first.status_code == 201, first.json()
    body = first.json()
    assert {k: body[k] for k in body if k not in ("id", "created_at")} == {
        "status": "open",
        "customer": str(shop.customer.pk),
        "customer_name": "Hotel Seeblick",
        "partner": str(world.sub_partner.pk),
        "requested_by": shop.members["user, not a buyer"].email,
        "feature": "vulnerability-assessment",
        "feature_name": "Vulnerability assessment",
        "subscription": str(subscription.pk),
        "current_product": "backup-standard",
        "recommended_product": "protect-standard",
        "quantity": 10,
        "offer": None,
        "closed_at": None,
    }
    assert body["created_at"]
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]

    # and Lakeside lists it, filtered by status
    lakeside = as_lakeside(api, world)
    listed = lakeside.get(REQUESTS).json()
    assert listed["count"] == 1 and [r["id"] for r in listed["results"]] == [body["id"]]
    assert lakeside.get(REQUESTS, {"status": "offered"}).json()["count"] == 0
    assert lakeside.get(REQUESTS, {"status": "open"}).json()["count"] == 1
    assert lakeside.get(REQUESTS, {"status": "later"}).status_code == 400

    # when Lakeside turns it into an offer in one click
    offered = lakeside.post(f"{REQUESTS}{body['id']}/offer/")

    # then the request is offered, with the offer of Protect Standard x 10
    assert offered.status_code == 200, offered.json()
    assert offered.json()["status"] == "offered"
    assert offered.json()["closed_at"] is not None
    offer = Offer.unscoped.get(pk=offered.json()["offer"])
    assert (offer.customer, offer.partner) == (shop.customer, world.sub_partner)
    assert [(i.product, i.quantity, i.replaces) for i in offer.items.all()] == [
        (family.protect, 10, family.standard)
    ]
    assert lakeside.get(REQUESTS, {"status": "offered"}).json()["count"] == 1
    assert lakeside.get(f"{REQUESTS}{body['id']}/").json()["offer"] == str(offer.pk)

    # and answering a second time is a 409, with nothing more sent
    for answer in ("offer", "dismiss"):
        response = lakeside.post(f"{REQUESTS}{body['id']}/{answer}/")
        assert response.status_code == 409
        assert response.json() == {"detail": "This request was already answered."}
    assert Offer.unscoped.count() == 1

    # asking again after the offer opens a new request
    assert asker.post(url).status_code == 201


def test_a_request_can_be_dismissed_once(api, world, shop):
    switch_on(api, world, shop)
    asker = api(shop.members["admin, buyer"], shop.customer)
    request_id = asker.post(ask_url(subscription_of(shop).pk, "patch-management")).json()["id"]
    lakeside = as_lakeside(api, world)

    dismissed = lakeside.post(f"{REQUESTS}{request_id}/dismiss/")

    assert dismissed.status_code == 200, dismissed.json()
    assert (dismissed.json()["status"], dismissed.json()["offer"]) == ("dismissed", None)
    assert lakeside.post(f"{REQUESTS}{request_id}/dismiss/").status_code == 409
    assert lakeside.post(f"{REQUESTS}{request_id}/offer/").status_code == 409
    assert not Offer.unscoped.exists()


def test_only_locked_features_the_caller_sees_may_be_asked_for(api, world, shop):
    subscription = subscription_of(shop)
    asker = api(shop.members["user, buyer"], shop.customer)
    missing = asker.post(ask_url(missing_id(), "patch-management"))
    assert missing.status_code == 404
    # upsell off: the locked feature is not shown, so not found either
    off = asker.post(ask_url(subscription.pk, "patch-management"))
    assert (off.status_code, off.json()) == (404, missing.json())
    switch_on(api, world, shop)
    # a feature the edition has, an unknown one, a malformed subscription id
    for url in [
        ask_url(subscription.pk, "file-backup"),
        ask_url(subscription.pk, "time-travel"),
        ask_url("not-an-id", "patch-management"),
    ]:
        response = asker.post(url)
        assert (response.status_code, response.json()) == (404, missing.json()), url
    assert not UpgradeRequest.unscoped.exists()


def test_requests_are_for_the_partner_s_members(api, world, shop):
    switch_on(api, world, shop)
    asker = api(shop.members["user, buyer"], shop.customer)
    request_id = asker.post(ask_url(subscription_of(shop).pk, "patch-management")).json()["id"]
    # a collaborator of Lakeside sees only its assigned customers' requests
    collaborator = MembershipFactory(tenant=world.sub_partner, role=Role.COLLABORATOR).user
    as_collaborator = api(collaborator, world.sub_partner)
    assert as_collaborator.get(REQUESTS).json()["count"] == 0
    assert as_collaborator.get(f"{REQUESTS}{request_id}/").status_code == 404
    collaborators_set(
        org=org(world.sub_partner_owner, world.sub_partner),
        customer=shop.customer,
        user_ids=[collaborator.id],
    )
    assert as_collaborator.get(REQUESTS).json()["count"] == 1
    # a customer has no requests list
    assert asker.get(REQUESTS).status_code == 404


# --- isolation ------------------------------------------------------------------------------


def test_another_organization_s_objects_are_not_found(api, world, shop):
    # given an open request of Seeblick to Lakeside
    switch_on(api, world, shop)
    subscription = subscription_of(shop)
    asker = api(shop.members["user, buyer"], shop.customer)
    request_id = asker.post(ask_url(subscription.pk, "patch-management")).json()["id"]

    # another partner (and Lakeside's own parent, Alpine IT) reach no customer of Lakeside's
    for client in [
        api(world.other_owner, world.other_partner),
        api(world.partner_owner, world.partner),
    ]:
        for url in [upsell_url, interest_url]:
            foreign = client.get(url(shop.customer.pk))
            missing = client.get(url(missing_id()))
            assert foreign.status_code == 404
            assert foreign.json() == missing.json()
        foreign = client.put(upsell_url(shop.customer.pk), {"enabled": False})
        missing = client.put(upsell_url(missing_id()), {"enabled": False})
        assert (foreign.status_code, foreign.json()) == (404, missing.json())
        # nor its requests
        for answer in ("", "offer/", "dismiss/"):
            method = client.get if not answer else client.post
            foreign = method(f"{REQUESTS}{request_id}/{answer}")
            missing = method(f"{REQUESTS}{missing_id()}/{answer}")
            assert foreign.status_code == 404
            assert foreign.json() == missing.json()
        assert client.get(REQUESTS).json()["count"] == 0
    assert_all_404(
        api(world.other_owner, world.other_partner),
        [upsell_url(shop.customer.pk), interest_url(shop.customer.pk), f"{REQUESTS}{request_id}/"],
        methods=("get",),
    )

    # another customer's member may not ask about Seeblick's subscription
    other = api(world.other_customer_owner, world.other_customer)
    foreign = other.post(ask_url(subscription.pk, "vulnerability-assessment"))
    missing = other.post(ask_url(missing_id(), "vulnerability-assessment"))
    assert foreign.status_code == 404
    assert foreign.json() == missing.json()
    assert other.get(SERVICES).json()["services"] == []

    # and nothing changed
    assert UpgradeRequest.unscoped.get().status == UpgradeRequest.Status.OPEN
    assert UpsellChange.unscoped.filter(customer=shop.customer).count() == 1
