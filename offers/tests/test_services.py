"""Offers through the services (SPEC §6): templates, sending with a price
snapshot, delivery exactly once, accepting applies licenses exactly once, and
every forbidden transition is a 409."""

import datetime
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing.models import Order
from core.exceptions import Conflict
from offers import selectors, services, tasks
from offers.models import Offer
from offers.tests.conftest import grant, org
from subscriptions.models import Subscription
from subscriptions.services import subscription_build
from tenants.emails import email_deliver
from tenants.models import OutboundEmail
from tests.clock import on
from tests.concurrency import race

D = Decimal
Status = Offer.Status


def partner(world):
    return org(world.partner_owner, world.partner)


def customer(world, user=None):
    return org(user or world.customer_owner, world.customer)


def send(world, template, customers=None, message="Hello from Alpine IT", ctx=None):
    batch = services.offer_send(
        org=ctx or partner(world),
        template=template,
        customer_ids=[c.pk for c in (customers or [world.customer])],
        message=message,
    )
    return list(batch.offers.order_by("created_at"))


def delivered(world, template, **kwargs) -> Offer:
    """An offer sent and delivered (Celery runs eagerly in the tests)."""
    (offer,) = send(world, template, **kwargs)
    services.offer_deliver(offer_id=offer.pk)
    offer.refresh_from_db()
    return offer


# --- templates -------------------------------------------------------------------------


def test_template_items_are_validated(world, template, hosting):
    ctx = partner(world)
    with pytest.raises(ValidationError, match="already in this template"):
        services.template_item_add(
            org=ctx,
            template=template,
            product=hosting,
            quantity=1,
            license_mode="absolute",
            term_months=1,
        )
    with pytest.raises(ValidationError) as error:
        services.template_item_add(
            org=ctx, template=template, product=None, quantity=0, license_mode="x", term_months=0
        )
    assert set(error.value.message_dict) == {"product", "quantity", "license_mode", "term_months"}
    with pytest.raises(ValidationError, match="already have a template"):
        services.template_create(org=ctx, name="Starter pack")
    assert template.items.count() == 2


def test_another_partners_template_is_not_found(world, template):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.template_get(
            org=org(world.other_owner, world.other_partner), template_id=template.pk
        )


# --- sending ----------------------------------------------------------------------------


def test_sending_snapshots_items_and_prices_and_delivers_once(
    world, template, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    with django_capture_on_commit_callbacks(execute=True):
        (offer,) = send(world, template)
    offer.refresh_from_db()
    # delivered by the task enqueued on commit: awaiting the customer, who is emailed
    assert offer.status == Status.AWAITING_CONFIRMATION
    assert offer.expires_at > timezone.now()
    items = {i.product.code: i for i in offer.items.all()}
    hosting = items["web-hosting"]
    assert (hosting.quantity, hosting.license_mode, hosting.term_months) == (35, "absolute", 12)
    assert (
        hosting.list_amount,
        hosting.after_partner_discount,
        hosting.preferential_amount,
        hosting.public_amount,
        hosting.cashback_amount,
    ) == (D("347.20"), D("277.76"), D("208.32"), D("260.40"), D("52.08"))
    assert offer.charged_amount == D("260.40") + D("20.00")  # 5 mailboxes at 4.00
    recipients = set(
        OutboundEmail.objects.filter(key__startswith=f"offer:{offer.pk}:delivered:").values_list(
            "to", flat=True
        )
    )
    assert recipients == {world.customer_owner.email, world.customer_admin.email}
    # the template changes later; the offer keeps its snapshot
    template.items.all().delete()
    assert offer.items.count() == 2


def test_a_redelivered_task_changes_nothing_twice(world, template):
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)
    assert services.offer_deliver(offer_id=offer.pk) is True
    assert services.offer_deliver(offer_id=offer.pk) is False
    assert tasks.deliver_offer(str(offer.pk)) is False
    emails = OutboundEmail.objects.filter(key__startswith=f"offer:{offer.pk}:delivered:")
    assert emails.count() == 2  # owner and admin, once each


def test_a_delivered_offers_email_is_rendered_when_it_is_sent(world, template, mailoutbox):
    """The chunk writes the rows unrendered (the offer's id, the recipient's
    language); the delivery renders what the offer says."""
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)
    assert services.offer_deliver(offer_id=offer.pk) is True
    email = OutboundEmail.objects.get(key=f"offer:{offer.pk}:delivered:{world.customer_owner.pk}")
    assert (email.subject, email.renderer, email.params) == (
        "",
        "offers.delivered",
        {"offer": str(offer.pk)},
    )

    assert email_deliver(email_id=str(email.pk)) is True
    (sent,) = mailoutbox
    assert sent.to == [world.customer_owner.email]
    assert f"{world.partner.name} sent you an offer: {offer.template_name}" in sent.subject
    assert "35 x Web hosting (absolute (set the quantity to n), 12 months)" in sent.body
    assert f"/t/{world.customer.slug}/updates/" in sent.body


def test_refused_customers_are_named_and_nothing_is_sent(world, template, mailbox):
    grant(world, access="limited", products=[mailbox])
    with pytest.raises(ValidationError) as error:
        send(world, template, customers=[world.customer, world.other_customer])
    messages = error.value.message_dict["customers"]
    assert "Bäckerei Müller: Your limited access does not include Web hosting." in messages
    assert f"{world.other_customer.pk}: You do not manage this customer." in messages
    assert not Offer.unscoped.exists()


def test_an_empty_template_cannot_be_sent(world):
    grant(world, access="full", payment="customer")
    empty = services.template_create(org=partner(world), name="Empty")
    with pytest.raises(ValidationError, match="no items"):
        send(world, empty)


def test_a_collaborator_sends_only_to_assigned_customers(world, template):
    grant(world, access="full", payment="customer")
    with pytest.raises(ValidationError, match="do not manage"):
        send(world, template, ctx=org(world.collaborator, world.partner))


def test_sending_to_many_is_one_action_that_fans_out(world, template):
    from tenants.tests.factories import CustomerFactory, MembershipFactory

    grant(world, access="full", payment="customer")
    others = []
    for n in range(3):
        other = CustomerFactory(name=f"Kunde {n}", parent=world.partner)
        MembershipFactory(tenant=other, role="owner")
        others.append(other)
        from partners.models import Partnership

        Partnership.unscoped.create(
            partner=world.partner,
            customer=other,
            access="full",
            payment="customer",
            status="active",
            initiated_by="partner",
            activated_at=timezone.now(),
        )
    offers = send(world, template, customers=[world.customer, *others])
    assert len(offers) == 4
    batch = offers[0].batch
    assert Offer.unscoped.filter(status=Status.WAITING).count() == 4
    assert tasks.deliver_batch(str(batch.pk)) == 4  # one delivery task each (run eagerly)
    assert tasks.deliver_batch(str(batch.pk)) == 0
    progress = selectors.batch_progress(org=partner(world), batch=batch)
    assert progress["awaiting_confirmation"] == 4
    assert progress["total"] == 4


# --- delivery failures ----------------------------------------------------------------


def test_a_customer_without_owner_or_admin_fails_with_the_reason_and_can_be_retried(
    world, template, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)
    world.customer.memberships.filter(role__in=["owner", "admin"]).update(role="user")
    services.offer_deliver(offer_id=offer.pk)
    offer.refresh_from_db()
    assert offer.status == Status.FAILED
    assert "no owner or admin" in offer.failure_reason
    world.customer.memberships.filter(user=world.customer_owner).update(role="owner")
    with django_capture_on_commit_callbacks(execute=True):
        services.offer_retry(org=partner(world), offer=offer)
    offer.refresh_from_db()
    assert offer.status == Status.AWAITING_CONFIRMATION


def test_the_task_gives_up_after_its_retries_and_fails_the_offer(world, template, monkeypatch):
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)

    def broken(**kwargs):
        raise ConnectionError("mail relay unreachable")

    monkeypatch.setattr(services, "offer_deliver", broken)
    result = tasks.deliver_offer.apply(
        args=[str(offer.pk)], retries=tasks.deliver_offer.max_retries
    )
    assert result.get() is False
    offer.refresh_from_db()
    assert offer.status == Status.FAILED
    assert "mail relay unreachable" in offer.failure_reason


def test_the_sweeper_redelivers_offers_left_waiting(world, template):
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)
    Offer.unscoped.filter(pk=offer.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert tasks.sweep_waiting_offers() == 1
    offer.refresh_from_db()
    assert offer.status == Status.AWAITING_CONFIRMATION
    assert tasks.sweep_waiting_offers() == 0


# --- the customer's side ----------------------------------------------------------------


def test_the_badge_counts_offers_and_invitations_for_owners_and_admins(world, template):
    grant(world, access="full", payment="customer")
    delivered(world, template)
    assert selectors.updates_count(org=customer(world)) == 1
    assert selectors.updates_count(org=customer(world, world.customer_admin)) == 1
    assert selectors.updates_count(org=customer(world, world.customer_user)) == 0
    assert selectors.updates_for(org=customer(world))["offers"][0].template_name == "Starter pack"


def test_a_waiting_offer_is_not_shown_to_the_customer(world, template):
    grant(world, access="full", payment="customer")
    send(world, template)
    assert not selectors.offers_for(org=customer(world)).exists()


@pytest.mark.time_machine(on(2026, 12, 6))
def test_accepting_applies_absolute_and_relative_items_and_places_one_order(
    world, template, hosting, mailbox
):
    grant(world, access="full", payment="customer")
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
        existing[product.code] = subscription
    offer = delivered(world, template)

    services.offer_accept(org=customer(world), offer=offer)

    offer.refresh_from_db()
    assert offer.status == Status.ACCEPTED
    hosting_sub = Subscription.unscoped.get(pk=existing["web-hosting"].pk)
    mailbox_sub = Subscription.unscoped.get(pk=existing["mailbox"].pk)
    assert hosting_sub.quantity == 35  # absolute: set to N
    assert mailbox_sub.quantity == 8  # relative: 3 + 5
    # the 12-month term sets the last day of service of both
    term_end = today + relativedelta(months=12) - datetime.timedelta(days=1)
    assert hosting_sub.ends_on == mailbox_sub.ends_on == term_end
    # the hostings are repriced at the tier 35 reaches (25 % off 9.92)
    assert hosting_sub.unit_price == D("7.44")
    order = offer.order
    assert order.ordered_by == "partner" and order.payer == "customer"
    # the added units, for the rest of the period (27 Nov-26 Dec: 21 of 30 days
    # from 6 December), both states at the tier the new total reaches
    assert sorted((line.product.code, line.quantity) for line in order.lines.all()) == [
        ("mailbox", 5),
        ("web-hosting", 25),
    ]
    # hostings round(260.40 x 21/30) - round(74.40 x 21/30) = 182.28 - 52.08;
    # mailboxes round(32.00 x 21/30) - round(12.00 x 21/30) = 22.40 - 8.40
    assert order.charged_amount == D("130.20") + D("14.00")
    # public - preferential of the same: (130.20 - (145.82 - 41.66)) + (14.00 - (17.92 - 6.72))
    assert order.cashback_amount == D("26.04") + D("2.80")

    assert OutboundEmail.objects.filter(subject__contains="accepted your offer").exists()


def test_accepting_creates_missing_subscriptions(world, template):
    grant(world, access="full", payment="partner")
    offer = delivered(world, template)
    services.offer_accept(org=customer(world, world.customer_admin), offer=offer)
    subs = {s.product.code: s for s in Subscription.unscoped.filter(customer=world.customer)}
    assert (subs["web-hosting"].quantity, subs["mailbox"].quantity) == (35, 5)
    assert subs["web-hosting"].unit_price == D("7.44")
    offer.refresh_from_db()
    # full, partner pays: the partner pays the preferential price for its offer
    assert (offer.order.payer, offer.order.charged_amount) == ("partner", D("208.32") + D("16.00"))


def test_declining_is_final_and_tells_the_partner(world, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    services.offer_decline(org=customer(world), offer=offer, reason="Too expensive")
    offer.refresh_from_db()
    assert (offer.status, offer.decline_reason) == (Status.DECLINED, "Too expensive")
    assert OutboundEmail.objects.filter(subject__contains="declined your offer").exists()
    with pytest.raises(Conflict):
        services.offer_accept(org=customer(world), offer=offer)
    assert not Subscription.unscoped.exists()


def test_a_customer_user_may_not_answer(world, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    with pytest.raises(PermissionDenied):
        services.offer_accept(org=customer(world, world.customer_user), offer=offer)


FORBIDDEN = [
    # (status, action) pairs that must answer 409
    (Status.WAITING, "accept"),
    (Status.WAITING, "decline"),
    (Status.WAITING, "retry"),
    (Status.AWAITING_CONFIRMATION, "retry"),
    (Status.ACCEPTED, "accept"),
    (Status.ACCEPTED, "decline"),
    (Status.ACCEPTED, "cancel"),
    (Status.ACCEPTED, "retry"),
    (Status.DECLINED, "accept"),
    (Status.DECLINED, "decline"),
    (Status.DECLINED, "cancel"),
    (Status.DECLINED, "retry"),
    (Status.CANCELLED, "accept"),
    (Status.CANCELLED, "decline"),
    (Status.CANCELLED, "cancel"),
    (Status.CANCELLED, "retry"),
    (Status.FAILED, "accept"),
    (Status.FAILED, "decline"),
    (Status.EXPIRED, "accept"),
    (Status.EXPIRED, "decline"),
    (Status.EXPIRED, "cancel"),
    (Status.EXPIRED, "retry"),
]


@pytest.mark.parametrize(("status", "action"), FORBIDDEN)
def test_every_forbidden_transition_is_a_409(world, template, status, action):
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)
    Offer.unscoped.filter(pk=offer.pk).update(status=status, delivered_at=timezone.now())
    offer.refresh_from_db()
    calls = {
        "accept": lambda: services.offer_accept(org=customer(world), offer=offer),
        "decline": lambda: services.offer_decline(org=customer(world), offer=offer),
        "cancel": lambda: services.offer_cancel(org=partner(world), offer=offer),
        "retry": lambda: services.offer_retry(org=partner(world), offer=offer),
    }
    with pytest.raises(Conflict):
        calls[action]()
    offer.refresh_from_db()
    assert offer.status == status
    assert not Order.unscoped.exists()


def test_unanswered_offers_expire(world, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    assert tasks.expire_offers() == 0
    Offer.unscoped.filter(pk=offer.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert tasks.expire_offers() == 1
    assert tasks.expire_offers() == 0
    offer.refresh_from_db()
    assert offer.status == Status.EXPIRED


def test_cancelling_withdraws_a_delivered_offer(world, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    services.offer_cancel(org=partner(world), offer=offer)
    offer.refresh_from_db()
    assert offer.status == Status.CANCELLED
    assert selectors.updates_count(org=customer(world)) == 0
    assert OutboundEmail.objects.filter(subject__contains="withdrew").count() == 2


# --- races (PostgreSQL row locks; SQLite's database lock) ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_answers_at_once_give_exactly_one_outcome(world, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    actions = [
        lambda: services.offer_accept(org=customer(world), offer=offer),
        lambda: services.offer_decline(org=customer(world, world.customer_admin), offer=offer),
        lambda: services.offer_cancel(org=partner(world), offer=offer),
    ]
    counter = iter(range(20))

    def next_action():
        return actions[next(counter) % 3]()

    outcomes = race(next_action, count=20)
    winners = [o for o in outcomes if isinstance(o, Offer)]
    assert len(winners) == 1, outcomes
    offer.refresh_from_db()
    assert offer.status == winners[0].status
    assert Order.unscoped.count() == (1 if offer.status == Status.ACCEPTED else 0)
    answered = OutboundEmail.objects.filter(key__startswith=f"offer:{offer.pk}:").exclude(
        key__contains=":delivered:"
    )
    assert answered.values("key").distinct().count() == answered.count()


def test_a_chunk_delivers_what_it_can_and_fails_the_rest_with_reasons(world, template):
    from partners.models import Partnership
    from tenants.tests.factories import CustomerFactory, MembershipFactory

    grant(world, access="full", payment="customer")
    nobody = CustomerFactory(name="Niemand GmbH", parent=world.partner)
    # its only owner, there when the offer is sent (a send checks that in
    # advance) and gone before the delivery
    owner = MembershipFactory(tenant=nobody, role="owner")
    Partnership.unscoped.create(
        partner=world.partner,
        customer=nobody,
        access="full",
        payment="customer",
        status="active",
        initiated_by="partner",
        activated_at=timezone.now(),
    )
    offers = send(world, template, customers=[world.customer, nobody])
    owner.delete()

    assert services.offers_deliver(offer_ids=[o.pk for o in offers]) == 1

    statuses = dict(Offer.unscoped.values_list("customer__name", "status"))
    assert statuses == {
        "Bäckerei Müller": Status.AWAITING_CONFIRMATION,
        "Niemand GmbH": Status.FAILED,
    }
    assert "no owner or admin" in Offer.unscoped.get(customer=nobody).failure_reason
    # two people at Bäckerei Müller, one email each, written once
    assert OutboundEmail.objects.filter(key__contains=":delivered:").count() == 2
