"""The one base for API views: it resolves the organization of the request once
and checks the role the view needs, before any handler runs.

The organization is the token's own; for a session, the `X-Tenant` header (a
user with a single membership may omit it). A tenant the caller does not belong
to is a 404, like a missing one; one that is suspended, a 403 for its members
(its tokens are refused by `tenants.authentication`). Subclasses name what they need with
`allowed_kinds` and `min_role` / `min_role_by_action`; they do not override
`initial`.
"""

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, generics, viewsets
from rest_framework.views import APIView

from tenants.models import ROLE_IN_SENTENCE, ApiToken, Membership, Role, Tenant
from tenants.reauthentication import password_confirm
from tenants.selectors import OrgContext, org_context_for, org_require_active

TENANT_HEADER = "HTTP_X_TENANT"

# The attribute naming a response's fields that are shown once (a new token):
# what the API keeps of the request for an Idempotency-Key never holds them
# (portal.idempotency).
SECRET_FIELDS = "secret_fields"


def secret_response(response, *fields: str):
    """Mark `fields` of `response` (top-level keys of its JSON) as secret."""
    setattr(response, SECRET_FIELDS, fields)
    return response


def require_password(org: OrgContext, data: dict) -> None:
    """A sensitive action through the API (SPEC §1: a token's or a session's):
    the caller's own password in the body (`password`, taken out of `data`),
    each time. None: 400; a wrong one: 400, counted and audited; too many: 429
    (tenants.reauthentication)."""
    password = data.pop("password", None)
    if not password:
        raise exceptions.ValidationError(
            {"password": [_("Confirm with your password: this change is sensitive.")]}
        )
    password_confirm(user=org.user, password=password, acting_in=org.tenant)


def resolve_org(request) -> OrgContext:
    user = request.user
    if isinstance(request.auth, ApiToken):
        token = request.auth
        # read with the token by `api_token_authenticate` (no query); else read it now
        membership = getattr(token, "membership", None) or Membership.unscoped.select_related(
            "tenant"
        ).get(user=user, tenant=token.tenant)
        header = request.META.get(TENANT_HEADER)
        if header and header not in (str(token.tenant_id), token.tenant_id.hex):
            raise Http404(_("No such organization."))
        return OrgContext(tenant=membership.tenant, user=user, membership=membership)
    header = request.META.get(TENANT_HEADER)
    if header:
        return org_context_for(user=user, tenant_id=header)
    memberships = list(Membership.unscoped.select_related("tenant").filter(user=user)[:2])
    if len(memberships) == 1:
        return OrgContext(tenant=memberships[0].tenant, user=user, membership=memberships[0])
    raise exceptions.ValidationError(
        {"X-Tenant": [_("Name the organization with the X-Tenant header (a tenant id).")]}
    )


class OrgScopedMixin:
    allowed_kinds: tuple[str, ...] = (
        Tenant.Kind.PROVIDER,
        Tenant.Kind.PARTNER,
        Tenant.Kind.CUSTOMER,
    )
    min_role: str = Role.USER
    min_role_by_action: dict[str, str] = {}
    org: OrgContext

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            # a method the URL does not have is 405 whichever organization asks
            raise exceptions.MethodNotAllowed(request.method)
        self.org = resolve_org(request)
        org_require_active(self.org)
        if self.org.tenant.kind not in self.allowed_kinds:
            raise Http404(_("Not available for this organization."))
        action = getattr(self, "action", None) or request.method.lower()
        needed = self.min_role_by_action.get(action, self.min_role)
        if not self.org.has_role(needed):
            raise exceptions.PermissionDenied(
                _("This needs the %(role)s role in this organization.")
                % {"role": ROLE_IN_SENTENCE.get(needed, needed)}
            )


class OrgAPIView(OrgScopedMixin, APIView):
    pass


class OrgGenericAPIView(OrgScopedMixin, generics.GenericAPIView):
    pass


class OrgViewSet(OrgScopedMixin, viewsets.GenericViewSet):
    """Subclasses set `queryset = Model.objects.none()` (for the schema) and
    implement `get_org_queryset()`, which reads `self.org` through a selector."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.get_org_queryset()

    def get_org_queryset(self):
        raise ImproperlyConfigured(f"{type(self).__name__} must define get_org_queryset().")
