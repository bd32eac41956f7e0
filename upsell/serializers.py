"""Shapes of the upsell API (API.md `services/`, `customers/{id}/upsell/`,
`upsell/requests/`; SPEC §5).

What a customer member sees of its services, which features are locked, and the
action element each viewer gets are decided by `upsell.selectors.services_for`;
these serializers only render its dataclasses. Products are named by their code,
features by theirs, people by their email."""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from billing.serializers import named_choice
from upsell.models import UpgradeRequest


def single_kind(value: str, component_name: str) -> serializers.ChoiceField:
    """The one-valued `kind` of an action element, its enum named in the schema."""

    @extend_schema_field({"type": "string", "enum": [value]}, component_name=component_name)
    class KindField(serializers.ChoiceField):
        pass

    return KindField(choices=[value], read_only=True)


# --- the customer's Services ------------------------------------------------------------


class ServiceProductSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    family = serializers.CharField(help_text="Editions of one family upgrade each other.")
    edition_rank = serializers.IntegerField(help_text="The edition's order in its family.")


class BuyNowActionSerializer(serializers.Serializer):
    """An owner or admin who is a buyer, with a Buy URL set on the customer or
    above: the shop, told the customer, its current and the recommended edition
    and the feature (`customer, current_edition, recommended_edition, feature`)."""

    kind = single_kind("buy_now", "BuyNowActionKindEnum")
    url = serializers.URLField()


class ContactPartnerActionSerializer(serializers.Serializer):
    """Everyone else, and buyers too when no Buy URL is set anywhere above."""

    kind = single_kind("contact_partner", "ContactPartnerActionKindEnum")
    message = serializers.CharField()


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="FeatureAction",
        serializers={
            "buy_now": BuyNowActionSerializer,
            "contact_partner": ContactPartnerActionSerializer,
        },
        resource_type_field_name="kind",
    )
)
class FeatureActionField(serializers.Field):
    """The action element of a locked feature, as the selector chose it."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, action: dict) -> dict:
        serializer = {
            "buy_now": BuyNowActionSerializer,
            "contact_partner": ContactPartnerActionSerializer,
        }[action["kind"]]
        return serializer(action).data


class ServiceFeatureSerializer(serializers.Serializer):
    code = serializers.CharField(source="feature.code")
    name = serializers.CharField(source="feature.name")
    available = serializers.BooleanField(
        help_text="Included in the subscribed edition; false: locked (shown with upsell on)."
    )
    unlocked_by = serializers.CharField(
        source="unlocked_by.code",
        allow_null=True,
        help_text="The code of the lowest edition that unlocks a locked feature; null if available.",
    )
    action = FeatureActionField(help_text="Null for an available feature.")


class ServiceContactSerializer(serializers.Serializer):
    partner = serializers.UUIDField(
        source="partner.pk",
        allow_null=True,
        help_text="The partner managing the product (its id), or null: the provider's contact.",
    )
    name = serializers.CharField()
    support_email = serializers.CharField(allow_blank=True)
    support_phone = serializers.CharField(allow_blank=True)


class ServiceLineSerializer(serializers.Serializer):
    """One product the customer has: several active subscriptions of a product
    are one service (API.md rev. 2)."""

    subscription = serializers.UUIDField(
        source="subscription.pk",
        help_text="The product's oldest active subscription: it names the service in "
        "`services/{subscription}/features/{code}/ask/`.",
    )
    subscriptions = serializers.ListField(
        child=serializers.UUIDField(),
        source="subscription_ids",
        help_text="Every active subscription of the product, oldest first (any of them "
        "names the service).",
    )
    product = ServiceProductSerializer()
    quantity = serializers.IntegerField(help_text="The units of all its subscriptions.")
    features = ServiceFeatureSerializer(many=True)
    contact = ServiceContactSerializer(
        allow_null=True,
        help_text="Who to ask for an upgrade (upsell on, a product of a family); else null.",
    )


class ServicesSerializer(serializers.Serializer):
    """The customer's products (one service per product, however many active
    subscriptions it has), each with the features its edition includes and,
    while upsell is on, the ones it lacks."""

    customer = serializers.UUIDField(help_text="The customer's id (the caller's organization).")
    upsell_enabled = serializers.BooleanField()
    services = ServiceLineSerializer(many=True)


# --- the partner's switch ---------------------------------------------------------------


class UpsellChangeSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    actor = serializers.EmailField(
        source="actor.email", allow_null=True, help_text="Who switched, or null."
    )
    at = serializers.DateTimeField()


class CustomerUpsellSerializer(serializers.Serializer):
    """Upsell for one customer: off by default; every change in `history`, newest first."""

    customer = serializers.UUIDField(help_text="The customer's id.")
    enabled = serializers.BooleanField()
    updated_at = serializers.DateTimeField(allow_null=True, help_text="Null: never switched.")
    updated_by = serializers.EmailField(allow_null=True, help_text="Who switched last, or null.")
    history = UpsellChangeSerializer(many=True)


class CustomerUpsellSetSerializer(serializers.Serializer):
    """The body of `PUT customers/{id}/upsell/`."""

    enabled = serializers.BooleanField()


class FeatureInterestSerializer(serializers.Serializer):
    """How often the customer's members looked at a locked feature, clicked Buy
    now or asked the partner, and when last."""

    feature = serializers.CharField(help_text="The feature's code.")
    feature_name = serializers.CharField()
    recommended = serializers.CharField(help_text="The name of the edition that unlocks it.")
    viewed = serializers.IntegerField()
    clicked = serializers.IntegerField()
    asked = serializers.IntegerField()
    last = serializers.DateTimeField()


# --- "Ask my partner" -------------------------------------------------------------------


class UpgradeRequestSerializer(serializers.ModelSerializer):
    """A customer's request for the edition that unlocks a feature, which its
    managing partner turns into an offer (`offer`) or dismisses."""

    status = named_choice(UpgradeRequest.Status, "UpgradeRequestStatusEnum")
    customer = serializers.UUIDField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    partner = serializers.UUIDField(source="partner_id", read_only=True)
    requested_by = serializers.EmailField(
        source="requested_by.email", read_only=True, allow_null=True
    )
    feature = serializers.CharField(source="feature.code", read_only=True)
    feature_name = serializers.CharField(source="feature.name", read_only=True)
    subscription = serializers.UUIDField(source="subscription_id", read_only=True, allow_null=True)
    current_product = serializers.CharField(
        source="current_product.code", read_only=True, help_text="The subscribed edition's code."
    )
    recommended_product = serializers.CharField(
        source="recommended_product.code",
        read_only=True,
        help_text="The code of the lowest edition that unlocks the feature.",
    )
    offer = serializers.UUIDField(
        source="offer_id",
        read_only=True,
        allow_null=True,
        help_text="The offer the partner made of it (status `offered`).",
    )

    class Meta:
        model = UpgradeRequest
        fields = ["id", "status", "customer", "customer_name", "partner", "requested_by"]
        fields += ["feature", "feature_name", "subscription", "current_product"]
        fields += ["recommended_product", "quantity", "offer", "created_at", "closed_at"]
        read_only_fields = fields
