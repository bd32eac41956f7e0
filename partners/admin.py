from django.contrib import admin

from partners.models import CustomerAssignment, Partnership, PartnershipEvent


class PartnershipEventInline(admin.TabularInline):
    model = PartnershipEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "before", "after", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    """Read-mostly: grants change through the two sides' owners (services), so
    every change stays in the history."""

    list_display = [
        "partner",
        "customer",
        "access",
        "payment",
        "status",
        "initiated_by",
        "ends_on",
        "created_at",
    ]
    list_filter = ["status", "access", "payment", "initiated_by"]
    search_fields = ["partner__name", "customer__name", "invitation_email"]
    list_select_related = ["partner", "customer"]
    readonly_fields = [f.name for f in Partnership._meta.fields] + ["products"]
    inlines = [PartnershipEventInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PartnershipEvent)
class PartnershipEventAdmin(admin.ModelAdmin):
    list_display = ["partnership", "kind", "actor", "at"]
    list_filter = ["kind"]
    search_fields = ["partnership__partner__name", "partnership__customer__name", "actor__email"]
    list_select_related = ["partnership__partner", "partnership__customer", "actor"]
    readonly_fields = [f.name for f in PartnershipEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CustomerAssignment)
class CustomerAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "customer", "partner", "assigned_by", "created_at"]
    search_fields = ["user__email", "customer__name", "partner__name"]
    list_select_related = ["user", "customer", "partner", "assigned_by"]
    autocomplete_fields = ["user", "customer", "partner", "assigned_by"]
