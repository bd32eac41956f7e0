"""Issue 24 (SPEC §1 rev. 2, "Sign-in security"): two-factor authentication with
allauth's MFA, who must use it (tenants.mfa), and re-authentication by a second
factor.

Most of the suite signs in without a factor (MFA_REQUIRED_FOR_PARTNERS is off in
the test settings); the tests here turn the partners' requirement on, as it is
everywhere else by default."""

import time
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.management import call_command
from django.urls import reverse

from tenants.models import ApiToken, AuditEvent, Membership, Role, Tenant
from tenants.selectors import org_context_for
from tenants.services import api_token_create
from tenants.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict(settings):
    """The production default: partners and the provider require MFA."""
    settings.MFA_REQUIRED_FOR_PARTNERS = True
    return settings


def totp_code(secret: str, *, step: int = 0) -> str:
    """The code an authenticator app shows now (or `step` periods later)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step))


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def sign_in(client, user, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": user.email, "password": password})


# --- signing in -------------------------------------------------------------------------------


def test_a_person_with_an_authenticator_app_is_asked_for_its_code_after_the_password(world, client):
    secret = with_totp(world.customer_owner)

    asked = sign_in(client, world.customer_owner)

    assert asked.status_code == 302 and asked["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("profile")).status_code == 302  # not signed in yet
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and b"Incorrect code." in wrong.content
    signed_in = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert signed_in.status_code == 302
    assert client.get(reverse("profile")).status_code == 200


def test_a_recovery_code_signs_in_once(world, client):
    with_totp(world.customer_owner)
    codes = RecoveryCodes(
        Authenticator.objects.get(user=world.customer_owner, type="recovery_codes")
    )
    code = codes.get_unused_codes()[0]

    sign_in(client, world.customer_owner)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    client.post(reverse("account_logout"))
    sign_in(client, world.customer_owner)
    again = client.post(reverse("mfa_authenticate"), {"code": code})
    assert again.status_code == 200 and b"Incorrect code." in again.content


def test_the_admin_signs_in_through_the_same_flow(world, client):
    answer = client.get("/admin/")
    assert answer.status_code == 302
    login = client.get(answer["Location"], follow=True)
    assert login.redirect_chain[-1][0].startswith(reverse("account_login"))
    secret = with_totp(world.staff)
    asked = sign_in(client, world.staff)
    assert asked["Location"] == reverse("mfa_authenticate")
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert client.get("/admin/").status_code == 200


def test_wrong_codes_at_sign_in_are_rate_limited(world, client):
    with_totp(world.customer_owner)
    sign_in(client, world.customer_owner)
    answers = [client.post(reverse("mfa_authenticate"), {"code": "000000"}) for _ in range(7)]
    assert all(a.status_code in (200, 429) for a in answers)
    assert any(a.status_code == 429 or b"Too many" in a.content for a in answers[5:])


# --- who must use it ---------------------------------------------------------------------------


def test_a_partner_member_without_a_factor_is_sent_to_set_one_up_first(strict, world, client):
    client.force_login(world.partner_admin)

    for url in ("/", "/t/alpine/", "/t/alpine/customers/", "/provider/partners/", "/api/docs/"):
        answer = client.get(url)
        assert answer.status_code == 302, url
        assert answer["Location"] == reverse("profile") + "#two-factor"
    profile = client.get(reverse("profile"))
    assert profile.status_code == 200
    assert b"Your organization requires two-factor authentication" in profile.content
    own_page = client.get(reverse("mfa_index"))  # allauth's page: the same section
    assert own_page.status_code == 200 and b"Set up an authenticator app" in own_page.content
    for url in (reverse("mfa_activate_totp"), reverse("mfa_add_webauthn")):
        assert client.get(url).status_code in (200, 302)
        assert not client.get(url).get("Location", "").startswith(reverse("profile"))
    # once they have a factor, everything opens
    with_totp(world.partner_admin)
    client.force_login(world.partner_admin)  # a new sign-in looks again
    assert client.get("/t/alpine/").status_code == 200


def test_the_api_refuses_such_a_session_with_a_clear_403_and_tokens_keep_working(
    strict, world, api
):
    token, raw = api_token_create(
        org=org_context_for(user=world.partner_admin, tenant_id=world.partner.id), name="sync"
    )
    session = api(world.partner_admin, world.partner)

    refused = session.get("/api/v1/customers/")

    assert refused.status_code == 403
    assert refused.json()["code"] == "mfa_required"
    assert "two-factor" in refused.json()["detail"]
    by_token = api()
    by_token.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert by_token.get("/api/v1/customers/").status_code == 200
    assert ApiToken.unscoped.filter(pk=token.pk).exists()


def test_customers_are_not_required_by_default_and_the_relaxed_setting_frees_partners(
    world, client, strict
):
    client.force_login(world.customer_user)
    assert client.get("/t/mueller/").status_code == 200
    strict.MFA_REQUIRED_FOR_PARTNERS = False
    client.force_login(world.partner_admin)
    assert client.get("/t/alpine/").status_code == 200


def test_staff_must_use_it_too(strict, world, client):
    client.force_login(world.staff)
    assert client.get("/admin/")["Location"] == reverse("profile") + "#two-factor"


def test_an_owner_requires_it_after_reauthentication_and_members_are_held_at_once(
    world, client, django_capture_on_commit_callbacks
):
    owner, user = world.customer_owner, world.customer_user
    client.force_login(user)
    assert client.get("/t/mueller/").status_code == 200  # a session already open

    owner_client = type(client)()
    owner_client.force_login(owner)
    asked = owner_client.post(
        "/t/mueller/organization/", {"form": "security", "mfa_required": "on"}
    )
    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    assert not Tenant.objects.get(pk=world.customer.pk).mfa_required
    with django_capture_on_commit_callbacks(execute=True):
        done = owner_client.post(asked["Location"], {"password": PASSWORD})
    assert done.status_code == 302
    assert Tenant.objects.get(pk=world.customer.pk).mfa_required
    event = AuditEvent.unscoped.get(tenant=world.customer, action="tenant.mfa_policy")
    assert event.actor == owner and event.details["after"] == {"mfa_required": True}

    # the member's open session is held on its next request
    assert client.get("/t/mueller/")["Location"] == reverse("profile") + "#two-factor"
    # the owner has no factor either: held too, once the page is done
    assert owner_client.get("/t/mueller/")["Location"] == reverse("profile") + "#two-factor"


def test_only_the_owner_switches_it_and_a_partner_cannot_relax_it(strict, world, client):
    client.force_login(world.customer_admin)
    refused = client.post("/t/mueller/organization/", {"form": "security", "mfa_required": "on"})
    assert refused.status_code == 403
    with_totp(world.partner_owner)
    client.force_login(world.partner_owner)
    page = client.get("/t/alpine/organization/").content.decode()
    assert "partner organizations and the provider always require it" in page
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    relaxed = client.post("/t/alpine/organization/", {"form": "security"})
    assert relaxed.status_code == 400
    assert "always require two-factor authentication" in relaxed.content.decode()


def test_the_last_factor_cannot_be_removed_while_it_is_required(strict, world):
    from allauth.mfa.adapter import get_adapter

    with_totp(world.partner_owner)
    totp = Authenticator.objects.get(user=world.partner_owner, type="totp")
    assert not get_adapter().can_delete_authenticator(totp)
    Membership.unscoped.filter(user=world.partner_owner).delete()  # no longer a partner's
    assert get_adapter().can_delete_authenticator(totp)


def test_the_members_page_shows_who_has_a_factor(world, client):
    with_totp(world.customer_admin)
    client.force_login(world.customer_owner)
    page = client.get("/t/mueller/members/").content.decode()
    rows = {
        line.split("<strong>")[1].split("</strong>")[0]: line
        for line in page.split("<tr>")
        if "<strong>" in line
    }
    assert 'class="badge">on<' in rows[world.customer_admin.email]
    assert ">off<" in rows[world.customer_user.email]


def test_another_persons_passkey_is_a_404_like_a_missing_one(world, client):
    key = Authenticator.objects.create(
        user=world.other_owner, type=Authenticator.Type.WEBAUTHN, data={"name": "Their key"}
    )
    with_totp(world.partner_owner)
    client.force_login(world.partner_owner)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    for name in ("mfa_edit_webauthn", "mfa_remove_webauthn"):
        for pk in (key.pk, key.pk + 1000):
            assert client.get(reverse(name, args=[pk])).status_code == 404
            assert client.post(reverse(name, args=[pk]), {"name": "mine"}).status_code == 404
    assert Authenticator.objects.filter(pk=key.pk, data__name="Their key").exists()


# --- re-authentication by a second factor -------------------------------------------------------


def test_a_sensitive_action_is_confirmed_with_the_authenticator_app(world, client):
    secret = with_totp(world.partner_admin)
    client.force_login(world.partner_admin)

    asked = client.post("/t/alpine/tokens/", {"name": "billing sync"})
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    choice = client.get(asked["Location"]).content.decode()
    assert reverse("mfa_reauthenticate") in choice  # the second factor is offered
    next_url = asked["Location"].split("?", 1)[1]
    wrong = client.post(f"{reverse('mfa_reauthenticate')}?{next_url}", {"code": "000000"})
    assert wrong.status_code == 200 and not ApiToken.unscoped.exists()
    made = client.post(f"{reverse('mfa_reauthenticate')}?{next_url}", {"code": totp_code(secret)})
    assert made.status_code == 201
    assert ApiToken.unscoped.get().name == "billing sync"


# --- recovering an account ----------------------------------------------------------------------


def test_staff_reset_the_factors_of_a_person_who_lost_them_audited(world):
    with_totp(world.customer_owner)
    out = StringIO()

    call_command(
        "mfa_reset",
        email=world.customer_owner.email,
        staff=world.staff.email,
        reason="Lost phone; identity checked by video call with ticket #4711",
        stdout=out,
    )

    assert not Authenticator.objects.filter(user=world.customer_owner).exists()
    event = AuditEvent.unscoped.get(tenant=world.customer, action="mfa.reset")
    assert event.actor == world.staff
    assert event.details["removed"] == ["recovery_codes", "totp"]
    assert "ticket #4711" in event.details["reason"]
    assert "Removed 2 authenticator(s)" in out.getvalue()


def test_only_staff_reset_factors_and_they_say_why(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Only platform staff"):
        call_command(
            "mfa_reset",
            email=world.customer_user.email,
            staff=world.customer_owner.email,
            reason="x",
        )
    with pytest.raises(CommandError, match="Say why"):
        call_command(
            "mfa_reset", email=world.customer_user.email, staff=world.staff.email, reason=" "
        )
    assert Membership.unscoped.filter(user=world.customer_user, role=Role.USER).exists()


def test_the_admin_lists_factors_but_removes_none_unrecorded(world, client):
    with_totp(world.customer_owner)
    totp = Authenticator.objects.get(user=world.customer_owner, type="totp")
    client.force_login(world.staff)
    listing = client.get("/admin/mfa/authenticator/")
    assert listing.status_code == 200 and world.customer_owner.email in listing.content.decode()
    detail = client.get(f"/admin/mfa/authenticator/{totp.pk}/change/").content.decode()
    assert totp.data["secret"] not in detail
    assert (
        client.post(f"/admin/mfa/authenticator/{totp.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Authenticator.objects.filter(pk=totp.pk).exists()
