from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Feature, PriceTier, Product, code_validator

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
            "description",
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
        # The code's uniqueness is checked below; the rank of an edition in its
        # family, the prices and the tiers by the service (catalog.services).
        validators: list = []

    def validate_code(self, value):
        clash = Product.objects.filter(code=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(_("A product with this code exists."))
        return value
