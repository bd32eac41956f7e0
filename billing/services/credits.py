"""What a credit order gives back (SPEC §7 rev. 2): the unused paid days of a
subscription that is lowered, ended early or replaced by another edition.

**Who paid, at what price.** The days from `on` are paid by the latest order
line that billed the subscription for them (its opening order, its renewal, or
a raise since): `paid_on`. The credit goes to that order's payer, at that
line's prices (its list unit price, its degressive tier, its order's partner
discount and terms), never at today's: a lowering gives back what the removed
units paid.

**How much.** Each amount of the price waterfall is valued like a raise, for
the days from `on` to the last day that line paid (`billing.proration.
span_value`, each value rounded once): value(before) - value(after). The payer
is credited the amount its terms charged (public or preferential) and, when
the order earned cashback, the partner gives back the same share of it (the
margin of the credited amount): the **clawback**, never more than the cashback
the orders of those days credited for this subscription and not yet taken
back, newest credit first (`clawback_sources`).
"""

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Sum

from billing.models import CashbackEntry, Order, OrderLine
from billing.pricing import ZERO, Terms, Waterfall, order_terms, waterfall
from billing.proration import Period, period_bounds, span_value
from billing.services.orders import Quote, QuoteLine
from partners.models import Partnership
from subscriptions.models import Subscription

WATERFALL_AMOUNTS = (
    "list_amount",
    "after_partner_discount",
    "preferential_amount",
    "public_amount",
)


@dataclass(frozen=True)
class Paid:
    """The order line that paid for a subscription's days from `on`: its prices
    and its order's terms, for the days up to `until` of `period`."""

    line: OrderLine
    period: Period
    until: datetime.date

    @property
    def order(self) -> Order:
        return self.line.order

    @property
    def terms(self) -> Terms:
        return Terms(self.order.payer, self.order.price_basis, self.order.earning)

    def value(self, quantity: int, on: datetime.date) -> Waterfall:
        """`quantity` units at this line's prices, each amount for the days from
        `on` to `until`."""
        whole = waterfall(
            unit_price=self.line.unit_price,
            quantity=quantity,
            tier_rate=self.line.tier_rate,
            discount_rate=self.order.discount_rate,
        )
        return Waterfall(
            quantity=quantity,
            unit_price=whole.unit_price,
            tier_rate=whole.tier_rate,
            discount_rate=whole.discount_rate,
            **{
                field: span_value(
                    amount_per_period=getattr(whole, field),
                    period=self.period,
                    on=on,
                    until=self.until,
                )
                for field in WATERFALL_AMOUNTS
            },
        )


def paid_on(subscription: Subscription, on: datetime.date) -> Paid | None:
    """The latest order line (not refunded, not itself a credit) that billed
    `subscription` for the day `on`; None when nobody paid for it."""
    line = (
        OrderLine.unscoped.filter(
            subscription=subscription,
            period_starts_on__lte=on,
            period_ends_on__gte=on,
            order__status=Order.Status.PLACED,
        )
        .exclude(order__kind=Order.Kind.CREDIT)
        .select_related("order", "order__partnership__partner", "order__customer")
        .order_by("-order__placed_at", "-pk")
        .first()
    )
    if line is None:
        return None
    period = period_bounds(subscription.starts_on, subscription.billing_period, on)
    return Paid(line, period, min(line.period_ends_on, period[1]))


def clawback_sources(
    *, subscription: Subscription, paid: Paid, wanted: Decimal, lock: bool
) -> tuple[tuple[CashbackEntry, Decimal], ...]:
    """Where `wanted` of cashback is taken back from: the credits of the orders
    that billed `subscription` in the period being credited, newest first, each
    giving at most what its line earned for this subscription and what is left
    of the credit (other subscriptions of a multi-line order, a refund). Fewer
    than `wanted` when less is left. With `lock`, the credits are locked (a
    concurrent clawback or refund of the same credit waits)."""
    if wanted <= 0:
        return ()
    first, last = paid.period
    lines = (
        OrderLine.unscoped.filter(
            subscription=subscription,
            period_starts_on__gte=first,
            period_starts_on__lte=last,
            order__status=Order.Status.PLACED,
            cashback_amount__gt=0,
        )
        .exclude(order__kind=Order.Kind.CREDIT)
        .order_by("-order__placed_at", "-pk")
    )
    earned = {line.order_id: line.cashback_amount for line in lines}
    credits = CashbackEntry.unscoped.filter(
        order_id__in=list(earned), kind=CashbackEntry.Kind.CREDIT
    ).order_by("-created_at", "-pk")
    if lock:
        credits = credits.select_for_update()
    sources = []
    for credit in list(credits):
        reversals = CashbackEntry.unscoped.filter(reverses=credit)
        taken_all = reversals.aggregate(total=Sum("amount"))["total"] or ZERO
        taken_here = (
            reversals.filter(order__lines__subscription=subscription).aggregate(
                total=Sum("amount")
            )["total"]
            or ZERO
        )
        available = min(credit.amount + taken_all, earned[credit.order_id] + taken_here)
        take = min(available, wanted)
        if take > 0:
            sources.append((credit, take))
            wanted -= take
        if wanted <= 0:
            break
    return tuple(sources)


@dataclass(frozen=True)
class Credited:
    """A credit order's quote (one line) and the days it credits."""

    quote: Quote
    on: datetime.date
    until: datetime.date
    paid: Paid | None


def credit_quote(
    *,
    subscription: Subscription,
    before: int,
    after: int,
    on: datetime.date,
    ordered_by: str,
    partnership: Partnership | None,
    lock: bool,
) -> Credited:
    """The credit of going from `before` to `after` units on `on` (after < before;
    0: the subscription ends), for the days paid from `on`. Nothing paid for
    `on` (a subscription no order billed, a refunded period): a credit of 0.00
    under the terms of the side acting now (`ordered_by`, `partnership`)."""
    customer = subscription.customer
    paid = paid_on(subscription, on)
    if paid is None:
        terms = order_terms(
            access=partnership.access if partnership else None,
            payment=partnership.payment if partnership else None,
            ordered_by=ordered_by,
        )
        zero = waterfall(
            unit_price=subscription.unit_price,
            quantity=before - after,
            tier_rate=Decimal("0"),
            discount_rate=Decimal("0"),
        )
        price = replace(
            zero,
            list_amount=ZERO,
            after_partner_discount=ZERO,
            preferential_amount=ZERO,
            public_amount=ZERO,
        )
        period = period_bounds(subscription.starts_on, subscription.billing_period, on)
        line = QuoteLine(
            product=subscription.product,
            price=price,
            charged=ZERO,
            cashback=ZERO,
            discount=ZERO,
            subscription=subscription,
        )
        quote = Quote(customer, customer.currency, ordered_by, partnership, terms, [line])
        return Credited(quote, on, period[1], None)
    old, new = paid.value(before, on), paid.value(after, on)
    price = Waterfall(
        quantity=before - after,
        unit_price=old.unit_price,
        tier_rate=old.tier_rate,
        discount_rate=old.discount_rate,
        **{field: getattr(old, field) - getattr(new, field) for field in WATERFALL_AMOUNTS},
    )
    terms = paid.terms
    sources = clawback_sources(
        subscription=subscription, paid=paid, wanted=terms.cashback(price), lock=lock
    )
    line = QuoteLine(
        product=subscription.product,
        price=price,
        charged=ZERO,
        cashback=ZERO,
        discount=ZERO,
        subscription=subscription,
        credit=terms.charged(price),
        clawback=sum((amount for _credit, amount in sources), ZERO),
        clawback_from=sources,
    )
    order = paid.order
    quote = Quote(customer, order.currency, ordered_by, order.partnership, terms, [line])
    return Credited(quote, on, paid.until, paid)
