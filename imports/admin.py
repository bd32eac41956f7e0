from django.contrib import admin

from imports.models import ImportJob


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
