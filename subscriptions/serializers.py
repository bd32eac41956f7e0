from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from subscriptions.models import (
    Feature,
    PriceTier,
    Product,
    Subscription,
    SubscriptionChange,
    code_validator,
)

CURRENCIES = ("CHF", "EUR")
money = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


class PriceTierSerializer(serializers.ModelSerializer):
    rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=Decimal("0"), max_value=Decimal("0.9")
    )
    min_quantity = serializers.IntegerField(min_value=2, max_value=1_000_000)

    class Meta:
        model = PriceTier
        fields = ["min_quantity", "rate"]


class FeatureSerializer(serializers.ModelSerializer):
    code = serializers.CharField(max_length=64, validators=[code_validator])

    class Meta:
        model = Feature
        fields = ["code", "name"]


@extend_schema_field(
    {
        "type": "object",
        "properties": {c: {"type": "string", "format": "decimal"} for c in CURRENCIES},
        "example": {"CHF": "9.92", "EUR": "5.75"},
    }
)
class PricesField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.DecimalField(**money), **kwargs)

    def to_representation(self, value):
        return {p.currency: f"{p.amount:.2f}" for p in value.all()}

    def to_internal_value(self, data):
        prices = super().to_internal_value(data)
        missing = [c for c in CURRENCIES if c not in prices]
        unknown = [c for c in prices if c not in CURRENCIES]
        if missing or unknown:
            raise serializers.ValidationError(
                _("Give exactly the currencies %(currencies)s.")
                % {"currencies": ", ".join(CURRENCIES)}
            )
        return prices


class ProductSerializer(serializers.ModelSerializer):
    prices = PricesField()
    tiers = PriceTierSerializer(many=True, required=False)
    features = FeatureSerializer(many=True, required=False)
    code = serializers.CharField(max_length=64, validators=[code_validator])

    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "category",
            "family",
            "edition_rank",
            "billing_period",
            "prices",
            "tiers",
            "features",
            "is_active",
        ]
        read_only_fields = ["id"]
        validators: list = []  # uniqueness is checked field by field below

    def validate_code(self, value):
        clash = Product.objects.filter(code=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(_("A product with this code exists."))
        return value

    def validate(self, attrs):
        family = attrs.get("family", getattr(self.instance, "family", ""))
        rank = attrs.get("edition_rank", getattr(self.instance, "edition_rank", 0))
        if family:
            clash = Product.objects.filter(Q(family=family) & Q(edition_rank=rank))
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"edition_rank": _("Another edition of this family has this rank.")}
                )
        return attrs


# --- subscriptions (SPEC §4) --------------------------------------------------------------


@extend_schema_field(
    {"type": "string", "enum": Subscription.Status.values}, component_name="SubscriptionStatusEnum"
)
class SubscriptionStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Subscription.Status.choices, **kwargs)


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as the API shows it; money as decimal strings in `currency`."""

    customer = serializers.UUIDField(source="customer_id", read_only=True)
    product = serializers.CharField(source="product.code", read_only=True)
    status = SubscriptionStatusField(read_only=True)
    mrr = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        help_text="Quantity times the unit price per month (an annual price over 12).",
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "customer",
            "product",
            "quantity",
            "unit_price",
            "currency",
            "billing_period",
            "starts_on",
            "ends_on",
            "status",
            "mrr",
        ]
        read_only_fields = fields


class LedgerChangeSerializer(serializers.ModelSerializer):
    """One change of the subscription ledger (API.md `subscriptions/{id}/changes/`)."""

    unit_price_before = serializers.DecimalField(**money, read_only=True)
    unit_price_after = serializers.DecimalField(**money, read_only=True)
    order = serializers.UUIDField(
        source="order_id",
        allow_null=True,
        read_only=True,
        help_text="The order behind the change; null only for what existed before the ledger.",
    )

    class Meta:
        model = SubscriptionChange
        fields = [
            "id",
            "kind",
            "quantity_before",
            "quantity_after",
            "unit_price_before",
            "unit_price_after",
            "effective_on",
            "order",
            "created_at",
        ]
        read_only_fields = fields


class MrrUpcomingSerializer(serializers.Serializer):
    mrr = serializers.DecimalField(max_digits=14, decimal_places=2)
    trend = serializers.ChoiceField(choices=["up", "down", "flat"])
    starts_on = serializers.DateField(help_text="The day of the next change.")
    ends_on = serializers.DateField(
        allow_null=True, help_text="The day before the change after it; null: none is known."
    )


class MrrMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    mrr = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="The MRR on the month's last day; the current month's, as of today.",
    )


class CustomerMrrSerializer(serializers.Serializer):
    currency = serializers.CharField()
    current_mrr = serializers.DecimalField(max_digits=14, decimal_places=2)
    current_end_date = serializers.DateField(
        allow_null=True,
        help_text="The earliest last day of service among today's subscriptions; null: all renew.",
    )
    upcoming = MrrUpcomingSerializer(allow_null=True)
    history = MrrMonthSerializer(many=True)
