from django.contrib import admin

from customers.models import AlertProfile, Contract, ServiceProfile, SlaPolicy


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "customer", "partner", "starts_on", "ends_on"]
    list_filter = ["type"]
    search_fields = ["name", "customer__name", "partner__name"]
    list_select_related = ["customer", "partner"]
    autocomplete_fields = ["customer", "partner"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "partner", "first_response_minutes", "resolution_minutes"]
    search_fields = ["name", "partner__name"]
    list_select_related = ["partner"]
    autocomplete_fields = ["partner"]


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
    autocomplete_fields = ["partner"]


@admin.register(ServiceProfile)
class ServiceProfileAdmin(admin.ModelAdmin):
    list_display = ["customer", "partner", "sla", "alert_profile"]
    search_fields = ["customer__name", "partner__name"]
    list_select_related = ["customer", "partner", "sla", "alert_profile"]
    autocomplete_fields = ["customer", "partner", "sla", "alert_profile"]
