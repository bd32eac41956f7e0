"""The one base for browser pages inside an organization (`/t/<slug>/…`).

The slug in the URL names the organization (never hidden session state, so two
tabs can work in two organizations); it is resolved once here. Not a member →
404, like a missing organization; a role too low, or an organization that is
suspended, → 403 (templates/403.html says why).
"""

from allauth.account.decorators import reauthentication_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from core.exceptions import validation_detail
from tenants.models import ROLE_IN_SENTENCE, Role, Tenant
from tenants.selectors import (
    OrgContext,
    org_context_for,
    org_require_active,
    user_memberships,
)


class OrgViewMixin(LoginRequiredMixin):
    allowed_kinds: tuple[str, ...] = (
        Tenant.Kind.PROVIDER,
        Tenant.Kind.PARTNER,
        Tenant.Kind.CUSTOMER,
    )
    min_role: str = Role.USER
    org: OrgContext

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.org = org_context_for(user=request.user, slug=kwargs["slug"])
        org_require_active(self.org)
        if self.org.tenant.kind not in self.allowed_kinds:
            raise Http404(_("Not available for this organization."))
        if not self.org.has_role(self.min_role):
            raise PermissionDenied(
                _("This page needs the %(role)s role.")
                % {"role": ROLE_IN_SENTENCE.get(self.min_role, self.min_role)}
            )
        request.org = self.org
        return super().dispatch(request, *args, **kwargs)


def attach_menu_org(request, slug: str | None) -> None:
    """A page outside `/t/<slug>/` (the partner directory) keeps the console's menu
    for a signed-in person: the organization named by `?org=` when they are a member
    of it and it is active, else their first one. Nothing for anyone else, and
    nothing is refused: a slug that is not theirs shows the page without a menu,
    exactly like a missing one."""
    if not request.user.is_authenticated:
        return
    if not slug:
        first = user_memberships(user=request.user).first()
        slug = first.tenant.slug if first is not None else None
    if not slug:
        return
    try:
        org = org_context_for(user=request.user, slug=slug)
        org_require_active(org)
    except (Http404, PermissionDenied):
        return
    request.org = org


class ResolveFirstMixin:
    """After OrgViewMixin in the bases: load what the URL names (`resolve`)
    before the method is dispatched, so another organization's id answers the
    404 of a missing one whatever the method — never a 405 that would tell it
    exists."""

    def dispatch(self, request, *args, **kwargs):
        self.resolve()
        return super().dispatch(request, *args, **kwargs)

    def resolve(self) -> None:
        """Load the objects named by `self.kwargs` (or raise Http404)."""


def require_recent_reauthentication(request) -> None:
    """A sensitive action on a page (SPEC §1: a change of role or of the payment
    mode, a new API token). Unless the person typed their password on allauth's
    re-authentication page within ACCOUNT_REAUTHENTICATION_TIMEOUT, this raises
    allauth's ReauthenticationRequired: its middleware keeps the POST, sends the
    person to that page, and replays the POST once the password is right. The
    password goes through `tenants.reauthentication` (the adapter's
    `reauthenticate`): counted, audited, locked after too many wrong ones."""
    reauthentication_required(lambda request: None)(request)


def form_add_service_errors(form, exc: DjangoValidationError) -> None:
    """Show a service's ValidationError inline: on its field when the form has it."""
    for field, messages in validation_detail(exc).items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
