import django_filters
from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from subscriptions import selectors, services
from subscriptions.models import Subscription
from subscriptions.serializers import (
    CustomerMrrSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
    SubscriptionUpdateSerializer,
)
from tenants.api_base import OrgAPIView, OrgViewSet
from tenants.models import Tenant


class SubscriptionsFeatureMixin:
    """For the subscription endpoints of an organization: an organization that
    switched subscriptions off (`Tenant.subscriptions_enabled`) gets the 404 of a
    feature that does not exist; its data stays, and switching on brings it back.
    Runs after the base class has resolved the organization and checked the role."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not self.org.tenant.subscriptions_enabled:
            raise Http404("Subscriptions are switched off for this organization.")


class SubscriptionFilter(django_filters.FilterSet):
    # A plain id filter: an unknown and a foreign customer both give an empty list.
    customer = django_filters.UUIDFilter(field_name="customer_id", help_text="A customer's id.")

    class Meta:
        model = Subscription
        fields = ["customer"]


class SubscriptionViewSet(SubscriptionsFeatureMixin, mixins.ListModelMixin, OrgViewSet):
    """Subscriptions of the customers the caller may act on (a customer: its own).
    Partner users allowed on the customer and product, and the customer's owners
    and admins, add and change them; DELETE cancels (the row stays, `cancelled`)."""

    serializer_class = SubscriptionSerializer
    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = SubscriptionFilter
    ordering_fields = ["starts_on", "ends_on", "created_at"]
    queryset = Subscription.objects.none()

    def get_org_queryset(self):
        return selectors.subscriptions_for(org=self.org).order_by("starts_on", "created_at", "pk")

    def _get(self, pk) -> Subscription:
        return selectors.subscription_get(org=self.org, subscription_id=pk)

    def _customer_to_write(self, customer_id) -> Tenant:
        """The customer named in the body (a customer organization: itself by
        default), checked before the body is: 404 out of reach, 403 for the role."""
        if customer_id in (None, "") and self.org.tenant.is_customer:
            customer_id = self.org.tenant.pk
        if customer_id in (None, ""):
            raise exceptions.ValidationError({"customer": [_("Choose the customer.")]})
        customer = selectors.subscription_customer_get(org=self.org, customer_id=customer_id)
        services.subscription_write_check(org=self.org, customer=customer)
        return customer

    @extend_schema(request=SubscriptionCreateSerializer, responses={201: SubscriptionSerializer})
    def create(self, request):
        body = request.data if hasattr(request.data, "get") else {}
        customer = self._customer_to_write(body.get("customer"))
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != "customer"}
        subscription = services.subscription_create(org=self.org, customer=customer, **data)
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=SubscriptionSerializer)
    def retrieve(self, request, pk=None):
        return Response(SubscriptionSerializer(self._get(pk)).data)

    @extend_schema(request=SubscriptionUpdateSerializer, responses=SubscriptionSerializer)
    def partial_update(self, request, pk=None):
        subscription = self._get(pk)
        services.subscription_write_check(org=self.org, customer=subscription.customer)
        serializer = SubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.subscription_update(
            org=self.org, subscription=subscription, data=serializer.validated_data
        )
        return Response(SubscriptionSerializer(self._get(pk)).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Cancel the subscription; a cancelled one answers 409."""
        services.subscription_cancel(org=self.org, subscription=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerMrrAPI(SubscriptionsFeatureMixin, OrgAPIView):
    """A customer's subscription widget: current MRR and its end date, the upcoming
    MRR after the next change (with its trend), and the last 12 months. For the
    partner users allowed on the customer and for the customer's own members."""

    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)

    @extend_schema(responses=CustomerMrrSerializer)
    def get(self, request, customer_id):
        customer = selectors.subscription_customer_get(org=self.org, customer_id=customer_id)
        mrr = selectors.customer_mrr_seen_by(org=self.org, customer=customer)
        return Response(CustomerMrrSerializer(mrr).data)
