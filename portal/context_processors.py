from tenants.selectors import branding_effective, user_memberships


def portal(request) -> dict:
    """The organization of the page, the switcher's list and the effective branding."""
    org = getattr(request, "org", None)
    context = {"org": org}
    if request.user.is_authenticated:
        context["switcher_memberships"] = user_memberships(user=request.user)
    if org is not None:
        context["branding"] = branding_effective(tenant=org.tenant)
        context["subscriptions_on"] = org.tenant.subscriptions_enabled
    return context
