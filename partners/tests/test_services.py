"""Partnerships through the services: grants, invitations both ways, answers,
changes, ending, time, collaborators, history and emails."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from partners import selectors, services, tasks
from partners.models import CustomerAssignment, Partnership, PartnershipEvent
from tenants.exceptions import Conflict
from tenants.models import Membership, Role, Tenant
from tenants.selectors import org_context_for

pytestmark = pytest.mark.django_db
Status = Partnership.Status


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


@pytest.fixture
def products(db):
    return ProductFactory(code="web-hosting", name="Web Hosting"), ProductFactory(
        code="backup", name="Backup"
    )


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a service as the app does: on-commit callbacks (tasks, emails) execute."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def add_customer(world, run, **kwargs):
    defaults = {
        "name": "Neue Kunde AG",
        "owner_email": "owner@neue.test",
        "access": "full",
        "payment": "customer",
    }
    return run(
        services.customer_add, org=ctx(world.partner_owner, world.partner), **{**defaults, **kwargs}
    )


# --- adding a customer ----------------------------------------------------------


def test_adding_a_customer_makes_the_organization_its_owner_a_pending_grant_and_an_invitation(
    world, run_on_commit
):
    partnership = add_customer(world, run_on_commit)

    customer = partnership.customer
    assert (
        customer.kind == Tenant.Kind.CUSTOMER
        and customer.parent == world.partner
        and customer.origin == world.partner
    )
    owner = Membership.unscoped.get(tenant=customer)
    assert owner.role == Role.OWNER and owner.user.email == "owner@neue.test"
    assert not owner.user.has_usable_password()
    assert partnership.status == Status.PENDING and partnership.requested["access"] == "full"
    assert [e.kind for e in partnership.events.all()] == ["created"]
    assert mail.outbox[-1].to == ["owner@neue.test"]
    assert (
        "/invitations/" in mail.outbox[-1].body
        and "Full access, the customer pays" in mail.outbox[-1].body
    )
    # Pending: the partner may not act on the customer yet.
    assert not selectors.partner_may_act_on(
        org=ctx(world.partner_owner, world.partner), customer=customer
    )


def test_an_unclaimed_customer_is_managed_at_once_with_full_access_paid_by_the_partner(
    world, run_on_commit
):
    partnership = add_customer(world, run_on_commit, owner_email="", access=None, payment=None)
    assert partnership.status == Status.ACTIVE
    assert (partnership.access, partnership.payment) == ("full", "partner")
    assert selectors.partner_may_act_on(
        org=ctx(world.partner_owner, world.partner), customer=partnership.customer
    )
    assert not Membership.unscoped.filter(tenant=partnership.customer).exists()
    assert not mail.outbox
    with pytest.raises(ValidationError) as error:
        add_customer(world, run_on_commit, owner_email="", access="limited")
    assert "owner_email" in error.value.message_dict


def test_owners_and_admins_add_customers_but_only_owners_ask_for_access(world, run_on_commit):
    admin = ctx(world.partner_admin, world.partner)
    unclaimed = run_on_commit(services.customer_add, org=admin, name="Admin Made AG")
    assert unclaimed.status == Status.ACTIVE
    with pytest.raises(PermissionDenied):
        run_on_commit(
            services.customer_add,
            org=admin,
            name="X",
            owner_email="o@x.test",
            access="full",
            payment="customer",
        )
    with pytest.raises(PermissionDenied):
        run_on_commit(services.customer_add, org=ctx(world.collaborator, world.partner), name="X")
    with pytest.raises(PermissionDenied):
        run_on_commit(
            services.customer_add, org=ctx(world.customer_owner, world.customer), name="X"
        )


@pytest.mark.parametrize(
    "grant, field",
    [
        ({"access": "full", "payment": ""}, "payment"),
        ({"access": "limited", "payment": "customer"}, "payment"),
        ({"access": "limited", "payment": None, "products": []}, "products"),
        ({"access": "everything"}, "access"),
        ({"ends_on": datetime.date(2000, 1, 1)}, "ends_on"),
    ],
)
def test_a_bad_grant_is_refused_and_nothing_is_written(world, run_on_commit, grant, field):
    before = Tenant.objects.count()
    with pytest.raises(ValidationError) as error:
        add_customer(world, run_on_commit, **grant)
    assert field in error.value.message_dict
    assert Tenant.objects.count() == before and not Partnership.unscoped.exists()


# --- answering --------------------------------------------------------------------


def test_accepting_as_asked_activates_the_grant_and_tells_the_partner(world, run_on_commit):
    partnership = add_customer(world, run_on_commit)
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    mail.outbox.clear()

    accepted = run_on_commit(
        services.partnership_accept, org=ctx(owner, partnership.customer), partnership=partnership
    )

    assert accepted.status == Status.ACTIVE and accepted.activated_at
    assert accepted.events.last().kind == "accepted"
    assert selectors.partner_may_act_on(
        org=ctx(world.partner_owner, world.partner), customer=partnership.customer
    )
    assert {m.to[0] for m in mail.outbox} == {world.partner_owner.email, world.partner_admin.email}
    assert "accepted your invitation" in mail.outbox[0].subject
    assert (
        selectors.partnership_for_invitation(
            token=selectors.invitation_token(partnership), email=owner.email
        )
        is None
    )


def test_the_customer_may_grant_other_access_and_the_partner_learns_the_difference(
    world, run_on_commit, products
):
    web, backup = products
    partnership = add_customer(world, run_on_commit)
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    mail.outbox.clear()

    run_on_commit(
        services.partnership_accept,
        org=ctx(owner, partnership.customer),
        partnership=partnership,
        access="limited",
        products=[web],
    )

    partnership.refresh_from_db()
    assert (partnership.access, partnership.payment) == ("limited", "")
    event = partnership.events.last()
    assert event.kind == "accepted_with_changes"
    assert event.before["access"] == "full" and event.after == {
        "access": "limited",
        "payment": "",
        "products": ["web-hosting"],
        "ends_on": None,
    }
    body = mail.outbox[0].body
    assert (
        "Access: asked Full (the whole organization), granted Limited (listed products)" in body
        and "Products: asked —, granted Web Hosting" in body
    )
    partner_ctx = ctx(world.partner_owner, world.partner)
    assert selectors.partner_may_act_on(org=partner_ctx, customer=partnership.customer, product=web)
    assert not selectors.partner_may_act_on(
        org=partner_ctx, customer=partnership.customer, product=backup
    )


def test_the_other_payment_mode_can_be_granted(world, run_on_commit):
    partnership = add_customer(world, run_on_commit, payment="partner")
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    run_on_commit(
        services.partnership_accept,
        org=ctx(owner, partnership.customer),
        partnership=partnership,
        payment="customer",
    )
    partnership.refresh_from_db()
    assert (
        partnership.payment == "customer"
        and partnership.events.last().kind == "accepted_with_changes"
    )


def test_only_the_invited_sides_owner_answers_and_only_once(world, run_on_commit):
    partnership = add_customer(world, run_on_commit)
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    with pytest.raises(PermissionDenied):  # the inviting side
        services.partnership_accept(
            org=ctx(world.partner_owner, world.partner), partnership=partnership
        )
    admin = Membership.unscoped.create(
        user=world.customer_admin, tenant=partnership.customer, role=Role.ADMIN
    ).user
    with pytest.raises(PermissionDenied):
        services.partnership_accept(org=ctx(admin, partnership.customer), partnership=partnership)

    run_on_commit(
        services.partnership_decline,
        org=ctx(owner, partnership.customer),
        partnership=partnership,
        reason="Not now",
    )
    with pytest.raises(Conflict):
        services.partnership_accept(org=ctx(owner, partnership.customer), partnership=partnership)
    partnership.refresh_from_db()
    assert partnership.status == Status.DECLINED and partnership.close_reason == "Not now"
    assert "Not now" in mail.outbox[-1].body


def test_resending_replaces_the_link_and_restarts_the_clock(world, run_on_commit):
    partnership = add_customer(world, run_on_commit)
    old_token = selectors.invitation_token(partnership)
    Partnership.unscoped.filter(pk=partnership.pk).update(
        invitation_expires_at=timezone.now() + datetime.timedelta(days=1)
    )

    run_on_commit(
        services.partnership_resend,
        org=ctx(world.partner_owner, world.partner),
        partnership=partnership,
    )

    partnership.refresh_from_db()
    new_token = selectors.invitation_token(partnership)
    assert new_token != old_token
    assert selectors.partnership_for_invitation(token=old_token, email="owner@neue.test") is None
    assert (
        selectors.partnership_for_invitation(token=new_token, email="owner@neue.test")
        == partnership
    )
    assert partnership.invitation_expires_at > timezone.now() + datetime.timedelta(days=13)
    assert len([m for m in mail.outbox if m.to == ["owner@neue.test"]]) == 2


def test_invitation_links_are_bound_signed_and_expire(world, run_on_commit):
    partnership = add_customer(world, run_on_commit)
    token = selectors.invitation_token(partnership)
    assert selectors.partnership_for_invitation(token=token, email="OWNER@neue.test") == partnership
    assert selectors.partnership_for_invitation(token=token, email="someone@else.test") is None
    assert selectors.partnership_for_invitation(token=token[:-2] + "xy", email=None) is None
    assert selectors.partnership_for_invitation(token="garbage", email=None) is None
    Partnership.unscoped.filter(pk=partnership.pk).update(invitation_expires_at=timezone.now())
    assert selectors.partnership_for_invitation(token=token, email=None) is None
    # Judged now: an invitation past its expiry is expired before the job writes it,
    # so there is nothing left to cancel (SPEC §1).
    with pytest.raises(Conflict, match="This invitation has expired"):
        services.partnership_cancel(
            org=ctx(world.partner_owner, world.partner), partnership=partnership
        )
    assert selectors.partnership_for_invitation(token=token, email=None) is None


def test_a_customer_invites_a_partner_whose_owners_answer(world, run_on_commit, products):
    web, _ = products
    Tenant.objects.filter(pk=world.other_partner.pk).update(listed_in_directory=False)
    with pytest.raises(ValidationError) as error:  # only partners listed in the directory
        services.partnership_invite_partner(
            org=ctx(world.customer_owner, world.customer),
            partner=world.other_partner,
            access="limited",
            products=[web],
        )
    assert "partner" in error.value.message_dict
    world.other_partner.listed_in_directory = True
    world.other_partner.save()
    partnership = run_on_commit(
        services.partnership_invite_partner,
        org=ctx(world.customer_owner, world.customer),
        partner=world.other_partner,
        access="limited",
        products=[web],
        message="Please manage our hosting",
    )
    assert partnership.status == Status.PENDING and partnership.initiated_by == "customer"
    assert mail.outbox[-1].to == [world.other_owner.email]
    assert "Please manage our hosting" in mail.outbox[-1].body

    with pytest.raises(ValidationError):  # partners accept what is offered, as it is
        services.partnership_accept(
            org=ctx(world.other_owner, world.other_partner),
            partnership=partnership,
            access="full",
            payment="partner",
        )
    run_on_commit(
        services.partnership_accept,
        org=ctx(world.other_owner, world.other_partner),
        partnership=partnership,
    )
    partnership.refresh_from_db()
    assert partnership.status == Status.ACTIVE
    assert world.customer_owner.email in {m.to[0] for m in mail.outbox}
    with pytest.raises(ValidationError):  # one live partnership per pair
        services.partnership_invite_partner(
            org=ctx(world.customer_owner, world.customer),
            partner=world.other_partner,
            access="limited",
            products=[web],
        )


# --- home partner, one full grant -------------------------------------------------


def _accepted(world, run, **grant):
    partnership = add_customer(world, run, **grant)
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    run(services.partnership_accept, org=ctx(owner, partnership.customer), partnership=partnership)
    partnership.refresh_from_db()
    return partnership, owner


def test_a_customer_gives_full_access_to_one_partner_at_most_and_hangs_under_it(
    world, run_on_commit, products
):
    web, _ = products
    Tenant.objects.filter(pk=world.other_partner.pk).update(listed_in_directory=True)
    first, owner = _accepted(world, run_on_commit)
    customer = first.customer
    second = run_on_commit(
        services.partnership_invite_partner,
        org=ctx(owner, customer),
        partner=world.other_partner,
        access="full",
        payment="customer",
    )
    with pytest.raises(Conflict, match="already gives full access"):
        services.partnership_accept(
            org=ctx(world.other_owner, world.other_partner), partnership=second
        )

    run_on_commit(
        services.partnership_change,
        org=ctx(owner, customer),
        partnership=first,
        access="limited",
        products=[web],
    )
    run_on_commit(
        services.partnership_accept,
        org=ctx(world.other_owner, world.other_partner),
        partnership=second,
    )
    customer.refresh_from_db()
    assert customer.parent == world.other_partner  # the full holder is the home partner
    assert customer in Tenant.objects.filter(path__startswith=world.other_partner.path)

    owner.set_password("pw-owner-1")
    owner.save()
    run_on_commit(
        services.partnership_end,
        org=ctx(owner, customer),
        partnership=second,
        password="pw-owner-1",
    )
    customer.refresh_from_db()
    assert customer.parent == world.partner  # back to the partner that created it


# --- changing and ending ----------------------------------------------------------


def test_the_customer_owner_changes_access_and_payment_and_the_partner_is_told(
    world, run_on_commit, products
):
    web, backup = products
    partnership, owner = _accepted(world, run_on_commit)
    mail.outbox.clear()

    run_on_commit(
        services.partnership_change,
        org=ctx(owner, partnership.customer),
        partnership=partnership,
        payment="partner",
    )
    assert partnership.events.last().kind == "payment_changed"
    run_on_commit(
        services.partnership_change,
        org=ctx(owner, partnership.customer),
        partnership=partnership,
        access="limited",
        products=[web, backup],
    )
    last = partnership.events.last()
    assert (
        last.kind == "changed"
        and last.before["access"] == "full"
        and last.after["products"] == ["backup", "web-hosting"]
    )
    assert len(mail.outbox) == 4  # two changes, to the partner owner and admin
    assert "changed your access" in mail.outbox[-1].subject
    with pytest.raises(PermissionDenied):
        services.partnership_change(
            org=ctx(world.partner_owner, world.partner),
            partnership=partnership,
            access="full",
            payment="partner",
        )


def test_ending_needs_the_owners_password_stops_access_and_keeps_history(world, run_on_commit):
    partnership, owner = _accepted(world, run_on_commit)
    partner_ctx = ctx(world.partner_owner, world.partner)
    with pytest.raises(ValidationError) as error:
        services.partnership_end(org=partner_ctx, partnership=partnership, password="wrong")
    assert "password" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        services.partnership_end(
            org=ctx(world.partner_admin, world.partner),
            partnership=partnership,
            password="correct-horse-battery",
        )
    mail.outbox.clear()

    run_on_commit(
        services.partnership_end,
        org=partner_ctx,
        partnership=partnership,
        password="correct-horse-battery",
    )

    partnership.refresh_from_db()
    assert partnership.status == Status.ENDED and partnership.closed_by == world.partner_owner
    assert not selectors.partner_may_act_on(org=partner_ctx, customer=partnership.customer)
    assert [m.to for m in mail.outbox] == [[owner.email]]
    kinds = [e.kind for e in selectors.partnership_history(partnership=partnership)]
    assert kinds == ["created", "accepted", "ended"]
    assert selectors.partnership_get(
        org=ctx(owner, partnership.customer), partnership_id=partnership.pk
    )


def test_history_cannot_be_edited_or_deleted(world, run_on_commit):
    partnership = add_customer(world, run_on_commit)
    event = partnership.events.get()
    event.note = "rewritten"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


# --- end dates, reminders, extensions, expiry --------------------------------------


def test_an_end_date_brings_reminders_once_an_extension_and_then_expiry(world, run_on_commit):
    remind = tasks.remind_partnerships_ending.run
    today = timezone.localdate()
    partnership, owner = _accepted(
        world, run_on_commit, ends_on=today + datetime.timedelta(days=30)
    )
    mail.outbox.clear()

    assert run_on_commit(remind) == 1
    assert run_on_commit(remind) == 1  # again: the outbox keys keep it to one email each
    # the partner's owner and admin, the customer's owner
    assert len(mail.outbox) == 3
    assert all("ends in 30 days" in m.subject for m in mail.outbox)

    run_on_commit(
        services.partnership_request_extension,
        org=ctx(world.partner_admin, world.partner),
        partnership=partnership,
        until=today + datetime.timedelta(days=90),
    )
    assert mail.outbox[-1].to == [owner.email] and "extend" in mail.outbox[-1].subject
    run_on_commit(
        services.partnership_approve_extension,
        org=ctx(owner, partnership.customer),
        partnership=partnership,
    )
    partnership.refresh_from_db()
    assert (
        partnership.ends_on == today + datetime.timedelta(days=90)
        and partnership.extension_requested_until is None
    )
    assert [e.kind for e in partnership.events.all()][-2:] == ["extension_requested", "extended"]

    Partnership.unscoped.filter(pk=partnership.pk).update(
        ends_on=today - datetime.timedelta(days=1)
    )
    assert tasks.expire_partnerships.run() == 1
    assert tasks.expire_partnerships.run() == 0
    partnership.refresh_from_db()
    assert partnership.status == Status.EXPIRED and partnership.events.last().kind == "expired"
    assert not selectors.partner_may_act_on(
        org=ctx(world.partner_owner, world.partner), customer=partnership.customer
    )


def test_unanswered_invitations_expire(world, run_on_commit):
    partnership = add_customer(world, run_on_commit)
    Partnership.unscoped.filter(pk=partnership.pk).update(invitation_expires_at=timezone.now())
    assert tasks.expire_partnerships.run() == 1
    partnership.refresh_from_db()
    assert partnership.status == Status.EXPIRED
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    with pytest.raises(Conflict):
        services.partnership_accept(org=ctx(owner, partnership.customer), partnership=partnership)


# --- collaborators and the permission function ----------------------------------------


def test_collaborators_see_and_act_on_assigned_customers_only(world, run_on_commit, products):
    web, _ = products
    first, _ = _accepted(world, run_on_commit)
    second, _ = _accepted(world, run_on_commit, name="Zweite GmbH", owner_email="owner@zweite.test")
    collab_ctx = ctx(world.collaborator, world.partner)
    assert not selectors.customers_visible_to(org=collab_ctx).exists()

    services.collaborators_set(
        org=ctx(world.partner_admin, world.partner),
        customer=first.customer,
        user_ids=[world.collaborator.pk],
    )

    assert list(selectors.customers_visible_to(org=collab_ctx)) == [first.customer]
    assert selectors.partner_may_act_on(org=collab_ctx, customer=first.customer, product=web)
    assert [p.pk for p in selectors.partnerships_for(org=collab_ctx)] == [first.pk]
    with pytest.raises(ValidationError):  # only collaborators of the partner
        services.collaborators_set(
            org=ctx(world.partner_admin, world.partner),
            customer=first.customer,
            user_ids=[world.other_owner.pk],
        )
    with pytest.raises(PermissionDenied):
        services.collaborators_set(org=collab_ctx, customer=first.customer, user_ids=[])
    services.collaborators_set(
        org=ctx(world.partner_admin, world.partner), customer=first.customer, user_ids=[]
    )
    assert not CustomerAssignment.unscoped.exists()
    assert second.customer in selectors.customers_visible_to(
        org=ctx(world.partner_admin, world.partner)
    )


def test_another_partner_never_reaches_the_customer(world, run_on_commit):
    partnership, _ = _accepted(world, run_on_commit)
    other = ctx(world.other_owner, world.other_partner)
    assert not selectors.customers_visible_to(org=other).exists()
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.customer_get_for_partner(org=other, customer_id=partnership.customer.pk)
    with pytest.raises(Http404):
        selectors.partnership_get(org=other, partnership_id=partnership.pk)
    sub_partner = ctx(world.sub_partner_owner, world.sub_partner)
    assert not selectors.customers_visible_to(org=sub_partner).exists()


def test_every_partnership_email_goes_out_once_even_when_its_task_runs_again(world, run_on_commit):
    from tenants.models import OutboundEmail
    from tenants.tasks import deliver_email

    _accepted(world, run_on_commit)
    count = len(mail.outbox)
    for email in OutboundEmail.objects.all():
        assert deliver_email.run(str(email.pk)) is False  # already sent: a redelivery is a no-op
    assert len(mail.outbox) == count == OutboundEmail.objects.filter(status="sent").count()
    assert PartnershipEvent.unscoped.count() == 2


# --- an unclaimed customer gets its owner ---------------------------------------------


def test_the_owner_of_an_unclaimed_customer_reviews_the_grant_and_may_change_it(
    world, run_on_commit, products
):
    web, _ = products
    partnership = add_customer(world, run_on_commit, owner_email="", access=None, payment=None)
    customer = partnership.customer
    partner_ctx = ctx(world.partner_owner, world.partner)
    assert "invite_owner" in selectors.partnership_actions(org=partner_ctx, partnership=partnership)

    run_on_commit(
        services.customer_owner_invite,
        org=partner_ctx,
        customer=customer,
        owner_email="chef@unclaimed.test",
    )

    partnership.refresh_from_db()
    assert partnership.status == Status.ACTIVE and partnership.awaits_answer
    assert mail.outbox[-1].to == ["chef@unclaimed.test"] and "/invitations/" in mail.outbox[-1].body
    token = selectors.invitation_token(partnership)
    assert (
        selectors.partnership_for_invitation(token=token, email="chef@unclaimed.test")
        == partnership
    )
    assert selectors.partner_may_act_on(
        org=partner_ctx, customer=customer
    )  # still managed meanwhile
    with pytest.raises(Conflict):  # one owner invitation at a time
        services.customer_owner_invite(org=partner_ctx, customer=customer, owner_email="x@y.test")

    owner = Membership.unscoped.get(tenant=customer, role=Role.OWNER).user
    run_on_commit(
        services.partnership_accept,
        org=ctx(owner, customer),
        partnership=partnership,
        access="limited",
        products=[web],
    )

    partnership.refresh_from_db()
    assert (partnership.access, partnership.status, partnership.awaits_answer) == (
        "limited",
        "active",
        False,
    )
    assert [e.kind for e in partnership.events.all()] == [
        "created",
        "owner_invited",
        "accepted_with_changes",
    ]
    assert selectors.partnership_for_invitation(token=token, email="chef@unclaimed.test") is None
    assert "invite_owner" not in selectors.partnership_actions(
        org=partner_ctx, partnership=partnership
    )


def test_declining_the_review_stops_the_partners_access(world, run_on_commit):
    partnership = add_customer(world, run_on_commit, owner_email="", access=None, payment=None)
    partner_ctx = ctx(world.partner_owner, world.partner)
    run_on_commit(
        services.customer_owner_invite,
        org=partner_ctx,
        customer=partnership.customer,
        owner_email="chef@unclaimed.test",
    )
    owner = Membership.unscoped.get(tenant=partnership.customer, role=Role.OWNER).user

    run_on_commit(
        services.partnership_decline,
        org=ctx(owner, partnership.customer),
        partnership=partnership,
        reason="We manage ourselves",
    )

    partnership.refresh_from_db()
    assert partnership.status == Status.DECLINED
    assert not selectors.partner_may_act_on(org=partner_ctx, customer=partnership.customer)
    assert "We manage ourselves" in mail.outbox[-1].body


def test_only_a_customer_without_owner_gets_one_invited(world, run_on_commit):
    partnership, _ = _accepted(world, run_on_commit)
    with pytest.raises(Conflict):
        services.customer_owner_invite(
            org=ctx(world.partner_owner, world.partner),
            customer=partnership.customer,
            owner_email="x@y.test",
        )
    unclaimed = add_customer(
        world, run_on_commit, name="Ohne Chef", owner_email="", access=None, payment=None
    )
    with pytest.raises(PermissionDenied):
        services.customer_owner_invite(
            org=ctx(world.partner_admin, world.partner),
            customer=unclaimed.customer,
            owner_email="x@y.test",
        )
