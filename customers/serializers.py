"""Shapes of the customers API (API.md): the customers a partner manages and what
it records about them (contacts, contracts, service profile, its SLA policies
and alert profiles)."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.exceptions import validation_detail
from customers.contract_billing import block_replay
from customers.models import (
    AlertProfile,
    Contract,
    ContractTerms,
    ContractTopUp,
    ServiceProfile,
    SlaPolicy,
    TimeEntry,
)
from customers.selectors import CUSTOMER_ROW_FIELDS, alert_profiles, sla_policies, technicians
from customers.services import contract_clean
from partners.models import Access, Partnership, Payment
from partners.serializers import PartnershipSerializer, PartnershipSummarySerializer, product_codes
from tenants.models import Contact, Tenant
from tenants.serializers import email_domains_field
from tenants.services import ORGANIZATION_FIELDS


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


class CustomerRowListSerializer(serializers.ListSerializer):
    """The list's rows, with the current time zone read once for all of them
    (DRF's DateTimeField reads it for each value: a third of the rows' time)."""

    def to_representation(self, data):
        zone = timezone.get_current_timezone()
        return [self.child.row(customer, zone) for customer in data]


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
            "updated_at",
        ]
        read_only_fields = fields
        list_serializer_class = CustomerRowListSerializer

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
        return self.row(customer, timezone.get_current_timezone())

    @staticmethod
    def row(customer, zone: datetime.tzinfo) -> dict:
        """The fields above, written out: a row is plain values (`selectors.
        customer_rows`: a dict; a Tenant of `customer_list` also does), so no
        field object per value. Same keys, order and values as the fields give
        (the schema is theirs); `zone` is the current time zone, read once per
        list (`CustomerRowListSerializer`)."""
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
                "status": _ACTIVE,  # the annotation reads the active grant
            },
            "primary_contact": None
            if contact_name is None
            else {
                "first_name": contact_name,
                "last_name": row["primary_contact_last_name"],
                "email": row["primary_contact_email"],
            },
            "updated_at": _datetime(row["updated_at"], zone),
        }


UPDATED_AT = serializers.DateTimeField(read_only=True)  # as the field writes it
_ACTIVE = Partnership.Status.ACTIVE.value


def _datetime(value, zone: datetime.tzinfo):
    """`UPDATED_AT.to_representation(value)` for an aware datetime, in `zone`
    (the current time zone): ISO 8601, UTC written Z, as DRF writes it."""
    if value is None or value.tzinfo is None:
        return UPDATED_AT.to_representation(value)
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


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


class ContractTermsSerializer(serializers.ModelSerializer):
    """One version of the billing terms, in effect from `effective_from`."""

    class Meta:
        model = ContractTerms
        fields = ["effective_from", "fee", "hourly_rate", "unit_price", "quantity", "amount"]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    """A contract with the customer. Its `type` decides which terms it needs
    (the others stay null): retainer a monthly `fee`; hourly and project hourly
    an `hourly_rate`; a block of hours `hours` and `amount` (optional
    `hourly_rate` for time beyond the block, else the block's own price per
    hour); a block of money `amount` and the `hourly_rate` time is drawn at;
    remote monitoring and online backup a `unit_price` per month and a
    `quantity` (devices, GB); a one-time project an `amount` (optional
    `bills_on`, else its start). Blocks may have a `warning_threshold`.
    Amounts are decimal strings in the customer's `currency`. Once the contract
    has started, a change of its terms applies from the first of next month
    (`terms` lists the versions); its type, start and first block stay."""

    currency = serializers.CharField(source="customer.currency", read_only=True)
    balance = serializers.SerializerMethodField(
        help_text="A block's balance now (hours or money), after every top-up and time entry; "
        "null for other types."
    )
    terms = ContractTermsSerializer(many=True, read_only=True)

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
            "unit_price",
            "quantity",
            "bills_on",
            "warning_threshold",
            "balance",
            "terms",
            "currency",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "balance", "terms", "currency", "created_at", "updated_at"]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_balance(self, contract: Contract) -> str | None:
        if not contract.is_block:
            return None
        return str(block_replay(contract, datetime.date.max).balance.quantize(Decimal("0.01")))


class ContractInputSerializer(ContractSerializer):
    """A contract given with a new customer: checked whole here, so a bad one is
    a 400 on `contract.<field>`."""

    class Meta(ContractSerializer.Meta):
        fields = [
            "type",
            "name",
            "starts_on",
            "ends_on",
            "fee",
            "hourly_rate",
            "hours",
            "amount",
            "unit_price",
            "quantity",
            "bills_on",
            "warning_threshold",
        ]
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


@extend_schema_field(OpenApiTypes.UUID)
class TechnicianField(serializers.PrimaryKeyRelatedField):
    """A member of the caller's organization, by user id; anyone else's id reads
    as a missing one."""

    def get_queryset(self):
        return technicians(org=self.context["org"])


class TimeEntrySerializer(serializers.ModelSerializer):
    """Time worked under a contract: `hours` above 0 and at most 24, on a `date`
    within the contract's dates; `technician` optional (a member's user id)."""

    hours = serializers.DecimalField(
        max_digits=4, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("24")
    )
    technician = TechnicianField(required=False, allow_null=True, default=None)
    description = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True
    )

    class Meta:
        model = TimeEntry
        fields = ["id", "contract", "date", "hours", "description", "technician", "created_at"]
        read_only_fields = ["id", "contract", "created_at"]


class ContractTopUpSerializer(serializers.ModelSerializer):
    """Prepaid time or money added to a block: a block of hours takes `hours`
    and their price `amount`, a block of money an `amount`; billed in the month
    of `date` (this month or later)."""

    hours = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))

    class Meta:
        model = ContractTopUp
        fields = ["id", "contract", "date", "hours", "amount", "created_at"]
        read_only_fields = ["id", "contract", "created_at"]
