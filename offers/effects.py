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
  customer (SPEC §7): a new product is ordered for its first period, up to the
  last day the offer's term gives it when that comes first (by days); an
  increase raises the newest subscription by the one raise rule of
  `amendments.services.raise_settled` (both states at the degressive tier the
  new total reaches, the added units charged by days from today to the last
  day they serve: the period's end, or the last day the offer's term gives the
  subscription when that comes first); a decrease takes seats from the newest
  subscription first (ending a subscription whose seats all go) and credits
  what billing's credit order gives back (the unused paid days at the price
  paid, to whoever paid them). `renewal_amount` is the whole new quantity for
  one period at the tier it reaches; `unit_price` the public price of one unit
  at that tier, which every subscription the offer changes takes.
- **whose figures**: what is charged now and at renewal goes to the payer of
  the offer's terms; a credit goes to whoever paid the days it gives back (the
  customer, or a partner that paid them at its preferential price), so a line
  keeps both. Each side reads only its own (`*_of(payer)`): the customer what
  it is charged and credited, the partner what it is and its cashback; never
  the other's (the customer would read its partner's preferential price).
- **an edition replaced** (an item that `replaces` another edition of the
  family): every live subscription of the replaced edition ends, and its
  unused paid days are credited (`amendments.services.edition_replaced_priced`,
  the computation the commit records): that credit is on the new edition's
  line, so the preview's total is what accepting books.

Nothing here writes.
"""

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amendments.credits import Credited, credit_quote
from amendments.services import (
    edition_replaced_last_day,
    edition_replaced_priced,
    raise_settled,
)
from billing.models import Payer
from billing.pricing import ZERO, Waterfall
from billing.proration import period_end
from billing.services.orders import LineRequest, Quote, line_to_last_day, quote_build
from catalog.models import Product
from offers.models import LicenseMode, Offer
from offers.selectors import live_subscriptions
from partners.models import Access, Partnership, Side
from partners.selectors import grants_active_now
from subscriptions.models import Subscription
from tenants.models import Tenant


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
    replaces: Product | None = None  # the edition it replaces, ended on accept


def term_end(today: datetime.date, months: int) -> datetime.date:
    """The last day of service an accepted offer's term of `months` gives."""
    return today + relativedelta(months=months) - datetime.timedelta(days=1)


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
    # The last day a new product or an increase charges (None: the period's).
    until: datetime.date | None = None
    # The subscriptions of the edition this one replaces: each ends, its
    # unused paid days are part of `credit`.
    replaced: tuple[Step, ...] = ()
    # What the partner's prepaid account gets: the cashback of what is charged
    # now, less what the credits take back (negative: taken back).
    cashback: Decimal = ZERO
    # Who pays what is charged now and at renewal (the offer's terms).
    payer: str = Payer.CUSTOMER
    # The part of `credit` credited to the customer (the rest is the partner's:
    # days it paid, at its preferential price).
    customer_credit: Decimal = ZERO

    # Each side reads only its own figures (`payer`: Payer.CUSTOMER or
    # Payer.PARTNER): what it is charged and credited, 0.00 when nothing.

    def amount_now_of(self, payer: str) -> Decimal:
        return self.amount_now if payer == self.payer else ZERO

    def credit_of(self, payer: str) -> Decimal:
        if payer == Payer.CUSTOMER:
            return self.customer_credit
        return self.credit - self.customer_credit

    def renewal_of(self, payer: str) -> Decimal:
        return self.renewal_amount if payer == self.payer else ZERO

    @property
    def text(self) -> str:
        """In plain words: "Web Hosting: 35 → 36 licences"."""
        text = ngettext(
            "%(product)s: %(current)s → %(new)s licence",
            "%(product)s: %(current)s → %(new)s licences",
            self.new_quantity,
        ) % {
            "product": self.product.name,
            "current": self.current_quantity,
            "new": self.new_quantity,
        }
        if not self.replaced:
            return text
        return _("%(change)s, replacing %(edition)s") % {
            "change": text,
            "edition": self.replaced[0].subscription.product.name,
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
        """What accepting settles now, every payer together: charged minus
        credited. No side reads it: each reads its own (`total_of`)."""
        return self.amount_now - self.credit

    @property
    def renewal_amount(self) -> Decimal:
        return sum((line.renewal_amount for line in self.lines), ZERO)

    @property
    def cashback(self) -> Decimal:
        return sum((line.cashback for line in self.lines), ZERO)

    # Each side's own figures (EffectLine): the customer never reads what its
    # partner pays or is credited, nor the partner the customer's.

    def amount_now_of(self, payer: str) -> Decimal:
        return sum((line.amount_now_of(payer) for line in self.lines), ZERO)

    def credit_of(self, payer: str) -> Decimal:
        return sum((line.credit_of(payer) for line in self.lines), ZERO)

    def total_of(self, payer: str) -> Decimal:
        """What accepting settles now for `payer`: what it is charged minus what
        it is credited. The customer's is what its `expected_total` confirms."""
        return self.amount_now_of(payer) - self.credit_of(payer)

    def renewal_of(self, payer: str) -> Decimal:
        return sum((line.renewal_of(payer) for line in self.lines), ZERO)


@dataclass(frozen=True)
class SeenLine:
    """An effect's line as one side reads it (the pages): its own figures only."""

    line: EffectLine
    amount_now: Decimal  # charged to this side now
    credit: Decimal  # credited to this side now
    renewal_amount: Decimal  # what this side pays per period after

    @property
    def product(self) -> Product:
        return self.line.product

    @property
    def text(self) -> str:
        return self.line.text

    @property
    def change(self) -> str:
        return self.line.change

    @property
    def unit_price(self) -> Decimal:
        return self.line.unit_price


@dataclass(frozen=True)
class SeenEffect:
    """An effect as one side (`side`, a `Payer`) reads it, for the pages: the
    same figures as the API's (`offers.serializers.effect_lines`)."""

    effect: Effect
    side: str
    lines: list[SeenLine]

    @property
    def currency(self) -> str:
        return self.effect.currency

    @property
    def payer(self) -> str:
        return self.effect.payer

    @property
    def quote(self) -> Quote | None:
        return self.effect.quote

    @property
    def problem(self) -> str:
        return self.effect.problem

    @property
    def reduces(self) -> bool:
        return self.effect.reduces

    @property
    def amount_now(self) -> Decimal:
        return self.effect.amount_now_of(self.side)

    @property
    def credit(self) -> Decimal:
        return self.effect.credit_of(self.side)

    @property
    def total(self) -> Decimal:
        """What this side settles now; the customer's is what its accept confirms."""
        return self.effect.total_of(self.side)

    @property
    def renewal_amount(self) -> Decimal:
        return self.effect.renewal_of(self.side)

    @property
    def cashback(self) -> Decimal | None:
        return self.effect.cashback if self.side == Payer.PARTNER else None


def effect_seen_by(effect: Effect, side: str) -> SeenEffect:
    return SeenEffect(
        effect,
        side,
        [
            SeenLine(line, line.amount_now_of(side), line.credit_of(side), line.renewal_of(side))
            for line in effect.lines
        ],
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


def _replaced(item: ItemLike, by_product: dict) -> tuple[Step, ...]:
    """Every live subscription of the edition `item` replaces: each ends."""
    if item.replaces is None:
        return ()
    return tuple(Step(s, s.quantity, 0) for s in by_product.get(item.replaces.pk, []))


@dataclass(frozen=True)
class Credits:
    """What credit orders give back: in all, to the customer alone, and the
    cashback they take back."""

    credit: Decimal = ZERO
    customer_credit: Decimal = ZERO
    clawback: Decimal = ZERO

    def add(self, credited: Credited) -> "Credits":
        quote = credited.quote
        return Credits(
            self.credit + quote.credit,
            self.customer_credit + credited.credit_of(Payer.CUSTOMER),
            self.clawback + quote.clawback,
        )


def _replaced_credit(
    steps: Sequence[Step], partnership: Partnership, today: datetime.date, *, lock: bool
) -> Credits:
    """What ending the replaced edition's subscriptions gives back, as the
    commit's credit orders will (edition_replaced_credit)."""
    credits = Credits()
    for step in steps:
        credits = credits.add(
            edition_replaced_priced(
                subscription=step.subscription,
                effective_on=edition_replaced_last_day(step.subscription, today)
                + datetime.timedelta(days=1),
                ordered_by=Side.PARTNER,
                partnership=partnership,
                lock=lock,
            ).credited
        )
    return credits


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
    products and of the editions they replace (newest first) and the
    partnership the order would be settled under (the products' prices and
    tiers prefetched). No query, except for a decrease or a replaced edition:
    its credit is what billing's credit order would give back
    (`amendments.credits.credit_quote`: the unused paid days at the price
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
        amount_now = cashback = ZERO
        credits = Credits()
        steps: tuple[Step, ...] = ()
        price_now = until = None
        if current == 0:
            change = Change.NEW
            first = line_to_last_day(
                terms,
                priced,
                period=(today, period_end(today, item.product.billing_period)),
                last_day=term_end(today, item.term_months),
            )
            price_now, until = first.price, first.until
            amount_now, cashback = first.charged, first.cashback
        elif new > current:
            change = Change.INCREASE
            newest = live[0]
            target = newest.quantity + new - current
            raised = raise_settled(
                subscription=newest,
                quantity=target,
                price=full,
                on=today,
                last_day=term_end(today, item.term_months),
            )
            price_now, until = raised.price, raised.until
            amount_now, cashback = terms.charged(price_now), terms.cashback(price_now)
            steps = (Step(newest, newest.quantity, target),)
        elif new < current:
            change = Change.DECREASE
            steps = _steps_down(live, current - new)
            for step in steps:
                credits = credits.add(
                    credit_quote(
                        subscription=step.subscription,
                        before=step.before,
                        after=step.after,
                        on=today,
                        ordered_by=Side.PARTNER,
                        partnership=partnership,
                        lock=lock,
                    )
                )
        else:
            change = Change.NONE
            steps = (Step(live[0], live[0].quantity, live[0].quantity),)
        replaced = _replaced(item, by_product)
        replaced_credits = _replaced_credit(replaced, partnership, today, lock=lock)
        credit = credits.credit + replaced_credits.credit
        cashback -= credits.clawback + replaced_credits.clawback
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
                until=until,
                replaced=replaced,
                cashback=cashback,
                payer=terms.payer,
                customer_credit=credits.customer_credit + replaced_credits.customer_credit,
            )
        )
    return Effect(
        customer, customer.currency, partnership, renewal, lines, today, payer=terms.payer
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
                replaced=_replaced(item, by_product),
            )
        )
    return lines


def _catalog(product_ids) -> dict[uuid.UUID, Product]:
    return Product.objects.prefetch_related("prices", "tiers").in_bulk(list(product_ids))


def offered_products(items) -> set[uuid.UUID]:
    """The ids of an offer's products and of the editions they replace."""
    return {i.product_id for i in items} | {i.replaces_id for i in items if i.replaces_id}


def offered_items(items, products: dict[uuid.UUID, Product]) -> list[ItemLike]:
    """An offer's items with their products (and replaced editions) from `products`."""
    return [
        ItemLike(
            products[i.product_id],
            i.quantity,
            i.license_mode,
            i.term_months,
            products[i.replaces_id] if i.replaces_id else None,
        )
        for i in items
    ]


def offer_effects(offers: Sequence[Offer], *, today: datetime.date | None = None) -> dict:
    """The effect of each offer (its items prefetched) on its customer now, by
    offer id, in a fixed number of queries however many offers."""
    today = today or timezone.localdate()
    if not offers:
        return {}
    items = {offer.pk: list(offer.items.all()) for offer in offers}
    product_ids = {pk for rows in items.values() for pk in offered_products(rows)}
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
        offered = offered_items(items[offer.pk], products)
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
    replaced = {i.replaces.pk for i in items if getattr(i, "replaces", None) is not None}
    products = _catalog({i.product.pk for i in items} | replaced)
    offered = [
        ItemLike(
            products[i.product.pk],
            i.quantity,
            i.license_mode,
            i.term_months,
            products[i.replaces.pk] if getattr(i, "replaces", None) is not None else None,
        )
        for i in items
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
