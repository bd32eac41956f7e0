"""The offers API (API.md `offer-templates/`, `offers/`, `updates/`; SPEC §6):
templates and their items, sending to one customer or many, the customer's
answer, the partner's cancel and retry, the 409 of every forbidden transition,
what the customer may not read, and the 400/403/404 of API.md."""

import datetime
import uuid
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Order
from catalog.tests.factories import ProductFactory
from offers import api as offers_api
from offers import services
from offers.models import Offer, OfferBatch, OfferTemplate, TemplateItem
from offers.tests.conftest import grant, org
from partners.models import Partnership
from subscriptions.models import Subscription
from subscriptions.services import subscription_build
from tenants.tests.factories import CustomerFactory, MembershipFactory
from tests.isolation import missing_id

pytestmark = pytest.mark.django_db

D = Decimal
Status = Offer.Status

TEMPLATES = "/api/v1/offer-templates/"
OFFERS = "/api/v1/offers/"
BATCHES = "/api/v1/offers/batches/"
UPDATES = "/api/v1/updates/"

ITEM_MARGIN = ("after_partner_discount", "preferential_amount", "cashback", "cashback_amount")


# --- helpers ------------------------------------------------------------------------------


def as_partner(api, world, user=None):
    return api(user or world.partner_owner, world.partner)


def as_customer(api, world, user=None):
    return api(user or world.customer_owner, world.customer)


def send_body(template, *customers, message="Hello from Alpine IT") -> dict:
    ids = [str(c.pk) for c in customers]
    body = {"template": str(template.pk), "message": message}
    if len(ids) == 1:
        body["customer"] = ids[0]
    else:
        body["customers"] = ids
    return body


def delivered(world, template, customer=None) -> Offer:
    """An offer sent through the service and delivered (as the task would)."""
    batch = services.offer_send(
        org=org(world.partner_owner, world.partner),
        template=template,
        customer_ids=[(customer or world.customer).pk],
        message="Hello from Alpine IT",
    )
    offer = batch.offers.get()
    assert services.offer_deliver(offer_id=offer.pk) is True
    offer.refresh_from_db()
    return offer


def managed_customer(world, name: str, payment: str = "customer"):
    """Another customer of Alpine IT, with an owner and an active full grant."""
    customer = CustomerFactory(name=name, parent=world.partner)
    MembershipFactory(tenant=customer, role="owner")
    Partnership.unscoped.create(
        partner=world.partner,
        customer=customer,
        access="full",
        payment=payment,
        status="active",
        initiated_by="partner",
        activated_at=timezone.now(),
    )
    return customer


@pytest.fixture
def backup(db):
    return ProductFactory(code="backup", name="Online backup", prices={"CHF": "6.00"})


# --- templates ----------------------------------------------------------------------------


def test_a_partner_member_keeps_templates(world, api):
    # given a collaborator of Alpine IT (any member keeps templates)
    client = as_partner(api, world, world.collaborator)

    # when it creates, renames and reads a template
    created = client.post(TEMPLATES, {"name": "Growth pack"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["name"] == "Growth pack" and body["items"] == []
    assert set(body) == {"id", "name", "items", "created_at", "updated_at"}
    url = f"{TEMPLATES}{body['id']}/"
    renamed = client.patch(url, {"name": "Growth pack 2025"})
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["name"] == "Growth pack 2025"

    # then the list shows it, and deleting it removes it
    listed = client.get(TEMPLATES).json()
    assert [t["name"] for t in listed["results"]] == ["Growth pack 2025"]
    assert listed["count"] == 1
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert not OfferTemplate.unscoped.exists()


def test_a_template_name_is_unique_and_required(world, api, template):
    client = as_partner(api, world)
    duplicate = client.post(TEMPLATES, {"name": "Starter pack"})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"name": ["You already have a template with this name."]}
    blank = client.post(TEMPLATES, {"name": "  "})
    assert blank.status_code == 400 and "name" in blank.json()
    other = client.post(TEMPLATES, {"name": "Other"}).json()
    clash = client.patch(f"{TEMPLATES}{other['id']}/", {"name": "Starter pack"})
    assert clash.status_code == 400 and "name" in clash.json()
    assert sorted(OfferTemplate.unscoped.values_list("name", flat=True)) == [
        "Other",
        "Starter pack",
    ]


def test_items_are_added_and_removed_one_by_one(world, api, template, backup):
    client = as_partner(api, world)
    url = f"{TEMPLATES}{template.pk}/"

    added = client.post(
        f"{url}items/",
        {"product": "backup", "quantity": 2, "license_mode": "relative", "term_months": 6},
    )

    assert added.status_code == 201, added.json()
    item = added.json()
    assert item == {
        "id": item["id"],
        "product": "backup",
        "quantity": 2,
        "license_mode": "relative",
        "term_months": 6,
    }
    items = client.get(url).json()["items"]
    assert [(i["product"], i["quantity"], i["license_mode"]) for i in items] == [
        ("web-hosting", 35, "absolute"),
        ("mailbox", 5, "relative"),
        ("backup", 2, "relative"),
    ]
    removed = client.delete(f"{url}items/{item['id']}/")
    assert removed.status_code == 204
    assert [i["product"] for i in client.get(url).json()["items"]] == ["web-hosting", "mailbox"]
    assert client.delete(f"{url}items/{item['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"product": "no-such-product"}, "product"),
        ({"product": "web-hosting"}, "product"),  # already in the template
        ({"license_mode": "sideways"}, "license_mode"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": 121}, "term_months"),
    ],
)
def test_a_bad_item_is_a_400_on_its_field_and_writes_nothing(
    world, api, template, backup, change, field
):
    body = {"product": "backup", "quantity": 2, "license_mode": "relative", "term_months": 6}
    response = as_partner(api, world).post(f"{TEMPLATES}{template.pk}/items/", {**body, **change})
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert TemplateItem.unscoped.count() == 2


def test_a_duplicate_item_names_the_product(world, api, template):
    response = as_partner(api, world).post(
        f"{TEMPLATES}{template.pk}/items/",
        {"product": "web-hosting", "quantity": 1, "license_mode": "absolute", "term_months": 1},
    )
    assert response.json() == {"product": ["Web hosting is already in this template."]}


def test_templates_are_not_there_for_customers(world, api, template):
    for user in (world.customer_owner, world.customer_user):
        client = as_customer(api, world, user)
        assert client.get(TEMPLATES).status_code == 404
        assert client.post(TEMPLATES, {"name": "Mine"}).status_code == 404
    assert OfferTemplate.unscoped.count() == 1


# --- sending ------------------------------------------------------------------------------


def test_sending_to_one_customer(world, api, template, django_capture_on_commit_callbacks):
    grant(world, access="full", payment="customer")
    client = as_partner(api, world)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(OFFERS, send_body(template, world.customer))

    assert response.status_code == 201, response.json()
    # API.md rev. 2: one `customer` answers the offer itself, as GET returns it
    offer = response.json()
    assert offer == client.get(f"{OFFERS}{offer['id']}/").json()
    assert Offer.unscoped.get().batch == OfferBatch.unscoped.get()
    # answered before the delivery task ran on commit: still waiting
    assert offer["status"] == "waiting"
    assert offer["customer"] == {"id": str(world.customer.pk), "name": "Bäckerei Müller"}
    assert offer["partner"] == {"id": str(world.partner.pk), "name": "Alpine IT"}
    assert (offer["template_name"], offer["message"]) == ("Starter pack", "Hello from Alpine IT")
    assert (offer["currency"], offer["payer"]) == ("CHF", "customer")
    assert (offer["charged"], offer["public_amount"]) == ("280.40", "280.40")
    assert offer["charged_amount"] == offer["charged"]  # rev. 1's name, deprecated
    assert offer["order"] is None and offer["delivered_at"] is None
    hosting = offer["items"][0]
    assert hosting == {
        "product": "web-hosting",
        "quantity": 35,
        "license_mode": "absolute",
        "term_months": 12,
        "list_amount": "347.20",
        "after_partner_discount": "277.76",
        "preferential_amount": "208.32",
        "public_amount": "260.40",
        "charged": "260.40",
        "cashback": "52.08",
        "charged_amount": "260.40",
        "cashback_amount": "52.08",
    }
    for callback in callbacks:
        callback()
    # the delivery ran on commit: the customer now has it to answer
    seen = as_customer(api, world).get(f"{OFFERS}{offer['id']}/").json()
    assert seen["status"] == "awaiting_confirmation"
    assert seen["delivered_at"] is not None and seen["expires_at"] is not None


def test_sending_to_many_customers_is_one_batch(world, api, template):
    grant(world, access="full", payment="customer")
    others = [managed_customer(world, f"Kunde {n}") for n in range(3)]
    client = as_partner(api, world)

    response = client.post(OFFERS, send_body(template, world.customer, *others, message=""))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["count"] == 4
    assert sorted(o["customer"]["name"] for o in body["offers"]) == [
        "Bäckerei Müller",
        "Kunde 0",
        "Kunde 1",
        "Kunde 2",
    ]
    assert Offer.unscoped.filter(batch_id=body["batch"], status=Status.WAITING).count() == 4
    progress = client.get(f"{BATCHES}{body['batch']}/")
    assert progress.status_code == 200
    assert progress.json() == {
        "id": body["batch"],
        "template_name": "Starter pack",
        "created_at": progress.json()["created_at"],
        "progress": {
            "waiting": 4,
            "awaiting_confirmation": 0,
            "accepted": 0,
            "declined": 0,
            "cancelled": 0,
            "failed": 0,
            "expired": 0,
            "total": 4,
        },
    }
    listed = client.get(OFFERS, {"batch": body["batch"]}).json()
    assert listed["count"] == 4


def test_a_large_send_answers_with_the_count_and_the_batch_only(world, api, template, monkeypatch):
    monkeypatch.setattr(offers_api, "OFFERS_LISTED_MAX", 2)
    grant(world, access="full", payment="customer")
    others = [managed_customer(world, f"Kunde {n}") for n in range(2)]

    response = as_partner(api, world).post(OFFERS, send_body(template, world.customer, *others))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["count"], body["offers"]) == (3, [])
    assert body["progress"].endswith(f"{BATCHES}{body['batch']}/")
    assert Offer.unscoped.filter(batch_id=body["batch"]).count() == 3


def test_a_refused_send_names_each_customer_and_sends_nothing(world, api, template, mailbox):
    # given a limited grant covering the mailboxes but not the hostings of the template
    grant(world, access="limited", products=[mailbox])

    response = as_partner(api, world).post(
        OFFERS, send_body(template, world.customer, world.other_customer)
    )

    assert response.status_code == 400
    assert response.json() == {
        "customers": [
            "Bäckerei Müller: Your limited access does not include Web hosting.",
            f"{world.other_customer.pk}: You do not manage this customer.",
        ]
    }
    assert not Offer.unscoped.exists()
    assert not OfferBatch.unscoped.exists()


def test_a_collaborator_sends_only_to_its_assigned_customers(world, api, template):
    grant(world, access="full", payment="customer")
    response = as_partner(api, world, world.collaborator).post(
        OFFERS, send_body(template, world.customer)
    )
    assert response.status_code == 400
    # a customer it may not see is named by the id given, never by its name
    assert response.json() == {
        "customers": [f"{world.customer.pk}: You do not manage this customer."]
    }
    assert not Offer.unscoped.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "customer"),
        ({"customer": "{c}", "customers": ["{c}"]}, "customers"),
        ({"customers": []}, "customers"),
        ({"customer": "not-an-id"}, "customer"),
        ({"customer": "{c}", "message": "x" * 2001}, "message"),
    ],
)
def test_a_malformed_send_is_a_400(world, api, template, body, field):
    grant(world, access="full", payment="customer")
    customer_id = str(world.customer.pk)
    body = {
        key: (
            [customer_id for _ in value]
            if isinstance(value, list)
            else customer_id
            if value == "{c}"
            else value
        )
        for key, value in body.items()
    }
    response = as_partner(api, world).post(OFFERS, {"template": str(template.pk), **body})
    assert response.status_code == 400
    assert field in response.json()
    assert not Offer.unscoped.exists()


def test_an_empty_template_cannot_be_sent(world, api):
    grant(world, access="full", payment="customer")
    client = as_partner(api, world)
    empty = client.post(TEMPLATES, {"name": "Empty"}).json()
    response = client.post(OFFERS, {"template": empty["id"], "customer": str(world.customer.pk)})
    assert response.status_code == 400
    assert response.json() == {"template": ["This template has no items yet: add products first."]}


def test_another_partners_template_cannot_be_sent(world, api, template):
    client = api(world.other_owner, world.other_partner)
    theirs = client.post(OFFERS, send_body(template, world.other_customer))
    missing = client.post(
        OFFERS, {"template": missing_id(), "customer": str(world.other_customer.pk)}
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert not Offer.unscoped.exists()


# --- reading ------------------------------------------------------------------------------


def test_each_side_lists_its_offers_with_filters(world, api, template):
    grant(world, access="full", payment="customer")
    other = managed_customer(world, "Kunde 0")
    answered = delivered(world, template)
    open_offer = delivered(world, template)
    theirs = delivered(world, template, customer=other)
    services.offer_decline(org=org(world.customer_owner, world.customer), offer=answered)
    waiting = services.offer_send(
        org=org(world.partner_owner, world.partner),
        template=template,
        customer_ids=[world.customer.pk],
    ).offers.get()
    partner, customer = as_partner(api, world), as_customer(api, world)

    def ids(client, **params) -> list:
        return [row["id"] for row in client.get(OFFERS, params).json()["results"]]

    # the partner: everything it sent, newest first; the customer: what reached it
    assert ids(partner) == [str(o.pk) for o in (waiting, theirs, open_offer, answered)]
    assert ids(customer) == [str(o.pk) for o in (open_offer, answered)]
    assert ids(partner, status="declined") == [str(answered.pk)]
    assert ids(partner, customer=str(other.pk)) == [str(theirs.pk)]
    assert ids(partner, batch=str(open_offer.batch_id)) == [str(open_offer.pk)]
    assert ids(customer, status="awaiting_confirmation") == [str(open_offer.pk)]
    # a customer user reads them too (only owners and admins answer)
    assert ids(as_customer(api, world, world.customer_user)) == ids(customer)
    assert partner.get(OFFERS, {"status": "nonsense"}).status_code == 400


@pytest.mark.parametrize("side", ["partner", "customer"])
def test_the_offer_list_takes_the_same_queries_for_1_or_20_offers(
    world, api, template, django_assert_max_num_queries, side
):
    grant(world, access="full", payment="customer")
    delivered(world, template)
    client = as_partner(api, world) if side == "partner" else as_customer(api, world)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(OFFERS).status_code == 200
    one = len(captured)
    # session, user, membership, count, offers, their items with products; and
    # the effect of the page's offers: their products' prices and tiers, the
    # live subscriptions, the grants and the products of limited grants
    assert one <= 12
    for _ in range(19):
        delivered(world, template)

    with django_assert_max_num_queries(one):
        body = client.get(OFFERS).json()

    assert body["count"] == 20 and len(body["results"]) == 20
    assert all(len(row["items"]) == 2 for row in body["results"])


def test_the_customer_never_reads_its_partners_margin(world, api, template):
    # given an offer its partner would pay
    grant(world, access="full", payment="partner")
    offer = delivered(world, template)
    Offer.unscoped.filter(pk=offer.pk).update(failure_reason="an earlier attempt failed")
    url = f"{OFFERS}{offer.pk}/"

    by_partner = as_partner(api, world).get(url).json()
    by_customer = as_customer(api, world).get(url).json()

    # the partner reads every step and what it would pay
    assert by_partner["payer"] == by_customer["payer"] == "partner"
    assert (
        by_partner["charged"] == by_partner["charged_amount"] == "224.32"
    )  # 208.32 + 4 x 4.00 preferential
    assert by_partner["failure_reason"] == "an earlier attempt failed"
    hosting = by_partner["items"][0]
    assert (hosting["preferential_amount"], hosting["charged"]) == ("208.32", "208.32")
    # the customer reads the public figures only: the rest is null, never absent
    assert set(by_customer) == set(by_partner)
    assert by_customer["public_amount"] == by_partner["public_amount"] == "280.40"
    assert by_customer["charged"] is None and by_customer["charged_amount"] is None
    assert by_customer["failure_reason"] is None
    for item in by_customer["items"]:
        assert all(item[f] is None for f in (*ITEM_MARGIN, "charged", "charged_amount"))
        assert item["public_amount"] is not None and item["list_amount"] is not None


def test_the_customer_paying_reads_its_charge_but_not_the_margin(world, api, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    seen = as_customer(api, world).get(f"{OFFERS}{offer.pk}/").json()
    assert seen["charged"] == "280.40"
    hosting = seen["items"][0]
    assert hosting["charged"] == "260.40"
    assert all(hosting[field] is None for field in ITEM_MARGIN)


# --- the customer's answer ------------------------------------------------------------------


def test_accepting_applies_every_item_and_returns_the_order(
    world, api, template, hosting, mailbox, backup
):
    # given existing hostings (10) and mailboxes (3), no backup, and a third item
    grant(world, access="full", payment="customer")
    services.template_item_add(
        org=org(world.partner_owner, world.partner),
        template=template,
        product=backup,
        quantity=2,
        license_mode="relative",
        term_months=6,
    )
    today = timezone.localdate()
    existing = {}
    for product, quantity in ((hosting, 10), (mailbox, 3)):
        subscription = subscription_build(
            customer=world.customer,
            product=product,
            quantity=quantity,
            unit_price=D("1.00"),
            starts_on=today - datetime.timedelta(days=40),
        )
        subscription.save()
        existing[product.code] = subscription.pk
    offer = delivered(world, template)

    # when an admin of the customer accepts
    response = as_customer(api, world, world.customer_admin).post(f"{OFFERS}{offer.pk}/accept/")

    # then every item is applied and the order's id is in the answer
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "accepted" and body["closed_at"] is not None
    order = Order.unscoped.get()
    assert body["order"] == str(order.pk)
    subs = {s.product.code: s for s in Subscription.unscoped.filter(customer=world.customer)}
    assert subs["web-hosting"].pk == existing["web-hosting"]
    assert subs["web-hosting"].quantity == 35  # absolute: set to N
    assert subs["mailbox"].pk == existing["mailbox"]
    assert subs["mailbox"].quantity == 8  # relative: 3 + 5
    assert subs["backup"].quantity == 2  # created
    term_end = today + relativedelta(months=12) - datetime.timedelta(days=1)
    assert subs["web-hosting"].ends_on == subs["mailbox"].ends_on == term_end
    assert subs["backup"].ends_on == today + relativedelta(months=6) - datetime.timedelta(days=1)
    # and the partner reads the same outcome
    seen = as_partner(api, world).get(f"{OFFERS}{offer.pk}/").json()
    assert (seen["status"], seen["order"]) == ("accepted", str(order.pk))


def test_declining_keeps_the_reason_for_the_partner(world, api, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)

    response = as_customer(api, world).post(
        f"{OFFERS}{offer.pk}/decline/", {"reason": "  Too expensive  "}
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["decline_reason"]) == (
        "declined",
        "Too expensive",
    )
    seen = as_partner(api, world).get(f"{OFFERS}{offer.pk}/").json()
    assert (seen["status"], seen["decline_reason"]) == ("declined", "Too expensive")
    assert not Subscription.unscoped.exists()


def test_declining_without_a_reason(world, api, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    response = as_customer(api, world).post(f"{OFFERS}{offer.pk}/decline/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decline_reason"]) == ("declined", "")


def test_only_the_customers_owners_and_admins_answer(world, api, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    user = as_customer(api, world, world.customer_user)
    for action in ("accept", "decline"):
        assert user.post(f"{OFFERS}{offer.pk}/{action}/").status_code == 403
        # nor does the partner answer for its customer
        assert as_partner(api, world).post(f"{OFFERS}{offer.pk}/{action}/").status_code == 403
    offer.refresh_from_db()
    assert offer.status == Status.AWAITING_CONFIRMATION
    assert not Order.unscoped.exists()


# --- the partner: cancel, retry ---------------------------------------------------------------


def test_the_partner_cancels_an_open_offer(world, api, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)

    response = as_partner(api, world).post(f"{OFFERS}{offer.pk}/cancel/")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert as_customer(api, world).get(f"{OFFERS}{offer.pk}/").json()["status"] == "cancelled"
    # and the customer may no longer answer
    assert as_customer(api, world).post(f"{OFFERS}{offer.pk}/accept/").status_code == 409


def test_the_customer_may_not_cancel(world, api, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    assert as_customer(api, world).post(f"{OFFERS}{offer.pk}/cancel/").status_code == 403
    assert as_customer(api, world).post(f"{OFFERS}{offer.pk}/retry/").status_code == 403
    offer.refresh_from_db()
    assert offer.status == Status.AWAITING_CONFIRMATION


def test_a_failed_offer_is_retried(world, api, template, django_capture_on_commit_callbacks):
    # given a delivery that failed: nobody at the customer could answer
    grant(world, access="full", payment="customer")
    offer = services.offer_send(
        org=org(world.partner_owner, world.partner),
        template=template,
        customer_ids=[world.customer.pk],
    ).offers.get()
    roles = dict(world.customer.memberships.values_list("pk", "role"))
    world.customer.memberships.update(role="user")
    services.offer_deliver(offer_id=offer.pk)
    client = as_partner(api, world)
    failed = client.get(f"{OFFERS}{offer.pk}/").json()
    assert failed["status"] == "failed"
    assert "no owner or admin" in failed["failure_reason"]
    for pk, role in roles.items():
        world.customer.memberships.filter(pk=pk).update(role=role)

    # when the partner retries it
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{OFFERS}{offer.pk}/retry/")

    # then it waits again, and is delivered on commit
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["failure_reason"]) == ("waiting", "")
    assert client.get(f"{OFFERS}{offer.pk}/").json()["status"] == "awaiting_confirmation"


# --- forbidden transitions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "then", "status"),
    [
        ("accept", "accept", Status.ACCEPTED),
        ("accept", "decline", Status.ACCEPTED),
        ("accept", "cancel", Status.ACCEPTED),
        ("decline", "cancel", Status.DECLINED),
        ("decline", "accept", Status.DECLINED),
        ("cancel", "accept", Status.CANCELLED),
        ("cancel", "decline", Status.CANCELLED),
        ("cancel", "cancel", Status.CANCELLED),
        (None, "retry", Status.AWAITING_CONFIRMATION),
    ],
)
def test_every_forbidden_transition_is_a_409(world, api, template, first, then, status):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    actor = {
        "accept": as_customer(api, world),
        "decline": as_customer(api, world),
        "cancel": as_partner(api, world),
        "retry": as_partner(api, world),
    }
    if first is not None:
        assert actor[first].post(f"{OFFERS}{offer.pk}/{first}/").status_code == 200

    response = actor[then].post(f"{OFFERS}{offer.pk}/{then}/")

    assert response.status_code == 409
    assert set(response.json()) == {"detail"}
    assert response.json()["detail"].startswith(f"This offer is {status.label.lower()}")
    offer.refresh_from_db()
    assert offer.status == status
    assert Order.unscoped.count() == (1 if status == Status.ACCEPTED else 0)


def test_an_undelivered_offer_cannot_be_answered_by_the_customer(world, api, template):
    # a waiting offer has not reached the customer: to it, it does not exist
    grant(world, access="full", payment="customer")
    offer = services.offer_send(
        org=org(world.partner_owner, world.partner),
        template=template,
        customer_ids=[world.customer.pk],
    ).offers.get()
    client = as_customer(api, world)
    response = client.post(f"{OFFERS}{offer.pk}/accept/")
    assert response.status_code == 404
    assert response.json() == client.post(f"{OFFERS}{missing_id()}/accept/").json()


# --- isolation ----------------------------------------------------------------------------


@pytest.fixture
def alpine(world, template, backup):
    """Alpine IT's template, one of its items, a delivered offer and its batch."""
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    return {
        "template": str(template.pk),
        "item": str(template.items.first().pk),
        "offer": str(offer.pk),
        "batch": str(offer.batch_id),
    }


ITEM_BODY = {"product": "backup", "quantity": 1, "license_mode": "relative", "term_months": 1}
REQUESTS = [
    ("get", TEMPLATES + "{template}/", None),
    ("patch", TEMPLATES + "{template}/", {"name": "Mine now"}),
    ("delete", TEMPLATES + "{template}/", None),
    ("post", TEMPLATES + "{template}/items/", ITEM_BODY),
    ("delete", TEMPLATES + "{template}/items/{item}/", None),
    ("get", OFFERS + "{offer}/", None),
    ("post", OFFERS + "{offer}/accept/", None),
    ("post", OFFERS + "{offer}/decline/", {"reason": "no"}),
    ("post", OFFERS + "{offer}/cancel/", None),
    ("post", OFFERS + "{offer}/retry/", None),
    ("get", BATCHES + "{batch}/", None),
]


ACTORS = ["other partner", "other customer", "own customer"]
ISOLATION = [
    (actor, method, url, body)
    for actor in ACTORS
    for method, url, body in REQUESTS
    # the customer's own offer is not another organization's
    if not (actor == "own customer" and url.startswith(OFFERS + "{offer}"))
]


@pytest.mark.parametrize(("actor", "method", "url", "body"), ISOLATION)
def test_another_organizations_objects_are_a_404_like_missing_ones(
    world, api, alpine, actor, method, url, body
):
    user, tenant = {
        "other partner": (world.other_owner, world.other_partner),
        "other customer": (world.other_customer_owner, world.other_customer),
        "own customer": (world.customer_owner, world.customer),
    }[actor]
    client = api(user, tenant)
    missing = {key: missing_id() for key in alpine}

    theirs = getattr(client, method)(url.format(**alpine), body)
    absent = getattr(client, method)(url.format(**missing), body)

    assert theirs.status_code == absent.status_code == 404
    assert theirs.json() == absent.json()
    assert OfferTemplate.unscoped.get(pk=alpine["template"]).name == "Starter pack"
    assert TemplateItem.unscoped.count() == 2
    assert Offer.unscoped.get(pk=alpine["offer"]).status == Status.AWAITING_CONFIRMATION


def test_another_templates_item_is_a_404_like_a_missing_one(world, api, alpine):
    client = api(world.other_owner, world.other_partner)
    own = client.post(TEMPLATES, {"name": "Rhein pack"}).json()
    url = f"{TEMPLATES}{own['id']}/items/"
    theirs = client.delete(f"{url}{alpine['item']}/")
    absent = client.delete(f"{url}{missing_id()}/")
    malformed = client.delete(f"{url}not-an-id/")
    assert theirs.status_code == absent.status_code == malformed.status_code == 404
    assert theirs.json() == absent.json() == malformed.json() == {"detail": "No such item."}
    assert TemplateItem.unscoped.count() == 2


def test_other_organizations_lists_do_not_show_them(world, api, alpine):
    assert api(world.other_owner, world.other_partner).get(OFFERS).json()["count"] == 0
    assert api(world.other_owner, world.other_partner).get(TEMPLATES).json()["count"] == 0
    other_customer = api(world.other_customer_owner, world.other_customer)
    assert other_customer.get(OFFERS).json()["count"] == 0
    # a foreign filter value is an empty list, not another tenant's rows
    foreign = {"customer": str(world.customer.pk), "batch": alpine["batch"]}
    assert other_customer.get(OFFERS, foreign).json()["count"] == 0


# --- updates --------------------------------------------------------------------------------


def test_updates_list_what_awaits_the_customers_answer(world, api, template):
    # given a delivered offer and a partner's invitation
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    invitation = Partnership.unscoped.create(
        partner=world.other_partner,
        customer=world.customer,
        access="full",
        payment="customer",
        status="pending",
        initiated_by="partner",
    )

    owner = as_customer(api, world).get(UPDATES)
    admin = as_customer(api, world, world.customer_admin).get(UPDATES)

    # the owner answers both; an admin answers offers only
    assert owner.status_code == 200, owner.json()
    body = owner.json()
    assert body["count"] == 2
    assert [o["id"] for o in body["offers"]] == [str(offer.pk)]
    assert body["offers"][0]["message"] == "Hello from Alpine IT"
    assert body["offers"][0]["items"][0]["preferential_amount"] is None
    assert [i["id"] for i in body["invitations"]] == [str(invitation.pk)]
    assert body["invitations"][0]["partner"]["name"] == "Rhein Cloud"
    assert (admin.json()["count"], admin.json()["invitations"]) == (1, [])

    # once answered, the offer leaves the badge
    as_customer(api, world).post(f"{OFFERS}{offer.pk}/decline/")
    after = as_customer(api, world).get(UPDATES).json()
    assert (after["count"], after["offers"]) == (1, [])


def test_updates_are_for_customer_owners_and_admins(world, api):
    assert as_customer(api, world, world.customer_user).get(UPDATES).status_code == 403
    assert as_partner(api, world).get(UPDATES).status_code == 404
    assert as_customer(api, world).get(UPDATES).json() == {
        "count": 0,
        "offers": [],
        "invitations": [],
    }


def test_a_malformed_id_is_the_404_of_a_missing_one(world, api):
    client = as_partner(api, world)
    for url in (f"{TEMPLATES}x/", f"{OFFERS}x/", f"{BATCHES}x/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == client.get(url.replace("x/", f"{uuid.uuid4()}/")).json()
