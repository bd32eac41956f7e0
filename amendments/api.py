"""`PATCH` and `DELETE subscriptions/{id}/`: a change to a billed subscription,
each an order under SPEC §7's rules (moved from billing, issue 19), and
`POST orders/`'s line that changes a subscription (`{subscription, quantity}`,
API.md rev. 2). The reads and `POST` stay billing's (billing.api.
SubscriptionViewSet, OrderViewSet); portal/api/urls.py registers these subclasses."""

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from amendments import services
from amendments.serializers import (
    OrderChangeSerializer,
    SubscriptionChangeRequestSerializer,
    SubscriptionEndSerializer,
    change_figures,
)
from billing import api as billing_api
from billing import selectors
from billing.api import _price_changed
from billing.models import Order, Payer
from billing.serializers import (
    OrderPlaceSerializer,
    OrderSerializer,
    QuoteSerializer,
    SubscriptionPlacedSerializer,
    quote_as_seen,
)
from billing.services import orders
from subscriptions import selectors as subscription_selectors
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from tenants.selectors import OrgContext


def _change_preview(org: OrgContext, change: services.Raise | services.Credit) -> dict:
    """The preview of a change to a subscription: its quote, each line saying
    what the subscription goes from and to (SPEC §7's preview, per line)."""
    by_partner = selectors.sees_margin(org)
    body = quote_as_seen(change.quote, by_partner=by_partner)
    if isinstance(change, services.Credit):  # a line per payer credited, each its own
        lines = []
        for share in change.credited.shares:
            seen = quote_as_seen(share.quote, by_partner=by_partner)["lines"]
            if not by_partner and share.quote.terms.payer != Payer.CUSTOMER:
                # the partner's credit is its preferential price: never the customer's to read
                seen = [{**line, "credit": None} for line in seen]
            lines += seen
        body["lines"] = lines
        own = change.seen_by(by_partner=by_partner)
        body["totals"] = {**body["totals"], "credit": own.credit, "net": own.net}
    body["lines"] = [{**line, **change_figures(change)} for line in body["lines"]]
    return QuoteSerializer(body).data


def _quantity_change(
    org: OrgContext,
    subscription: Subscription,
    quantity: int,
    *,
    dry_run: bool,
    expected_total: Any,
) -> Order | dict:
    """A subscription to `quantity` units now: higher, a raise (an order for the
    rest of the period); lower, a credit order; with `dry_run` the preview
    (a dict, the quote as the caller reads it). `PATCH subscriptions/{id}/`
    and `POST orders/`'s `{subscription, quantity}` line alike."""
    if quantity < subscription.quantity:
        lowered = services.subscription_lower(
            org=org,
            subscription=subscription,
            quantity=quantity,
            dry_run=dry_run,
            expected_total=expected_total,
        )
        if isinstance(lowered, services.Credit):
            return _change_preview(org, lowered)
        return lowered
    if dry_run:
        preview = services.subscription_raise_preview(
            org=org, subscription=subscription, quantity=quantity
        )
        return _change_preview(org, preview)
    return services.subscription_raise(
        org=org, subscription=subscription, quantity=quantity, expected_total=expected_total
    )


class OrderViewSet(billing_api.OrderViewSet):
    """billing's orders (the reads, and `POST` of new subscriptions), and the
    line API.md rev. 2 adds: `{subscription, quantity}` changes a subscription
    the customer has, as `PATCH subscriptions/{id}/` does (portal/api/urls.py
    registers this subclass)."""

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="OrderPlaceBody",
            serializers=[OrderPlaceSerializer, OrderChangeSerializer],
            resource_type_field_name=None,
            many=False,
        ),
        responses={201: OrderSerializer, 200: QuoteSerializer},
    )
    def create(self, request: Request) -> Response:
        """Place an order: each line starts a subscription today for one billing
        period, priced and settled by SPEC §7; the invoice goes to the payer and
        the partner's cashback to its prepaid account. A line naming a
        `subscription` of the customer changes it instead, in an order of its
        own (the only line): a higher quantity charges the rest of the period,
        a lower one credits the unused paid days to whoever paid them; another
        organization's subscription is a 404, like a missing one. Customer
        owners and admins, and partner users allowed on the customer, with the
        buyer flag."""
        lines = request.data.get("lines") if hasattr(request.data, "get") else None
        changes = isinstance(lines, list) and any(
            isinstance(line, dict) and "subscription" in line for line in lines
        )
        if not changes:
            return super().create(request)
        serializer = OrderChangeSerializer(data=request.data, context={"org": self.org})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        (line,) = data["lines"]
        subscription = subscription_selectors.subscription_get(
            org=self.org, subscription_id=line["subscription"]
        )  # another's, or missing: 404
        services.order_line_change_check(
            org=self.org,
            subscription=subscription,
            customer_id=data["customer"],
            product=line.get("product"),
            quantity=line["quantity"],
        )
        try:
            changed = _quantity_change(
                self.org,
                subscription,
                line["quantity"],
                dry_run=data["dry_run"],
                expected_total=data.get("expected_total"),
            )
        except orders.PriceChanged as exc:
            return _price_changed(self.org, exc)
        if isinstance(changed, dict):
            return Response(changed)
        return self._render(changed.pk, status.HTTP_201_CREATED)


# billing's reads and `POST`, and the changes of a billed subscription: `PATCH`
# raises or lowers the quantity (or sets the last day), `DELETE` ends it now with
# a credit, or at the period's end. The docstring is billing's, word for word: the
# API schema shows it (it must not change with the move).
class SubscriptionViewSet(billing_api.SubscriptionViewSet):
    """`subscriptions/`: the reads of subscriptions.api, and the writes, each an
    order under SPEC §7's rules: the buyer flag (403 otherwise), prices from the
    pricing rules for the payer, the invoice, the cashback and the ledger's change.
    `dry_run` previews; `expected_total` commits only the previewed amount (409)."""

    @extend_schema(
        request=SubscriptionChangeRequestSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="SubscriptionChangeAnswer",
                serializers=[SubscriptionPlacedSerializer, QuoteSerializer],
                resource_type_field_name=None,
                many=False,
            )
        },
        description="The answer is `{subscription, order}`, or with `dry_run` the quote.",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Raise the quantity (an order for the rest of the period; `dry_run`
        previews, `expected_total` commits only the previewed amount), or change
        the last day of service (no order). Price, start and anchor: 400."""
        subscription = self._get(pk)  # the one load (its product within the grant)
        subscription_services.subscription_write_check(org=self.org, customer=subscription.customer)
        serializer = SubscriptionChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "quantity" not in data:
            if "ends_on" in data:
                subscription = subscription_services.subscription_last_day_set(
                    org=self.org, subscription=subscription, ends_on=data["ends_on"]
                )
            return self._placed(subscription, None, status.HTTP_200_OK)
        try:
            order = _quantity_change(
                self.org,
                subscription,
                data["quantity"],
                dry_run=data["dry_run"],
                expected_total=data.get("expected_total"),
            )
        except orders.PriceChanged as exc:
            return _price_changed(self.org, exc)
        if isinstance(order, dict):
            return Response(order)
        subscription = subscription_selectors.subscription_as_saved(subscription=subscription)
        return self._placed(subscription, order, status.HTTP_200_OK)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "at",
                OpenApiTypes.STR,
                enum=["period_end"],
                description="`period_end`: end at the last day of the current billing "
                "period (nothing more is billed, nothing credited); without it, end now "
                "with a credit note for the unused paid days.",
            ),
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                description="Ending now: return the preview (the credit) and write nothing.",
            ),
            OpenApiParameter(
                "expected_total",
                OpenApiTypes.DECIMAL,
                description="Ending now: the preview's `totals.net` (minus the credit); "
                "another amount at commit is a 409 with the new figures.",
            ),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="SubscriptionEndAnswer",
                serializers=[SubscriptionPlacedSerializer, QuoteSerializer],
                resource_type_field_name=None,
                many=False,
            )
        },
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """End the subscription now: a credit order gives the unused paid days
        back to whoever paid them (its credit note) and takes back the partner's
        cashback in proportion; `dry_run` previews, `expected_total` commits only
        the previewed amount. With `?at=period_end`, end it on the last day of
        the period already paid instead (no credit). Cancelled or ended: 409."""
        subscription = self._get(pk)
        at = request.query_params.get("at")
        if at is None:
            return self._end_now(request, subscription)
        if at != "period_end":
            raise ValidationError({"at": [_("Give period_end, or nothing to cancel now.")]})
        subscription = services.subscription_end_at_period_end(
            org=self.org, subscription=subscription
        )
        return self._placed(subscription, None, status.HTTP_200_OK)

    def _end_now(self, request: Request, subscription: Subscription) -> Response:
        query: dict[str, Any] = request.query_params.dict()
        if "dry_run" in query:  # a query string's boolean, as the schema's JSON one
            query["dry_run"] = {"true": True, "false": False}.get(
                query["dry_run"], query["dry_run"]
            )
        body = request.data if hasattr(request.data, "get") else {}
        serializer = SubscriptionEndSerializer(data={**query, **body})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            ended = services.subscription_end_now(
                org=self.org,
                subscription=subscription,
                dry_run=data["dry_run"],
                expected_total=data.get("expected_total"),
            )
        except orders.PriceChanged as exc:
            return _price_changed(self.org, exc)
        if isinstance(ended, services.Credit):
            return Response(_change_preview(self.org, ended))
        subscription = subscription_selectors.subscription_as_saved(subscription=subscription)
        return self._placed(subscription, ended, status.HTTP_200_OK)
