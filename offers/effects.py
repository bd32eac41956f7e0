"""What an offer would do to its customer, worked out before anyone commits
(SPEC §6 rev. 2): the one selector behind the partner's send page, the
customer's card, the API's `effect` and `reduces`, the accept's preview and the
accept itself (which carries out exactly the plan it shows).

Per product of the offer, for the customer as it stands today:

- **one quantity per product**: every live subscription of the product (started,
  not cancelled, not past its last day) counts, added up. `absolute` sets that
  total to N, `relative` adds N to it.
- **the change**: `new` (nothing yet), `increase`, `decrease` or `none`.
- **the money**, through the pricing rules (`billing.pricing`) for whoever pays
  under the partnership as it is now, settled as ordered by the partner for the
  customer (SPEC §7): a new product is ordered for a whole first period; an
  increase raises the newest subscription and charges the added units for the
  rest of its period, by days (`billing.proration`), both states priced at the
  degressive tier the new total reaches (the rule of
  `billing.services.changes`); a decrease takes seats from the newest
  subscription first (ending a subscription whose seats all go) and credits
  what billing's credit order gives back (the unused paid days at the price
  paid, to whoever paid them). `renewal_amount` is the whole new quantity for
  one period at the tier it reaches; `unit_price` the public price of one unit
  at that tier, which every subscription the offer changes takes.

Nothing here writes.
"""

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import ngettext

from billing.models import Payer
from billing.pricing import ZERO, Waterfall, waterfall
from billing.proration import period_bounds, state_value
from billing.services.credits import credit_quote
from billing.services.orders import LineRequest, Quote, quote_build
from catalog.models import Product
from offers.models import LicenseMode, Offer
from offers.selectors import live_subscriptions
from partners.models import Access, Partnership, Side
from partners.selectors import grants_active_now
from subscriptions.models import Subscription
from tenants.models import Tenant

WATERFALL_AMOUNTS = ("list_amount", "after_partner_discount", "preferential_amount")
WATERFALL_AMOUNTS += ("public_amount",)


class Change:
    NEW = "new"
    INCREASE = "increase"
    DECREASE = "decrease"
    NONE = "none"


@dataclass(frozen=True)
class ItemLike:
    """What the effect needs of an offer's or a template's item."""

    product: Product
    quantity: int
    license_mode: str
    term_months: int


@dataclass(frozen=True)
class Step:
    """One subscription the line changes: from `before` to `after` seats (0: it ends)."""

    subscription: Subscription
    before: int
    after: int


@dataclass(frozen=True)
class EffectLine:
    product: Product
    current_quantity: int
    new_quantity: int
    change: str
    unit_price: Decimal  # the public price of one unit at the new quantity's tier
    amount_now: Decimal  # charged now (0 when nothing is)
    credit: Decimal  # credited now (0 when nothing is)
    renewal_amount: Decimal  # the new quantity for one period
    term_months: int
    steps: tuple[Step, ...] = ()
    # The order line of a new product or an increase (its price now, prorated).
    price_now: Waterfall | None = None

    @property
    def text(self) -> str:
        """In plain words: "Web Hosting: 35 → 36 licences"."""
        return ngettext(
            "%(product)s: %(current)s → %(new)s licence",
            "%(product)s: %(current)s → %(new)s licences",
            self.new_quantity,
        ) % {
            "product": self.product.name,
            "current": self.current_quantity,
            "new": self.new_quantity,
        }


@dataclass(frozen=True)
class Effect:
    customer: Tenant
    currency: str
    partnership: Partnership | None
    quote: Quote | None  # the terms (who pays, which price) and the renewal prices
    lines: list[EffectLine]
    today: datetime.date
    problem: str = ""  # why the figures cannot be worked out (no grant, no price)
    payer: str = field(default=Payer.CUSTOMER)

    @property
    def reduces(self) -> bool:
        return any(line.change == Change.DECREASE for line in self.lines)

    @property
    def amount_now(self) -> Decimal:
        return sum((line.amount_now for line in self.lines), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        """What accepting settles now: charged minus credited (the preview's
        `expected_total`)."""
        return self.amount_now - self.credit

    @property
    def renewal_amount(self) -> Decimal:
        return sum((line.renewal_amount for line in self.lines), ZERO)


def _prorated(new: Waterfall, old: Waterfall, subscription: Subscription, today: datetime.date):
    """value(new) - value(old) for the rest of the subscription's period, per
    amount of the waterfall (billing.proration; the rule of the raise)."""
    period = period_bounds(subscription.starts_on, subscription.billing_period, today)

    def rest(price: Waterfall, name: str) -> Decimal:
        return state_value(state=(1, getattr(price, name)), period=period, on=today)

    return Waterfall(
        quantity=new.quantity - old.quantity,
        unit_price=new.unit_price,
        tier_rate=new.tier_rate,
        discount_rate=new.discount_rate,
        **{name: rest(new, name) - rest(old, name) for name in WATERFALL_AMOUNTS},
    )


def _steps_down(subscriptions: Sequence[Subscription], remove: int) -> tuple[Step, ...]:
    """Seats taken from the newest subscription first; one whose seats all go ends."""
    steps = []
    for subscription in subscriptions:  # newest first
        if remove <= 0:
            break
        taken = min(remove, subscription.quantity)
        steps.append(Step(subscription, subscription.quantity, subscription.quantity - taken))
        remove -= taken
    return tuple(steps)


def _covers(partnership: Partnership, products: Sequence[Product]) -> bool:
    if partnership.access == Access.FULL:
        return True
    granted = {p.pk for p in partnership.products.all()}
    return all(p.pk in granted for p in products)


def effect_build(
    *,
    customer: Tenant,
    items: Sequence[ItemLike],
    partnership: Partnership | None,
    subscriptions: Sequence[Subscription],
    today: datetime.date,
    lock: bool = False,
) -> Effect:
    """The effect of `items` on `customer`, given its live subscriptions of those
    products (newest first) and the partnership the order would be settled
    under (the products' prices and tiers prefetched). No query, except for a
    decrease: its credit is what billing's credit order would give back
    (`billing.services.credits.credit_quote`: the unused paid days at the price
    paid, to whoever paid them), read as the commit reads it (with `lock`,
    under the locks of the cashback it takes back)."""
    by_product: dict[uuid.UUID, list[Subscription]] = {}
    for subscription in subscriptions:
        by_product.setdefault(subscription.product_id, []).append(subscription)
    if partnership is None:
        return Effect(customer, customer.currency, None, None, _plain(items, by_product), today)
    wanted = []
    for item in items:
        current = sum(s.quantity for s in by_product.get(item.product.pk, []))
        new = (
            item.quantity if item.license_mode == LicenseMode.ABSOLUTE else current + item.quantity
        )
        wanted.append((item, current, new))
    try:
        renewal = quote_build(
            customer=customer,
            lines=[LineRequest(item.product, new) for item, _c, new in wanted],
            ordered_by=Side.PARTNER,
            partnership=partnership,
        )
    except ValidationError as exc:  # a product without a price in the customer's currency
        messages = exc.messages
        return Effect(
            customer,
            customer.currency,
            partnership,
            None,
            _plain(items, by_product),
            today,
            problem=" ".join(messages),
        )
    terms = renewal.terms
    lines = []
    for (item, current, new), priced in zip(wanted, renewal.lines, strict=True):
        live = by_product.get(item.product.pk, [])
        full = priced.price
        amount_now = credit = ZERO
        steps: tuple[Step, ...] = ()
        price_now = None
        if current == 0:
            change = Change.NEW
            price_now = full
            amount_now = priced.charged
        elif new > current:
            change = Change.INCREASE
            newest = live[0]
            target = newest.quantity + new - current
            price_now = _prorated(_at(full, target), _at(full, newest.quantity), newest, today)
            amount_now = terms.charged(price_now)
            steps = (Step(newest, newest.quantity, target),)
        elif new < current:
            change = Change.DECREASE
            steps = _steps_down(live, current - new)
            for step in steps:
                credited = credit_quote(
                    subscription=step.subscription,
                    before=step.before,
                    after=step.after,
                    on=today,
                    ordered_by=Side.PARTNER,
                    partnership=partnership,
                    lock=lock,
                )
                credit += credited.quote.credit
        else:
            change = Change.NONE
            steps = (Step(live[0], live[0].quantity, live[0].quantity),)
        lines.append(
            EffectLine(
                product=item.product,
                current_quantity=current,
                new_quantity=new,
                change=change,
                unit_price=full.public_unit_price,
                amount_now=amount_now,
                credit=credit,
                renewal_amount=priced.charged,
                term_months=item.term_months,
                steps=steps,
                price_now=price_now,
            )
        )
    return Effect(
        customer, customer.currency, partnership, renewal, lines, today, payer=terms.payer
    )


def _at(price: Waterfall, quantity: int) -> Waterfall:
    """The same unit price, tier and discount for another quantity."""
    return waterfall(
        unit_price=price.unit_price,
        quantity=quantity,
        tier_rate=price.tier_rate,
        discount_rate=price.discount_rate,
    )


def _plain(items: Sequence[ItemLike], by_product: dict) -> list[EffectLine]:
    """Quantities only (no partnership to price under): amounts are zero."""
    lines = []
    for item in items:
        live = by_product.get(item.product.pk, [])
        current = sum(s.quantity for s in live)
        new = (
            item.quantity if item.license_mode == LicenseMode.ABSOLUTE else current + item.quantity
        )
        if current == 0:
            change = Change.NEW
        else:
            change = (
                Change.INCREASE
                if new > current
                else Change.DECREASE
                if new < current
                else Change.NONE
            )
        steps = _steps_down(live, current - new) if change == Change.DECREASE else ()
        lines.append(
            EffectLine(
                product=item.product,
                current_quantity=current,
                new_quantity=new,
                change=change,
                unit_price=ZERO,
                amount_now=ZERO,
                credit=ZERO,
                renewal_amount=ZERO,
                term_months=item.term_months,
                steps=steps,
            )
        )
    return lines


def _catalog(product_ids) -> dict[uuid.UUID, Product]:
    return Product.objects.prefetch_related("prices", "tiers").in_bulk(list(product_ids))


def _items(items, products: dict[uuid.UUID, Product]) -> list[ItemLike]:
    return [
        ItemLike(products[i.product_id], i.quantity, i.license_mode, i.term_months) for i in items
    ]


def offer_effects(offers: Sequence[Offer], *, today: datetime.date | None = None) -> dict:
    """The effect of each offer (its items prefetched) on its customer now, by
    offer id, in a fixed number of queries however many offers."""
    today = today or timezone.localdate()
    if not offers:
        return {}
    items = {offer.pk: list(offer.items.all()) for offer in offers}
    product_ids = {i.product_id for rows in items.values() for i in rows}
    products = _catalog(product_ids)
    customer_ids = {o.customer_id for o in offers}
    live: dict[uuid.UUID, list[Subscription]] = {}
    for subscription in live_subscriptions(list(customer_ids), list(product_ids), today):
        live.setdefault(subscription.customer_id, []).append(subscription)
    grants: dict[tuple, list[Partnership]] = {}
    for grant in (
        grants_active_now(today=today)
        .filter(partner_id__in={o.partner_id for o in offers}, customer_id__in=customer_ids)
        .select_related("partner")
        .prefetch_related("products")
        .order_by("access", "activated_at", "created_at")
    ):
        grants.setdefault((grant.partner_id, grant.customer_id), []).append(grant)
    effects = {}
    for offer in offers:
        offered = _items(items[offer.pk], products)
        partnership = next(
            (
                g
                for g in grants.get((offer.partner_id, offer.customer_id), [])
                if _covers(g, [i.product for i in offered])
            ),
            None,
        )
        effects[offer.pk] = effect_build(
            customer=offer.customer,
            items=offered,
            partnership=partnership,
            subscriptions=live.get(offer.customer_id, []),
            today=today,
        )
    return effects


def offer_effect(offer: Offer, *, today: datetime.date | None = None) -> Effect:
    return offer_effects([offer], today=today)[offer.pk]


def template_effects(
    *,
    items: Sequence,
    customers: Sequence[Tenant],
    grants: dict[uuid.UUID, Partnership],
    today: datetime.date | None = None,
) -> dict[uuid.UUID, Effect]:
    """The effect a template's items (or an offer's lines before sending) would
    have on each customer, under the caller's grant with it, by customer id."""
    today = today or timezone.localdate()
    products = _catalog({i.product.pk for i in items})
    offered = [
        ItemLike(products[i.product.pk], i.quantity, i.license_mode, i.term_months) for i in items
    ]
    live: dict[uuid.UUID, list[Subscription]] = {}
    for subscription in live_subscriptions([c.pk for c in customers], list(products), today):
        live.setdefault(subscription.customer_id, []).append(subscription)
    return {
        customer.pk: effect_build(
            customer=customer,
            items=offered,
            partnership=grants.get(customer.pk),
            subscriptions=live.get(customer.pk, []),
            today=today,
        )
        for customer in customers
    }
