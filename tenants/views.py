"""Browser pages of the tenancy core: dashboard, members, API tokens, organization.
Thin: forms parse, services write, selectors read."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from core.exceptions import Conflict
from tenants import selectors, services
from tenants.forms import (
    ApiTokenForm,
    AuditFilterForm,
    BrandingForm,
    MemberInviteForm,
    MemberUpdateForm,
    OrganizationForm,
)
from tenants.mfa import tenant_mfa_policy_locked, tenant_requires_mfa
from tenants.models import Role
from tenants.web import OrgViewMixin, form_add_service_errors, require_recent_reauthentication

PAGE_SIZE = 50


class MembersView(OrgViewMixin, View):
    def render_page(self, request, invite_form=None, status=200):
        page = Paginator(selectors.members_list(org=self.org), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        rows = [
            (
                m,
                MemberUpdateForm(
                    tenant=self.org.tenant,
                    initial={"role": m.role, "buyer": m.buyer},
                    prefix=str(m.id),
                ),
            )
            for m in page.object_list
        ]
        return render(
            request,
            "tenants/members.html",
            {
                "page": page,
                "rows": rows,
                "can_manage": self.org.is_admin,
                "invite_form": invite_form or MemberInviteForm(tenant=self.org.tenant),
            },
            status=status,
        )

    def get(self, request, slug):
        return self.render_page(request)

    def post(self, request, slug):
        form = MemberInviteForm(request.POST, tenant=self.org.tenant)
        if form.is_valid():
            try:
                membership = services.member_invite(org=self.org, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(email)s was invited as %(role)s.")
                    % {"email": membership.user.email, "role": membership.get_role_display()},
                )
                return redirect("members", slug=slug)
        return self.render_page(request, invite_form=form, status=400)


class MemberChangeView(OrgViewMixin, View):
    min_role = Role.ADMIN

    def post(self, request, slug, membership_id):
        membership = selectors.member_get(org=self.org, membership_id=membership_id)
        try:
            if request.POST.get("action") == "remove":
                services.member_remove(org=self.org, membership=membership)
                messages.success(
                    request,
                    _("%(email)s no longer belongs to %(organization)s.")
                    % {"email": membership.user.email, "organization": self.org.tenant.name},
                )
            else:
                form = MemberUpdateForm(
                    request.POST, tenant=self.org.tenant, prefix=str(membership.id)
                )
                if not form.is_valid():
                    messages.error(request, _("Choose one of the roles offered."))
                    return redirect("members", slug=slug)
                if form.cleaned_data["role"] != membership.role:
                    # sensitive (SPEC §1): who may, then the password, then the change
                    services.member_role_check(
                        org=self.org, membership=membership, role=form.cleaned_data["role"]
                    )
                    require_recent_reauthentication(request)
                services.member_update(org=self.org, membership=membership, **form.cleaned_data)
                messages.success(
                    request, _("%(email)s was updated.") % {"email": membership.user.email}
                )
        except Conflict as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        return redirect("members", slug=slug)


class ApiTokensView(OrgViewMixin, View):
    min_role = Role.ADMIN

    def render_page(self, request, form=None, new_token=None, status=200):
        page = Paginator(selectors.api_tokens_list(org=self.org), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "tenants/tokens.html",
            {
                "page": page,
                "form": form or ApiTokenForm(),
                "new_token": new_token,
            },
            status=status,
        )

    def get(self, request, slug):
        return self.render_page(request)

    def post(self, request, slug):
        if "revoke" in request.POST:
            token = selectors.api_token_get(org=self.org, token_id=request.POST["revoke"])
            services.api_token_revoke(org=self.org, token=token)
            messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
            return redirect("tokens", slug=slug)
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            require_recent_reauthentication(request)  # a new token is sensitive (SPEC §1)
            try:
                token, raw = services.api_token_create(org=self.org, name=form.cleaned_data["name"])
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return self.render_page(request, new_token={"token": token, "raw": raw}, status=201)
        return self.render_page(request, form=form, status=400)


def branding_logo(request, tenant_id):
    """A tenant's logo, public like any logo on a page; cached by the browser
    (the URL carries its version) and never sniffed as anything but an image."""
    branding = selectors.branding_logo(tenant_id=tenant_id)
    response = HttpResponse(bytes(branding.logo), content_type=branding.logo_type)
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


class OrganizationView(OrgViewMixin, View):
    def post_logo(self, request, slug):
        """Upload or remove the logo (its own small form on the page)."""
        upload = request.FILES.get("logo")
        if request.POST.get("remove") or upload is not None:
            try:
                content = (
                    None if request.POST.get("remove") else upload.read(services.LOGO_MAX_BYTES + 1)
                )
                services.branding_logo_set(org=self.org, content=content)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return self.render_page(request, status=400)
            messages.success(request, _("Logo removed.") if content is None else _("Logo saved."))
        else:
            messages.error(request, _("Choose an image file first."))
            return self.render_page(request, status=400)
        return redirect("organization", slug=slug)

    def post_security(self, request, slug):
        """The owner requires two-factor authentication of every member, or no
        longer: sensitive (SPEC §1), so who may, then re-authentication, then
        the change."""
        required = request.POST.get("mfa_required") == "on"
        services.require_role(self.org, Role.OWNER)
        require_recent_reauthentication(request)
        try:
            services.organization_mfa_policy_set(org=self.org, required=required)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return self.render_page(request, status=400)
        messages.success(
            request,
            _("Every member must now use two-factor authentication.")
            if required
            else _("Two-factor authentication is no longer required of every member."),
        )
        return redirect("organization", slug=slug)

    def render_page(self, request, profile_form=None, branding_form=None, status=200):
        tenant = self.org.tenant
        return render(
            request,
            "tenants/organization.html",
            {
                "profile_form": profile_form or OrganizationForm(instance=tenant),
                "branding_form": branding_form
                or BrandingForm(instance=selectors.branding_own(tenant=tenant)),
                "own_logo": selectors.branding_own(tenant=tenant).logo_type != "",
                "can_edit": self.org.is_admin,
                "mfa_required": tenant_requires_mfa(tenant),
                "mfa_locked": tenant_mfa_policy_locked(tenant),
            },
            status=status,
        )

    def get(self, request, slug):
        return self.render_page(request)

    def post(self, request, slug):
        tenant = self.org.tenant
        if request.POST.get("form") == "settings":
            enabled = request.POST.get("subscriptions_enabled") == "on"
            services.organization_settings_update(org=self.org, subscriptions_enabled=enabled)
            messages.success(
                request,
                _("Subscriptions are on.")
                if enabled
                else _(
                    "Subscriptions are off: their widgets, fields and filters are hidden; "
                    "no data was deleted."
                ),
            )
            return redirect("organization", slug=slug)
        if request.POST.get("form") == "security":
            return self.post_security(request, slug)
        if request.POST.get("form") == "logo":
            return self.post_logo(request, slug)
        if request.POST.get("form") == "branding":
            form = BrandingForm(request.POST, instance=selectors.branding_own(tenant=tenant))
            save, form_name = services.branding_update, "branding_form"
        else:
            form = OrganizationForm(request.POST, instance=selectors.tenant_fresh(tenant=tenant))
            save, form_name = services.organization_update, "profile_form"
        if form.is_valid():
            try:
                save(org=self.org, data=form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("organization", slug=slug)
        return self.render_page(request, status=400, **{form_name: form})


def _shown(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) or "—"
    return str(value)


def audit_detail_rows(details: dict) -> list[tuple[str, str, str]]:
    """An event's details as (what, before, after) rows: the fields that changed
    (or were set or cleared), or the values as they stay when nothing did (a
    grant accepted as asked); then anything else it recorded (before empty)."""
    before, after = details.get("before") or {}, details.get("after") or {}
    rows = [
        (key.replace("_", " "), _shown(before.get(key)), _shown(after.get(key)))
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    ]
    if not rows and after:
        rows = [(key.replace("_", " "), "", _shown(value)) for key, value in after.items()]
    rows += [
        (key.replace("_", " "), "", _shown(value))
        for key, value in details.items()
        if key not in ("before", "after") and value not in ("", None, {}, [])
    ]
    return rows


class AuditLogView(OrgViewMixin, View):
    """The organization's audit log, newest first, 50 a page: owners only."""

    min_role = Role.OWNER

    def get(self, request, slug):
        filters = AuditFilterForm(request.GET)
        action = filters.cleaned_data["action"] if filters.is_valid() else ""
        events = selectors.audit_events_list(org=self.org, action=action or None)
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [(event, audit_detail_rows(event.details)) for event in page.object_list]
        return render(
            request,
            "tenants/audit.html",
            {"page": page, "rows": rows, "filters": filters, "filtered": bool(action)},
        )
