from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.forms import PERCENT, LinesField, PercentField
from tenants.models import (
    MAX_DISCOUNT_RATE,
    ApiToken,
    AuditEvent,
    Branding,
    Contact,
    Membership,
    OutboundEmail,
    Tenant,
    User,
)
from tenants.services import clean_email_domains, partner_update, tenant_move, tenant_status_set


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["tenant"]
    fields = ["tenant", "role", "buyer"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MemberInline(admin.TabularInline):
    model = Membership
    fk_name = "tenant"
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "buyer"]


def _formfield(db_field, **kwargs):
    """The class's own fields: a URL typed without a scheme is https (as the admin's)."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class TenantAdminForm(forms.ModelForm):
    email_domains = LinesField(
        label=_("Email domains"), required=False, help_text=_("One domain a line, without @.")
    )
    specialities = LinesField(
        label=_("Specialities"), required=False, help_text=_("One speciality a line.")
    )
    discount_rate = PercentField(
        label=_("Discount (%)"),
        max_rate=MAX_DISCOUNT_RATE,
        help_text=_("Partner discount on public prices: 20 by default, at most 35."),
    )

    class Meta:
        model = Tenant
        fields = "__all__"  # noqa: DJ007 (the admin shows every field; its fieldsets choose)
        formfield_callback = _formfield  # the admin's own callback replaces it there

    def clean_email_domains(self) -> list[str]:
        try:
            return clean_email_domains(self.cleaned_data["email_domains"])
        except ValidationError as exc:  # the service's {field: message}, on this field
            raise ValidationError(exc.message_dict["email_domains"]) from exc


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Kind and currency are fixed once the organization exists (its books are in
    that currency); status, discount and the place in the tree go through their
    services (`tenant_status_set`, `partner_update`, `tenant_move`), audited.
    Nobody adds an organization here: the provider comes from `setup_platform`,
    a partner from the provider console's invitation of its owner
    (`partner_create`), a customer from its partner; and a partner moves in the
    tree in the console, after a preview of what moves (`partner_move`). The
    list says where to go (admin/tenants/tenant/change_list.html)."""

    form = TenantAdminForm
    list_display = [
        "name",
        "kind",
        "parent",
        "status",
        "currency",
        "discount",
        "country",
        "created_at",
    ]
    list_filter = [
        "kind",
        "status",
        "currency",
        "listed_in_directory",
        "receives_tenders",
        "country",
    ]
    search_fields = ["name", "slug", "tax_id", "city"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent", "origin"]
    readonly_fields = ["id", "path", "depth", "created_at", "updated_at"]
    inlines = [MemberInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    actions = ["suspend", "reinstate"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        fixed = ["kind", "currency"] if obj is not None else []
        if obj is not None and obj.kind == Tenant.Kind.PARTNER:
            fixed.append("parent")  # moved in the provider console, with its preview
        return [*self.readonly_fields, *fixed]

    @admin.display(description=_("Discount"), ordering="discount_rate")
    def discount(self, obj: Tenant) -> str:
        if obj.kind != Tenant.Kind.PARTNER:
            return "—"
        return f"{(obj.discount_rate * PERCENT).normalize():f} %"

    def save_model(self, request, obj, form, change):
        """Only changes (nothing is added here): a customer's new parent moves its
        path (`tenant_move`); status and discount go through their audited
        services (`tenant_status_set`, `partner_update`)."""
        parent_changed = "parent" in form.changed_data
        status = obj.status
        status_changed = "status" in form.changed_data
        if status_changed:
            obj.status = form.initial["status"]
        discount_rate = obj.discount_rate
        discount_changed = "discount_rate" in form.changed_data
        if discount_changed:
            obj.discount_rate = form.initial["discount_rate"]
        super().save_model(request, obj, form, change)
        if parent_changed:
            tenant_move(tenant=obj, new_parent=obj.parent)
        if discount_changed:
            partner_update(actor=request.user, partner=obj, discount_rate=discount_rate)
        if status_changed:
            obj.status = tenant_status_set(actor=request.user, tenant=obj, status=status).status

    def _set_status(self, request, queryset, status: str) -> None:
        for tenant in queryset:
            tenant_status_set(actor=request.user, tenant=tenant, status=status)

    @admin.action(description=_("Suspend the selected organizations"))
    def suspend(self, request, queryset):
        self._set_status(request, queryset, Tenant.Status.SUSPENDED)

    @admin.action(description=_("Reinstate the selected organizations"))
    def reinstate(self, request, queryset):
        self._set_status(request, queryset, Tenant.Status.ACTIVE)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "buyer", "created_at"]
    list_filter = ["role", "buyer", "tenant__kind"]
    search_fields = ["user__email", "tenant__name"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant", "invited_by"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "customer", "email", "phone", "is_primary"]
    list_filter = ["is_primary"]
    search_fields = ["first_name", "last_name", "email", "customer__name"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]


@admin.register(Branding)
class BrandingAdmin(admin.ModelAdmin):
    list_display = ["tenant", "display_name", "support_email", "accent_color", "buy_url"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    search_fields = ["tenant__name", "display_name"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "tenant", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "tenant__name", "user__email"]
    list_select_related = ["tenant", "user"]
    readonly_fields = ["id", "tenant", "user", "prefix", "token_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False  # tokens are made by their owners, shown once


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["to", "subject", "key"]
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Staff read every organization's audit log; nobody adds, edits or deletes
    an event (the model refuses too)."""

    list_display = ["at", "tenant", "action", "target", "actor_email", "actor_tenant", "ip"]
    list_filter = ["action"]
    search_fields = ["tenant__name", "target", "actor_email"]
    list_select_related = ["tenant", "actor_tenant"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    actions = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# allauth registers its own Authenticator admin, where staff could delete a
# person's factors unrecorded; here staff see who has which factor, and remove
# them only with `manage.py mfa_reset`, which records why (docs/security.md,
# "Recovering an account that lost its factors").
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "type", "created_at", "last_used_at"]  # never the secret
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
