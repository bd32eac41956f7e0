"""Shapes of the partnerships API (API.md): partnerships seen from either side,
their history, the collaborators assigned to a customer, the partner directory.
The customers a partner manages and what it records about them: customers.serializers."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from partners.models import Access, CustomerAssignment, Partnership, PartnershipEvent, Payment
from partners.selectors import PARTNERSHIP_ACTIONS, directory_partner_get
from tenants.models import Tenant
from tenants.serializers import confirmation_password


class ProductCodeField(serializers.SlugRelatedField):
    """A product named by its code; an unknown or retired code is a 400 on the field."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Product.objects.filter(is_active=True))
        super().__init__(slug_field="code", **kwargs)


def product_codes(**kwargs):
    return ProductCodeField(many=True, required=False, **kwargs)


# --- partnerships ---------------------------------------------------------------


@extend_schema_field(
    {"type": "string", "enum": Partnership.Status.values}, component_name="PartnershipStatusEnum"
)
class PartnershipStatusField(serializers.ChoiceField):
    """A partnership's status, named apart from a tenant's in the schema."""

    def __init__(self, **kwargs):
        super().__init__(choices=Partnership.Status.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": PartnershipEvent.Kind.values},
    component_name="PartnershipEventKindEnum",
)
class PartnershipEventKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=PartnershipEvent.Kind.choices, **kwargs)


class TenantNameSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name"]
        read_only_fields = fields


class GrantSerializer(serializers.Serializer):
    """A grant as plain data: what was asked for, or granted."""

    access = serializers.ChoiceField(choices=Access.choices, read_only=True)
    payment = serializers.CharField(read_only=True, help_text="customer, partner or empty.")
    products = serializers.ListField(child=serializers.CharField(), read_only=True)
    ends_on = serializers.DateField(read_only=True, allow_null=True)


def payment_field():
    return serializers.ChoiceField(
        choices=Payment.choices,
        allow_blank=True,
        read_only=True,
        help_text="Who pays under full access; empty for limited access.",
    )


class PartnershipSummarySerializer(serializers.ModelSerializer):
    status = PartnershipStatusField(read_only=True, source="status_now")
    payment = payment_field()

    class Meta:
        model = Partnership
        fields = ["id", "access", "payment", "status"]
        read_only_fields = fields


class PartnershipSerializer(serializers.ModelSerializer):
    partner = TenantNameSerializer(read_only=True)
    customer = TenantNameSerializer(read_only=True)
    products = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    requested = GrantSerializer(read_only=True)
    status = PartnershipStatusField(read_only=True, source="status_now")
    payment = payment_field()

    class Meta:
        model = Partnership
        fields = [
            "id",
            "partner",
            "customer",
            "access",
            "payment",
            "products",
            "status",
            "initiated_by",
            "requested",
            "message",
            "ends_on",
            "extension_requested_until",
            "invitation_expires_at",
            "created_at",
            "activated_at",
            "closed_at",
            "close_reason",
        ]
        read_only_fields = fields


class PartnershipEventSerializer(serializers.ModelSerializer):
    kind = PartnershipEventKindField(read_only=True)
    actor = serializers.EmailField(source="actor.email", read_only=True, allow_null=True)
    before = serializers.DictField(read_only=True)
    after = serializers.DictField(read_only=True)

    class Meta:
        model = PartnershipEvent
        fields = ["kind", "actor", "at", "before", "after", "note"]
        read_only_fields = fields


class PartnershipDetailSerializer(PartnershipSerializer):
    """A partnership with its history, oldest event first."""

    history = PartnershipEventSerializer(many=True, read_only=True)
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(PARTNERSHIP_ACTIONS)),
        read_only=True,
        help_text="What the caller may do now (accept, decline, resend, cancel, change, end, "
        "request_extension, approve_extension).",
    )

    class Meta(PartnershipSerializer.Meta):
        fields = [*PartnershipSerializer.Meta.fields, "history", "actions"]
        read_only_fields = fields


class GrantInputSerializer(serializers.Serializer):
    """access / payment / products / ends_on, all optional: what is left out stays."""

    access = serializers.ChoiceField(choices=Access.choices, required=False)
    payment = serializers.ChoiceField(choices=Payment.choices, required=False)
    products = product_codes(help_text="Product codes (limited access).")
    ends_on = serializers.DateField(required=False)


class GrantChangeSerializer(GrantInputSerializer):
    """`PATCH partnerships/{id}/`: a change of the payment mode is sensitive."""

    password = confirmation_password(required_when="when the payment mode changes")


class PartnershipInviteSerializer(serializers.Serializer):
    partner = serializers.UUIDField(help_text="A partner's id from the directory.")
    access = serializers.ChoiceField(choices=Access.choices)
    payment = serializers.ChoiceField(choices=Payment.choices, required=False)
    products = product_codes(help_text="Product codes (limited access).")
    ends_on = serializers.DateField(required=False)
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate_partner(self, value) -> Tenant:
        try:
            return directory_partner_get(partner_id=value)
        except Http404 as exc:
            raise serializers.ValidationError(_("No such partner in the directory.")) from exc


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class EndSerializer(serializers.Serializer):
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text="The caller's own password."
    )


class ExtensionRequestSerializer(serializers.Serializer):
    until = serializers.DateField(help_text="The end date asked for.")


# --- who works on a customer ------------------------------------------------------


class CollaboratorSerializer(serializers.ModelSerializer):
    user = serializers.UUIDField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = CustomerAssignment
        fields = ["user", "email"]
        read_only_fields = fields


class CollaboratorsSetSerializer(serializers.Serializer):
    users = serializers.ListField(
        child=serializers.UUIDField(), allow_empty=True, max_length=500, help_text="User ids."
    )


class OwnerInviteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="The customer owner's email.")


# --- directory ----------------------------------------------------------------------


class DirectoryPartnerSerializer(serializers.ModelSerializer):
    website = serializers.URLField(read_only=True, allow_blank=True)
    specialities = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Tenant
        fields = ["id", "name", "website", "city", "country", "specialities"]
        read_only_fields = fields
