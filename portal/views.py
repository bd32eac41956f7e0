from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from tenants.selectors import user_memberships


@login_required
def home(request):
    """After sign-in: straight into the only organization, else a chooser."""
    memberships = list(user_memberships(user=request.user))
    if len(memberships) == 1:
        return redirect("org_dashboard", slug=memberships[0].tenant.slug)
    return render(request, "home.html", {"memberships": memberships})
