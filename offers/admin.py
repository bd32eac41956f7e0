from django.contrib import admin

from offers.models import Offer, OfferItem, OfferTemplate, TemplateItem


class TemplateItemInline(admin.TabularInline):
    model = TemplateItem
    extra = 0


@admin.register(OfferTemplate)
class OfferTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "partner", "updated_at"]
    search_fields = ["name", "partner__name"]
    list_select_related = ["partner"]
    autocomplete_fields = ["partner", "created_by"]
    inlines = [TemplateItemInline]


class OfferItemInline(admin.TabularInline):
    model = OfferItem
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in OfferItem._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    """Read-only: offers change status only through their services (guarded
    transitions), so staff look here and act in the portal."""

    list_display = ["template_name", "partner", "customer", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["template_name", "partner__name", "customer__name"]
    list_select_related = ["partner", "customer"]
    readonly_fields = [f.name for f in Offer._meta.fields]
    inlines = [OfferItemInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
