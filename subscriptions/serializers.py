from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from subscriptions.models import Subscription

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


class SubscriptionUpdateSerializer(serializers.Serializer):
    """What may change: quantity, unit price and dates (`ends_on` null: it renews)."""

    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    unit_price = serializers.DecimalField(**money, required=False)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(
        required=False, allow_null=True, help_text="The last day of service; null: it renews."
    )


class SubscriptionCreateSerializer(SubscriptionUpdateSerializer):
    customer = serializers.UUIDField(
        required=False, help_text="The customer; a customer organization may leave it out."
    )
    product = serializers.CharField(max_length=64, help_text="The product's code.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_price = serializers.DecimalField(
        **money,
        required=False,
        help_text="The net price of one unit per billing period; the customer's public price "
        "by default.",
    )
    starts_on = serializers.DateField()

    def validate_product(self, value) -> Product:
        product = Product.objects.filter(code=value, is_active=True).first()
        if product is None:
            raise serializers.ValidationError(_("No product with this code in the catalog."))
        return product


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
        max_digits=14, decimal_places=2, help_text="The MRR on the month's last day."
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
