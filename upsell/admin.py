"""Staff switch upsell here too; the switch goes through `upsell_set`, so every
change is recorded like the partners' own."""

from django.contrib import admin

from tenants.selectors import OrgContext
from upsell.models import FeatureInterest, UpgradeRequest, UpsellChange, UpsellSwitch
from upsell.services import upsell_set


@admin.register(UpsellSwitch)
class UpsellSwitchAdmin(admin.ModelAdmin):
    list_display = ["customer", "enabled", "updated_at", "updated_by"]
    list_filter = ["enabled"]
    search_fields = ["customer__name"]
    list_select_related = ["customer", "updated_by"]
    fields = ["customer", "enabled"]
    autocomplete_fields = ["customer"]

    def get_readonly_fields(self, request, obj=None):
        return ["customer"] if obj else []

    def save_model(self, request, obj, form, change):
        org = OrgContext(tenant=obj.customer, user=request.user, membership=None)
        saved = upsell_set(org=org, customer_id=obj.customer_id, enabled=obj.enabled)
        obj.pk = saved.pk


@admin.register(UpsellChange)
class UpsellChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "customer", "enabled", "actor", "acting_for"]
    list_filter = ["enabled"]
    search_fields = ["customer__name", "actor__email"]
    list_select_related = ["customer", "actor", "acting_for"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeatureInterest)
class FeatureInterestAdmin(UpsellChangeAdmin):
    list_display = ["at", "customer", "partner", "kind", "feature", "recommended_product"]
    list_filter = ["kind"]
    search_fields = ["customer__name", "partner__name"]
    list_select_related = ["customer", "partner", "feature", "recommended_product"]


@admin.register(UpgradeRequest)
class UpgradeRequestAdmin(UpsellChangeAdmin):
    list_display = ["created_at", "customer", "partner", "recommended_product", "status"]
    list_filter = ["status"]
    search_fields = ["customer__name", "partner__name"]
    list_select_related = ["customer", "partner", "recommended_product"]
