import functools

from offers.selectors import updates_count
from portal.navigation import org_navigation
from tenants.models import Tenant
from tenants.selectors import PROVIDER_CONSOLE_ROLES, branding_effective, user_memberships


def _provider_console_link(user, memberships) -> bool:
    """Whether the menu links the provider console: `provider_staff_of`'s rule,
    read off the switcher's memberships (no query of its own)."""
    return user.is_staff or any(
        m.tenant.kind == Tenant.Kind.PROVIDER
        and m.tenant.status == Tenant.Status.ACTIVE
        and m.role in PROVIDER_CONSOLE_ROLES
        for m in memberships
    )


def portal(request) -> dict:
    """The organization of the page, the switcher's list and the effective branding."""
    org = getattr(request, "org", None)
    context = {"org": org}
    if request.user.is_authenticated:
        memberships = user_memberships(user=request.user)
        context["switcher_memberships"] = memberships
        context["provider_console_link"] = functools.partial(
            _provider_console_link, request.user, memberships
        )
    if org is not None:
        context["branding"] = branding_effective(tenant=org.tenant)
        context["subscriptions_on"] = org.tenant.subscriptions_enabled
        match = getattr(request, "resolver_match", None)
        context["org_nav"] = functools.partial(
            org_navigation,
            org,
            match.url_name if match else None,
            subscriptions_on=org.tenant.subscriptions_enabled,
        )
    return context


def updates_badge(request) -> dict:
    """`updates_count`: what awaits a customer's owners and admins (the Updates
    badge), in at most two COUNT queries, run only when a page shows it; nothing
    for other organizations and roles."""
    org = getattr(request, "org", None)
    if org is None or not org.tenant.is_customer or not org.is_admin:
        return {}
    return {"updates_count": functools.cache(functools.partial(updates_count, org=org))}
