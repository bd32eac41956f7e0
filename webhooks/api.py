"""Webhooks' API (API.md rev. 2): endpoints (owner, admin; creating one,
changing its URL and rotating its secret need the caller's password, as tokens do), their delivery
logs with resend, and the event types. Parse, call a service or selector,
render."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api_base import OrgViewSet, require_password, secret_response
from tenants.models import Role
from webhooks import selectors, services
from webhooks.models import WebhookEndpoint
from webhooks.payloads import event_types
from webhooks.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEventTypeSerializer,
    WebhookRotateSerializer,
)


def _with_secret(endpoint: WebhookEndpoint, secret: str, status_code: int) -> Response:
    data = {**WebhookEndpointSerializer(endpoint).data, "secret": secret}
    return secret_response(Response(data, status=status_code), "secret")


class WebhookEndpointViewSet(mixins.ListModelMixin, OrgViewSet):
    serializer_class = WebhookEndpointSerializer
    min_role = Role.ADMIN
    queryset = WebhookEndpoint.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_org_queryset(self):
        return selectors.endpoints_for(org=self.org)

    def _get(self, pk) -> WebhookEndpoint:
        return selectors.endpoint_get(org=self.org, endpoint_id=pk)

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
    )
    def create(self, request):
        """Register an endpoint; the answer carries its secret, this once."""
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        require_password(self.org, data)  # sensitive (SPEC §1), as a new token
        endpoint, secret = services.endpoint_create(org=self.org, **data)
        return _with_secret(endpoint, secret, status.HTTP_201_CREATED)

    @extend_schema(responses=WebhookEndpointSerializer)
    def retrieve(self, request, pk=None):
        return Response(WebhookEndpointSerializer(self._get(pk)).data)

    @extend_schema(request=WebhookEndpointUpdateSerializer, responses=WebhookEndpointSerializer)
    def partial_update(self, request, pk=None):
        """Change an endpoint; a new `url` (where its events and their signatures
        go from now on) needs the caller's password, as a new endpoint does."""
        endpoint = self._get(pk)
        serializer = WebhookEndpointUpdateSerializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if services.endpoint_url_changes(endpoint, data):
            require_password(self.org, data)
        data.pop("password", None)
        endpoint = services.endpoint_update(org=self.org, endpoint=endpoint, **data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with its log.")})
    def destroy(self, request, pk=None):
        services.endpoint_delete(org=self.org, endpoint=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=WebhookRotateSerializer, responses={200: WebhookEndpointCreatedSerializer}
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret, shown this once; the old one signs beside it for a day."""
        endpoint = self._get(pk)
        serializer = WebhookRotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        require_password(self.org, dict(serializer.validated_data))
        endpoint, secret = services.endpoint_rotate_secret(org=self.org, endpoint=endpoint)
        return _with_secret(endpoint, secret, status.HTTP_200_OK)

    @extend_schema(responses=WebhookDeliverySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def deliveries(self, request, pk=None):
        """The endpoint's delivery log, newest first."""
        page = self.paginate_queryset(
            selectors.deliveries_for(org=self.org, endpoint=self._get(pk))
        )
        assert page is not None  # the API always paginates
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        parameters=[
            OpenApiParameter(
                "delivery_id",
                OpenApiTypes.UUID,
                OpenApiParameter.PATH,
                description="The webhook-id.",
            )
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[^/.]+)/resend",
        filter_backends=[],
    )
    def resend(self, request, pk=None, delivery_id=None):
        """Send the delivery again now: the same webhook-id and body."""
        endpoint = self._get(pk)
        delivery = selectors.delivery_get(org=self.org, endpoint=endpoint, delivery_id=delivery_id)
        delivery = services.delivery_resend(org=self.org, delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookEventTypesAPI(APIView):
    """The event types an endpoint may ask for, each with an example body."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=WebhookEventTypeSerializer(many=True))
    def get(self, request):
        return Response(WebhookEventTypeSerializer(event_types(), many=True).data)
