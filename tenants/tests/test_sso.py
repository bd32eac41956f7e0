"""Issue 24, item 4: single sign-on through an organization's own OpenID Connect
provider (tenants.sso), end to end against a real provider running locally
(oidc-provider-mock on a thread, over HTTP on localhost): the login page sends
the email's domain there, the provider's redirect comes back to allauth's
callback, which fetches the token and the user info from the provider."""

from urllib.parse import urlsplit

import pytest
import requests
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.urls import reverse
from oidc_provider_mock import run_server_in_thread

from tenants.models import AuditEvent, Role, SsoConnection, User
from tenants.selectors import org_context_for
from tenants.services import member_invite
from tenants.tests.factories import PASSWORD, CustomerFactory, MembershipFactory, UserFactory
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the mock on plain http
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def acme():
    org = CustomerFactory(name="Acme")
    owner = UserFactory(email="owner@acme.test")
    MembershipFactory(user=owner, tenant=org, role=Role.OWNER)
    return org, owner


def connect(client, org, owner, issuer, domains="acme.test"):
    """The owner, re-authenticated, saves the organization's provider on the page."""
    client.force_login(owner)
    reauthenticate(client)
    return client.post(
        reverse("sso", kwargs={"slug": org.slug}),
        {"issuer": issuer, "client_id": "portal", "secret": "s3cret", "domains": domains},
    )


def sign_in_through_provider(client, email):
    """Identifier first → the provider's authorization page → back to the portal."""
    response = client.post(reverse("account_login"), {"login": email})
    assert response.status_code == 302
    authorize = response["Location"]
    assert "login_hint=" in authorize
    # the person picks their identity at the provider (the mock's form)
    answer = requests.post(authorize, data={"sub": email}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_owner_connects_and_an_invited_member_signs_in_through_the_provider(client, provider, acme):
    org, owner = acme
    response = connect(client, org, owner, provider)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("sso", kwargs={"slug": org.slug})
    connection = SsoConnection.objects.for_org(org).get()
    assert connection.app.settings == {"server_url": provider}
    assert connection.app.secret == "s3cret"
    assert AuditEvent.objects.for_org(org).filter(action=AuditEvent.Action.SSO_CHANGED).exists()
    page = client.get(reverse("sso", kwargs={"slug": org.slug}))
    assert connection.app.provider_id in page.content.decode()  # the redirect URI to register

    invited = member_invite(
        org=org_context_for(user=owner, slug=org.slug), email="new@acme.test", role=Role.USER
    ).user
    assert not invited.has_usable_password()
    client.logout()

    response = sign_in_through_provider(client, "new@acme.test")
    assert response.status_code == 302, response.content.decode()
    assert client.session["_auth_user_id"] == str(invited.pk)
    assert SocialAccount.objects.get(user=invited).provider == connection.app.provider_id
    assert invited.emailaddress_set.get().verified

    # a second sign-in finds the link
    client.logout()
    response = sign_in_through_provider(client, "new@acme.test")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(invited.pk)


def test_nobody_signs_up_through_the_provider(client, provider, acme):
    org, owner = acme
    connect(client, org, owner, provider)
    outsider = UserFactory(email="other@acme.test")  # an account, but not a member of Acme
    client.logout()
    for email in ("stranger@acme.test", outsider.email):
        response = sign_in_through_provider(client, email)
        assert response.status_code == 403
        assert "ask one of its owners or admins to invite you" in response.content.decode()
        assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email="stranger@acme.test").exists()
    assert not SocialAccount.objects.exists()


def test_other_domains_sign_in_with_their_password(client, provider, acme):
    org, owner = acme
    connect(client, org, owner, provider)
    client.logout()
    elsewhere = UserFactory(email="someone@elsewhere.test")
    page = client.get(reverse("account_login")).content.decode()
    assert 'name="login"' in page and 'name="password"' not in page  # the email first
    response = client.post(reverse("account_login"), {"login": elsewhere.email})
    assert response.status_code == 200  # then the password, the email kept
    assert 'name="password"' in response.content.decode()
    assert f'value="{elsewhere.email}"' in response.content.decode()
    response = client.post(
        reverse("account_login"), {"login": elsewhere.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(elsewhere.pk)


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ("gmail.com", "Only domains of an owner"),
        ("elsewhere.test", "Only domains of an owner"),
    ],
)
def test_only_the_owners_verified_domains_may_be_claimed(client, acme, domains, message):
    org, owner = acme
    UserFactory(email="owner2@gmail.com")
    response = connect(client, org, owner, "https://id.acme.test", domains=domains)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SocialApp.objects.exists()


def test_a_domain_belongs_to_one_organization(client, acme):
    org, owner = acme
    connect(client, org, owner, "https://id.acme.test")
    rival = CustomerFactory(name="Rival")
    rival_owner = UserFactory(email="boss@acme.test")
    MembershipFactory(user=rival_owner, tenant=rival, role=Role.OWNER)
    client.logout()
    response = connect(client, rival, rival_owner, "https://id.rival.test")
    assert response.status_code == 400
    assert "signs in through another organization" in response.content.decode()


def test_only_owners_see_the_page(client, acme):
    org, _owner = acme
    admin = UserFactory(email="admin@acme.test")
    MembershipFactory(user=admin, tenant=org, role=Role.ADMIN)
    client.force_login(admin)
    assert client.get(reverse("sso", kwargs={"slug": org.slug})).status_code == 403


def test_a_removed_member_is_refused_and_turning_off_removes_the_links(client, provider, acme):
    org, owner = acme
    connect(client, org, owner, provider)
    membership = member_invite(
        org=org_context_for(user=owner, slug=org.slug), email="leaver@acme.test", role=Role.USER
    )
    client.logout()
    assert sign_in_through_provider(client, "leaver@acme.test").status_code == 302
    assert SocialAccount.objects.filter(user=membership.user).exists()
    client.logout()
    membership.delete()  # no longer a member: the provider still knows them
    response = sign_in_through_provider(client, "leaver@acme.test")
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session

    client.force_login(owner)
    reauthenticate(client)
    response = client.post(reverse("sso", kwargs={"slug": org.slug}), {"remove": "1"})
    assert response.status_code == 302
    assert not SsoConnection.objects.for_org(org).exists()
    assert not SocialApp.objects.exists() and not SocialAccount.objects.exists()
    client.logout()
    response = client.post(reverse("account_login"), {"login": "leaver@acme.test"})
    assert response.status_code == 200  # back to passwords
    assert 'name="password"' in response.content.decode()


def test_a_member_with_an_authenticator_app_is_asked_for_the_code_after_the_provider(
    client, provider, acme
):
    org, owner = acme
    connect(client, org, owner, provider)
    member = member_invite(
        org=org_context_for(user=owner, slug=org.slug), email="careful@acme.test", role=Role.USER
    ).user
    TOTP.activate(member, generate_totp_secret())
    client.logout()
    response = sign_in_through_provider(client, "careful@acme.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
