"""Issue 24, item 5 (SPEC §1 rev. 2): a person sees their signed-in sessions on
"Your profile" and ends them; a removed membership, a suspended organization
and a changed or reset password end the affected sessions, and leave API
tokens revoked (membership) or refused until reinstatement (suspension)
(tenants.sessions; docs/security.md, "Sessions").

The session-ending tests run on PostgreSQL too (DATABASE_URL)."""

import datetime

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import AuditEvent, Membership, Role, Tenant
from tenants.selectors import org_context_for
from tenants.services import api_token_create, member_remove, tenant_status_set
from tenants.sessions import session_ref, user_agent_summary
from tenants.tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sessions_tracked(settings):
    """The test settings leave session activity untracked (a page's pinned
    statement count would include its first write); these tests track it, as
    production does (base.py)."""
    settings.USERSESSIONS_TRACK_ACTIVITY = True


FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def signed_in(user, agent=FIREFOX_WINDOWS, ip="203.0.113.7") -> Client:
    """A browser of its own, signed in as `user`, that has opened a page."""
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200
    return client


def is_signed_in(client: Client) -> bool:
    return client.get(reverse("profile")).status_code == 200


def token_answer(raw: str, tenant: Tenant) -> int:
    return Client().get("/api/v1/organization/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


# --- what the person sees ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (EDGE_WINDOWS, "Edge on Windows"),
        (CHROME_ANDROID, "Chrome on Android"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "Unknown device"),
    ],
)
def test_the_device_is_the_browser_and_system_the_user_agent_names(agent, summary):
    assert user_agent_summary(agent) == summary


def test_your_profile_lists_each_session_with_device_ip_and_last_seen(world):
    phone = signed_in(world.partner_admin, SAFARI_IPHONE, "198.51.100.20")
    laptop = signed_in(world.partner_admin, FIREFOX_WINDOWS, "203.0.113.7")
    signed_in(world.customer_owner)  # someone else's: not listed

    page = laptop.get(reverse("profile")).content.decode()

    assert "Your sessions" in page
    assert "Safari on iOS" in page and "198.51.100.20" in page
    assert "Firefox on Windows" in page and "203.0.113.7" in page
    assert page.count("this session") == 1
    assert page.index("Firefox on Windows") < page.index("Safari on iOS")  # current first
    for own in UserSession.objects.filter(user=world.partner_admin):
        assert reverse("profile_session_end", args=[session_ref(own)]) in page
    assert "End all other sessions" in page
    assert is_signed_in(phone)


def test_allauths_sessions_page_leads_to_your_sessions(world):
    laptop = signed_in(world.partner_admin)
    response = laptop.get("/accounts/sessions/")
    assert response.status_code == 302 and response.url == "/profile/#sessions"
    assert reverse("usersessions_list") == "/accounts/sessions/"


def test_your_sessions_is_translated(world):
    laptop = signed_in(world.partner_admin)
    world.partner_admin.language = "de"
    world.partner_admin.save(update_fields=["language"])
    page = laptop.get(reverse("profile")).content.decode()
    assert "Ihre Sitzungen" in page and "diese Sitzung" in page
    world.partner_admin.language = "it"
    world.partner_admin.save(update_fields=["language"])
    page = laptop.get(reverse("profile")).content.decode()
    assert "Le tue sessioni" in page and "questa sessione" in page


def test_activity_is_recorded_at_most_every_few_minutes(world, time_machine, settings):
    settings.SESSION_ACTIVITY_PRECISION_SECONDS = 300
    start = timezone.now()
    time_machine.move_to(start)
    laptop = signed_in(world.partner_admin)
    row = UserSession.objects.get(user=world.partner_admin)
    first_seen = row.last_seen_at

    time_machine.move_to(start + datetime.timedelta(minutes=2))
    laptop.get(reverse("profile"))
    row.refresh_from_db()
    assert row.last_seen_at == first_seen  # no write for a page two minutes later

    laptop.get(reverse("profile"), REMOTE_ADDR="198.51.100.99")  # a new IP: at once
    row.refresh_from_db()
    assert row.ip == "198.51.100.99"

    time_machine.move_to(start + datetime.timedelta(minutes=8))
    laptop.get(reverse("profile"), REMOTE_ADDR="198.51.100.99")
    row.refresh_from_db()
    assert row.last_seen_at >= start + datetime.timedelta(minutes=8)


# --- ending one's own sessions ---------------------------------------------------------------


def test_ending_another_session_signs_that_browser_out(world):
    phone = signed_in(world.partner_admin, SAFARI_IPHONE)
    laptop = signed_in(world.partner_admin)
    phone_session = UserSession.objects.get(user=world.partner_admin, user_agent=SAFARI_IPHONE)

    response = laptop.post(reverse("profile_session_end", args=[session_ref(phone_session)]))

    assert response.status_code == 302
    assert not is_signed_in(phone)
    assert is_signed_in(laptop)
    assert not UserSession.objects.filter(pk=phone_session.pk).exists()


def test_ending_the_current_session_signs_out(world):
    laptop = signed_in(world.partner_admin)
    own = UserSession.objects.get(user=world.partner_admin)

    response = laptop.post(reverse("profile_session_end", args=[session_ref(own)]))

    assert response.status_code == 302 and response.url == reverse("account_login")
    assert not is_signed_in(laptop)
    assert not UserSession.objects.filter(user=world.partner_admin).exists()


def test_another_persons_session_is_a_404_like_a_missing_one(world):
    victim = signed_in(world.other_owner)
    theirs = UserSession.objects.get(user=world.other_owner)
    laptop = signed_in(world.partner_admin)

    assert (
        laptop.post(reverse("profile_session_end", args=[session_ref(theirs)])).status_code == 404
    )
    assert laptop.post(reverse("profile_session_end", args=["0" * 32])).status_code == 404
    assert laptop.get(reverse("profile_session_end", args=[session_ref(theirs)])).status_code == 405
    assert is_signed_in(victim)


def test_end_all_other_sessions_keeps_only_this_one(world):
    phone = signed_in(world.partner_admin, SAFARI_IPHONE)
    tablet = signed_in(world.partner_admin, CHROME_ANDROID)
    laptop = signed_in(world.partner_admin)
    bystander = signed_in(world.partner_owner)

    response = laptop.post(reverse("profile_sessions_end_others"), follow=True)

    assert "2 other sessions are ended." in response.content.decode()
    assert not is_signed_in(phone) and not is_signed_in(tablet)
    assert is_signed_in(laptop) and is_signed_in(bystander)
    assert UserSession.objects.filter(user=world.partner_admin).count() == 1


# --- what ends sessions for them ---------------------------------------------------------------


def test_a_removed_member_is_signed_out_and_their_tokens_there_revoked(
    world, django_capture_on_commit_callbacks
):
    removed = world.partner_admin
    MembershipFactory(tenant=world.other_customer, user=removed, role=Role.ADMIN)
    phone = signed_in(removed, SAFARI_IPHONE)
    laptop = signed_in(removed)
    remover = signed_in(world.partner_owner)
    _token, here = api_token_create(org=ctx(removed, world.partner), name="here")
    _token, elsewhere = api_token_create(org=ctx(removed, world.other_customer), name="elsewhere")

    owner_ctx = ctx(world.partner_owner, world.partner)
    membership = Membership.objects.for_org(owner_ctx).get(user=removed)
    with django_capture_on_commit_callbacks(execute=True):
        remover.post(
            reverse("member_change", args=[world.partner.slug, membership.pk]),
            {"action": "remove"},
        )

    assert not Membership.unscoped.filter(pk=membership.pk).exists()
    assert not is_signed_in(phone) and not is_signed_in(laptop)
    assert is_signed_in(remover)
    assert token_answer(here, world.partner) == 401  # revoked (SPEC: a token acts as a member)
    assert token_answer(elsewhere, world.other_customer) == 200  # their other membership's
    event = AuditEvent.unscoped.get(action=AuditEvent.Action.MEMBER_REMOVED)
    assert event.details["sessions_ended"] == 2 and event.details["tokens_revoked"] == 1


def test_leaving_an_organization_oneself_keeps_the_request_going(
    world, django_capture_on_commit_callbacks
):
    laptop = signed_in(world.partner_admin)
    own = ctx(world.partner_admin, world.partner)
    membership = Membership.objects.for_org(own).get(user=world.partner_admin)

    with django_capture_on_commit_callbacks(execute=True):
        member_remove(org=own, membership=membership)

    assert is_signed_in(laptop)  # the profile is outside any organization


def test_suspending_an_organization_signs_its_members_out_and_refuses_its_tokens(
    world, django_capture_on_commit_callbacks
):
    owner = signed_in(world.other_owner)
    _token, raw = api_token_create(org=ctx(world.other_owner, world.other_partner), name="ci")
    their_customer = signed_in(world.other_customer_owner)
    elsewhere = signed_in(world.partner_admin)
    provider_owner = MembershipFactory(tenant=world.provider, role=Role.OWNER).user
    staff_member = MembershipFactory(
        tenant=world.other_partner, role=Role.ADMIN, user__is_staff=True
    ).user
    staff = signed_in(staff_member)

    with django_capture_on_commit_callbacks(execute=True):
        tenant_status_set(actor=provider_owner, tenant=world.other_partner, status="suspended")

    assert not is_signed_in(owner)
    assert is_signed_in(their_customer)  # its customers keep their own access (SPEC §2)
    assert is_signed_in(elsewhere) and is_signed_in(staff)
    assert token_answer(raw, world.other_partner) == 403  # kept, refused while suspended

    tenant_status_set(actor=provider_owner, tenant=world.other_partner, status="active")
    assert token_answer(raw, world.other_partner) == 200  # works again once reinstated
    event = AuditEvent.unscoped.filter(
        tenant=world.other_partner, action=AuditEvent.Action.TENANT_SUSPENDED
    ).get()
    assert event.details["sessions_ended"] == 1


def test_changing_the_password_ends_every_other_session_and_keeps_tokens(
    world, django_capture_on_commit_callbacks
):
    phone = signed_in(world.partner_admin, SAFARI_IPHONE)
    laptop = signed_in(world.partner_admin)
    _token, raw = api_token_create(org=ctx(world.partner_admin, world.partner), name="ci")

    with django_capture_on_commit_callbacks(execute=True):
        response = laptop.post(
            reverse("account_change_password"),
            {
                "oldpassword": PASSWORD,
                "password1": "a-Long-new-pass-42",
                "password2": "a-Long-new-pass-42",
            },
        )

    assert response.status_code == 302
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert [s.user_agent for s in UserSession.objects.filter(user=world.partner_admin)] == [
        FIREFOX_WINDOWS
    ]
    assert token_answer(raw, world.partner) == 200


def test_resetting_a_forgotten_password_ends_every_session(
    world, django_capture_on_commit_callbacks
):
    user = world.partner_admin
    phone = signed_in(user, SAFARI_IPHONE)
    laptop = signed_in(user)
    link = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    visitor = Client(HTTP_USER_AGENT=CHROME_ANDROID)

    set_password = visitor.get(link)
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.post(
            set_password.url, {"password1": "a-Long-new-pass-42", "password2": "a-Long-new-pass-42"}
        )

    assert response.status_code == 302
    assert not is_signed_in(phone) and not is_signed_in(laptop)
    assert is_signed_in(visitor)  # signed in by the reset itself (ACCOUNT_LOGIN_ON_PASSWORD_RESET)
    assert [s.user_agent for s in UserSession.objects.filter(user=user)] == [CHROME_ANDROID]
