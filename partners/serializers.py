"""Shapes of the partnerships API (API.md): customers a partner manages and what
it records about them (contacts, contracts, service profile, its SLA policies
and alert profiles), partnerships seen from either side, their history, the
partner directory."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from partners.models import (
    Access,
    AlertProfile,
    Contract,
    CustomerAssignment,
    Partnership,
    PartnershipEvent,
    Payment,
    ServiceProfile,
    SlaPolicy,
)
from partners.selectors import (
    CUSTOMER_ROW_FIELDS,
    PARTNERSHIP_ACTIONS,
    alert_profiles,
    directory_partner_get,
    sla_policies,
)
from partners.services import contract_clean
from tenants.exceptions import validation_detail
from tenants.models import Contact, Tenant
from tenants.serializers import confirmation_password, email_domains_field
from tenants.services import ORGANIZATION_FIELDS


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
    status = PartnershipStatusField(read_only=True)
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
    status = PartnershipStatusField(read_only=True)
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


# --- customers --------------------------------------------------------------------


class LivePartnershipMixin(serializers.Serializer):
    """`partnership`: the caller's live partnership with the customer, which the
    view prefetches into `live_partnerships` (one query for the whole page)."""

    partnership = serializers.SerializerMethodField()

    @extend_schema_field(PartnershipSummarySerializer(allow_null=True))
    def get_partnership(self, customer: Tenant):
        live = getattr(customer, "live_partnerships", None)
        return PartnershipSummarySerializer(live[0]).data if live else None


class PrimaryContactRowSerializer(serializers.Serializer):
    """A list row's primary contact (read off the annotations)."""

    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)


class CustomerRowSerializer(serializers.ModelSerializer):
    """A customer in the list, with the caller's active grant and the primary
    contact, both from the annotations of `selectors.customer_list`."""

    partnership = serializers.SerializerMethodField()
    primary_contact = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "id",
            "name",
            "slug",
            "currency",
            "status",
            "rank",
            "city",
            "country",
            "partnership",
            "primary_contact",
        ]
        read_only_fields = fields

    @extend_schema_field(PartnershipSummarySerializer(allow_null=True))
    def get_partnership(self, customer: Tenant):
        if customer.grant_id is None:
            return None
        return {
            "id": str(customer.grant_id),
            "access": customer.grant_access,
            "payment": customer.grant_payment,
            "status": Partnership.Status.ACTIVE.value,  # the annotation reads the active grant
        }

    @extend_schema_field(PrimaryContactRowSerializer(allow_null=True))
    def get_primary_contact(self, customer: Tenant):
        if customer.primary_contact_name is None:
            return None
        return {
            "first_name": customer.primary_contact_name,
            "last_name": customer.primary_contact_last_name,
            "email": customer.primary_contact_email,
        }

    def to_representation(self, customer):
        """The fields above, written out: a row is plain values (`selectors.
        customer_rows`: a dict; a Tenant of `customer_list` also does), so no
        field object per value. Same keys, order and values as the fields give
        (the schema is theirs)."""
        row = customer if isinstance(customer, dict) else _row_of(customer)
        grant_id = row["grant_id"]
        contact_name = row["primary_contact_name"]
        return {
            "id": str(row["id"]),
            "name": row["name"],
            "slug": row["slug"],
            "currency": row["currency"],
            "status": row["status"],
            "rank": row["rank"],
            "city": row["city"],
            "country": row["country"],
            "partnership": None
            if grant_id is None
            else {
                "id": str(grant_id),
                "access": row["grant_access"],
                "payment": row["grant_payment"],
                "status": Partnership.Status.ACTIVE.value,  # the annotation reads the active grant
            },
            "primary_contact": None
            if contact_name is None
            else {
                "first_name": contact_name,
                "last_name": row["primary_contact_last_name"],
                "email": row["primary_contact_email"],
            },
        }


def _row_of(customer: Tenant) -> dict:
    return {name: getattr(customer, name) for name in CUSTOMER_ROW_FIELDS}


class CustomerSerializer(LivePartnershipMixin, serializers.ModelSerializer):
    """A customer's profile (SPEC §2); PATCH writes the profile fields."""

    email_domains = email_domains_field()

    class Meta:
        model = Tenant
        fields = [
            "id",
            "slug",
            "currency",
            "status",
            *ORGANIZATION_FIELDS,
            "created_at",
            "partnership",
        ]
        read_only_fields = ["id", "slug", "currency", "status", "created_at"]
        extra_kwargs = {f: {"required": False} for f in ORGANIZATION_FIELDS}


# --- what a partner records about a customer (SPEC §2) --------------------------------


def _as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(validation_detail(exc))


# What an unknown or another partner's id in an OwnListField says, by its label.
OWN_LIST_MISSING = {
    "SLA policies": gettext_lazy("Choose one of your SLA policies."),
    "alert profiles": gettext_lazy("Choose one of your alert profiles."),
}


class OwnListField(serializers.PrimaryKeyRelatedField):
    """An entry of the caller's own list (SLA policies, alert profiles), by id:
    another partner's id is a 400 on the field, as an unknown one is. The view
    passes the organization in the context (`org`)."""

    def __init__(self, *, selector, label: str, **kwargs):
        self.selector = selector
        kwargs.setdefault("pk_field", serializers.UUIDField())
        kwargs.setdefault("error_messages", {"does_not_exist": OWN_LIST_MISSING[label]})
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.selector(org=self.context["org"])


def sla_field(**kwargs):
    return OwnListField(
        selector=sla_policies,
        label="SLA policies",
        allow_null=True,
        help_text="One of your SLA policies (id), or null.",
        **kwargs,
    )


def alert_profile_field(**kwargs):
    return OwnListField(
        selector=alert_profiles,
        label="alert profiles",
        allow_null=True,
        help_text="One of your alert profiles (id), or null.",
        **kwargs,
    )


class ContactSerializer(serializers.ModelSerializer):
    """A customer's contact; exactly one is primary. Setting `is_primary` makes
    this one the primary and the previous one an ordinary contact."""

    class Meta:
        model = Contact
        fields = ["id", "first_name", "last_name", "email", "phone", "is_primary"]
        read_only_fields = ["id"]
        extra_kwargs = {"is_primary": {"required": False}}


class PrimaryContactInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "email", "phone"]


class ContractSerializer(serializers.ModelSerializer):
    """A contract with the customer. Its `type` decides which amounts it needs
    (the others stay null): retainer, remote monitoring and online backup a
    monthly `fee`; hourly and project hourly an `hourly_rate`; a block of hours
    `hours` and `amount`; a block of money and a one-time project an `amount`.
    Amounts are decimal strings in the customer's `currency`."""

    currency = serializers.CharField(source="customer.currency", read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "type",
            "name",
            "starts_on",
            "ends_on",
            "fee",
            "hourly_rate",
            "hours",
            "amount",
            "currency",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "currency", "created_at", "updated_at"]


class ContractInputSerializer(ContractSerializer):
    """A contract given with a new customer: checked whole here, so a bad one is
    a 400 on `contract.<field>`."""

    class Meta(ContractSerializer.Meta):
        fields = ["type", "name", "starts_on", "ends_on", "fee", "hourly_rate", "hours", "amount"]
        read_only_fields = []

    def validate(self, attrs):
        try:
            contract_clean(dict(attrs))
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from exc
        return attrs


class ServiceProfileSerializer(serializers.ModelSerializer):
    """How the partner serves the customer: one of its SLA policies and one of
    its alert profiles, each an id or null. PUT replaces both (left out = null)."""

    sla = sla_field(required=False, default=None)
    alert_profile = alert_profile_field(required=False, default=None)

    class Meta:
        model = ServiceProfile
        fields = ["sla", "alert_profile"]


class SlaPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["id", "name", "first_response_minutes", "resolution_minutes"]
        read_only_fields = ["id"]


class AlertProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertProfile
        fields = [
            "id",
            "name",
            "cpu_percent",
            "memory_percent",
            "disk_percent",
            "offline_minutes",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {
            f: {"min_value": 1, "max_value": 100}
            for f in ("cpu_percent", "memory_percent", "disk_percent")
        }


class CustomerCreateSerializer(serializers.ModelSerializer):
    owner_email = serializers.EmailField(
        max_length=254,
        required=False,
        allow_blank=True,
        help_text="The customer's owner; without it the customer is unclaimed and managed at once.",
    )
    access = serializers.ChoiceField(choices=Access.choices, required=False)
    payment = serializers.ChoiceField(choices=Payment.choices, required=False)
    products = product_codes(help_text="Product codes (limited access).")
    ends_on = serializers.DateField(required=False)
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    email_domains = email_domains_field()
    contract = ContractInputSerializer(required=False, help_text="An optional first contract.")
    service_profile = ServiceProfileSerializer(
        required=False, help_text="Optional: your SLA policy and alert profile for it."
    )
    primary_contact = PrimaryContactInputSerializer(
        required=False, help_text="Optional: the customer's primary contact."
    )

    GRANT_FIELDS = ("owner_email", "access", "payment", "products", "ends_on", "message")

    class Meta:
        model = Tenant
        fields = [
            "name",
            "currency",
            "owner_email",
            "access",
            "payment",
            "products",
            "ends_on",
            "message",
            *ORGANIZATION_FIELDS[1:],
            "contract",
            "service_profile",
            "primary_contact",
        ]
        extra_kwargs = {f: {"required": False} for f in ("currency", *ORGANIZATION_FIELDS[1:])}

    def onboarding(self) -> dict:
        """The validated data as `services.customer_onboard` takes it: the grant
        apart, the optional parts, the profile."""
        data = dict(self.validated_data)
        grant = {f: data.pop(f) for f in self.GRANT_FIELDS if f in data}
        return {
            "grant": grant,
            "contract": data.pop("contract", None),
            "service_profile": data.pop("service_profile", None),
            "primary_contact": data.pop("primary_contact", None),
            **data,
        }


class CustomerCreatedSerializer(CustomerSerializer):
    """The customer just added, with the partnership that asks for access."""

    partnership = PartnershipSerializer(read_only=True, source="created_partnership")

    class Meta(CustomerSerializer.Meta):
        pass


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
