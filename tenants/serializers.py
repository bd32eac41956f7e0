from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tenants.models import (
    MAX_DISCOUNT_RATE,
    ApiToken,
    AuditEvent,
    Branding,
    Membership,
    Role,
    Tenant,
)
from tenants.services import ORGANIZATION_FIELDS, PARTNER_LISTING_FIELDS


class TenantRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "kind"]


class MembershipRefSerializer(serializers.ModelSerializer):
    tenant = TenantRefSerializer()

    class Meta:
        model = Membership
        fields = ["tenant", "role", "buyer"]


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    language = serializers.CharField(help_text="Blank: the browser's (Accept-Language).")
    memberships = MembershipRefSerializer(many=True)
    current_tenant = TenantRefSerializer(allow_null=True)


class MeUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    language = serializers.ChoiceField(
        choices=["", *(code for code, _ in settings.LANGUAGES)], required=False
    )


def email_domains_field() -> serializers.ListField:
    """`email_domains` as the API takes them (`clean_email_domains` stores them)."""
    domain = serializers.CharField(
        max_length=253,
        validators=[RegexValidator(r"^[^@]*$", _("Give domains without @ (example.com)."))],
    )
    return serializers.ListField(child=domain, required=False, max_length=50)


class OrganizationSerializer(serializers.ModelSerializer):
    email_domains = email_domains_field()
    specialities = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50
    )

    class Meta:
        model = Tenant
        fields = [
            "id",
            "kind",
            "name",
            "slug",
            "status",
            "currency",
            "parent",
            *ORGANIZATION_FIELDS[1:],
            *PARTNER_LISTING_FIELDS,
        ]
        read_only_fields = ["id", "kind", "slug", "status", "currency", "parent"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not instance.is_partner:
            for field in PARTNER_LISTING_FIELDS:
                data.pop(field, None)
        return data


class OrganizationSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["subscriptions_enabled"]
        extra_kwargs = {"subscriptions_enabled": {"required": True}}


class BrandingValuesSerializer(serializers.Serializer):
    display_name = serializers.CharField(allow_blank=True)
    support_email = serializers.EmailField(allow_blank=True)
    support_phone = serializers.CharField(allow_blank=True)
    accent_color = serializers.CharField(allow_blank=True)
    buy_url = serializers.CharField(allow_blank=True)
    logo_url = serializers.CharField(
        allow_blank=True, help_text="The logo in effect (own or inherited), a path; empty: none."
    )


class BrandingLogoSerializer(serializers.Serializer):
    logo = serializers.FileField(help_text="PNG, JPEG or WebP, at most 256 KB.")


class BrandingSerializer(serializers.ModelSerializer):
    effective = BrandingValuesSerializer(read_only=True)

    class Meta:
        model = Branding
        fields = [*Branding.INHERITED_FIELDS, "effective"]
        extra_kwargs = {f: {"required": False} for f in Branding.INHERITED_FIELDS}


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.UUIDField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "email", "role", "buyer", "created_at"]
        read_only_fields = ["id", "user", "email", "created_at"]


class MemberInviteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)
    buyer = serializers.BooleanField(default=False)


def confirmation_password(*, required_when: str = "") -> serializers.CharField:
    """The caller's own password, confirming a sensitive action (SPEC §1;
    docs/security.md, "Re-authentication"): always, or `required_when` says when."""
    return serializers.CharField(
        write_only=True,
        required=not required_when,
        trim_whitespace=False,
        max_length=4096,
        help_text=(
            "Your own password: this action is sensitive"
            + (f"; required {required_when}" if required_when else "")
            + ". A wrong one is a 400; after 5 wrong ones, each within 15 minutes of the "
            "last, every attempt is a 429 for 15 minutes."
        ),
    )


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    buyer = serializers.BooleanField(required=False)
    password = confirmation_password(required_when="when the role changes")


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.EmailField(source="user.email", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "user",
            "created_at",
            "last_used_at",
            "revoked_at",
            "active",
        ]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    password = confirmation_password()


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=(
            "Shown once; store it now. null in the replay of the same request "
            "(Idempotency-Key): the token is never kept."
        ),
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class PartnerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    owner_email = serializers.EmailField(max_length=254)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Tenant.objects.filter(kind=Tenant.Kind.PARTNER), required=False, allow_null=True
    )
    currency = serializers.ChoiceField(choices=Tenant.Currency.choices, default=Tenant.Currency.CHF)
    discount_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        required=False,
        min_value=Decimal("0"),
        max_value=MAX_DISCOUNT_RATE,
    )


class PartnerUpdateSerializer(serializers.Serializer):
    """`PATCH partners/{id}/` (staff): what it does not name stays as it is."""

    status = serializers.ChoiceField(choices=Tenant.Status.choices, required=False)
    discount_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        required=False,
        min_value=Decimal("0"),
        max_value=MAX_DISCOUNT_RATE,
    )


class PartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "kind", "parent", "currency", "discount_rate", "status"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    """One event of the organization's audit log; read-only, like the log."""

    action_label = serializers.CharField(source="get_action_display", read_only=True)
    actor_tenant = TenantRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "action",
            "action_label",
            "actor",
            "actor_email",
            "actor_tenant",
            "target",
            "details",
            "ip",
        ]
        read_only_fields = fields
