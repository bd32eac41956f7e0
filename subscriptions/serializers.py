from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from subscriptions.models import Subscription, SubscriptionChange

CURRENCIES = ("CHF", "EUR")
money = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


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
    billing_anchor = serializers.DateField(
        read_only=True,
        help_text="The day the billing periods are counted from: the first day, never edited.",
    )
    renews = serializers.BooleanField(
        read_only=True,
        help_text="Billed again each period with no last day (no `ends_on`, not cancelled).",
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
            "billing_anchor",
            "renews",
            "status",
            "mrr",
            "updated_at",
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
