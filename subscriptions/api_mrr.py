"""API of the partner's book (API.md `GET mrr/`, SPEC §4): its MRR month by month
with the movements, and the customers behind a month's movements. Parse, call
subscriptions.mrr, render. Mounted at mrr/ by portal/api/urls.py; the platform's
figures (`GET provider/mrr/`, staff) at provider/mrr/."""

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from subscriptions import mrr
from subscriptions.api import SubscriptionsFeatureMixin
from subscriptions.platform_mrr import platform_mrr
from tenants.api_base import OrgAPIView, OrgGenericAPIView
from tenants.models import Role, Tenant
from tenants.selectors import provider_console_user

CURRENCIES = [("CHF", "CHF"), ("EUR", "EUR")]
CHANGES = ["started", "ended", "cancelled"]


@extend_schema_field(
    {"type": "string", "enum": list(mrr.KINDS)}, component_name="MrrMovementKindEnum"
)
class MovementKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=mrr.KINDS, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": CHANGES}, component_name="MrrSubscriptionChangeEnum"
)
class SubscriptionChangeField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=CHANGES, **kwargs)


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class BookQuerySerializer(serializers.Serializer):
    currency = serializers.ChoiceField(
        choices=CURRENCIES, required=False, help_text="Default: the partner's currency."
    )
    subtree = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Every customer the partner or a partner below it manages now "
        "(owners and admins), not only those the caller may act on.",
    )


class BookMrrQuerySerializer(BookQuerySerializer):
    months = serializers.IntegerField(
        min_value=1, max_value=mrr.MONTHS_MAX, required=False, default=12
    )


class MovementsQuerySerializer(BookQuerySerializer):
    month = serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM, a past or the current month."
    )
    kind = MovementKindField(required=False)

    def validate_month(self, value: str) -> str:
        if mrr.parse_month(value) > timezone.localdate():
            raise serializers.ValidationError(_("Not a past or current month."))
        return value


class BookMonthSerializer(serializers.Serializer):
    month = serializers.CharField(
        help_text="YYYY-MM; its MRR is the MRR on its last day (the current month: today)."
    )
    mrr = _money()
    new = _money()
    expansion = _money()
    contraction = _money(help_text="Negative.")
    churn = _money(help_text="Negative.")
    reactivation = _money()


class BookMrrSerializer(serializers.Serializer):
    currency = serializers.CharField()
    current_mrr = _money()
    upcoming_mrr = _money(help_text="The MRR on the next day anything changes.")
    history = BookMonthSerializer(many=True)


class CustomerRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class SubscriptionChangeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    product = serializers.CharField(help_text="The product's code.")
    quantity = serializers.IntegerField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    change = SubscriptionChangeField()


class MovementSerializer(serializers.Serializer):
    customer = CustomerRefSerializer()
    kind = MovementKindField()
    mrr_before = _money()
    mrr_after = _money()
    change = _money()
    subscriptions = SubscriptionChangeSerializer(many=True)


class BookMrrAPI(SubscriptionsFeatureMixin, OrgAPIView):
    """The partner's book: its customers' MRR (never converted between currencies)."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    @extend_schema(
        operation_id="mrr_book",
        parameters=[BookMrrQuerySerializer],
        responses=BookMrrSerializer,
    )
    def get(self, request):
        params = BookMrrQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        book = mrr.book_mrr(org=self.org, **params.validated_data)
        return Response(BookMrrSerializer(book).data)


class BookMovementsAPI(SubscriptionsFeatureMixin, OrgGenericAPIView):
    """The customers behind a month's movements, by kind then name, paginated;
    each kind's `change` sums to its figure."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    filter_backends = []

    @extend_schema(
        operation_id="mrr_movements",
        parameters=[MovementsQuerySerializer],
        responses=MovementSerializer(many=True),
    )
    def get(self, request):
        params = MovementsQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        movements = mrr.book_movements(org=self.org, **params.validated_data)
        page = self.paginate_queryset(movements.moves)
        rows = movements.with_subscriptions(page)
        return self.get_paginated_response(MovementSerializer(rows, many=True).data)


urlpatterns = [
    path("", BookMrrAPI.as_view(), name="mrr-book"),
    path("movements/", BookMovementsAPI.as_view(), name="mrr-movements"),
]


class PlatformMrrQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(
        min_value=1, max_value=mrr.MONTHS_MAX, required=False, default=12
    )
    month = serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        help_text="YYYY-MM, one of the `months` shown (default: the current month): "
        "the month of the partners' figures.",
    )


class PlatformCurrencySerializer(serializers.Serializer):
    currency = serializers.CharField()
    current_mrr = _money()
    history = BookMonthSerializer(many=True)


class PartnerRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class PartnerMovementsSerializer(serializers.Serializer):
    partner = PartnerRefSerializer(
        allow_null=True,
        help_text="The customers' home partner now; null: the provider's direct customers.",
    )
    currency = serializers.CharField()
    mrr = _money(help_text="The MRR at the month's end (the current month: today).")
    new = _money()
    expansion = _money()
    contraction = _money(help_text="Negative.")
    churn = _money(help_text="Negative.")
    reactivation = _money()


class PlatformMrrSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM: the month of `partners`' figures.")
    months = serializers.ListField(
        child=serializers.CharField(), help_text="YYYY-MM, oldest first."
    )
    currencies = PlatformCurrencySerializer(
        many=True, help_text="The platform's MRR and movements, one entry per currency."
    )
    partners = PartnerMovementsSerializer(
        many=True,
        help_text="Per partner and currency, the month's MRR and movements (all-zero rows "
        "left out), by currency then MRR.",
    )


class PlatformMrrAPI(APIView):
    """The platform's MRR and movements by partner (SPEC §2 "Provider console"),
    for platform staff; anyone else gets the 404 of a missing page."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="provider_mrr",
        parameters=[PlatformMrrQuerySerializer],
        responses={
            200: PlatformMrrSerializer,
            409: OpenApiResponse(
                response={
                    "type": "object",
                    "properties": {"detail": {"type": "string"}},
                    "required": ["detail"],
                },
                description="The platform is not set up yet: `manage.py setup_platform` "
                "has not run.",
            ),
        },
    )
    def get(self, request):
        provider_console_user(user=request.user)
        params = PlatformMrrQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        figures = platform_mrr(**params.validated_data)
        return Response(PlatformMrrSerializer(figures).data)
