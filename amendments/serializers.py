"""The bodies of `PATCH` and `DELETE subscriptions/{id}/` and the figures of a
change's preview (moved from billing, issue 19)."""

import datetime
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from amendments.services import Credit, Raise
from billing.proration import period_bounds
from billing.serializers import OrderPlaceSerializer, PreviewThenCommit, RefusesRuledFields
from billing.services.orders import MAX_LINES, MAX_QUANTITY
from partners.serializers import ProductCodeField


class SubscriptionChangeRequestSerializer(PreviewThenCommit, RefusesRuledFields):
    """The body of `PATCH subscriptions/{id}/`: another quantity (an order for the
    rest of the period: a charge or a credit), and what holds no money (the last
    day of service)."""

    quantity = serializers.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        required=False,
        help_text="A higher quantity: the added units are billed for the rest of the "
        "current period (or to the last day of service), now. A lower one: the removed "
        "units' unused paid days are credited to whoever paid them (a credit note) and "
        "the partner's cashback on them is taken back.",
    )
    ends_on = serializers.DateField(
        required=False, allow_null=True, help_text="The last day of service; null: it renews."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "quantity" in attrs and "ends_on" in attrs:
            raise serializers.ValidationError(
                {"ends_on": [_("Change the quantity and the last day one at a time.")]}
            )
        return attrs


class SubscriptionEndSerializer(PreviewThenCommit, RefusesRuledFields):
    """`DELETE subscriptions/{id}/` (query or body): `dry_run`, `expected_total`;
    a price, start or anchor sent is a 400, as on every write."""


def change_figures(change: Raise | Credit) -> dict:
    """What a change does to its subscription, for its preview's line: from and
    to which quantity, the days charged or credited, the next renewal."""
    subscription = change.subscription
    renewal = change.renewal
    period_end = period_bounds(subscription.starts_on, subscription.billing_period, change.on)[1]
    following = period_end + datetime.timedelta(days=1)
    renews = renewal is not None and (
        subscription.ends_on is None or subscription.ends_on >= following
    )
    return {
        "subscription": subscription.pk,
        "current_quantity": subscription.quantity,
        "new_quantity": change.quantity,
        "new_unit_price": renewal.lines[0].price.public_unit_price if renewal else None,
        "period_starts_on": change.on,
        "period_ends_on": change.until,
        "next_renewal_on": following if renews else None,
        "renewal_amount": renewal.charged if renewal and renews else None,
    }


class OrderChangeLineSerializer(RefusesRuledFields):
    """A line of `POST orders/` changing a subscription the customer has (API.md
    rev. 2, `{subscription, quantity}`): its new quantity, higher (a raise) or
    lower (a credit), as `PATCH subscriptions/{id}/` would. Priced by the
    rules: a `unit_price` is a 400 for everyone."""

    subscription = serializers.UUIDField(
        help_text="A subscription of the order's customer; another's is a 404, like a missing one."
    )
    product = ProductCodeField(
        required=False, help_text="The subscription's product (optional; another is a 400)."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderChangeSerializer(OrderPlaceSerializer):
    """`POST orders/` whose line changes an existing subscription: one line, the
    order of its own (a raise, or a credit order)."""

    # ListSerializer's max_length (DRF 3.14) is missing from the stubs; the base
    # class types its fields as the ones it declares.
    lines = OrderChangeLineSerializer(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg, assignment]
    price_reason = None  # type: ignore[assignment]  # a change has no special price (DRF drops the field)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if len(attrs["lines"]) != 1:
            raise serializers.ValidationError(
                {
                    "lines": [
                        _(
                            "A change to a subscription is an order of its own: give it as "
                            "the only line."
                        )
                    ]
                }
            )
        return attrs
