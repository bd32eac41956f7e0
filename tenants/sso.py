"""Single sign-on (issue 24; docs/security.md, "Single sign-on").

An organization's owner connects the organization's own OpenID Connect provider
(issuer, client id, secret) for some email domains. The login page asks for the
email first (`tenants.views_sso.IdentifierFirstLoginView`): a domain connected
here sends the person to that provider, through allauth's openid_connect
provider and the SocialApp row this module keeps per organization.

Which domains an organization may claim: those of a verified address of one of
its owners (not a DNS TXT check — simpler, and honest about what it proves: the
organization's owner receives mail there), never a public mailbox provider's,
and each domain for one organization only (SsoDomain.domain is unique).

The first sign-in through the provider links the provider's account to an
existing account only when that person is a member of the organization (invited
people have their account and membership already: "Accounts made on the way");
anyone else is refused with a page saying why: no sign-up into an organization
through its provider.
"""

from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.utils.translation import gettext as _

from tenants.audit import audit_record
from tenants.models import AuditEvent, Membership, Role, SsoConnection, SsoDomain, Tenant, User
from tenants.selectors import OrgContext
from tenants.services import require_role, user_email_verified

PROVIDER = "openid_connect"
# Mailboxes anyone can open: claiming one would send strangers to an
# organization's provider.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "libero.it",
        "bluewin.ch",
    }
)


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def sso_domains_allowed(*, tenant: Tenant) -> set[str]:
    """The domains of the owners' verified addresses (docs/security.md)."""
    owners = Membership.unscoped.filter(tenant=tenant, role=Role.OWNER).values("user")
    emails = EmailAddress.objects.filter(user__in=owners, verified=True).values_list(
        "email", flat=True
    )
    return {email_domain(email) for email in emails} - PUBLIC_MAIL_DOMAINS


def sso_connection_of(*, tenant: Tenant) -> SsoConnection | None:
    return SsoConnection.unscoped.filter(tenant=tenant).select_related("app").first()


def sso_connection_for_email(email: str) -> SsoConnection | None:
    """The organization's connection whose provider signs in this address."""
    domain = SsoDomain.unscoped.filter(domain=email_domain(email)).first()
    if domain is None:
        return None
    return sso_connection_of(tenant=domain.tenant)


def _clean_issuer(issuer: str) -> str:
    issuer = issuer.strip().rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError({"issuer": _("Give the provider's issuer URL (https://…).")})
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1"):
        raise ValidationError({"issuer": _("The issuer must use https.")})
    return issuer


def _clean_domains(tenant: Tenant, domains: list[str]) -> list[str]:
    cleaned = sorted({d.strip().lower().lstrip("@") for d in domains if d.strip()})
    if not cleaned:
        raise ValidationError({"domains": _("Give at least one email domain.")})
    allowed = sso_domains_allowed(tenant=tenant)
    refused = [d for d in cleaned if d not in allowed]
    if refused:
        raise ValidationError(
            {
                "domains": _(
                    "Only domains of an owner's verified email address may be used "
                    "(public mail providers never): %(domains)s."
                )
                % {"domains": ", ".join(refused)}
            }
        )
    return cleaned


@transaction.atomic
def sso_connection_set(
    *, org: OrgContext, issuer: str, client_id: str, secret: str, domains: list[str]
) -> SsoConnection:
    """Connect (or change) the organization's provider. An empty `secret` keeps
    the stored one. Owners only; the page asks for re-authentication first."""
    require_role(org, Role.OWNER)
    tenant = Tenant.objects.select_for_update().get(pk=org.tenant.pk)
    issuer = _clean_issuer(issuer)
    client_id = client_id.strip()
    if not client_id:
        raise ValidationError({"client_id": _("Give the client id.")})
    domains = _clean_domains(tenant, domains)
    connection = sso_connection_of(tenant=tenant)
    before = (
        {
            "issuer": connection.app.settings.get("server_url"),
            "client_id": connection.app.client_id,
            "domains": list(
                SsoDomain.unscoped.filter(tenant=tenant).values_list("domain", flat=True)
            ),
        }
        if connection
        else {}
    )
    if connection is None:
        if not secret:
            raise ValidationError({"secret": _("Give the client secret.")})
        app = SocialApp.objects.create(
            provider=PROVIDER,
            provider_id=f"org-{tenant.pk.hex}",
            name=tenant.name,
            client_id=client_id,
            secret=secret,
            settings={"server_url": issuer},
        )
        connection = SsoConnection.unscoped.create(tenant=tenant, app=app)
    else:
        app = connection.app
        app.name, app.client_id, app.settings = tenant.name, client_id, {"server_url": issuer}
        if secret:
            app.secret = secret
        app.save()
    SsoDomain.unscoped.filter(tenant=tenant).exclude(domain__in=domains).delete()
    for domain in domains:
        try:
            with transaction.atomic():
                SsoDomain.unscoped.get_or_create(tenant=tenant, domain=domain)
        except IntegrityError as exc:
            raise ValidationError(
                {
                    "domains": _("%(domain)s signs in through another organization.")
                    % {"domain": domain}
                }
            ) from exc
    audit_record(
        tenant=tenant,
        action=AuditEvent.Action.SSO_CHANGED,
        actor=org.user,
        actor_tenant=tenant,
        target=tenant.name,
        details={
            "before": before,
            "after": {"issuer": issuer, "client_id": client_id, "domains": domains},
        },
    )
    return connection


@transaction.atomic
def sso_connection_remove(*, org: OrgContext) -> None:
    """Disconnect: members sign in with their password again (who has none sets
    one through "Forgot your password?")."""
    require_role(org, Role.OWNER)
    tenant = Tenant.objects.select_for_update().get(pk=org.tenant.pk)
    connection = sso_connection_of(tenant=tenant)
    if connection is None:
        return
    SsoDomain.unscoped.filter(tenant=tenant).delete()
    app = connection.app
    connection.delete()
    SocialAccount.objects.filter(provider=app.provider_id).delete()  # its links
    app.delete()
    audit_record(
        tenant=tenant,
        action=AuditEvent.Action.SSO_CHANGED,
        actor=org.user,
        actor_tenant=tenant,
        target=tenant.name,
        details={"before": {"issuer": app.settings.get("server_url")}, "after": {}},
    )


def sso_member_for(*, connection: SsoConnection, email: str) -> User | None:
    """The account a first sign-in through `connection` may link: a member (or
    an invited one) of its organization with this address, in one of its
    domains."""
    if (
        not email
        or not SsoDomain.unscoped.filter(
            tenant=connection.tenant_id, domain=email_domain(email)
        ).exists()
    ):
        return None
    return User.objects.filter(
        email__iexact=email, is_active=True, memberships__tenant=connection.tenant_id
    ).first()


class SsoSocialAccountAdapter(DefaultSocialAccountAdapter):
    """allauth's social sign-in, for organizations' providers only."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False  # accounts are made by invitation only

    def pre_social_login(self, request, sociallogin) -> None:
        """Every sign-in through an organization's provider, the first and the
        later ones, needs a current membership: a person removed from the
        organization is refused though the provider still knows them."""
        connection = SsoConnection.unscoped.filter(
            app__provider_id=sociallogin.account.provider
        ).first()
        email = sociallogin.user.email if sociallogin.user else ""
        user = None if connection is None else sso_member_for(connection=connection, email=email)
        if user is None or (sociallogin.is_existing and sociallogin.user.pk != user.pk):
            raise ImmediateHttpResponse(
                render(
                    request,
                    "account/sso_refused.html",
                    {
                        "email": email,
                        "organization": connection.tenant.name if connection else "",
                    },
                    status=403,
                )
            )
        if not sociallogin.is_existing:
            sociallogin.connect(request, user)
            user_email_verified(user=user)  # the organization's provider vouches for it
