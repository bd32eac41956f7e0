"""Shapes of the resale API (API.md `resale-prices/`, `partner-invoices/`). Money
is a decimal string with two places plus a `currency`. A partner invoice's
cost and margin are the issuing partner's alone: null for the customer."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import CURRENCIES
from partners.serializers import ProductCodeField
from resale.models import PartnerInvoice, PartnerInvoiceLine, ResaleMode

PARTNER_ONLY = "The issuing partner's only: null for the customer."


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


class ResalePriceSerializer(serializers.Serializer):
    """One product and currency of the price list, with today's figures for one
    unit (quantity 1, one billing period)."""

    product = serializers.CharField(source="product.code", help_text="The product's code.")
    product_name = serializers.CharField(source="product.name")
    currency = serializers.CharField()
    mode = serializers.ChoiceField(choices=ResaleMode.choices)
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="The markup in % (markup), the unit price (fixed), null (public).",
    )
    valid_from = serializers.DateField(allow_null=True)
    public = money(source="price.public", help_text="The public price of one unit.")
    cost = money(source="price.cost", help_text="What one unit costs you (preferential).")
    unit_price = money(source="price.unit_price", help_text="Your resale price of one unit.")
    margin = money(source="price.margin", help_text="unit_price - cost.")


class ResalePriceWriteSerializer(serializers.Serializer):
    product = ProductCodeField(help_text="A product's code.")
    currency = serializers.ChoiceField(choices=CURRENCIES)
    mode = serializers.ChoiceField(choices=ResaleMode.choices)
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="The markup in % (0 to 1000) or the fixed unit price; omit or null for public.",
    )


class PartnerInvoiceLineSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    cost = serializers.SerializerMethodField(help_text=PARTNER_ONLY)
    margin = serializers.SerializerMethodField(help_text=PARTNER_ONLY)

    class Meta:
        model = PartnerInvoiceLine
        fields = ["position", "kind", "charge_kind", "product", "description", "quantity"]
        fields += ["unit_price", "amount", "cost", "margin", "period_start", "period_end"]
        read_only_fields = fields

    def _partner_side(self) -> bool:
        return bool(self.context.get("partner_side"))

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_cost(self, line: PartnerInvoiceLine) -> str | None:
        return f"{line.cost:.2f}" if self._partner_side() else None

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_margin(self, line: PartnerInvoiceLine) -> str | None:
        return f"{line.margin:.2f}" if self._partner_side() else None


class PartnerInvoiceSerializer(serializers.ModelSerializer):
    """A partner's invoice to its customer."""

    partner = serializers.UUIDField(source="partner_id", help_text="The issuing partner.")
    partner_name = serializers.CharField(source="partner.name")
    customer = serializers.UUIDField(source="customer_id", help_text="The customer billed.")
    customer_name = serializers.CharField(source="customer.name")
    month = serializers.SerializerMethodField(help_text="The month billed, YYYY-MM.")
    cost = serializers.SerializerMethodField(help_text=PARTNER_ONLY)
    margin = serializers.SerializerMethodField(help_text=PARTNER_ONLY)

    class Meta:
        model = PartnerInvoice
        fields = ["id", "number", "partner", "partner_name", "customer", "customer_name"]
        fields += ["month", "period_start", "period_end", "issuer", "bill_to", "currency"]
        fields += ["net", "vat_rate", "vat_amount", "vat_treatment", "vat_country", "total"]
        fields += ["cost", "margin", "issued_at", "issued_on", "due_on"]
        read_only_fields = fields

    def _partner_side(self) -> bool:
        return bool(self.context.get("partner_side"))

    def get_month(self, invoice: PartnerInvoice) -> str:
        return invoice.month.strftime("%Y-%m")

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_cost(self, invoice: PartnerInvoice) -> str | None:
        return f"{invoice.cost:.2f}" if self._partner_side() else None

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_margin(self, invoice: PartnerInvoice) -> str | None:
        return f"{invoice.margin:.2f}" if self._partner_side() else None


class PartnerInvoiceDetailSerializer(PartnerInvoiceSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(PartnerInvoiceSerializer.Meta):
        fields = [*PartnerInvoiceSerializer.Meta.fields, "lines"]
        read_only_fields = fields

    @extend_schema_field(PartnerInvoiceLineSerializer(many=True))
    def get_lines(self, invoice: PartnerInvoice) -> list:
        lines = PartnerInvoiceLineSerializer(invoice.lines.all(), many=True, context=self.context)
        return lines.data  # type: ignore[return-value]  # many=True: a list
