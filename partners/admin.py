from django.contrib import admin

from partners.models import (
    AlertProfile,
    Contract,
    CustomerAssignment,
    ImportJob,
    Partnership,
    PartnershipEvent,
    ServiceProfile,
    SlaPolicy,
)


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
    autocomplete_fields = ["user", "customer", "partner"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "partner",
        "kind",
        "status",
        "processed",
        "total",
        "created_count",
        "updated_count",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["partner__name", "created_by__email"]
    list_select_related = ["partner", "created_by"]
    exclude = ["content"]
    readonly_fields = [f.name for f in ImportJob._meta.fields if f.name != "content"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "customer", "partner", "starts_on", "ends_on"]
    list_filter = ["type"]
    search_fields = ["name", "customer__name", "partner__name"]
    list_select_related = ["customer", "partner"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "partner", "first_response_minutes", "resolution_minutes"]
    search_fields = ["name", "partner__name"]
    list_select_related = ["partner"]


@admin.register(AlertProfile)
class AlertProfileAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "partner",
        "cpu_percent",
        "memory_percent",
        "disk_percent",
        "offline_minutes",
    ]
    search_fields = ["name", "partner__name"]
    list_select_related = ["partner"]


@admin.register(ServiceProfile)
class ServiceProfileAdmin(admin.ModelAdmin):
    list_display = ["customer", "partner", "sla", "alert_profile"]
    search_fields = ["customer__name", "partner__name"]
    list_select_related = ["customer", "partner", "sla", "alert_profile"]
