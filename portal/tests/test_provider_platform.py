"""The provider console's platform pages (issue 22): the platform's MRR and
movements by partner, every organization's audit log with its filters and CSV
export, and tender moderation."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from subscriptions.tests.test_book_mrr import sub
from tenants.models import AuditEvent, Role
from tenants.selectors import org_context_for
from tenants.tests.factories import CustomerFactory, MembershipFactory
from tenders.models import Tender
from tenders.services import tender_post, tender_post_visitor, tender_propose
from tests.clock import on

pytestmark = pytest.mark.django_db
D = datetime.date
AUDIT = reverse("provider_audit")
EXPORT = reverse("provider_audit_export")
TENDERS = reverse("provider_tenders")


# --- the platform's MRR ----------------------------------------------------------------------


@pytest.mark.time_machine(on(2025, 6, 15))
def test_staff_see_the_platform_mrr_and_each_partners_movements(world, browser):
    sub(CustomerFactory(parent=world.partner), "120.50", D(2025, 5, 1))
    sub(CustomerFactory(parent=world.sub_partner), "10", D(2025, 6, 1))
    sub(world.other_customer, "99", D(2025, 4, 1), currency="EUR")
    page = browser(world.staff).get(reverse("provider_mrr"), {"months": 3})
    assert page.status_code == 200
    figures = page.context["figures"]
    chf = figures["currencies"][0]
    assert [m["mrr"] for m in chf["history"]] == [
        Decimal("0.00"),
        Decimal("120.50"),
        Decimal("130.50"),
    ]
    rows = [(r["partner"]["name"], r["currency"], r["mrr"], r["new"]) for r in page.context["page"]]
    assert rows == [
        ("Alpine IT", "CHF", Decimal("120.50"), Decimal("0.00")),
        ("Lakeside", "CHF", Decimal("10.00"), Decimal("10.00")),
        ("Rhein Cloud", "EUR", Decimal("99.00"), Decimal("0.00")),
    ]
    body = page.content.decode()
    assert "Lakeside" in body and "130.50" in body
    may = browser(world.staff).get(reverse("provider_mrr"), {"months": 3, "month": "2025-05"})
    assert [(r["partner"]["name"], r["new"]) for r in may.context["page"]] == [
        ("Alpine IT", Decimal("120.50")),  # Lakeside's customer had not started
        ("Rhein Cloud", Decimal("0.00")),
    ]


@pytest.mark.time_machine(on(2025, 6, 15))
def test_a_bad_month_is_a_400_with_the_error(world, browser):
    page = browser(world.staff).get(reverse("provider_mrr"), {"months": 3, "month": "2024-01"})
    assert page.status_code == 400
    assert page.context["form"].errors["month"]
    assert browser(world.staff).get(reverse("provider_mrr"), {"months": "99"}).status_code == 400


def test_the_mrr_page_queries_do_not_grow_with_partners(
    world, browser, django_assert_max_num_queries
):
    client = browser(world.staff)
    client.get(reverse("provider_mrr"))  # sessions, the provider: warm
    for _ in range(6):
        sub(CustomerFactory(parent=world.partner), "5", D(2025, 1, 1))
    with django_assert_max_num_queries(
        7
    ):  # session, user, provider staff's membership, provider, 2 currencies
        response = client.get(reverse("provider_mrr"))
    assert response.status_code == 200


# --- the audit log ---------------------------------------------------------------------------


@pytest.fixture
def events(world):
    """Five events in three logs over four days, one hour apart."""

    made = []
    for hour, (tenant, action, actor, day, target) in enumerate(
        [
            (world.partner, AuditEvent.Action.MEMBER_INVITED, world.partner_owner, 1, "new@x.test"),
            (world.partner, AuditEvent.Action.TOKEN_CREATED, world.partner_admin, 2, "=SUM(A1)"),
            (world.customer, AuditEvent.Action.TOKEN_CREATED, world.customer_owner, 2, "ci"),
            (world.other_partner, AuditEvent.Action.TENANT_SUSPENDED, world.staff, 3, "Rhein"),
            (world.other_partner, AuditEvent.Action.MEMBER_REMOVED, world.other_owner, 4, "gone"),
        ],
        start=8,
    ):
        e = AuditEvent(
            tenant=tenant,
            action=action,
            actor=actor,
            actor_email=actor.email,
            actor_tenant=tenant,
            target=target,
            at=on(2026, 3, day, hour),
            ip="192.0.2.7",
        )
        e.save(force_insert=True)
        made.append(e)
    return made


def _targets(page):
    return [e.target for e in page.context["page"]]


def test_the_audit_log_filters_by_organization_actor_action_and_days(world, browser, events):
    client = browser(world.staff)
    assert _targets(client.get(AUDIT)) == ["gone", "Rhein", "ci", "=SUM(A1)", "new@x.test"]
    assert _targets(client.get(AUDIT, {"organization": "alpine"})) == ["=SUM(A1)", "new@x.test"]
    assert _targets(client.get(AUDIT, {"organization": "rhein"})) == ["gone", "Rhein"]
    assert _targets(client.get(AUDIT, {"actor": world.customer_owner.email.upper()})) == ["ci"]
    assert _targets(client.get(AUDIT, {"action": "token.created"})) == ["ci", "=SUM(A1)"]
    days = {"since": "2026-03-02", "until": "2026-03-03"}
    assert _targets(client.get(AUDIT, days)) == ["Rhein", "ci", "=SUM(A1)"]
    both = {"action": "token.created", "organization": "Müller", "since": "2026-03-02"}
    assert _targets(client.get(AUDIT, both)) == ["ci"]


def test_bad_audit_filters_are_a_400_with_the_errors(world, browser, events):
    client = browser(world.staff)
    page = client.get(AUDIT, {"since": "2026-03-05", "until": "2026-03-01"})
    assert page.status_code == 400 and page.context["form"].errors["until"]
    assert client.get(AUDIT, {"action": "nope"}).status_code == 400
    assert client.get(EXPORT, {"since": "not a day"}).status_code == 400
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.EXPORT_AUDIT).exists()


def test_the_audit_log_is_paginated_in_a_fixed_number_of_queries(
    world, browser, events, django_assert_max_num_queries
):
    client = browser(world.staff)
    client.get(AUDIT)
    more = [
        AuditEvent(tenant=world.customer, action=AuditEvent.Action.TOKEN_REVOKED, target=f"t{i}")
        for i in range(60)
    ]
    AuditEvent.unscoped.bulk_create(more)
    with django_assert_max_num_queries(7):
        page = client.get(AUDIT)
    assert len(page.context["page"]) == 50
    assert page.context["page"].paginator.count == 65
    assert len(client.get(AUDIT, {"page": 2}).context["page"]) == 15


def test_the_csv_export_streams_the_filtered_rows_and_is_audited(world, browser, events):
    client = browser(world.staff)
    response = client.get(EXPORT, {"organization": "alpine", "since": "2026-03-01"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["organization"], r["action"], r["actor_email"], r["target"]) for r in rows] == [
        ("Alpine IT", "token.created", world.partner_admin.email, "'=SUM(A1)"),
        ("Alpine IT", "member.invited", world.partner_owner.email, "new@x.test"),
    ]
    assert rows[0]["action_label"] == "API token created"
    assert rows[0]["ip"] == "192.0.2.7"
    assert rows[0]["at"].startswith("2026-03-02")
    exported = AuditEvent.unscoped.get(action=AuditEvent.Action.EXPORT_AUDIT)
    assert exported.tenant == world.provider and exported.actor == world.staff
    assert exported.details == {"filters": {"organization": "alpine", "since": "2026-03-01"}}


# --- tender moderation -----------------------------------------------------------------------


@pytest.fixture
def tenders(world, django_capture_on_commit_callbacks):
    world.partner.receives_tenders = True
    world.partner.save(update_fields=["receives_tenders"])
    fields = {
        "description": "We need hosting.",
        "category": Product.Category.HOSTING,
        "contact_name": "Karl",
        "contact_email": "karl@mueller.example",
        "valid_until": timezone.localdate() + datetime.timedelta(days=30),
    }
    with django_capture_on_commit_callbacks(execute=True):
        posted = tender_post(
            org=org_context_for(user=world.customer_owner, tenant_id=world.customer.pk),
            title="Cheap pills",
            **fields,
        )
        tender_propose(
            org=org_context_for(user=world.partner_owner, tenant_id=world.partner.pk),
            tender=posted,
            message="Happy to help",
        )
        visitor = tender_post_visitor(
            title="Unconfirmed spam", **{**fields, "contact_email": "v@visitor.example"}
        )
    mail.outbox.clear()
    return posted, visitor


def test_staff_list_every_request_with_its_proposals(world, browser, tenders):
    page = browser(world.staff).get(TENDERS)
    assert page.status_code == 200
    listed = {t.title: t for t in page.context["page"]}
    assert set(listed) == {"Cheap pills", "Unconfirmed spam"}
    assert listed["Cheap pills"].proposal_count == 1
    only_open = browser(world.staff).get(TENDERS, {"status": "open"})
    assert [t.title for t in only_open.context["page"]] == ["Cheap pills"]
    assert [
        t.title for t in browser(world.staff).get(TENDERS, {"q": "müller"}).context["page"]
    ] == ["Cheap pills"]


def test_staff_withdraw_a_request_with_a_reason_audited_and_emailed(
    world, browser, api, tenders, django_capture_on_commit_callbacks
):
    posted, _ = tenders
    url = reverse("provider_tender_withdraw", kwargs={"tender_id": posted.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(world.staff).post(url, {"reason": "Not a service we sell."})
    assert response.status_code == 302 and response["Location"] == TENDERS
    posted.refresh_from_db()
    assert posted.status == Tender.Status.WITHDRAWN
    assert posted.withdrawal_reason == "Not a service we sell."
    # partners stop seeing it at once
    partner = api(world.partner_owner, world.partner)
    assert partner.get(reverse("api:tender-list")).json()["count"] == 0
    # the poster is told why
    assert [m.to for m in mail.outbox] == [[world.customer_owner.email]]
    assert "Not a service we sell." in mail.outbox[0].body
    # audited in the provider's log and the customer's
    logs = AuditEvent.unscoped.filter(action=AuditEvent.Action.TENDER_WITHDRAWN)
    assert {e.tenant for e in logs} == {world.provider, world.customer}
    assert all(e.actor == world.staff and e.target == "Cheap pills" for e in logs)
    assert logs[0].details["reason"] == "Not a service we sell."
    # the poster's page says so
    page = browser(world.customer_owner).get(
        reverse("tender_detail", kwargs={"slug": world.customer.slug, "tender_id": posted.pk})
    )
    assert "Withdrawn: Not a service we sell." in page.content.decode()
    # a second withdrawal is a 409, and the poster cannot cancel it any more
    again = browser(world.staff).post(url, {"reason": "Again"})
    assert again.status_code == 409
    assert logs.count() == 2
    customer = api(world.customer_owner, world.customer)
    cancel = customer.post(reverse("api:tender-cancel", kwargs={"pk": posted.pk}))
    assert cancel.status_code == 409


def test_an_unconfirmed_visitor_is_sent_nothing(world, browser, tenders):
    _, visitor = tenders
    url = reverse("provider_tender_withdraw", kwargs={"tender_id": visitor.pk})
    response = browser(world.staff).post(url, {"reason": "Spam"})
    assert response.status_code == 302
    visitor.refresh_from_db()
    assert visitor.status == Tender.Status.WITHDRAWN
    assert mail.outbox == []
    event = AuditEvent.unscoped.get(action=AuditEvent.Action.TENDER_WITHDRAWN)
    assert event.tenant == world.provider  # a visitor's request has no customer log


def test_no_reason_is_a_400_and_changes_nothing(world, browser, tenders):
    posted, _ = tenders
    url = reverse("provider_tender_withdraw", kwargs={"tender_id": posted.pk})
    response = browser(world.staff).post(url, {"reason": "   "})
    assert response.status_code == 400
    assert response.context["failed"]["form"].errors["reason"]
    posted.refresh_from_db()
    assert posted.status == Tender.Status.OPEN
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.TENDER_WITHDRAWN).exists()


def test_provider_collaborators_read_but_cannot_moderate(world, client, tenders):
    """The console's one rule (tenants.selectors.provider_staff_of): the provider's
    collaborators read its pages, its owners and admins (and platform staff) write."""
    posted, _ = tenders
    member = MembershipFactory(tenant=world.provider, role=Role.COLLABORATOR).user
    client.force_login(member)
    url = reverse("provider_tender_withdraw", kwargs={"tender_id": posted.pk})
    assert client.post(url, {"reason": "x"}).status_code == 403
    assert client.get(AUDIT).status_code == 200
    posted.refresh_from_db()
    assert posted.status == Tender.Status.OPEN
