"""Staff read billing here; nothing is edited by hand. Orders are placed by the
two sides (services), and a refund is the one staff action: it goes through
`order_refund`, which writes a credit note and reverses the cashback."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from billing.models import CashbackEntry, Invoice, InvoiceSequence, Order, OrderLine, VatRate
from billing.services.orders import order_refund
from core.exceptions import Conflict
from tenants.models import User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


_LINE_FIELDS = (
    "product",
    "quantity",
    "unit_price",
    "tier_rate",
    "list_amount",
    "after_partner_discount",
    "preferential_amount",
    "public_amount",
    "charged_amount",
    "cashback_amount",
    "discount_amount",
    "period_starts_on",
    "period_ends_on",
)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = _LINE_FIELDS
    readonly_fields = _LINE_FIELDS
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "placed_at",
        "kind",
        "customer",
        "partner",
        "payer",
        "currency",
        "charged_amount",
        "cashback_amount",
        "status",
    ]
    list_filter = ["kind", "status", "payer", "earning", "currency"]
    search_fields = ["customer__name", "partner__name", "id"]
    list_select_related = ["customer", "partner"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline]
    actions = ["refund"]

    @admin.action(description="Refund: credit note and cashback reversal")
    def refund(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        actor = request.user
        assert isinstance(actor, User)  # the admin serves signed-in staff only
        done = 0
        for order in queryset:
            try:
                order_refund(actor=actor, order_id=order.pk, reason="Refunded by staff")
                done += 1
            except (Conflict, PermissionDenied) as exc:
                self.message_user(request, f"{order}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} order(s) refunded.")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # the changelist's action needs it; every field stays read-only
        return request.user.is_staff and obj is None

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in Order._meta.fields]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "kind", "payer", "currency", "total", "issued_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["number", "payer__name"]
    list_select_related = ["payer"]


@admin.register(CashbackEntry)
class CashbackEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "partner", "kind", "currency", "amount", "note"]
    list_filter = ["kind", "currency"]
    search_fields = ["partner__name"]
    list_select_related = ["partner"]


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(ReadOnlyAdmin):
    list_display = ["key", "last_number"]


@admin.register(VatRate)
class VatRateAdmin(admin.ModelAdmin):
    """The VAT table (docs/invoices.md): staff add a row when a country's
    standard rate changes, dated from its first day. Only staff reach the
    admin; an invoice keeps the rate it was issued with, so editing a row
    never changes an issued invoice."""

    list_display = ["country", "rate", "valid_from"]
    list_filter = ["country"]
    ordering = ["country", "-valid_from"]
