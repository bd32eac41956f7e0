"""The audit log (issue 10, item 7): every security-relevant action leaves an
event in the log of each organization it concerns, with who did it and what
changed; only that organization's owners read it; nobody edits or deletes it."""

import datetime

import pytest
from django.contrib.admin.sites import site as admin_site
from django.db import transaction
from django.db.models import ProtectedError
from django.test import RequestFactory
from django.urls import reverse

from catalog.tests.factories import ProductFactory
from partners import services as partner_services
from partners.models import Partnership
from subscriptions import smart_lists
from tenants import services as tenant_services
from tenants.audit import audit_record
from tenants.models import ApiToken, AuditEvent, Membership, Role
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD, UserFactory
from tests.clock import on
from upsell import services as upsell_services

Action = AuditEvent.Action
# These tests are about one day (the last half hour of a year in Zurich, another day in UTC): they travel there (tests/clock.py).
MOMENT = on(2026, 12, 31, 23, 30)
TODAY = MOMENT.date()
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MOMENT)]
API = "/api/v1/audit/"


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def log(tenant) -> list[AuditEvent]:
    """The tenant's events, oldest first."""
    return list(AuditEvent.unscoped.filter(tenant=tenant).order_by("at", "id"))


def steps(tenant) -> list[tuple]:
    return [(e.action, e.actor, e.actor_tenant) for e in log(tenant)]


@pytest.fixture
def products(db):
    return ProductFactory(code="web-hosting", name="Web Hosting"), ProductFactory(
        code="backup", name="Backup"
    )


def full_grant(world, payment="customer", ends_on=None) -> Partnership:
    """Bäckerei Müller invites Alpine IT with full access; Alpine IT accepts."""
    invited = partner_services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment=payment,
        ends_on=ends_on,
    )
    return partner_services.partnership_accept(
        org=ctx(world.partner_owner, world.partner), partnership=invited
    )


def assert_no_foreign_events(world) -> None:
    assert not AuditEvent.unscoped.filter(
        tenant__in=[world.other_partner, world.other_customer, world.sub_partner]
    ).exists()


# --- grants: both sides see every step ---------------------------------------------------------


def test_a_grant_from_invitation_to_end_is_in_both_organizations_logs(world, products):
    customer_owner = ctx(world.customer_owner, world.customer)
    partnership = full_grant(world, ends_on=TODAY + datetime.timedelta(days=60))
    partner_services.partnership_change(
        org=customer_owner, partnership=partnership, payment="partner"
    )
    partner_services.partnership_change(
        org=customer_owner, partnership=partnership, access="limited", products=[products[1]]
    )
    partner_services.partnership_request_extension(
        org=ctx(world.partner_admin, world.partner),
        partnership=partnership,
        until=TODAY + datetime.timedelta(days=120),
    )
    partner_services.partnership_approve_extension(org=customer_owner, partnership=partnership)
    partner_services.partnership_end(org=customer_owner, partnership=partnership, password=PASSWORD)

    expected = [
        (Action.GRANT_REQUESTED, world.customer_owner, world.customer),
        (Action.GRANT_ACCEPTED, world.partner_owner, world.partner),
        (Action.GRANT_PAYMENT_CHANGED, world.customer_owner, world.customer),
        (Action.GRANT_CHANGED, world.customer_owner, world.customer),
        (Action.GRANT_EXTENSION_REQUESTED, world.partner_admin, world.partner),
        (Action.GRANT_EXTENDED, world.customer_owner, world.customer),
        (Action.GRANT_ENDED, world.customer_owner, world.customer),
    ]
    assert steps(world.partner) == steps(world.customer) == expected
    # Each side's row names the other side.
    assert {e.target for e in log(world.partner)} == {world.customer.name}
    assert {e.target for e in log(world.customer)} == {world.partner.name}
    assert {e.details["partnership"] for e in log(world.customer)} == {str(partnership.pk)}
    assert {e.actor_email for e in log(world.partner)} >= {world.customer_owner.email}

    payment = AuditEvent.unscoped.get(tenant=world.partner, action=Action.GRANT_PAYMENT_CHANGED)
    assert (payment.details["before"]["payment"], payment.details["after"]["payment"]) == (
        "customer",
        "partner",
    )
    changed = AuditEvent.unscoped.get(tenant=world.customer, action=Action.GRANT_CHANGED)
    assert changed.details["before"]["access"] == "full"
    assert changed.details["after"] == {
        "access": "limited",
        "payment": "",
        "products": ["backup"],
        "ends_on": (TODAY + datetime.timedelta(days=60)).isoformat(),
    }
    ended = AuditEvent.unscoped.get(tenant=world.partner, action=Action.GRANT_ENDED)
    assert ended.details["status"] == "ended" and ended.details["before"]["access"] == "limited"
    assert_no_foreign_events(world)


def test_the_partner_ending_a_grant_is_recorded_as_the_partner(world):
    partnership = full_grant(world)
    partner_services.partnership_end(
        org=ctx(world.partner_owner, world.partner), partnership=partnership, password=PASSWORD
    )
    for tenant in (world.partner, world.customer):
        ended = AuditEvent.unscoped.get(tenant=tenant, action=Action.GRANT_ENDED)
        assert (ended.actor, ended.actor_tenant) == (world.partner_owner, world.partner)


def test_a_partner_request_answered_with_changes_declined_resent_and_cancelled(world, products):
    partner_owner = ctx(world.partner_owner, world.partner)
    asked = partner_services.customer_add(
        org=partner_owner,
        name="Neue Kunde AG",
        owner_email="owner@neue.test",
        access="full",
        payment="customer",
    )
    customer = asked.customer
    new_owner = Membership.unscoped.get(tenant=customer, role=Role.OWNER).user
    partner_services.partnership_resend(org=partner_owner, partnership=asked)
    partner_services.partnership_accept(
        org=ctx(new_owner, customer), partnership=asked, access="limited", products=[products[0]]
    )
    assert (
        steps(world.partner)
        == steps(customer)
        == [
            (Action.GRANT_REQUESTED, world.partner_owner, world.partner),
            (Action.GRANT_RESENT, world.partner_owner, world.partner),
            (Action.GRANT_ACCEPTED_WITH_CHANGES, new_owner, customer),
        ]
    )
    answer = AuditEvent.unscoped.get(
        tenant=world.partner, action=Action.GRANT_ACCEPTED_WITH_CHANGES
    )
    assert answer.details["before"]["access"] == "full"
    assert answer.details["after"]["access"] == "limited"
    assert answer.details["after"]["products"] == ["web-hosting"]

    # The customer invites the other partner and cancels; the other partner's
    # owners see it in their log, Alpine IT's never do.
    customer_owner = ctx(world.customer_owner, world.customer)
    invited = partner_services.partnership_invite_partner(
        org=customer_owner, partner=world.other_partner, access="full", payment="customer"
    )
    partner_services.partnership_cancel(org=customer_owner, partnership=invited)
    assert [a for a, _, _ in steps(world.other_partner)] == [
        Action.GRANT_REQUESTED,
        Action.GRANT_CANCELLED,
    ]
    assert steps(world.customer) == steps(world.other_partner)

    # And invites it again: the other partner declines.
    invited = partner_services.partnership_invite_partner(
        org=customer_owner, partner=world.other_partner, access="full", payment="customer"
    )
    partner_services.partnership_decline(
        org=ctx(world.other_owner, world.other_partner), partnership=invited, reason="Too busy"
    )
    declined = AuditEvent.unscoped.get(tenant=world.customer, action=Action.GRANT_DECLINED)
    assert (declined.actor, declined.actor_tenant) == (world.other_owner, world.other_partner)
    assert declined.details["note"] == "Too busy" and declined.target == world.other_partner.name
    assert not AuditEvent.unscoped.filter(tenant=world.partner, target=world.customer.name).exists()


def test_an_owner_invited_for_an_unclaimed_customer_is_in_both_logs(world):
    unclaimed = partner_services.customer_add(
        org=ctx(world.partner_admin, world.partner), name="Selbst AG"
    )
    partner_services.customer_owner_invite(
        org=ctx(world.partner_owner, world.partner),
        customer=unclaimed.customer,
        owner_email="chef@selbst.test",
    )
    expected = [
        (Action.GRANT_REQUESTED, world.partner_admin, world.partner),
        (Action.GRANT_OWNER_INVITED, world.partner_owner, world.partner),
    ]
    assert steps(world.partner) == steps(unclaimed.customer) == expected
    invited = AuditEvent.unscoped.get(tenant=unclaimed.customer, action=Action.GRANT_OWNER_INVITED)
    assert invited.details["after"] == {"email": "chef@selbst.test"}


def test_an_expired_grant_is_recorded_for_both_sides_without_an_actor(world):
    partnership = full_grant(world, ends_on=TODAY + datetime.timedelta(days=10))
    Partnership.unscoped.filter(pk=partnership.pk).update(
        ends_on=TODAY - datetime.timedelta(days=1)
    )

    assert partner_services.partnership_expire(partnership_id=partnership.pk)
    assert not partner_services.partnership_expire(partnership_id=partnership.pk)  # once

    for tenant in (world.partner, world.customer):
        expired = AuditEvent.unscoped.filter(tenant=tenant, action=Action.GRANT_EXPIRED)
        assert expired.count() == 1
        event = expired.get()
        assert (event.actor, event.actor_email, event.actor_tenant) == (None, "", None)
        assert event.details["note"] == "end date passed"


# --- members, tokens ---------------------------------------------------------------------------


def test_member_changes_are_in_the_organizations_log_with_who_and_what(world):
    admin = ctx(world.partner_admin, world.partner)
    membership = tenant_services.member_invite(
        org=admin, email="new@alpine.test", role=Role.COLLABORATOR
    )
    tenant_services.member_update(org=admin, membership=membership, role=Role.COLLABORATOR)
    tenant_services.member_update(org=admin, membership=membership, role=Role.ADMIN, buyer=True)
    newcomer = ctx(membership.user, world.partner)
    tenant_services.api_token_create(org=newcomer, name="CI")
    tenant_services.member_remove(
        org=ctx(world.partner_owner, world.partner), membership=membership
    )

    events = log(world.partner)
    assert [(e.action, e.actor, e.target) for e in events] == [
        (Action.MEMBER_INVITED, world.partner_admin, "new@alpine.test"),
        (Action.MEMBER_ROLE_CHANGED, world.partner_admin, "new@alpine.test"),
        (Action.MEMBER_BUYER_CHANGED, world.partner_admin, "new@alpine.test"),
        (Action.TOKEN_CREATED, membership.user, events[3].target),
        (Action.MEMBER_REMOVED, world.partner_owner, "new@alpine.test"),
    ]
    invited, role, buyer, _, removed = events
    assert invited.details == {"after": {"role": "collaborator", "buyer": False}}
    assert role.details == {"before": {"role": "collaborator"}, "after": {"role": "admin"}}
    assert buyer.details == {"before": {"buyer": False}, "after": {"buyer": True}}
    assert removed.details == {"before": {"role": "admin", "buyer": True}, "tokens_revoked": 1}
    assert {e.actor_tenant for e in events} == {world.partner}
    assert_no_foreign_events(world)
    assert not AuditEvent.unscoped.filter(tenant=world.customer).exists()


def test_a_refused_member_change_records_nothing(world):
    owner = Membership.unscoped.get(user=world.customer_owner, tenant=world.customer)
    with pytest.raises(Exception, match="at least one owner"):
        tenant_services.member_remove(
            org=ctx(world.customer_owner, world.customer), membership=owner
        )
    assert not AuditEvent.unscoped.exists()


def test_tokens_created_and_revoked_name_the_token_once(world):
    admin = ctx(world.partner_admin, world.partner)
    token, raw = tenant_services.api_token_create(org=admin, name="Billing sync")
    tenant_services.api_token_revoke(org=admin, token=token)
    tenant_services.api_token_revoke(org=admin, token=token)  # already revoked: nothing new

    created, revoked = log(world.partner)
    assert (created.action, revoked.action) == (Action.TOKEN_CREATED, Action.TOKEN_REVOKED)
    assert created.target == revoked.target == f"Billing sync ({token.prefix}…)"
    assert created.details == {
        "token": str(token.id),
        "name": "Billing sync",
        "prefix": token.prefix,
    }
    assert raw not in str(created.details) and token.token_hash not in str(created.details)
    assert revoked.details["made_by"] == world.partner_admin.email
    assert revoked.actor == world.partner_admin


def test_the_event_is_written_in_the_callers_transaction(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        tenant_services.api_token_create(org=ctx(world.partner_admin, world.partner), name="X")
        raise RuntimeError("rolled back")
    assert not ApiToken.unscoped.exists() and not AuditEvent.unscoped.exists()


def test_the_api_records_the_clients_address(world, api):
    client = api(world.partner_admin, world.partner)
    response = client.post(
        "/api/v1/tokens/",
        {"name": "From the API", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 201
    event = AuditEvent.unscoped.get(tenant=world.partner, action=Action.TOKEN_CREATED)
    assert event.ip == "203.0.113.7" and event.actor == world.partner_admin


# --- upsell, exports ---------------------------------------------------------------------------


def test_an_upsell_switch_is_in_the_partners_and_the_customers_log(world):
    full_grant(world)
    admin = ctx(world.partner_admin, world.partner)
    upsell_services.upsell_set(org=admin, customer_id=world.customer.pk, enabled=True)
    upsell_services.upsell_set(org=admin, customer_id=world.customer.pk, enabled=True)  # no change
    upsell_services.upsell_set(org=admin, customer_id=world.customer.pk, enabled=False)

    for tenant in (world.partner, world.customer):
        switches = AuditEvent.unscoped.filter(tenant=tenant, action=Action.UPSELL_SWITCHED)
        assert [e.details["after"] for e in switches.order_by("at")] == [
            {"enabled": True},
            {"enabled": False},
        ]
        assert {(e.actor, e.actor_tenant, e.target) for e in switches} == {
            (world.partner_admin, world.partner, world.customer.name)
        }


def test_exports_record_who_exported_what(world, api, browser):
    full_grant(world, payment="partner")
    smart_list = smart_lists.smart_list_create(
        org=ctx(world.collaborator, world.partner),
        name="Ending soon",
        filters={"ending_within_days": 30},
    )
    responses = [
        api(world.partner_owner, world.partner).get("/api/v1/billing/export.csv"),
        api(world.collaborator, world.partner).get(
            reverse("api:smart-list-export", args=[smart_list.pk])
        ),
        browser(world.partner_admin).get(reverse("billing_export", args=["alpine"])),
        browser(world.partner_admin).get(
            reverse("smart_list_export", args=["alpine", smart_list.pk])
        ),
    ]
    assert [r.status_code for r in responses] == [200] * 4
    for response in responses:
        b"".join(response.streaming_content)

    exports = [e for e in log(world.partner) if e.action.startswith("export.")]
    filename = f"billing-alpine-{TODAY.isoformat()}.csv"
    assert [(e.action, e.actor, e.target, e.ip) for e in exports] == [
        (Action.EXPORT_BILLING, world.partner_owner, filename, "127.0.0.1"),
        (Action.EXPORT_SMART_LIST, world.collaborator, "Ending soon", "127.0.0.1"),
        (Action.EXPORT_BILLING, world.partner_admin, filename, "127.0.0.1"),
        (Action.EXPORT_SMART_LIST, world.partner_admin, "Ending soon", "127.0.0.1"),
    ]
    assert exports[1].details["smart_list"] == str(smart_list.pk)
    assert exports[1].details["filters"] == {"ending_within_days": 30}
    assert exports[1].details["columns"] == smart_list.columns
    # A refused export records nothing.
    assert (
        api(world.collaborator, world.partner).get("/api/v1/billing/export.csv").status_code == 403
    )
    assert len([e for e in log(world.partner) if e.action.startswith("export.")]) == 4


# --- who reads the log -------------------------------------------------------------------------


@pytest.fixture
def history(world):
    """A few events on both sides of Alpine IT and Bäckerei Müller."""
    full_grant(world)
    tenant_services.api_token_create(org=ctx(world.partner_admin, world.partner), name="CI")
    return world


def test_the_owners_read_their_organizations_log_in_the_browser(history, browser):
    world = history
    page = browser(world.partner_owner).get(reverse("audit_log", args=["alpine"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>Access accepted</strong>" in html
    assert "<strong>API token created</strong>" in html
    assert world.customer.name in html and world.partner_admin.email in html
    assert f'href="{reverse("audit_log", args=["alpine"])}"' in html  # the nav link

    filtered = browser(world.partner_owner).get(
        reverse("audit_log", args=["alpine"]), {"action": Action.TOKEN_CREATED}
    )
    assert "<strong>API token created</strong>" in filtered.content.decode()
    assert "<strong>Access accepted</strong>" not in filtered.content.decode()

    customer_page = browser(world.customer_owner).get(reverse("audit_log", args=["mueller"]))
    assert customer_page.status_code == 200
    assert "<strong>Access accepted</strong>" in customer_page.content.decode()
    assert "<strong>API token created</strong>" not in customer_page.content.decode()


@pytest.mark.parametrize(
    "who, slug, status",
    [
        ("partner_admin", "alpine", 403),
        ("collaborator", "alpine", 403),
        ("customer_admin", "mueller", 403),
        ("customer_user", "mueller", 403),
        ("other_owner", "alpine", 404),
        ("customer_owner", "alpine", 404),
    ],
)
def test_nobody_but_the_owners_reads_the_page(history, browser, who, slug, status):
    client = browser(getattr(history, who))
    assert client.get(reverse("audit_log", args=[slug])).status_code == status


def test_the_nav_shows_the_log_to_owners_only(history, browser):
    link = 'href="/t/alpine/audit/"'
    assert link in browser(history.partner_owner).get("/t/alpine/members/").content.decode()
    assert link not in browser(history.partner_admin).get("/t/alpine/members/").content.decode()


def test_the_page_shows_50_events_a_page(world, browser):
    for i in range(51):
        audit_record(tenant=world.partner, action=Action.EXPORT_BILLING, target=f"file-{i:02}.csv")
    client = browser(world.partner_owner)
    first = client.get(reverse("audit_log", args=["alpine"])).content.decode()
    second = client.get(reverse("audit_log", args=["alpine"]), {"page": 2}).content.decode()
    assert first.count("file-") == 50 and "file-00.csv" not in first
    assert second.count("file-") == 1 and "file-00.csv" in second


def test_the_owners_read_the_log_through_the_api(history, api):
    world = history
    body = api(world.partner_owner, world.partner).get(API).json()
    assert body["count"] == 3
    assert [row["action"] for row in body["results"]] == [
        Action.TOKEN_CREATED,
        Action.GRANT_ACCEPTED,
        Action.GRANT_REQUESTED,
    ]
    accepted = body["results"][1]
    assert accepted["actor"] == str(world.partner_owner.id)
    assert accepted["actor_email"] == world.partner_owner.email
    assert accepted["actor_tenant"]["id"] == str(world.partner.id)
    assert accepted["target"] == world.customer.name
    assert accepted["details"]["after"]["access"] == "full"
    assert accepted["action_label"] == "Access accepted"

    only = api(world.partner_owner, world.partner).get(API, {"action": Action.GRANT_REQUESTED})
    assert [row["action"] for row in only.json()["results"]] == [Action.GRANT_REQUESTED]
    bad = api(world.partner_owner, world.partner).get(API, {"action": "nonsense"})
    assert bad.status_code == 400

    one = api(world.partner_owner, world.partner).get(f"{API}{accepted['id']}/")
    assert one.status_code == 200 and one.json()["id"] == accepted["id"]


def test_other_organizations_never_see_the_events(history, api):
    world = history
    partner_event = AuditEvent.unscoped.get(tenant=world.partner, action=Action.GRANT_ACCEPTED)
    other = api(world.other_owner, world.other_partner)
    assert other.get(API).json()["count"] == 0
    assert other.get(f"{API}{partner_event.pk}/").status_code == 404
    assert other.get(f"{API}not-an-id/").status_code == 404
    # The customer's owner reads the customer's copy, not the partner's row.
    customer = api(world.customer_owner, world.customer)
    assert customer.get(API).json()["count"] == 2
    assert customer.get(f"{API}{partner_event.pk}/").status_code == 404
    # Naming another organization is the 404 of a missing one.
    assert api(world.other_owner, world.partner).get(API).status_code == 404


def test_staff_read_any_organizations_log(history, api, browser):
    assert api(history.staff, history.partner).get(API).json()["count"] == 3
    assert browser(history.staff).get(reverse("audit_log", args=["alpine"])).status_code == 200


@pytest.mark.parametrize(
    "who, tenant",
    [("partner_admin", "partner"), ("collaborator", "partner"), ("customer_user", "customer")],
)
def test_the_api_is_for_owners_only(history, api, who, tenant):
    client = api(getattr(history, who), getattr(history, tenant))
    assert client.get(API).status_code == 403
    event = AuditEvent.unscoped.filter(tenant=getattr(history, tenant)).first()
    assert client.get(f"{API}{event.pk}/").status_code == 403


def test_the_api_cannot_write_edit_or_delete_an_event(history, api):
    client = api(history.partner_owner, history.partner)
    event = AuditEvent.unscoped.get(tenant=history.partner, action=Action.GRANT_ACCEPTED)
    detail = f"{API}{event.pk}/"
    assert client.post(API, {"action": "token.created", "target": "forged"}).status_code == 405
    assert client.put(detail, {"target": "changed"}).status_code == 405
    assert client.patch(detail, {"target": "changed"}).status_code == 405
    assert client.delete(detail).status_code == 405
    event.refresh_from_db()
    assert event.target == history.customer.name
    assert AuditEvent.unscoped.filter(tenant=history.partner).count() == 3


def test_the_list_takes_the_same_queries_for_1_or_30_events(world, api, django_assert_num_queries):
    client = api(world.partner_owner, world.partner)
    audit_record(tenant=world.partner, action=Action.EXPORT_BILLING, actor_tenant=world.partner)
    client.get(API)  # warm the session
    with django_assert_num_queries(5) as few:  # session, user, membership, count, events
        client.get(API)
    for _ in range(29):
        audit_record(tenant=world.partner, action=Action.EXPORT_BILLING, actor_tenant=world.partner)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(API).json()["count"] == 30


# --- kept: never edited, never deleted -----------------------------------------------------------


def test_an_event_cannot_be_edited_or_deleted(history):
    event = AuditEvent.unscoped.get(tenant=history.partner, action=Action.GRANT_ACCEPTED)
    event.target = "rewritten"
    with pytest.raises(ValueError, match="cannot be edited"):
        event.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        event.delete()
    with pytest.raises(ValueError, match="cannot be edited"):
        AuditEvent.unscoped.filter(pk=event.pk).update(target="rewritten")
    with pytest.raises(ValueError, match="cannot be deleted"):
        AuditEvent.unscoped.filter(tenant=history.partner).delete()
    event.refresh_from_db()
    assert event.target == history.customer.name
    assert AuditEvent.unscoped.filter(tenant=history.partner).count() == 3


def test_an_organization_with_a_log_cannot_be_deleted(history):
    with pytest.raises(ProtectedError):
        history.customer.delete()
    assert AuditEvent.unscoped.filter(tenant=history.customer).count() == 2


def test_a_deleted_account_leaves_its_events_with_its_email(world):
    person = UserFactory(email="leaver@alpine.test")
    Membership.unscoped.create(user=person, tenant=world.partner, role=Role.ADMIN)
    tenant_services.api_token_create(org=ctx(person, world.partner), name="Theirs")
    person.delete()
    event = AuditEvent.unscoped.get(tenant=world.partner, action=Action.TOKEN_CREATED)
    assert (event.actor, event.actor_email) == (None, "leaver@alpine.test")


def test_the_admin_reads_the_log_and_changes_nothing(history, client):
    world = history
    client.force_login(world.staff)
    event = AuditEvent.unscoped.get(tenant=world.partner, action=Action.GRANT_ACCEPTED)
    model_admin = admin_site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = world.staff
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert model_admin.has_view_permission(request, event)

    assert client.get(reverse("admin:tenants_auditevent_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:tenants_auditevent_change", args=[event.pk])).status_code == 200
    )
    assert client.get(reverse("admin:tenants_auditevent_add")).status_code == 403
    assert (
        client.post(reverse("admin:tenants_auditevent_delete", args=[event.pk])).status_code == 403
    )
    changed = client.post(
        reverse("admin:tenants_auditevent_change", args=[event.pk]), {"target": "rewritten"}
    )
    assert changed.status_code == 403
    assert AuditEvent.unscoped.get(pk=event.pk).target == world.customer.name
