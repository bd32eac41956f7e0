"""A live subscription changed mid-period, as an order (SPEC §4, §7 rev. 2).

Built so far: **raising the quantity** (`PATCH subscriptions/{id}/ {"quantity"}`
above the current one). The order charges the rest of the current billing
period by days (`billing.proration`), at today's prices for the payer, and
writes the ledger's `increase`; the next renewal bills the whole new quantity.

The rule, per amount of the price waterfall (list, public, preferential, and so
what is charged, the cashback and the discount): both states are priced at the
degressive tier the *new* total reaches, and the order settles
`value(new quantity) - value(old quantity)` for the rest of the period, each
value rounded once (docs/billing.md, "Periods and proration"). Raising within
one tier is exactly that rule; when the raise reaches a better tier, the units
already there keep what they paid until the renewal reprices them all, so a
raise never lowers what is charged.

Lowering, changing edition and ending early need a credit note and a partial
clawback of the cashback: not built yet (400 / the cancel, docs/billing.md).
"""

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Order
from billing.pricing import Waterfall, waterfall
from billing.proration import Period, period_bounds, state_value
from billing.services.orders import (
    MAX_QUANTITY,
    LineRequest,
    PriceChanged,
    Quote,
    QuoteLine,
    order_check,
    order_record,
    ordering_side,
    quote_build,
    with_catalog,
)
from subscriptions.models import Subscription
from subscriptions.services import (
    LedgerEntry,
    subscription_last_day_set,
    subscription_write_check,
)
from tenants.exceptions import Conflict
from tenants.selectors import OrgContext

WATERFALL_AMOUNTS = (
    "list_amount",
    "after_partner_discount",
    "preferential_amount",
    "public_amount",
)


@dataclass(frozen=True)
class Raise:
    """What raising a subscription to `quantity` costs now: the prorated quote of
    the added units from `on` to the end of `period`, and the whole-period price
    of the new quantity (what the next renewal bills)."""

    subscription: Subscription
    quantity: int
    period: Period
    on: datetime.date  # the first day charged: today
    quote: Quote
    renewal: Quote


def _live(subscription: Subscription, today: datetime.date) -> None:
    if subscription.cancelled_at is not None:
        raise Conflict(_("This subscription is cancelled."))
    if subscription.ends_on is not None and subscription.ends_on < today:
        raise Conflict(_("This subscription has ended; order a new one."))
    if subscription.starts_on > today:
        raise Conflict(_("This subscription has not started yet."))


def _prorated(new: Waterfall, old: Waterfall, period: Period, today: datetime.date) -> Waterfall:
    """Each amount of the waterfall: value(new) - value(old) for the rest of the period."""

    def rest(price: Waterfall, field: str) -> Decimal:
        return state_value(state=(1, getattr(price, field)), period=period, on=today)

    return Waterfall(
        quantity=new.quantity - old.quantity,
        unit_price=new.unit_price,
        tier_rate=new.tier_rate,
        discount_rate=new.discount_rate,
        **{field: rest(new, field) - rest(old, field) for field in WATERFALL_AMOUNTS},
    )


def _raise_priced(
    org: OrgContext, subscription: Subscription, quantity: int, *, lock: bool
) -> Raise:
    today = timezone.localdate()
    _live(subscription, today)
    if not subscription.product.is_active:
        raise ValidationError({"quantity": _("This product is no longer sold.")})
    if not subscription.quantity < quantity <= MAX_QUANTITY:
        if quantity == subscription.quantity:
            message = _("The subscription already has this quantity.")
        elif quantity > MAX_QUANTITY:
            message = _("Quantities go from 1 to %(max)s.") % {"max": MAX_QUANTITY}
        else:
            message = _(
                "Lowering a quantity needs a credit note, which the portal does not issue "
                "yet: end this subscription and order the new quantity."
            )
        raise ValidationError({"quantity": message})
    customer = subscription.customer
    (line,) = with_catalog([LineRequest(subscription.product, quantity, subscription)])
    ordered_by, partnership = ordering_side(org, customer, [line], lock=lock)
    renewal = quote_build(
        customer=customer, lines=[line], ordered_by=ordered_by, partnership=partnership
    )
    new = renewal.lines[0].price
    old = waterfall(
        unit_price=new.unit_price,
        quantity=subscription.quantity,
        tier_rate=new.tier_rate,
        discount_rate=new.discount_rate,
    )
    period = period_bounds(subscription.starts_on, subscription.billing_period, today)
    price = _prorated(new, old, period, today)
    terms = renewal.terms
    quote = Quote(
        customer=customer,
        currency=renewal.currency,
        ordered_by=ordered_by,
        partnership=partnership,
        terms=terms,
        lines=[QuoteLine.under(terms, line.product, price, subscription=subscription)],
    )
    return Raise(subscription, quantity, period, today, quote, renewal)


def subscription_raise_preview(
    *, org: OrgContext, subscription: Subscription, quantity: int
) -> Raise:
    """What raising to `quantity` would charge now; nothing is written. The
    caller loaded the subscription through the permission function; the grant
    is read as it is now (ordering_side)."""
    subscription_write_check(org=org, customer=subscription.customer)
    return _raise_priced(org, subscription, quantity, lock=False)


@transaction.atomic
def subscription_raise(
    *,
    org: OrgContext,
    subscription: Subscription,
    quantity: int,
    expected_total: Decimal | None = None,
) -> Order:
    """Raise the quantity now: the order of the added units for the rest of the
    period (its invoice to the payer, the partner's cashback), the subscription's
    new quantity and tier price, and the ledger's `increase`, in one transaction
    with the subscription locked. With `expected_total`, another amount is a 409.
    The caller loaded the subscription through the permission function; the
    grant is checked again under its lock (ordering_side)."""
    subscription_write_check(org=org, customer=subscription.customer)
    order_check(org=org)
    subscription = (
        Subscription.unscoped.select_for_update(of=("self",))
        .select_related("customer", "product")
        .get(pk=subscription.pk)
    )
    priced = _raise_priced(org, subscription, quantity, lock=True)
    if expected_total is not None and priced.quote.charged != expected_total:
        raise PriceChanged(priced.quote)
    before = (subscription.quantity, subscription.unit_price)
    subscription.quantity = quantity
    subscription.unit_price = priced.renewal.lines[0].price.public_unit_price
    subscription.save(update_fields=["quantity", "unit_price", "updated_at"])
    (line,) = priced.quote.lines
    change = LedgerEntry.change(before, subscription)
    return order_record(
        quote=replace(priced.quote, lines=[replace(line, change=change)]),
        kind=Order.Kind.ORDER,
        placed_by=org.user,
        period_starts_on=timezone.localdate(),
        subscriptions=[subscription],
    )


def subscription_end_at_period_end(*, org: OrgContext, subscription: Subscription) -> Subscription:
    """End a live subscription on the last day of its current billing period, the
    days already paid: nothing is billed after it and nothing is credited."""
    today = timezone.localdate()
    _live(subscription, today)
    _first, last = period_bounds(subscription.starts_on, subscription.billing_period, today)
    return subscription_last_day_set(org=org, subscription=subscription, ends_on=last)
