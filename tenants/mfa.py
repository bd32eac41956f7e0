"""Two-factor authentication and who must use it (SPEC §1 rev. 2, issue 24).

allauth's MFA does the factors themselves: authenticator apps (TOTP), passkeys
and security keys (WebAuthn), recovery codes; the login asks for one, and so
does allauth's re-authentication page for a sensitive action. This module says
who must have one:

- a member of an organization whose owner requires it (`Tenant.mfa_required`);
- every member of a partner organization or of the provider, and platform
  staff, while MFA_REQUIRED_FOR_PARTNERS is on (the default; `make run` and
  most tests turn it off).

A person who must and has none is sent to "Your profile" to set one up before
any other page (`MfaEnrolmentMiddleware`), and the API answers their browser
session 403 `{"detail": …, "code": "mfa_required"}`; API tokens are not
affected (creating one asks for re-authentication). While they must, they
cannot remove their last factor (`PortalMFAAdapter`).

The answer is kept in the session (`SESSION_KEY`): worked out at sign-in, when
a factor is added or removed, and when `policy_changed` bumps the generation in
the shared cache (an owner switching the requirement, a membership in an
organization that requires it), so a page costs no query for it.
"""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from tenants.models import Membership, Tenant, User

SESSION_KEY = "portal_mfa"
GENERATION_KEY = "mfa-policy-generation"
FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
MFA_REQUIRED_CODE = "mfa_required"
STRICT_KINDS = (Tenant.Kind.PARTNER, Tenant.Kind.PROVIDER)
API_PREFIX = "/api/v1/"  # JSON answers; the API's docs are a page like the others

# Pages a person who must set up a factor may still open: their profile (where
# it is set up), allauth's account pages (the factor pages, re-authentication,
# sign-out, password), the language switch, static files and logos.
ALLOWED_PREFIXES = (
    "/accounts/",
    "/profile/",
    "/i18n/",
    "/static/",
    "/media/",
    "/branding/",
)


def tenant_requires_mfa(tenant: Tenant) -> bool:
    """Whether `tenant` requires a second factor of its members."""
    return tenant.mfa_required or (
        settings.MFA_REQUIRED_FOR_PARTNERS and tenant.kind in STRICT_KINDS
    )


def tenant_mfa_policy_locked(tenant: Tenant) -> bool:
    """True where the owner cannot relax the requirement: partners and the
    provider while MFA_REQUIRED_FOR_PARTNERS is on."""
    return settings.MFA_REQUIRED_FOR_PARTNERS and tenant.kind in STRICT_KINDS


def user_has_mfa(user: User) -> bool:
    """A factor that signs in: an authenticator app or a passkey/security key
    (recovery codes only stand in for one)."""
    return Authenticator.objects.filter(user_id=user.pk, type__in=FACTORS).exists()


def user_must_use_mfa(user: User) -> bool:
    strict = settings.MFA_REQUIRED_FOR_PARTNERS
    if strict and user.is_staff:
        return True  # staff act as the provider, in every organization
    requiring = Q(tenant__mfa_required=True)
    if strict:
        requiring |= Q(tenant__kind__in=STRICT_KINDS)
    return Membership.unscoped.filter(requiring, user_id=user.pk).exists()


def policy_changed() -> None:
    """Someone may now have to use MFA (or no longer): every session works its
    answer out again on its next request."""
    try:
        if not cache.add(GENERATION_KEY, 1, None):
            cache.incr(GENERATION_KEY)
    except Exception:
        return


def _generation() -> int | None:
    try:
        return cache.get(GENERATION_KEY, 0)
    except Exception:
        return None


def mfa_state_refresh(request, user: User | None = None) -> dict:
    user = user or request.user
    state = {
        "has": user_has_mfa(user),
        "must": user_must_use_mfa(user),
        "generation": _generation(),
    }
    request.session[SESSION_KEY] = state
    return state


def mfa_setup_due(request) -> bool:
    """The signed-in person must use a second factor and has none yet."""
    state = request.session.get(SESSION_KEY)
    if state is None or state.get("generation") is None or state["generation"] != _generation():
        state = mfa_state_refresh(request)
    return state["must"] and not state["has"]


def mfa_required_message() -> str:
    return _(
        "Your organization requires two-factor authentication: set up an authenticator "
        "app or a passkey on your profile first."
    )


class MfaEnrolmentMiddleware:
    """After AuthenticationMiddleware: a person who must use MFA and has none
    gets their profile (a page) or 403 `mfa_required` (the API, by session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        path = request.path_info
        if (
            user is not None
            and user.is_authenticated
            and not path.startswith(ALLOWED_PREFIXES)
            # an API token's request: the token decides, not the session
            and not (path.startswith(API_PREFIX) and "HTTP_AUTHORIZATION" in request.META)
            and mfa_setup_due(request)
        ):
            if path.startswith(API_PREFIX):
                return JsonResponse(
                    {"detail": mfa_required_message(), "code": MFA_REQUIRED_CODE}, status=403
                )
            return HttpResponseRedirect(reverse("profile") + "#two-factor")
        return self.get_response(request)


class PortalMFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Not the last factor of a person who must use MFA (they would be sent
        straight back to set one up, and their organization's rule broken)."""
        if authenticator.type not in FACTORS:
            return True
        others = Authenticator.objects.filter(user_id=authenticator.user_id, type__in=FACTORS)
        if others.exclude(pk=authenticator.pk).exists():
            return True
        return not user_must_use_mfa(authenticator.user)


def user_factors(user: User) -> dict:
    """A person's factors for "Your profile" (as allauth's own MFA page has
    them): `totp`, `webauthn` (a list), `recovery_codes`, each wrapped."""
    factors: dict = {"webauthn": []}
    for authenticator in Authenticator.objects.filter(user_id=user.pk).order_by("created_at"):
        if authenticator.type == Authenticator.Type.WEBAUTHN:
            factors["webauthn"].append(authenticator.wrap())
        else:
            factors[authenticator.type] = authenticator.wrap()
    return factors
