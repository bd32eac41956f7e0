"""API of upsell (API.md `services/`, `customers/{id}/upsell/`, `upsell/requests/`;
SPEC §5): parse, call upsell.services or upsell.selectors, render. Which
features a viewer sees locked, its action element, who may switch upsell and
which requests a partner user reads are decided there."""

import django_filters
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from tenants.api_base import OrgAPIView, OrgViewSet
from tenants.models import Role, Tenant
from upsell import selectors, services
from upsell.models import UpgradeRequest, UpsellSwitch
from upsell.serializers import (
    CustomerUpsellSerializer,
    CustomerUpsellSetSerializer,
    FeatureInterestSerializer,
    ServicesSerializer,
    UpgradeRequestSerializer,
)


def _id_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


# --- the customer's Services ------------------------------------------------------------


class ServicesAPI(OrgAPIView):
    """The customer's Services: per active subscription, the features its edition
    includes and, while upsell is on, the ones it lacks, each with the lowest
    edition that unlocks it and the caller's action element (Buy now for owners
    and admins who are buyers, when a Buy URL is set on the customer or above;
    "contact your partner" otherwise). Customer members."""

    allowed_kinds = (Tenant.Kind.CUSTOMER,)

    @extend_schema(operation_id="services_retrieve", responses=ServicesSerializer)
    def get(self, request):
        body = {
            "customer": self.org.tenant.pk,
            "upsell_enabled": selectors.upsell_enabled(customer=self.org.tenant),
            "services": selectors.services_for(org=self.org),
        }
        return Response(ServicesSerializer(body).data)


class FeatureAskAPI(OrgAPIView):
    """ "Ask my partner" for the edition that unlocks a locked feature: the
    managing partner's owners and admins are emailed and see the request. Asking
    again while the request is open returns it (200). A feature the caller does
    not see locked is a 404; a product no partner manages, a 400. Customer members."""

    allowed_kinds = (Tenant.Kind.CUSTOMER,)

    @extend_schema(
        operation_id="services_features_ask_create",
        parameters=[
            _id_parameter("subscription_id", "One of the customer's subscriptions."),
            OpenApiParameter(
                "feature_code", OpenApiTypes.STR, OpenApiParameter.PATH, description="A feature."
            ),
        ],
        request=None,
        responses={201: UpgradeRequestSerializer, 200: UpgradeRequestSerializer},
    )
    def post(self, request, subscription_id, feature_code):
        asked_at = timezone.now()
        upgrade_request = services.upgrade_request_create(
            org=self.org, subscription_id=subscription_id, feature_code=feature_code
        )
        created = upgrade_request.created_at >= asked_at
        return Response(
            UpgradeRequestSerializer(upgrade_request).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- the partner's switch ---------------------------------------------------------------


class CustomerUpsellMixin:
    """Partner users allowed on the customer read its switch; owners and admins
    (and staff acting in the partner) set it. In a customer organization these
    are a partner's actions: 403 whatever the id."""

    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)

    def _customer(self, customer_id) -> Tenant:
        if not self.org.tenant.is_partner:
            raise exceptions.PermissionDenied(_("Upsell is set by the customer's partner."))
        return selectors.upsell_customer_get(org=self.org, customer_id=customer_id)


class CustomerUpsellAPI(CustomerUpsellMixin, OrgAPIView):
    """Upsell for one customer: off by default; PUT `{enabled}` switches it (partner
    owners and admins); every change is kept in `history`, newest first."""

    min_role_by_action = {"put": Role.ADMIN}

    def _render(self, customer: Tenant) -> Response:
        try:
            switch = customer.upsell
        except UpsellSwitch.DoesNotExist:
            switch = None
        body = {
            "customer": customer.pk,
            "enabled": bool(switch and switch.enabled),
            "updated_at": switch.updated_at if switch else None,
            "updated_by": switch.updated_by.email if switch and switch.updated_by else None,
            "history": selectors.upsell_history(customer=customer),
        }
        return Response(CustomerUpsellSerializer(body).data)

    @extend_schema(operation_id="customers_upsell_retrieve", responses=CustomerUpsellSerializer)
    def get(self, request, customer_id):
        return self._render(self._customer(customer_id))

    @extend_schema(
        operation_id="customers_upsell_update",
        request=CustomerUpsellSetSerializer,
        responses=CustomerUpsellSerializer,
    )
    def put(self, request, customer_id):
        customer = self._customer(customer_id)
        serializer = CustomerUpsellSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.upsell_switch(
            org=self.org, customer=customer, enabled=serializer.validated_data["enabled"]
        )
        return self._render(customer)


class CustomerUpsellInterestAPI(CustomerUpsellMixin, OrgAPIView):
    """Per locked feature, how often the customer's members looked at it, clicked
    Buy now or asked this partner, and when last. Partner users allowed on the
    customer."""

    @extend_schema(
        operation_id="customers_upsell_interest_list",
        responses=FeatureInterestSerializer(many=True),
    )
    def get(self, request, customer_id):
        customer = self._customer(customer_id)
        rows = selectors.interest_for(org=self.org, customer=customer)
        return Response(FeatureInterestSerializer(rows, many=True).data)


# --- customers' requests ----------------------------------------------------------------


class UpgradeRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=UpgradeRequest.Status.choices)

    class Meta:
        model = UpgradeRequest
        fields = ["status"]


class UpgradeRequestViewSet(mixins.ListModelMixin, OrgViewSet):
    """Customers' "Ask my partner" requests to this partner (collaborators: of
    their assigned customers), newest first. One click turns an open one into an
    offer of the recommended edition (its id in `offer`), or dismisses it; a
    request already answered is a 409."""

    serializer_class = UpgradeRequestSerializer
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    filter_backends = [DjangoFilterBackend]
    filterset_class = UpgradeRequestFilter
    queryset = UpgradeRequest.objects.none()

    def get_org_queryset(self):
        return selectors.upgrade_requests_for(org=self.org)

    def _get(self, pk) -> UpgradeRequest:
        return selectors.upgrade_request_get(org=self.org, request_id=pk)

    @extend_schema(responses=UpgradeRequestSerializer)
    def retrieve(self, request, pk=None):
        return Response(UpgradeRequestSerializer(self._get(pk)).data)

    def _answer(self, pk, service) -> Response:
        """One answer to the request loaded once; rendered as the service saved it."""
        answered = service(org=self.org, request=self._get(pk))
        return Response(UpgradeRequestSerializer(answered).data)

    @extend_schema(request=None, responses=UpgradeRequestSerializer)
    @action(detail=True, methods=["post"])
    def offer(self, request, pk=None):
        """One click: an offer of the recommended edition for the customer's
        current quantity, 12 months, replacing the current edition on acceptance."""
        return self._answer(pk, services.upgrade_request_to_offer)

    @extend_schema(request=None, responses=UpgradeRequestSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._answer(pk, services.upgrade_request_dismiss)
