"""Members, API tokens, partners and the email outbox, through the services."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from core.exceptions import Conflict
from tenants import emails, selectors, services, tasks
from tenants.models import ApiToken, Membership, OutboundEmail, Role, Tenant, User

pytestmark = pytest.mark.django_db


def org(user, tenant):
    return selectors.org_context_for(user=user, tenant_id=tenant.id)


def test_inviting_a_new_person_creates_the_account_membership_and_one_email(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        membership = services.member_invite(
            org=org(world.partner_admin, world.partner),
            email="New.Person@Example.test",
            role=Role.COLLABORATOR,
        )
    assert len(callbacks) == 1 and not mail.outbox  # nothing leaves before the commit
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()

    assert membership.user.email == "new.person@example.test"
    assert not membership.user.has_usable_password()
    assert membership.invited_by == world.partner_admin
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.test"]
    assert "Alpine IT" in message.subject
    assert re.search(r"https://portal\.example\.test/accounts/password/reset/key/\S+", message.body)
    assert message.alternatives and "Choose your password" in message.alternatives[0][0]


def test_inviting_an_existing_account_reuses_it_and_links_to_sign_in(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.member_invite(
            org=org(world.customer_owner, world.customer),
            email=world.partner_owner.email,
            role=Role.USER,
        )
    assert membership.user == world.partner_owner
    assert "https://portal.example.test/accounts/login/" in mail.outbox[0].body


def test_a_role_must_fit_the_kind_of_organization(world):
    with pytest.raises(ValidationError) as error:
        services.member_invite(
            org=org(world.partner_owner, world.partner), email="x@example.test", role=Role.USER
        )
    assert "role" in error.value.message_dict
    assert not Membership.unscoped.filter(user__email="x@example.test").exists()


def test_only_owners_make_owners_and_users_invite_nobody(world):
    with pytest.raises(PermissionDenied):
        services.member_invite(
            org=org(world.partner_admin, world.partner), email="o@example.test", role=Role.OWNER
        )
    with pytest.raises(PermissionDenied):
        services.member_invite(
            org=org(world.customer_user, world.customer), email="u@example.test", role=Role.USER
        )


def test_inviting_a_member_twice_is_a_field_error(world):
    with pytest.raises(ValidationError, match="already a member"):
        services.member_invite(
            org=org(world.partner_owner, world.partner),
            email=world.partner_admin.email,
            role=Role.ADMIN,
        )


def test_the_last_owner_can_be_neither_demoted_nor_removed(world):
    owner_ctx = org(world.partner_owner, world.partner)
    owner_membership = Membership.unscoped.get(user=world.partner_owner, tenant=world.partner)
    with pytest.raises(Conflict):
        services.member_update(org=owner_ctx, membership=owner_membership, role=Role.ADMIN)
    with pytest.raises(Conflict):
        services.member_remove(org=owner_ctx, membership=owner_membership)

    admin_membership = Membership.unscoped.get(user=world.partner_admin, tenant=world.partner)
    services.member_update(org=owner_ctx, membership=admin_membership, role=Role.OWNER)
    services.member_update(org=owner_ctx, membership=owner_membership, role=Role.ADMIN)
    assert Membership.unscoped.get(pk=owner_membership.pk).role == Role.ADMIN


def test_admins_cannot_change_owners_but_set_buyer_flags(world):
    admin_ctx = org(world.customer_admin, world.customer)
    owner_membership = Membership.unscoped.get(user=world.customer_owner, tenant=world.customer)
    user_membership = Membership.unscoped.get(user=world.customer_user, tenant=world.customer)
    with pytest.raises(PermissionDenied):
        services.member_update(org=admin_ctx, membership=owner_membership, role=Role.USER)
    with pytest.raises(PermissionDenied):
        services.member_update(org=admin_ctx, membership=user_membership, role=Role.OWNER)
    services.member_update(org=admin_ctx, membership=user_membership, buyer=True)
    assert Membership.unscoped.get(pk=user_membership.pk).buyer is True


def test_removing_a_member_revokes_their_tokens_here(world):
    collaborator_membership = Membership.unscoped.get(user=world.collaborator, tenant=world.partner)
    collaborator_membership.role = Role.ADMIN
    collaborator_membership.save()
    token, raw = services.api_token_create(org=org(world.collaborator, world.partner), name="sync")

    services.member_remove(
        org=org(world.partner_owner, world.partner), membership=collaborator_membership
    )

    assert selectors.api_token_authenticate(raw=raw) is None
    assert ApiToken.unscoped.get(pk=token.pk).revoked_at is not None


def test_api_tokens_are_stored_hashed_and_revocable(world):
    token, raw = services.api_token_create(
        org=org(world.partner_admin, world.partner), name="billing sync"
    )
    assert raw.startswith("pp_") and len(raw) > 40
    assert raw not in token.token_hash and token.prefix == raw[:10]
    assert selectors.api_token_authenticate(raw=raw) == token
    assert selectors.api_token_authenticate(raw=raw + "x") is None

    services.api_token_revoke(org=org(world.partner_owner, world.partner), token=token)
    assert selectors.api_token_authenticate(raw=raw) is None


def test_a_token_comes_with_its_user_tenant_and_membership_as_the_orm_reads_them(
    world, django_assert_num_queries
):
    """One query (core.db.CompiledQuery): every column of the four rows, with the
    fields' own values (the tenant's email domains, times), none left to load."""
    world.partner.email_domains = ["alpine.test", "alpine.example"]
    world.partner.save()
    token, raw = services.api_token_create(org=org(world.partner_admin, world.partner), name="a")

    with django_assert_num_queries(1):
        found = selectors.api_token_authenticate(raw=raw)
        loaded = (found, found.user, found.tenant, found.membership)
        assert found.membership.user is found.user and found.membership.tenant is found.tenant

    expected = (
        ApiToken.unscoped.get(pk=token.pk),
        User.objects.get(pk=world.partner_admin.pk),
        Tenant.objects.get(pk=world.partner.pk),
        Membership.unscoped.get(user=world.partner_admin, tenant=world.partner),
    )
    for instance, reference in zip(loaded, expected, strict=True):
        assert instance.pk == reference.pk and not instance._state.adding
        for field in type(instance)._meta.concrete_fields:
            assert getattr(instance, field.attname) == getattr(reference, field.attname), field
    assert found.tenant.email_domains == ["alpine.test", "alpine.example"]


def test_collaborators_and_users_cannot_make_tokens(world):
    with pytest.raises(PermissionDenied):
        services.api_token_create(org=org(world.collaborator, world.partner), name="x")
    with pytest.raises(ValidationError):
        services.api_token_create(org=org(world.partner_admin, world.partner), name="  ")


def test_staff_create_a_partner_with_its_owner(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        partner = services.partner_create(
            actor=world.staff,
            name="Ticino Cloud",
            owner_email="boss@ticino.test",
            currency="CHF",
            parent=world.partner,
        )
    assert partner.kind == Tenant.Kind.PARTNER and partner.parent == world.partner
    assert partner in selectors.tenant_descendants(tenant=world.partner)
    assert Membership.unscoped.get(tenant=partner).role == Role.OWNER
    assert mail.outbox[0].to == ["boss@ticino.test"]
    with pytest.raises(PermissionDenied):
        services.partner_create(actor=world.partner_owner, name="X", owner_email="x@x.test")
    with pytest.raises(ValidationError):
        services.partner_create(
            actor=world.staff, name="X", owner_email="x@x.test", parent=world.customer
        )


def test_organization_update_keeps_domains_clean_and_refuses_foreign_fields(world):
    ctx = org(world.customer_owner, world.customer)
    tenant = services.organization_update(
        org=ctx, data={"email_domains": [" Mueller.CH ", ""], "city": "Bern"}
    )
    assert tenant.email_domains == ["mueller.ch"] and tenant.city == "Bern"
    with pytest.raises(ValidationError):
        services.organization_update(org=ctx, data={"email_domains": ["a@b.ch"]})
    with pytest.raises(ValidationError):
        services.organization_update(org=ctx, data={"listed_in_directory": True})  # partners only
    with pytest.raises(PermissionDenied):
        services.organization_update(
            org=org(world.customer_user, world.customer), data={"city": "Thun"}
        )


def test_an_email_task_delivered_twice_sends_once(world):
    queued = emails.email_queue(
        key="test:1",
        to="a@example.test",
        template="membership_invitation",
        context={"organization": "X", "role": "Admin", "action_url": "u", "console_url": "c"},
    )
    again = emails.email_queue(
        key="test:1",
        to="a@example.test",
        template="membership_invitation",
        context={"organization": "X", "role": "Admin", "action_url": "u", "console_url": "c"},
    )
    assert again.pk == queued.pk

    assert tasks.deliver_email.run(str(queued.id)) is True
    assert tasks.deliver_email.run(str(queued.id)) is False
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.get(pk=queued.pk).status == OutboundEmail.Status.SENT


def test_a_failed_send_stays_pending_for_the_retry_and_the_sweeper(world, monkeypatch):
    queued = emails.email_queue(
        key="test:2",
        to="a@example.test",
        template="membership_invitation",
        context={"organization": "X", "role": "Admin", "action_url": "u", "console_url": "c"},
    )

    def broken_send(self, *args, **kwargs):
        raise OSError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken_send)
    with pytest.raises(OSError):
        emails.email_deliver(email_id=str(queued.id))
    row = OutboundEmail.objects.get(pk=queued.pk)
    assert (
        row.status == OutboundEmail.Status.PENDING
        and row.attempts == 1
        and "SMTP down" in row.last_error
    )

    monkeypatch.undo()
    OutboundEmail.objects.filter(pk=queued.pk).update(created_at=row.created_at.replace(year=2000))
    assert tasks.sweep_pending_emails.run() == 1  # eager: re-enqueued and delivered
    assert OutboundEmail.objects.get(pk=queued.pk).status == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1


def test_a_notification_is_written_once_per_person_and_sent_once(
    world, django_capture_on_commit_callbacks
):
    people = [world.partner_owner, world.partner_admin, world.partner_owner]
    with django_capture_on_commit_callbacks(execute=True):
        ids = emails.notify(
            key="test:notice", users=people, subject="Hi", lines=["One"], url="/", label="Open"
        )
    assert len(ids) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [world.partner_owner.email, world.partner_admin.email]
    )
    # the same notification again: nothing new, nothing sent twice
    assert (
        emails.notify(key="test:notice", users=people, subject="Hi", lines=[], url="/", label="x")
        == []
    )
    assert tasks.deliver_emails.run([str(i) for i in ids]) == 0
    assert len(mail.outbox) == 2


def test_deliver_emails_retries_only_the_ones_that_failed(world, monkeypatch):
    ids = emails.notify(
        key="test:retry",
        users=[world.partner_owner, world.partner_admin],
        subject="Hi",
        lines=["One"],
        url="/",
        label="Open",
        enqueue=False,
    )
    failing = OutboundEmail.objects.get(to=world.partner_admin.email, key__startswith="test:retry")
    real = emails.email_deliver

    def flaky(*, email_id):
        if str(email_id) == str(failing.pk):
            raise ConnectionError("relay down")
        return real(email_id=email_id)

    monkeypatch.setattr(emails, "email_deliver", flaky)
    retried = []
    monkeypatch.setattr(
        tasks.deliver_emails, "retry", lambda args, exc: retried.append(args) or RuntimeError()
    )
    with pytest.raises(RuntimeError):
        tasks.deliver_emails.run(ids)
    assert retried == [[[str(failing.pk)]]]  # the task again, with the failed id only
    assert (
        OutboundEmail.objects.get(to=world.partner_owner.email, key__startswith="test:retry").status
        == "sent"
    )
