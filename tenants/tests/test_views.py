"""The browser side: sign-in, the console shell, members, tokens, organization."""

import re

import pytest
from django.core import mail
from django.urls import reverse

import tenants.urls
from tenants.models import ApiToken, Membership
from tenants.tests.factories import PASSWORD
from tests.isolation import assert_all_404, missing_id, org_page_urls
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db


def test_the_login_page_serves_and_the_partner_owner_reaches_the_console(world, client):
    assert client.get("/").status_code == 302
    page = client.get(reverse("account_login"))
    assert page.status_code == 200 and b'name="login"' in page.content

    response = client.post(
        reverse("account_login"),
        {"login": world.partner_owner.email, "password": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/t/alpine/"
    assert b"Partner console" in response.content and b"Alpine IT" in response.content


def test_sign_up_is_closed_everyone_comes_by_invitation(client):
    response = client.get(reverse("account_signup"))
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()


def test_a_person_in_several_organizations_chooses_one(world, browser):
    Membership.unscoped.create(user=world.partner_owner, tenant=world.customer, role="user")
    page = browser(world.partner_owner).get("/")
    assert page.status_code == 200
    assert b"/t/alpine/" in page.content and b"/t/mueller/" in page.content


def test_the_customer_portal_shows_its_overview(world, browser):
    page = browser(world.customer_user).get("/t/mueller/")
    assert page.status_code == 200
    assert (
        b"Customer portal" in page.content
        and b"No partner manages your organization" in page.content
    )
    assert b"API tokens" not in page.content  # users manage no tokens


def test_anonymous_visitors_are_sent_to_sign_in(world, client):
    for url in org_page_urls(tenants.urls, slug="alpine", membership_id=missing_id()):
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_every_page_of_another_organization_is_a_404(world, browser):
    foreign_member = Membership.unscoped.get(user=world.other_owner)
    client = browser(world.partner_owner)
    assert_all_404(
        client, org_page_urls(tenants.urls, slug="rhein", membership_id=foreign_member.id)
    )
    assert_all_404(
        client, org_page_urls(tenants.urls, slug="no-such-org", membership_id=missing_id())
    )
    # A member id of another organization, under one's own slug, is a 404 too.
    assert_all_404(
        client,
        [reverse("member_change", kwargs={"slug": "alpine", "membership_id": foreign_member.id})],
        methods=("post",),
    )


def test_inviting_from_the_members_page(world, browser, django_capture_on_commit_callbacks):
    client = browser(world.partner_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/t/alpine/members/", {"email": "new@alpine.test", "role": "collaborator"}, follow=True
        )
    assert b"new@alpine.test was invited" in response.content
    assert Membership.unscoped.filter(tenant=world.partner, user__email="new@alpine.test").exists()
    assert mail.outbox[-1].to == ["new@alpine.test"]


def test_bad_invitations_show_inline_errors_and_write_nothing(world, browser):
    client = browser(world.partner_admin)
    response = client.post("/t/alpine/members/", {"email": "not-an-email", "role": "user"})
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert b"Select a valid choice" in response.content  # "user" is no partner role
    duplicate = client.post(
        "/t/alpine/members/", {"email": world.collaborator.email, "role": "admin"}
    )
    assert duplicate.status_code == 400 and b"already a member" in duplicate.content
    assert Membership.unscoped.filter(tenant=world.partner).count() == 3


def test_changing_and_removing_members_from_the_page(world, browser):
    membership = Membership.unscoped.get(user=world.collaborator, tenant=world.partner)
    client = browser(world.partner_owner)
    reauthenticate(client)  # a change of role is sensitive (SPEC §1)
    prefix = str(membership.id)
    client.post(
        f"/t/alpine/members/{membership.id}/", {f"{prefix}-role": "admin", f"{prefix}-buyer": "on"}
    )
    membership.refresh_from_db()
    assert membership.role == "admin" and membership.buyer

    owner = Membership.unscoped.get(user=world.partner_owner, tenant=world.partner)
    response = client.post(f"/t/alpine/members/{owner.id}/", {"action": "remove"}, follow=True)
    assert b"at least one owner" in response.content

    client.post(f"/t/alpine/members/{membership.id}/", {"action": "remove"})
    assert not Membership.unscoped.filter(pk=membership.pk).exists()


def test_collaborators_see_members_but_cannot_change_them(world, browser):
    client = browser(world.collaborator)
    page = client.get("/t/alpine/members/")
    assert page.status_code == 200 and b"Send invitation" not in page.content
    target = Membership.unscoped.get(user=world.partner_admin)
    assert client.post(f"/t/alpine/members/{target.id}/", {"action": "remove"}).status_code == 403
    assert client.get("/t/alpine/tokens/").status_code == 403


def test_a_token_made_on_the_page_is_shown_once(world, browser):
    client = browser(world.partner_admin)
    reauthenticate(client)  # a new token is sensitive (SPEC §1)
    response = client.post("/t/alpine/tokens/", {"name": "billing sync"})
    assert response.status_code == 201
    token = ApiToken.unscoped.get(tenant=world.partner)
    assert token.prefix.encode() in response.content and b"shown only this once" in response.content
    again = client.get("/t/alpine/tokens/")
    assert b"shown only this once" not in again.content and b"billing sync" in again.content

    client.post("/t/alpine/tokens/", {"revoke": str(token.id)})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.post("/t/alpine/tokens/", {"name": ""}).status_code == 400


def test_editing_the_organization_and_its_branding(world, browser):
    client = browser(world.customer_owner)
    response = client.post(
        "/t/mueller/organization/",
        {
            "form": "profile",
            "name": "Bäckerei Müller AG",
            "email_domains": "mueller.ch, baeckerei.ch",
            "city": "Bern",
            "country": "CH",
        },
    )
    assert response.status_code == 302
    world.customer.refresh_from_db()
    assert world.customer.name == "Bäckerei Müller AG" and world.customer.email_domains == [
        "mueller.ch",
        "baeckerei.ch",
    ]

    bad = client.post(
        "/t/mueller/organization/", {"form": "branding", "buy_url": "http://shop.test"}
    )
    assert bad.status_code == 400 and b"https://" in bad.content
    good = client.post(
        "/t/mueller/organization/",
        {"form": "branding", "display_name": "Müller", "accent_color": "#aa5500"},
        follow=True,
    )
    assert b"Saved." in good.content and b"#aa5500" in good.content


def test_staff_find_every_model_in_the_admin(world, browser):
    client = browser(world.staff)
    for model in (
        "user",
        "tenant",
        "membership",
        "contact",
        "branding",
        "apitoken",
        "outboundemail",
    ):
        assert client.get(f"/admin/tenants/{model}/").status_code == 200, model
    # organizations are made by invitation in the provider console, not here
    assert client.get("/admin/tenants/tenant/add/").status_code == 403
    assert client.get(f"/admin/tenants/tenant/{world.customer.id}/change/").status_code == 200
    for model in ("product", "feature"):
        assert client.get(f"/admin/subscriptions/{model}/?q=x").status_code == 200


def test_an_invited_person_sets_a_password_through_the_emailed_link(
    world, client, django_capture_on_commit_callbacks
):
    from allauth.account.models import EmailAddress

    from tenants import selectors, services

    owner = selectors.org_context_for(user=world.customer_owner, slug="mueller")
    with django_capture_on_commit_callbacks(execute=True):
        services.member_invite(org=owner, email="fresh@mueller.test", role="user")
    link = re.search(
        r"https://portal\.example\.test(/accounts/password/reset/key/\S+)", mail.outbox[-1].body
    ).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and b"password1" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"password1": "a-Long-new-pass-42", "password2": "a-Long-new-pass-42"},
        follow=True,
    )
    assert done.status_code == 200
    assert EmailAddress.objects.get(email="fresh@mueller.test").verified
    client.logout()
    signed_in = client.post(
        reverse("account_login"),
        {"login": "fresh@mueller.test", "password": "a-Long-new-pass-42"},
        follow=True,
    )
    assert signed_in.redirect_chain[-1][0] == "/t/mueller/"
    assert client.get(link, follow=True).content.count(b"password1") == 0  # the link works once


def test_repeated_failed_sign_ins_are_rate_limited(world, client):
    from django.core.cache import cache

    cache.clear()
    email = world.customer_user.email
    answers = [
        client.post(reverse("account_login"), {"login": email, "password": "wrong-guess"})
        for _ in range(7)
    ]
    assert answers[0].status_code == 200 and b"not correct" in answers[0].content
    assert any(
        a.status_code == 429 or b"Too many failed login attempts" in a.content for a in answers[5:]
    )
    blocked = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert blocked.status_code == 429 or b"Too many failed login attempts" in blocked.content
    cache.clear()


def test_the_owner_switches_subscriptions_off_and_on_from_the_organization_page(world, browser):
    client = browser(world.partner_owner)
    off = client.post("/t/alpine/organization/", {"form": "settings"}, follow=True)
    assert b"Subscriptions are off" in off.content
    world.partner.refresh_from_db()
    assert world.partner.subscriptions_enabled is False
    client.post("/t/alpine/organization/", {"form": "settings", "subscriptions_enabled": "on"})
    world.partner.refresh_from_db()
    assert world.partner.subscriptions_enabled is True
    admin = browser(world.partner_admin)
    assert admin.post("/t/alpine/organization/", {"form": "settings"}).status_code == 403
    world.partner.refresh_from_db()
    assert world.partner.subscriptions_enabled is True
