"""What a credit order gives back (SPEC §7 rev. 2): the unused paid days of a
subscription that is lowered, ended early or replaced by another edition.

**Who paid which units.** The units of a subscription on a day are paid by
the order lines that billed it for that day, each for its own units: the
opening order or the period's renewal for all of them, a raise since for the
units it added. Those lines are *layers*, stacked in the order they were
placed; every credit order since took its units off the top of the stack, the
newest paid units first (`paid_layers` replays them). A lowering or an early
end removes units the same way: the newest paid units first, so each removed
unit is credited to the payer of the layer it comes from, at that line's prices
(its list unit price, its degressive tier, its order's partner discount and
terms), never at today's, and a unit already credited is never credited again.
Units no line paid for (a subscription no order billed) credit nothing.

**One credit note per payer.** The removed units are grouped by who paid them
(the payer, its terms and the partnership of their orders): each group is one
credit order with its credit note (the one CN- sequence, gap-free), newest
payer first; the first carries the ledger's change (`Credited.shares`).

**How much.** Per layer, each amount of the price waterfall is valued like a
raise, for the days from `on` to the last day that layer paid (`billing.
proration.span_value`, each value rounded once): value(units left in the layer)
- value(units it keeps). The payer is credited the amount its terms charged
(public or preferential) and, when the order earned cashback, the partner
gives back the same share of it (the margin of the credited amount): the
**clawback**, never more than the cashback the orders of those layers credited
for this subscription and not yet taken back, newest credit first
(`clawback_sources`).
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Sum

from billing.models import CashbackEntry, Order, OrderLine
from billing.pricing import WATERFALL_AMOUNTS, ZERO, Terms, Waterfall, order_terms, waterfall
from billing.proration import Period, period_bounds, waterfall_span
from billing.services.orders import Quote, QuoteLine
from partners.models import Partnership
from subscriptions.models import Subscription


@dataclass(frozen=True)
class Paid:
    """An order line that paid for `units` of a subscription's units from `on`
    (what credits have not taken back of its own): its prices and its order's
    terms, for the days up to `until` of `period`."""

    line: OrderLine
    period: Period
    until: datetime.date
    units: int

    @property
    def order(self) -> Order:
        return self.line.order

    @property
    def terms(self) -> Terms:
        return Terms(self.order.payer, self.order.price_basis, self.order.earning)

    @property
    def payer_key(self) -> tuple:
        """Who was paid by this line, as one credit order is: the payer, its
        terms, the partnership, the currency."""
        order = self.order
        return (order.payer_tenant_id, self.terms, order.partnership_id, order.currency)

    def value(self, quantity: int, on: datetime.date) -> Waterfall:
        """`quantity` units at this line's prices, each amount for the days from
        `on` to `until`."""
        whole = waterfall(
            unit_price=self.line.unit_price,
            quantity=quantity,
            tier_rate=self.line.tier_rate,
            discount_rate=self.order.discount_rate,
        )
        return waterfall_span(whole, period=self.period, on=on, until=self.until)

    def credit(self, removed: int, on: datetime.date) -> Waterfall:
        """The waterfall credited for `removed` of this layer's units from `on`:
        value(units) - value(units - removed), amount by amount."""
        old, new = self.value(self.units, on), self.value(self.units - removed, on)
        return Waterfall(
            quantity=removed,
            unit_price=old.unit_price,
            tier_rate=old.tier_rate,
            discount_rate=old.discount_rate,
            **{field: getattr(old, field) - getattr(new, field) for field in WATERFALL_AMOUNTS},
        )


def paid_layers(subscription: Subscription, on: datetime.date) -> list[Paid]:
    """The order lines (not refunded) that paid for `subscription`'s units on
    the day `on`, newest first, each with the units no credit order since took
    back: the lines billing the day stacked as placed, each credit line taking
    its units off the top."""
    lines = (
        OrderLine.unscoped.filter(
            subscription=subscription,
            period_starts_on__lte=on,
            period_ends_on__gte=on,
            order__status=Order.Status.PLACED,
        )
        .select_related("order", "order__partnership__partner", "order__customer")
        .order_by("order__placed_at", "pk")
    )
    stack: list[list] = []  # [line, units left]
    for line in lines:
        if line.order.kind != Order.Kind.CREDIT:
            stack.append([line, line.quantity])
            continue
        taken = line.quantity
        for layer in reversed(stack):
            take = min(layer[1], taken)
            layer[1] -= take
            taken -= take
            if taken == 0:
                break
    period = period_bounds(subscription.starts_on, subscription.billing_period, on)
    return [
        Paid(line, period, min(line.period_ends_on, period[1]), units)
        for line, units in reversed(stack)
        if units > 0
    ]


def clawback_sources(
    *, subscription: Subscription, paid: Sequence[Paid], wanted: Decimal, lock: bool
) -> tuple[tuple[CashbackEntry, Decimal], ...]:
    """Where `wanted` of cashback is taken back from: the credits of the orders
    of the layers `paid` being credited, newest first, each giving at most what
    its line earned for this subscription and what is left of the credit (other
    subscriptions of a multi-line order, an earlier clawback, a refund). Fewer
    than `wanted` when less is left. With `lock`, the credits are locked (a
    concurrent clawback or refund of the same credit waits)."""
    if wanted <= 0:
        return ()
    earned = {layer.line.order_id: layer.line.cashback_amount for layer in paid}
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
class Share:
    """One payer's part of a credit: its credit order's quote (one line) and
    the last day it credits."""

    quote: Quote
    until: datetime.date


@dataclass(frozen=True)
class Credited:
    """A credit's parts, one per payer, newest payer first (one credit of 0.00
    when nobody paid for the units removed), and the first day credited."""

    shares: tuple[Share, ...]
    on: datetime.date

    @property
    def quote(self) -> Quote:
        """The whole credit as one quote (its totals, `expected_total`): the
        newest payer's terms and every payer's line; `shares` says whose."""
        first = self.shares[0].quote
        return replace(first, lines=[line for share in self.shares for line in share.quote.lines])

    @property
    def until(self) -> datetime.date:
        return max(share.until for share in self.shares)

    def shares_of(self, payer: str) -> tuple[Share, ...]:
        """The shares credited to `payer` (`billing.models.Payer`)."""
        return tuple(share for share in self.shares if share.quote.terms.payer == payer)

    def credit_of(self, payer: str) -> Decimal:
        """What is credited to `payer` alone: each side reads only its own
        credit (a customer never the partner's, at its preferential price)."""
        return sum((share.quote.credit for share in self.shares_of(payer)), ZERO)


def _unpaid(
    subscription: Subscription,
    removed: int,
    on: datetime.date,
    ordered_by: str,
    partnership: Partnership | None,
) -> Share:
    """A credit of 0.00 for `removed` units nobody paid for, under the terms of
    the side acting now."""
    customer = subscription.customer
    terms = order_terms(
        access=partnership.access if partnership else None,
        payment=partnership.payment if partnership else None,
        ordered_by=ordered_by,
    )
    zero = waterfall(
        unit_price=subscription.unit_price,
        quantity=removed,
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
    return Share(quote, period[1])


def _share(
    subscription: Subscription,
    taken: list[tuple[Paid, int]],
    on: datetime.date,
    ordered_by: str,
    *,
    lock: bool,
) -> Share:
    """One payer's credit order: `taken` (a layer, the units removed from it),
    summed amount by amount, its clawback from those layers' cashback."""
    prices = [paid.credit(removed, on) for paid, removed in taken]
    newest = prices[0]
    price = Waterfall(
        quantity=sum(p.quantity for p in prices),
        unit_price=newest.unit_price,
        tier_rate=newest.tier_rate,
        discount_rate=newest.discount_rate,
        **{field: sum((getattr(p, field) for p in prices), ZERO) for field in WATERFALL_AMOUNTS},
    )
    paid = [layer for layer, _removed in taken]
    terms = paid[0].terms
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
    order = paid[0].order
    quote = Quote(
        subscription.customer, order.currency, ordered_by, order.partnership, terms, [line]
    )
    return Share(quote, max(layer.until for layer in paid))


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
    0: the subscription ends), for the days paid from `on`: the `before - after`
    newest paid units, each to whoever paid it (one share per payer). Nothing
    paid for them (a subscription no order billed, a refunded period): one
    credit of 0.00 under the terms of the side acting now (`ordered_by`,
    `partnership`)."""
    removing = before - after
    groups: dict[tuple, list[tuple[Paid, int]]] = {}
    for layer in paid_layers(subscription, on):
        if removing == 0:
            break
        take = min(layer.units, removing)
        groups.setdefault(layer.payer_key, []).append((layer, take))
        removing -= take
    if not groups:
        unpaid = _unpaid(subscription, before - after, on, ordered_by, partnership)
        return Credited((unpaid,), on)
    shares = tuple(
        _share(subscription, taken, on, ordered_by, lock=lock) for taken in groups.values()
    )
    return Credited(shares, on)
