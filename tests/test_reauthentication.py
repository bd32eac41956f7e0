"""Issue 21, reproduction 6: sensitive actions re-authenticate, rate-limited per
person (SPEC §1; tenants.reauthentication).

Ending a partnership, changing the payment mode or a member's role, creating an
API token: in the API the caller's password comes in the body each time; on a
page, allauth's re-authentication page asks for it (good for five minutes) and
then replays the kept POST. Every password typed for them shares one budget per
person: a wrong one is a 400 (a form error on a page), counted and audited;
after five, each within 15 minutes of the last, every attempt is refused for 15
minutes after the last wrong one, the right password too (429 in the API).

Pass figure: 30 wrong passwords on `POST partnerships/{id}/end/` → 5 x 400,
then 25 x 429; the right one is refused until 15 minutes after the fifth."""

import datetime

import pytest
from django.urls import reverse

from partners import services as partner_services
from partners.models import Partnership
from tenants.models import ApiToken, AuditEvent, Membership
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD
from tests.clock import on
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db

LOCKED = "Too many wrong passwords"
WRONG = "That is not your password."


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def manage(world) -> Partnership:
    """Bäckerei Müller gives Alpine IT full access, the customer paying."""
    invited = partner_services.partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="customer",
    )
    return partner_services.partnership_accept(
        org=org(world.partner_owner, world.partner), partnership=invited
    )


def failures(tenant) -> list[AuditEvent]:
    """The `reauth.failed` events of `tenant`'s log, by attempt (the clock stands still)."""
    events = AuditEvent.unscoped.filter(tenant=tenant, action="reauth.failed")
    return sorted(events, key=lambda e: (e.at, e.details["attempt"]))


def test_thirty_wrong_passwords_lock_ending_a_partnership_the_right_one_too_until_the_window_passes(
    world, api, client, time_machine
):
    time_machine.move_to(on(2026, 12, 6, 10, 0), tick=False)
    active = manage(world)
    owner = api(world.customer_owner, world.customer)
    url = f"/api/v1/partnerships/{active.pk}/end/"

    answers = [owner.post(url, {"password": f"guess-{n}"}) for n in range(30)]

    assert [a.status_code for a in answers] == [400] * 5 + [429] * 25
    assert answers[0].json() == {"password": [WRONG]}
    assert LOCKED in answers[5].json()["detail"]
    assert int(answers[5]["Retry-After"]) == 15 * 60
    right = owner.post(url, {"password": PASSWORD})
    assert right.status_code == 429 and LOCKED in right.json()["detail"]
    active.refresh_from_db()
    assert active.status == Partnership.Status.ACTIVE
    # each failure audited (the refusals while locked are not attempts: not one each)
    events = failures(world.customer)
    assert [e.details["attempt"] for e in events] == [1, 2, 3, 4, 5]
    assert [e.details["locked"] for e in events] == [False] * 4 + [True]
    assert {e.actor_email for e in events} == {world.customer_owner.email}
    assert {e.actor_tenant for e in events} == {world.customer}

    # one budget per person: the other sensitive actions and the browser's page are locked too
    token = owner.post("/api/v1/tokens/", {"name": "sync", "password": PASSWORD})
    assert token.status_code == 429
    client.force_login(world.customer_owner)
    page = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert page.status_code == 200 and LOCKED in page.content.decode()
    # ... another person is not
    admin = api(world.customer_admin, world.customer)
    assert admin.post("/api/v1/tokens/", {"name": "own", "password": PASSWORD}).status_code == 201

    time_machine.shift(datetime.timedelta(minutes=14))
    assert owner.post(url, {"password": PASSWORD}).status_code == 429
    time_machine.shift(datetime.timedelta(minutes=1, seconds=1))  # 15 minutes after the fifth
    ended = owner.post(url, {"password": PASSWORD})
    assert ended.status_code == 200, ended.content
    assert ended.json()["status"] == "ended"
    assert len(failures(world.customer)) == 5
    assert not ApiToken.unscoped.filter(user=world.customer_owner).exists()


def test_the_api_asks_the_password_for_a_token_a_role_and_a_payment_mode(world, api):
    active = manage(world)
    owner = api(world.customer_owner, world.customer)
    member = Membership.unscoped.get(user=world.customer_user, tenant=world.customer)
    sensitive = [
        ("post", "/api/v1/tokens/", {"name": "sync"}, 201),
        ("patch", f"/api/v1/members/{member.pk}/", {"role": "admin"}, 200),
        ("patch", f"/api/v1/partnerships/{active.pk}/", {"payment": "partner"}, 200),
    ]
    for method, url, body, success in sensitive:
        missing = getattr(owner, method)(url, body)
        assert missing.status_code == 400, url
        assert "password" in missing.json()
        wrong = getattr(owner, method)(url, {**body, "password": "not-it"})
        assert wrong.status_code == 400 and wrong.json() == {"password": [WRONG]}, url
        done = getattr(owner, method)(url, {**body, "password": PASSWORD})
        assert done.status_code == success, (url, done.content)
    member.refresh_from_db()
    active.refresh_from_db()
    assert (member.role, active.payment) == ("admin", "partner")
    assert len(failures(world.customer)) == 3  # the three wrong ones; "missing" is no attempt
    # what is not sensitive needs none: a buyer flag, an access change that keeps the payment
    assert owner.patch(f"/api/v1/members/{member.pk}/", {"buyer": True}).status_code == 200
    assert (
        owner.patch(f"/api/v1/members/{member.pk}/", {"role": "admin", "buyer": False}).status_code
        == 200
    )
    assert (
        owner.patch(f"/api/v1/partnerships/{active.pk}/", {"payment": "partner"}).status_code == 200
    )
    # who may not gets the 403 first, not a request for the password
    partner_side = api(world.partner_owner, world.partner)
    refused = partner_side.patch(f"/api/v1/partnerships/{active.pk}/", {"payment": "customer"})
    assert refused.status_code == 403
    owner_membership = Membership.unscoped.get(user=world.customer_owner, tenant=world.customer)
    demote = api(world.customer_admin, world.customer).patch(
        f"/api/v1/members/{owner_membership.pk}/", {"role": "user"}
    )
    assert demote.status_code == 403


def test_a_token_made_on_a_page_goes_through_allauths_reauthentication(world, client, time_machine):
    time_machine.move_to(on(2026, 12, 6, 10, 0), tick=False)
    client.force_login(world.partner_admin)

    asked = client.post("/t/alpine/tokens/", {"name": "billing sync"})

    reauth_url = f"{reverse('account_reauthenticate')}?next=%2Ft%2Falpine%2Ftokens%2F"
    assert asked.status_code == 302 and asked["Location"] == reauth_url
    assert not ApiToken.unscoped.exists()
    wrong = client.post(reauth_url, {"password": "not-it"})
    assert wrong.status_code == 200 and not ApiToken.unscoped.exists()
    assert [e.details["attempt"] for e in failures(world.partner)] == [1]
    # the right password replays the kept POST: the token is made and shown once
    made = client.post(reauth_url, {"password": PASSWORD})
    assert made.status_code == 201
    token = ApiToken.unscoped.get()
    assert token.name == "billing sync" and token.prefix in made.content.decode()
    # for five minutes, no new question; the revocation never asks
    assert client.post("/t/alpine/tokens/", {"name": "second"}).status_code == 201
    assert client.post("/t/alpine/tokens/", {"revoke": str(token.pk)}).status_code == 302
    time_machine.shift(datetime.timedelta(minutes=5, seconds=1))
    assert client.post("/t/alpine/tokens/", {"name": "third"})["Location"] == reauth_url
    assert ApiToken.unscoped.count() == 2
    assert client.post("/t/alpine/tokens/", {"name": ""}).status_code == 400  # the form first


def test_a_role_and_a_payment_mode_changed_on_a_page_go_through_reauthentication(world, client):
    active = manage(world)
    member = Membership.unscoped.get(user=world.customer_user, tenant=world.customer)
    prefix = str(member.pk)
    member_url = reverse("member_change", args=["mueller", member.pk])
    grant_url = reverse("partnership_detail", args=["mueller", active.pk])
    client.force_login(world.customer_owner)

    # a buyer flag or an access that keeps the payment mode: no question
    assert client.post(member_url, {f"{prefix}-role": "user", f"{prefix}-buyer": "on"})[
        "Location"
    ] == reverse("members", args=["mueller"])
    member.refresh_from_db()
    assert member.buyer
    # the role: asked; the payment mode: asked
    for url, body in (
        (member_url, {f"{prefix}-role": "admin", f"{prefix}-buyer": "on"}),
        (grant_url, {"action": "change", "access": "full", "payment": "partner"}),
    ):
        asked = client.post(url, body)
        assert asked.status_code == 302
        assert asked["Location"].startswith(reverse("account_reauthenticate") + "?next=")
    member.refresh_from_db()
    active.refresh_from_db()
    assert (member.role, active.payment) == ("user", "customer")
    # after the password, both go through (within the five minutes)
    reauthenticate(client)
    client.post(member_url, {f"{prefix}-role": "admin", f"{prefix}-buyer": "on"})
    client.post(grant_url, {"action": "change", "access": "full", "payment": "partner"})
    member.refresh_from_db()
    active.refresh_from_db()
    assert (member.role, active.payment) == ("admin", "partner")


def test_who_may_not_change_a_role_is_refused_before_any_question(world, client):
    owner = Membership.unscoped.get(user=world.customer_owner, tenant=world.customer)
    client.force_login(world.customer_admin)
    prefix = str(owner.pk)
    refused = client.post(
        reverse("member_change", args=["mueller", owner.pk]), {f"{prefix}-role": "user"}
    )
    assert refused.status_code == 403


def test_ending_on_the_page_asks_for_reauthentication_through_the_same_budget(world, client):
    """The end form no longer has a password field of its own (issue 24): like
    every sensitive page it sends to allauth's re-authentication page (password
    or second factor), whose wrong passwords count in the same budget; the right
    one, before the lock, replays the kept POST and ends the partnership."""
    active = manage(world)
    client.force_login(world.customer_owner)
    url = reverse("partnership_detail", args=["mueller", active.pk])

    asked = client.post(url, {"action": "end"})

    reauth_url = asked["Location"]
    assert asked.status_code == 302 and reauth_url.startswith(reverse("account_reauthenticate"))
    for n in range(4):
        wrong = client.post(reauth_url, {"password": f"guess-{n}"})
        assert wrong.status_code == 200
    active.refresh_from_db()
    assert active.status == Partnership.Status.ACTIVE
    assert len(failures(world.customer)) == 4
    ended = client.post(reauth_url, {"password": PASSWORD})
    assert ended.status_code == 302
    active.refresh_from_db()
    assert active.status == Partnership.Status.ENDED


def test_ending_on_the_page_is_locked_by_the_shared_budget(world, client):
    active = manage(world)
    client.force_login(world.customer_owner)
    url = reverse("partnership_detail", args=["mueller", active.pk])
    reauth_url = client.post(url, {"action": "end"})["Location"]
    for n in range(5):
        client.post(reauth_url, {"password": f"guess-{n}"})
    locked = client.post(reauth_url, {"password": PASSWORD})
    assert locked.status_code == 200 and LOCKED in locked.content.decode()
    active.refresh_from_db()
    assert active.status == Partnership.Status.ACTIVE
    assert len(failures(world.customer)) == 5
