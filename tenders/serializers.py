"""Shapes of the tenders and partner-programme API (API.md `tenders/`,
`programme/`; SPEC §3). What a caller may read is decided by
`tenders.selectors`: a customer reads its own tenders with every
proposal; a partner that opted in reads the open ones in full, contact included,
with only its own proposal. Money is a decimal string with two places."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from partners.serializers import TenantNameSerializer
from tenders.models import Tender, TenderProposal


@extend_schema_field(
    {"type": "string", "enum": Tender.Status.values}, component_name="TenderStatusEnum"
)
class TenderStatusField(serializers.ChoiceField):
    """A tender's status, named apart from the other `status` enums in the schema."""

    def __init__(self, **kwargs):
        super().__init__(choices=Tender.Status.choices, **kwargs)


# --- tenders ----------------------------------------------------------------------------


class TenderProposalSerializer(serializers.ModelSerializer):
    partner = TenantNameSerializer(read_only=True)

    class Meta:
        model = TenderProposal
        fields = ["id", "partner", "message", "created_at"]
        read_only_fields = fields


class TenderSerializer(serializers.ModelSerializer):
    """A tender as the caller may read it: the whole request and its contact."""

    category = serializers.ChoiceField(choices=Product.Category.choices, read_only=True)
    status = TenderStatusField(read_only=True)
    customer = serializers.UUIDField(
        source="customer_id",
        read_only=True,
        allow_null=True,
        help_text="The customer that posted it; null for a visitor's request.",
    )
    proposals = TenderProposalSerializer(
        many=True,
        read_only=True,
        help_text="The poster reads every proposal; a partner only its own (at most one).",
    )

    class Meta:
        model = Tender
        fields = ["id", "title", "description", "category", "contact_name", "contact_email"]
        fields += ["contact_phone", "valid_until", "status", "created_at", "customer"]
        fields += ["proposals"]
        read_only_fields = fields


class TenderPostSerializer(serializers.Serializer):
    """The body of `POST tenders/`. The request's rules (a valid email, a
    category, `valid_until` from today to a year from now) are checked by
    `tenders.services.tender_clean`; a refusal is a 400 on the field
    and nothing is written."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000)
    category = serializers.ChoiceField(choices=Product.Category.choices)
    contact_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional: partners always read `contact_email`.",
    )
    contact_email = serializers.EmailField(max_length=254)
    contact_phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    valid_until = serializers.DateField(
        help_text="The last day partners see it and may answer; from today to a year from now."
    )


class TenderProposeSerializer(serializers.Serializer):
    """The body of `POST tenders/{id}/proposals/`; emailed to the poster."""

    message = serializers.CharField(max_length=5000)


# --- the partner programme ---------------------------------------------------------------


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


class ProgrammeCurrencySerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    yearly_value = _money(
        help_text="What was invoiced, net of credit notes, in the last 12 months for the "
        "products the partner sold and manages now, in this currency."
    )
    threshold = _money(help_text="What qualifies over 12 months, in this currency.")
    missing = _money(help_text="What is still missing to reach the threshold (0.00 once reached).")
    percent = serializers.IntegerField(
        read_only=True, min_value=0, max_value=100, help_text="How far, capped at 100."
    )
    reached = serializers.BooleanField(read_only=True)


class ProgrammeSerializer(serializers.Serializer):
    """How far the partner is in the programme: each currency against its own
    threshold (amounts are never converted); reaching either qualifies."""

    qualifies = serializers.BooleanField(read_only=True)
    currencies = ProgrammeCurrencySerializer(many=True, read_only=True)
