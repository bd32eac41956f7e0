"""Issue 10, item 5: tokens and sign-in.

Invitation and set-password links carry at least 128 bits an attacker cannot
guess and are checked by the server; each works once; a link that does not work
gets one answer whatever the reason. API tokens are stored hashed and throttled.
Failed sign-ins are limited, for the admin too. Reset, sign-up and invitation
answers are the same whether or not an account exists for the email.
"""

import base64
import datetime
import hashlib
import re
import time

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from partners import selectors
from partners import services as partner_services
from partners.models import Partnership
from tenants import services as tenant_services
from tenants.models import ApiToken, Role, User
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD, UserFactory
from tenders import services as tender_services

pytestmark = pytest.mark.django_db

SET_PASSWORD_LINK = re.compile(
    r"https://portal\.example\.test(/accounts/password/reset/key/([0-9a-z]+)-([^/\s]+)/)"
)
INVITATION_LINK = re.compile(r"https://portal\.example\.test(/invitations/[^/\s]+/)")
TOO_MANY = b"Too many failed login attempts"


@pytest.fixture(autouse=True)
def fresh_limits():
    """Rate limits and throttles count in the cache: start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def invite_customer(world, email, name) -> Partnership:
    return partner_services.customer_add(
        org=ctx(world.partner_owner, world.partner),
        name=name,
        owner_email=email,
        access="full",
        payment="customer",
    )


def invitation_url(partnership) -> str:
    return reverse("invitation", kwargs={"token": selectors.invitation_token(partnership)})


def answer(response, typed: str = "") -> tuple[int, str]:
    """What a visitor sees: the status and the page, without the per-request CSRF
    token and without what they typed themselves (`typed`, echoed in the form)."""
    page = response.content.decode()
    if typed:
        page = page.replace(typed, "…")
    page = re.sub(r'("X-CSRFToken": ")[^"]*(")', r"\1…\2", page)
    page = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]*(")', r"\1…\2", page)
    return response.status_code, page


def bits_of_hex(value: str) -> int:
    assert re.fullmatch(r"[0-9a-f]+", value), value
    return len(bytes.fromhex(value)) * 8


def set_password_link(django_capture_on_commit_callbacks, org, email) -> re.Match:
    with django_capture_on_commit_callbacks(execute=True):
        tenant_services.member_invite(org=org, email=email, role=Role.USER)
    return SET_PASSWORD_LINK.search(mail.outbox[-1].body)


# --- entropy: at least 128 bits nobody can guess ------------------------------------------------


def test_an_invitation_link_signs_a_fresh_128_bit_random_nonce(world):
    first = invite_customer(world, "one@newco.test", "One AG")
    second = invite_customer(world, "two@newco.test", "Two AG")

    payloads = [
        signing.loads(selectors.invitation_token(p), salt=selectors.INVITATION_SALT)
        for p in (first, second)
    ]
    assert [bits_of_hex(p["n"]) for p in payloads] == [128, 128]
    assert payloads[0]["n"] != payloads[1]["n"]
    old_nonce = payloads[0]["n"]
    partner_services.partnership_resend(
        org=ctx(world.partner_owner, world.partner), partnership=first
    )
    first.refresh_from_db()
    assert bits_of_hex(first.invitation_nonce) == 128 and first.invitation_nonce != old_nonce
    # The nonce alone is not a link: without the server's signature it opens nothing.
    forged = signing.dumps({"p": str(first.pk), "n": first.invitation_nonce}, salt="forged")
    assert selectors.partnership_for_invitation(token=forged, email=None) is None


def test_a_tender_link_signs_a_128_bit_random_nonce(world):
    tender = tender_services.tender_post(
        org=ctx(world.customer_owner, world.customer),
        title="New mail system",
        description="Twenty mailboxes.",
        category="email",
        contact_name="Anna",
        contact_email="anna@mueller.test",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )
    token = tender_services.tender_token(tender, "manage")
    payload = signing.loads(token, salt=tender_services.TENDER_SALT)
    assert bits_of_hex(payload["n"]) == 128


def test_a_set_password_link_is_a_128_bit_code_the_server_checks(
    world, client, django_capture_on_commit_callbacks
):
    owner = ctx(world.customer_owner, world.customer)
    link = set_password_link(django_capture_on_commit_callbacks, owner, "fresh@mueller.test")
    user = User.objects.get(email="fresh@mueller.test")
    path, _uid, key = link.groups()
    _timestamp, code = key.split("-")
    # Django's reset token: an HMAC-SHA256 (keyed with SECRET_KEY) over the user's
    # password hash, last sign-in, email and the timestamp; 128 bits of it are sent.
    assert bits_of_hex(code) >= 128
    assert client.get(path).status_code == 302  # the real one opens the form

    flipped = code[:-1] + ("0" if code[-1] != "0" else "1")
    forged = client.get(path.replace(code, flipped))
    assert forged.status_code == 200 and b"password1" not in forged.content
    assert not user.has_usable_password()


def test_an_api_token_has_256_random_bits_and_only_its_hash_is_stored(world, client):
    token, raw = tenant_services.api_token_create(
        org=ctx(world.partner_owner, world.partner), name="ERP"
    )
    secret = raw.removeprefix(tenant_services.API_TOKEN_PREFIX)
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) * 8 == 256

    row = ApiToken.unscoped.filter(pk=token.pk).values().get()
    assert row["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert not any(raw in str(value) for value in row.values())
    me = reverse("api:me")
    assert client.get(me, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    stolen_hash = client.get(me, HTTP_AUTHORIZATION=f"Bearer {row['token_hash']}")
    assert stolen_hash.status_code == 401


# --- single use ------------------------------------------------------------------------------


def test_an_invitation_link_works_once(world, client, browser):
    partnership = invite_customer(world, "once@newco.test", "Once AG")
    link = invitation_url(partnership)
    invitee = browser(User.objects.get(email="once@newco.test"))

    accepted = invitee.post(link, {"action": "accept", "access": "full", "payment": "customer"})
    assert accepted.status_code == 302
    replayed = invitee.post(link, {"action": "decline", "reason": "changed my mind"})
    assert replayed.status_code == 404
    partnership.refresh_from_db()
    assert partnership.status == "active" and partnership.invitation_nonce == ""


def test_a_set_password_link_works_once(world, client, django_capture_on_commit_callbacks):
    owner = ctx(world.customer_owner, world.customer)
    path = set_password_link(django_capture_on_commit_callbacks, owner, "new@mueller.test")[1]

    form = client.get(path, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"password1": "a-Long-new-pass-42", "password2": "a-Long-new-pass-42"},
    )
    assert User.objects.get(email="new@mueller.test").check_password("a-Long-new-pass-42")
    client.logout()

    again = client.get(path, follow=True)
    assert b"password1" not in again.content
    assert again.redirect_chain == []


# --- every unusable link: one answer -----------------------------------------------------------


def test_replayed_expired_wrong_account_cancelled_and_tampered_invitations_answer_alike(
    world, client, browser
):
    replayed = invite_customer(world, "replay@x.test", "Replay AG")
    replayed_link = invitation_url(replayed)
    partner_services.partnership_decline(
        org=ctx(User.objects.get(email="replay@x.test"), replayed.customer), partnership=replayed
    )
    expired = invite_customer(world, "late@x.test", "Late AG")
    Partnership.unscoped.filter(pk=expired.pk).update(
        invitation_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    wrong_account = invite_customer(world, "right@x.test", "Right AG")
    cancelled = invite_customer(world, "cancel@x.test", "Cancel AG")
    cancelled_link = invitation_url(cancelled)
    partner_services.partnership_cancel(
        org=ctx(world.partner_owner, world.partner), partnership=cancelled
    )
    live_link = invitation_url(wrong_account)
    tampered_link = live_link[:-3] + ("A" if live_link[-3] != "A" else "B") + "/"
    with pytest.MonkeyPatch.context() as patch:  # the live link, as if signed 15 days ago
        then = signing.b62_encode(int(time.time()) - 15 * 86400)
        patch.setattr(signing.TimestampSigner, "timestamp", lambda self: then)
        overdue = selectors.invitation_token(wrong_account)

    answers = {
        "replayed": browser(User.objects.get(email="replay@x.test")).get(replayed_link),
        "expired": browser(User.objects.get(email="late@x.test")).get(invitation_url(expired)),
        "wrong account": browser(world.customer_owner).get(live_link),
        "cancelled": browser(User.objects.get(email="cancel@x.test")).get(cancelled_link),
    }
    client.logout()
    answers["expired, signed out"] = client.get(invitation_url(expired))
    answers["tampered"] = client.get(tampered_link)
    answers["nonsense"] = client.get(reverse("invitation", kwargs={"token": "nonsense"}))
    answers["replayed, posted"] = client.post(replayed_link, {"action": "accept"})
    answers["signed too long ago"] = client.get(reverse("invitation", kwargs={"token": overdue}))

    assert {name: answer(r)[0] for name, r in answers.items()} == dict.fromkeys(answers, 404)
    pages = {answer(r)[1] for r in answers.values()}
    assert len(pages) == 1 and "This invitation link does not work" in pages.pop()
    assert client.get(live_link).status_code == 200  # the live link itself still works


def test_replayed_expired_wrong_user_and_tampered_set_password_links_answer_alike(
    world, client, django_capture_on_commit_callbacks, time_machine
):
    owner = ctx(world.customer_owner, world.customer)
    replay_path = set_password_link(django_capture_on_commit_callbacks, owner, "r@mueller.test")[1]
    tenant_services.user_set_first_password(
        user=User.objects.get(email="r@mueller.test"), password="a-Long-new-pass-42"
    )
    _, uid, key = set_password_link(
        django_capture_on_commit_callbacks, owner, "w@mueller.test"
    ).groups()
    other_uid = set_password_link(django_capture_on_commit_callbacks, owner, "o@mueller.test")[2]

    def link(uid, key):
        return reverse("account_reset_password_from_key", kwargs={"uidb36": uid, "key": key})

    answers = {
        "replayed": client.get(replay_path),
        "wrong user": client.get(link(other_uid, key)),
        "tampered": client.get(link(uid, key[:-1] + ("0" if key[-1] != "0" else "1"))),
        "nonsense": client.get(link(uid, "1-nonsense")),
    }
    now = timezone.now()
    time_machine.move_to(now + datetime.timedelta(days=4))  # PASSWORD_RESET_TIMEOUT: 3 days
    answers["expired"] = client.get(link(uid, key))
    time_machine.move_to(now)

    pages = {answer(r) for r in answers.values()}
    assert len(pages) == 1, {name: answer(r)[0] for name, r in answers.items()}
    status, page = pages.pop()
    assert status == 200 and "password1" not in page
    assert client.get(link(uid, key)).status_code == 302  # the live link itself still works


# --- API tokens: throttled ---------------------------------------------------------------------


def test_api_requests_past_the_rate_get_429_per_user(world, client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/minute"},
    }
    partner_org = ctx(world.partner_owner, world.partner)
    _, raw = tenant_services.api_token_create(org=partner_org, name="ERP")
    _, second_raw = tenant_services.api_token_create(org=partner_org, name="CRM")
    _, other_raw = tenant_services.api_token_create(
        org=ctx(world.customer_owner, world.customer), name="Shop"
    )
    me = reverse("api:me")

    def get(token):
        return client.get(me, HTTP_AUTHORIZATION=f"Bearer {token}")

    allowed = [get(raw).status_code for _ in range(3)]
    throttled = get(raw)
    assert allowed == [200, 200, 200]
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert get(second_raw).status_code == 429  # one budget per user, whatever the token
    assert get(other_raw).status_code == 200  # another user's is their own


# --- sign-in: failed attempts are limited, for the admin too ----------------------------------


def sign_in(client, login, password):
    return client.post(reverse("account_login"), {"login": login, "password": password})


def test_the_sixth_failed_sign_in_for_an_email_is_refused_even_with_the_right_password(
    world, client
):
    email = world.customer_user.email
    failures = [sign_in(client, email, f"guess-{n}") for n in range(5)]
    assert all(r.status_code == 200 and TOO_MANY not in r.content for r in failures)
    assert b"not correct" in failures[0].content

    blocked = sign_in(client, email, PASSWORD)
    assert TOO_MANY in blocked.content and "_auth_user_id" not in client.session
    # Another email from the same address is not locked out by these five.
    assert sign_in(client, world.customer_admin.email, PASSWORD).status_code == 302


def test_failed_sign_ins_from_one_address_are_limited_across_emails(world, client):
    failures = [sign_in(client, f"nobody{n}@example.test", "guess") for n in range(10)]
    assert all(TOO_MANY not in r.content for r in failures)
    assert TOO_MANY in sign_in(client, "nobody10@example.test", "guess").content


def test_the_admin_signs_in_through_the_portal_and_its_limits(world, client):
    staff = world.staff
    to_login = client.get("/admin/login/?next=/admin/")
    assert to_login.status_code == 302
    assert to_login["Location"] == f"{reverse('account_login')}?next=%2Fadmin%2F"
    # The admin's own form is gone: a correct password posted to it signs nobody in.
    posted = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session

    for n in range(5):
        sign_in(client, staff.email, f"guess-{n}")
    assert TOO_MANY in sign_in(client, staff.email, PASSWORD).content
    assert client.get("/admin/").status_code == 302  # still out

    cache.clear()  # the lock-out has passed
    assert sign_in(client, staff.email, PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_signed_in_non_staff_user_gets_403_from_the_admin_sign_in(world, browser):
    assert browser(world.customer_owner).get("/admin/login/").status_code == 403


# --- no answer reveals whether an email has an account -----------------------------------------


def test_a_password_reset_answers_alike_for_a_known_and_an_unknown_email(world, client):
    url = reverse("account_reset_password")
    known = client.post(url, {"email": world.customer_user.email})
    unknown = client.post(url, {"email": "nobody@example.test"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert answer(client.get(known["Location"])) == answer(client.get(unknown["Location"]))
    # Each address gets one email, so even its mailbox tells a stranger nothing new.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [world.customer_user.email, "nobody@example.test"]
    )


def test_a_failed_sign_in_answers_alike_for_a_known_and_an_unknown_email(world, client):
    known = sign_in(client, world.customer_user.email, "wrong-guess")
    unknown = sign_in(client, "nobody@example.test", "wrong-guess")
    assert answer(known, world.customer_user.email) == answer(unknown, "nobody@example.test")
    assert known.status_code == 200 and b"not correct" in known.content


def test_sign_up_is_closed_alike_for_a_known_and_an_unknown_email(world, client):
    url = reverse("account_signup")
    fields = {"password1": "a-Long-new-pass-42", "password2": "a-Long-new-pass-42"}
    known = client.post(url, {"email": world.customer_user.email, **fields})
    unknown = client.post(url, {"email": "nobody@example.test", **fields})
    assert answer(known, world.customer_user.email) == answer(unknown, "nobody@example.test")
    assert not User.objects.filter(email="nobody@example.test").exists()


def test_inviting_a_member_answers_alike_for_an_existing_and_a_new_account(world, browser, api):
    """The answer, and the members list it leads to, do not tell the inviter whether
    the person already had an account (with a password) or got one just now."""
    UserFactory(email="known@elsewhere.test")
    admin = browser(world.customer_owner)
    url = reverse("members", kwargs={"slug": world.customer.slug})

    def invited(email):
        done = admin.post(url, {"email": email, "role": "user"}, follow=True)
        page = answer(done, email)[1]
        row = re.search(r"<tr>\s*<td><strong>…</strong>(.*?)</td>", page, re.S)
        return done.status_code, "… was invited as User." in page, row.group(1)

    marked_invited = (200, True, ' <small class="muted">invited</small>')
    assert invited("known@elsewhere.test") == invited("new@elsewhere.test") == marked_invited

    UserFactory(email="known2@elsewhere.test")
    client = api(world.customer_owner, world.customer)
    members = reverse("api:member-list")
    known = client.post(members, {"email": "known2@elsewhere.test", "role": "user"})
    fresh = client.post(members, {"email": "fresh@elsewhere.test", "role": "user"})
    assert known.status_code == fresh.status_code == 201
    assert set(known.json()) == set(fresh.json())
    assert {
        k: v for k, v in known.json().items() if k not in ("id", "user", "email", "created_at")
    } == {k: v for k, v in fresh.json().items() if k not in ("id", "user", "email", "created_at")}


def test_asking_a_customer_owner_answers_alike_for_an_existing_and_a_new_account(world, api):
    UserFactory(email="known@owner.test")
    partner = api(world.partner_owner, world.partner)

    def shape(value):
        """The answer without what differs by nature: ids, names, clocks."""
        if isinstance(value, dict):
            varying = ("id", "slug", "name", "created_at", "invitation_expires_at")
            return {k: "…" if k in varying else shape(v) for k, v in value.items()}
        return value

    answers = [
        partner.post(
            reverse("api:customer-list"),
            {"name": name, "owner_email": email, "access": "full", "payment": "customer"},
        )
        for name, email in (("Known AG", "known@owner.test"), ("New AG", "new@owner.test"))
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert shape(answers[0].json()) == shape(answers[1].json())
