import django_filters
from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from subscriptions import selectors, services
from subscriptions.models import Subscription
from subscriptions.serializers import (
    CustomerMrrSerializer,
    LedgerChangeSerializer,
    SubscriptionSerializer,
)
from tenants.api_base import OrgAPIView, OrgViewSet
from tenants.api_sync import SyncFilterBackend
from tenants.models import Tenant


class SubscriptionsFeatureMixin:
    """For the subscription endpoints of an organization: an organization that
    switched subscriptions off (`Tenant.subscriptions_enabled`) gets the 404 of a
    feature that does not exist; its data stays, and switching on brings it back.
    Runs after the base class has resolved the organization and checked the role."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not self.org.tenant.subscriptions_enabled:
            raise Http404(_("Subscriptions are switched off for this organization."))


class SubscriptionFilter(django_filters.FilterSet):
    # A plain id filter: an unknown and a foreign customer both give an empty list.
    customer = django_filters.UUIDFilter(field_name="customer_id", help_text="A customer's id.")

    class Meta:
        model = Subscription
        fields = ["customer"]


class SubscriptionViewSet(SubscriptionsFeatureMixin, mixins.ListModelMixin, OrgViewSet):
    """Subscriptions of the customers the caller may act on (a customer: its own),
    and each one's ledger. Read only: every write moves money, so it is an order,
    and billing.api.SubscriptionViewSet adds the writes on top of these reads."""

    serializer_class = SubscriptionSerializer
    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
    filter_backends = [DjangoFilterBackend, OrderingFilter, SyncFilterBackend]
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

    @extend_schema(responses=SubscriptionSerializer)
    def retrieve(self, request, pk=None):
        return Response(SubscriptionSerializer(self._get(pk)).data)

    @extend_schema(responses=LedgerChangeSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None)
    def changes(self, request, pk=None):
        """The subscription's ledger: one change per order line that opened,
        changed, renewed or ended it, oldest first (SPEC §4)."""
        changes = selectors.subscription_changes(subscription=self._get(pk))
        return Response(LedgerChangeSerializer(changes, many=True).data)


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
