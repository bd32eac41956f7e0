"""A live subscription changed mid-period, as an order (SPEC §4, §7 rev. 2).

**Raising the quantity** (`PATCH subscriptions/{id}/ {"quantity"}` above the
current one): the order charges the rest of the current billing period by days
(`billing.proration`), or up to the subscription's last day when that comes
first, at today's prices for the payer, and writes the ledger's `increase`; the
next renewal bills the whole new quantity.

**Lowering it, ending it now, replacing its edition**: a *credit order* (kind
`credit`) gives back the unused paid days, at the price paid, to whoever paid
them (`amendments.credits`): its credit note (own sequence, numbered last
like invoices), the partner's partial clawback, and the ledger's `decrease`,
`cancel`, or `upgrade`/`downgrade`.

The degressive tier of what is priced today is the one the customer's total
quantity of the product reaches, over all its live subscriptions.

The rule, per amount of the price waterfall (list, public, preferential, and so
what is charged, the cashback and the discount): both states are priced at the
degressive tier the *new* total reaches, and the order settles
`value(new quantity) - value(old quantity)` for the rest of the period, each
value rounded once (docs/billing.md, "Periods and proration"). Raising within
one tier is exactly that rule; when the raise reaches a better tier, the units
already there keep what they paid until the renewal reprices them all, so a
raise never lowers what is charged.

Entry points: `subscription_raise(_preview)`, `subscription_lower` and
`subscription_end_now` (people, API and pages: permission, buyer flag, row
lock, preview and `expected_total`), `subscription_lower_confirmed` and
`edition_replaced_credit` (an accepted offer, whose caller checked who may and
holds the locks); `raise_settled` and `edition_replaced_priced`, the rules an
accepted offer's preview and commit share with these (`offers.effects`).
"""

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from amendments.credits import Credited, credit_quote
from billing.models import Order, Payer
from billing.pricing import WATERFALL_AMOUNTS, Waterfall
from billing.proration import Period, period_bounds, span_value
from billing.selectors import live_quantities
from billing.services.orders import (
    MAX_QUANTITY,
    LineRequest,
    OrderRequest,
    PriceChanged,
    Quote,
    QuoteLine,
    order_check,
    order_record,
    ordering_side,
    orders_record,
    quote_build,
    with_catalog,
)
from catalog.models import Product
from core.exceptions import Conflict
from partners.models import Partnership, Side
from partners.selectors import managing_partnership
from subscriptions.models import Subscription, SubscriptionChange
from subscriptions.services import (
    NOTHING,
    LedgerEntry,
    subscription_last_day_set,
    subscription_write_check,
)
from tenants.models import Tenant, User
from tenants.selectors import OrgContext

Kind = SubscriptionChange.Kind


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
    until: datetime.date  # the last day charged: the period's, or the subscription's


def _live(subscription: Subscription, today: datetime.date) -> None:
    if subscription.cancelled_at is not None:
        raise Conflict(_("This subscription is cancelled."))
    if subscription.ends_on is not None and subscription.ends_on < today:
        raise Conflict(_("This subscription has ended; order a new one."))
    if subscription.starts_on > today:
        raise Conflict(_("This subscription has not started yet."))


def _prorated(
    new: Waterfall, old: Waterfall, period: Period, today: datetime.date, until: datetime.date
) -> Waterfall:
    """Each amount of the waterfall: value(new) - value(old) from today to `until`."""

    def rest(price: Waterfall, field: str) -> Decimal:
        return span_value(
            amount_per_period=getattr(price, field), period=period, on=today, until=until
        )

    return Waterfall(
        quantity=new.quantity - old.quantity,
        unit_price=new.unit_price,
        tier_rate=new.tier_rate,
        discount_rate=new.discount_rate,
        **{field: rest(new, field) - rest(old, field) for field in WATERFALL_AMOUNTS},
    )


@dataclass(frozen=True)
class Raised:
    """What a raise settles now: the added units' `price` from `on` to `until`
    (the last day charged) of `period`."""

    price: Waterfall
    period: Period
    on: datetime.date
    until: datetime.date


def raise_settled(
    *,
    subscription: Subscription,
    quantity: int,
    price: Waterfall,
    on: datetime.date,
    last_day: datetime.date | None,
) -> Raised:
    """The one rule of a raise, by hand (`subscription_raise`) or by an accepted
    offer (`offers.effects`): `subscription` going from its quantity to
    `quantity` units on `on`, both states valued at `price`'s unit price, tier
    and discount (the tier the customer's new total reaches), settles, per
    amount of the waterfall, value(new) - value(old) for the days from `on` to
    the last day the added units serve: the end of the current period, or
    `last_day`, the subscription's last day of service once raised, when that
    comes first (`billing.proration.span_value`)."""
    period = period_bounds(subscription.starts_on, subscription.billing_period, on)
    until = min(period[1], last_day or period[1])
    prorated = _prorated(price.at(quantity), price.at(subscription.quantity), period, on, until)
    return Raised(prorated, period, on, until)


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
                "This is less than the subscription has: lower the quantity instead (the "
                "removed units' unused days are credited)."
            )
        raise ValidationError({"quantity": message})
    customer = subscription.customer
    (line,) = with_catalog([LineRequest(subscription.product, quantity, subscription)])
    ordered_by, partnership = ordering_side(org, customer, [line], lock=lock)
    renewal = _renewal(subscription, quantity, ordered_by, partnership, line=line)
    raised = raise_settled(
        subscription=subscription,
        quantity=quantity,
        price=renewal.lines[0].price,
        on=today,
        last_day=subscription.ends_on,
    )
    terms = renewal.terms
    quote = Quote(
        customer=customer,
        currency=renewal.currency,
        ordered_by=ordered_by,
        partnership=partnership,
        terms=terms,
        lines=[QuoteLine.under(terms, line.product, raised.price, subscription=subscription)],
    )
    return Raise(subscription, quantity, raised.period, today, quote, renewal, raised.until)


def _renewal(
    subscription: Subscription,
    quantity: int,
    ordered_by: str,
    partnership: Partnership | None,
    *,
    line: LineRequest | None = None,
) -> Quote:
    """What the next renewal of `quantity` units bills at today's prices: the
    tier of the customer's total quantity of the product (its other live
    subscriptions' units and these)."""
    if line is None:  # else the caller loaded it, with its catalog
        (line,) = with_catalog([LineRequest(subscription.product, quantity, subscription)])
    elsewhere = live_quantities(
        customer=subscription.customer,
        product_ids=[subscription.product_id],
        day=timezone.localdate(),
        exclude=[subscription.pk],
    )
    return quote_build(
        customer=subscription.customer,
        lines=[line],
        ordered_by=ordered_by,
        partnership=partnership,
        elsewhere=elsewhere,
    )


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
    subscription = _locked(subscription)
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
        period_ends_on=priced.until,
    )


def order_line_change_check(
    *,
    org: OrgContext,
    subscription: Subscription,
    customer_id: object,
    product: Product | None,
    quantity: int,
) -> None:
    """A line of `POST orders/` naming `subscription` (loaded through the
    permission function: another organization's is already a 404) changes it
    only for the order's customer (another's: the 404 of a missing one), of
    its own product (400), to another quantity (400), by someone who may write
    the customer's subscriptions (403)."""
    if str(subscription.customer_id) != str(customer_id):
        raise Http404("No such subscription.")
    if product is not None and product.pk != subscription.product_id:
        raise ValidationError({"lines": _("A line bills a subscription of its own product.")})
    subscription_write_check(org=org, customer=subscription.customer)
    if quantity == subscription.quantity:
        raise ValidationError({"lines": _("The subscription already has this quantity.")})


def subscription_end_at_period_end(*, org: OrgContext, subscription: Subscription) -> Subscription:
    """End a live subscription on the last day of its current billing period, the
    days already paid: nothing is billed after it and nothing is credited."""
    today = timezone.localdate()
    _live(subscription, today)
    _first, last = period_bounds(subscription.starts_on, subscription.billing_period, today)
    return subscription_last_day_set(org=org, subscription=subscription, ends_on=last)


# --- credits: lowering, ending now, a replaced edition ---------------------------------


@dataclass(frozen=True)
class Credit:
    """The preview of a credit order: `subscription` going to `quantity` units
    (0: it ends) on `on`; `credited.quote` is the credit order (its line's
    `credit` to the payer, `clawback` from the partner), `renewal` what the next
    renewal bills (None: none follows)."""

    subscription: Subscription
    quantity: int
    credited: Credited
    renewal: Quote | None

    @property
    def quote(self) -> Quote:
        return self.credited.quote

    @property
    def on(self) -> datetime.date:
        return self.credited.on

    @property
    def until(self) -> datetime.date:
        return self.credited.until

    def seen_by(self, *, by_partner: bool) -> Quote:
        """The credit as the side acting reads it, whose `net` its
        `expected_total` confirms: the partner (placing it for the customer,
        as it reads the customer's charged amounts, billing.selectors.
        order_figures) every payer's line; the customer only the lines
        credited to it, never a partner's, which is its preferential price."""
        if by_partner:
            return self.quote
        own = self.credited.shares_of(Payer.CUSTOMER)
        return replace(self.quote, lines=[line for share in own for line in share.quote.lines])


def _locked(subscription: Subscription) -> Subscription:
    return (
        Subscription.unscoped.select_for_update(of=("self",))
        .select_related("customer", "product")
        .get(pk=subscription.pk)
    )


def _lower_checked(subscription: Subscription, quantity: int, today: datetime.date) -> None:
    _live(subscription, today)
    if quantity < 1 or quantity > MAX_QUANTITY:
        message = _("Quantities go from 1 to %(max)s.") % {"max": MAX_QUANTITY}
    elif quantity == subscription.quantity:
        message = _("The subscription already has this quantity.")
    elif quantity > subscription.quantity:
        message = _("This is more than the subscription has: raise the quantity instead.")
    else:
        return
    raise ValidationError({"quantity": message})


def _lower_priced(
    subscription: Subscription,
    quantity: int,
    ordered_by: str,
    partnership: Partnership | None,
    *,
    lock: bool,
) -> Credit:
    today = timezone.localdate()
    _lower_checked(subscription, quantity, today)
    credited = credit_quote(
        subscription=subscription,
        before=subscription.quantity,
        after=quantity,
        on=today,
        ordered_by=ordered_by,
        partnership=partnership,
        lock=lock,
    )
    renewal = _renewal(subscription, quantity, ordered_by, partnership)
    return Credit(subscription, quantity, credited, renewal)


def _side(
    org: OrgContext, subscription: Subscription, *, lock: bool
) -> tuple[str, Partnership | None]:
    """Who acts and under which partnership (a partner user's grant, read again
    with `lock` under its row lock: ended since, the 404 of a customer out of reach)."""
    line = LineRequest(subscription.product, subscription.quantity, subscription)
    return ordering_side(org, subscription.customer, [line], lock=lock)


def _credit_record(
    priced: Credit, entry: LedgerEntry, placed_by: User | None, *, clawback_notice: bool = True
) -> list[Order]:
    """The credit orders of `priced`, one per payer of the units removed (each
    with its credit note), the first (the newest payer's) writing `entry` to
    the ledger, newest payer's first. Each partner whose cashback they take
    back is emailed once for all of them, unless `clawback_notice` is False
    (an accepted offer tells it once for all its reductions)."""
    requests = [
        OrderRequest(
            quote=replace(
                share.quote,
                lines=[replace(line, change=entry) for line in share.quote.lines],
            ),
            period_starts_on=priced.on,
            subscriptions=[priced.subscription],
            period_ends_on=share.until,
            ledger=index == 0,
        )
        for index, share in enumerate(priced.credited.shares)
    ]
    return orders_record(
        requests=requests,
        kind=Order.Kind.CREDIT,
        placed_by=placed_by,
        clawback_notice=clawback_notice,
    )


def _lower_commit(
    subscription: Subscription,
    priced: Credit,
    placed_by: User | None,
    *,
    clawback_notice: bool = True,
) -> list[Order]:
    """The subscription at its new quantity and next renewal's unit price, and
    the credit orders writing the ledger's `decrease`."""
    assert priced.renewal is not None  # a lowering keeps units, so a renewal follows
    before = (subscription.quantity, subscription.unit_price)
    subscription.quantity = priced.quantity
    subscription.unit_price = priced.renewal.lines[0].price.public_unit_price
    subscription.save(update_fields=["quantity", "unit_price", "updated_at"])
    entry = LedgerEntry.change(before, subscription)
    return _credit_record(priced, entry, placed_by, clawback_notice=clawback_notice)


def _may_change(org: OrgContext, subscription: Subscription) -> None:
    subscription_write_check(org=org, customer=subscription.customer)
    order_check(org=org)


def subscription_lower(
    *,
    org: OrgContext,
    subscription: Subscription,
    quantity: int,
    dry_run: bool = False,
    expected_total: Decimal | None = None,
) -> Order | Credit:
    """Lower the quantity now (API and pages): a credit order gives the removed
    units' unused paid days back to whoever paid them, at the price paid (its
    credit note), takes the partner's cashback back in proportion, and writes
    the ledger's `decrease`; the subscription keeps the lower quantity at the
    unit price the next renewal bills. With `dry_run`, the preview (a `Credit`)
    and nothing written; with `expected_total` (the preview's `net` as the
    caller reads it, `Credit.seen_by`: minus the credit, the customer's own
    only), another amount at commit is a 409
    (PriceChanged) with nothing written. The buyer flag is needed (403); the
    caller loaded the subscription through the permission function; the grant
    and the subscription are read again under their locks."""
    _may_change(org, subscription)
    if dry_run:
        ordered_by, partnership = _side(org, subscription, lock=False)
        return _lower_priced(subscription, quantity, ordered_by, partnership, lock=False)
    with transaction.atomic():
        subscription = _locked(subscription)
        ordered_by, partnership = _side(org, subscription, lock=True)
        priced = _lower_priced(subscription, quantity, ordered_by, partnership, lock=True)
        seen = priced.seen_by(by_partner=ordered_by == Side.PARTNER)
        if expected_total is not None and seen.net != expected_total:
            raise PriceChanged(seen)
        return _lower_commit(subscription, priced, org.user)[0]


def subscription_lower_confirmed(
    *,
    subscription: Subscription,
    quantity: int,
    placed_by: User | None,
    partner: Tenant | None = None,
) -> list[Order]:
    """`subscription_lower` inside an accepted offer's transaction: the caller
    checked who may confirm and holds `subscription`'s row lock (loaded with
    select_for_update); `partner` is the offering partner (the credit order is
    placed as by it for the customer), None for a customer's own change. The
    credit goes to whoever paid the days, as in `subscription_lower`: the
    credit orders, one per payer. The caller tells the partners of their
    clawback, once for its whole act (`billing.notifications.clawbacks_taken`). Refusals:
    a quantity not below the current one (ValidationError on `quantity`), a
    subscription that has ended or is cancelled (Conflict)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Lower a subscription inside the caller's transaction.")
    ordered_by = Side.PARTNER if partner is not None else Side.CUSTOMER
    partnership = managing_partnership(
        customer=subscription.customer, product=subscription.product, partner=partner, lock=True
    )
    priced = _lower_priced(subscription, quantity, ordered_by, partnership, lock=True)
    return _lower_commit(subscription, priced, placed_by, clawback_notice=False)


def _end_priced(
    subscription: Subscription, ordered_by: str, partnership: Partnership | None, *, lock: bool
) -> Credit:
    today = timezone.localdate()
    if subscription.cancelled_at is not None:
        raise Conflict(_("This subscription is already cancelled."))
    if subscription.ends_on is not None and subscription.ends_on < today:
        raise Conflict(_("This subscription has ended; its history stays as it was."))
    credited = credit_quote(
        subscription=subscription,
        before=subscription.quantity,
        after=0,
        on=max(today, subscription.starts_on),
        ordered_by=ordered_by,
        partnership=partnership,
        lock=lock,
    )
    return Credit(subscription, 0, credited, None)


def subscription_end_now(
    *,
    org: OrgContext,
    subscription: Subscription,
    dry_run: bool = False,
    expected_total: Decimal | None = None,
) -> Order | Credit:
    """End the subscription now (`DELETE subscriptions/{id}/`): it is cancelled
    from today (today is not used: it is credited, as in docs/billing.md's early
    end), a credit order gives every unused paid day back to whoever paid (its
    credit note), takes the cashback back in proportion, and writes the
    ledger's `cancel`; no renewal follows. `dry_run` and `expected_total` as in
    `subscription_lower`. Cancelled or ended already: 409."""
    subscription_write_check(org=org, customer=subscription.customer, product=subscription.product)
    _may_change(org, subscription)
    if dry_run:
        ordered_by, partnership = _side(org, subscription, lock=False)
        return _end_priced(subscription, ordered_by, partnership, lock=False)
    with transaction.atomic():
        subscription = _locked(subscription)
        subscription_write_check(
            org=org, customer=subscription.customer, product=subscription.product
        )
        ordered_by, partnership = _side(org, subscription, lock=True)
        priced = _end_priced(subscription, ordered_by, partnership, lock=True)
        seen = priced.seen_by(by_partner=ordered_by == Side.PARTNER)
        if expected_total is not None and seen.net != expected_total:
            raise PriceChanged(seen)
        state = (subscription.quantity, subscription.unit_price)
        subscription.cancelled_at = timezone.now()
        subscription.save(update_fields=["cancelled_at", "updated_at"])
        return _credit_record(priced, LedgerEntry(Kind.CANCEL, state, NOTHING), org.user)[0]


def subscription_end_confirmed(
    *, subscription: Subscription, placed_by: User | None, partner: Tenant | None = None
) -> list[Order]:
    """`subscription_end_now` inside an accepted offer's transaction (an offer
    that lowers a product takes every seat of a subscription): the caller
    checked who may confirm and holds `subscription`'s row lock; `partner` is
    the offering partner. Cancelled from today, every unused paid day credited
    to whoever paid it (the credit orders, one per payer), the ledger's
    `cancel`. The caller tells the partners of their clawback, as for
    `subscription_lower_confirmed`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("End a subscription inside the caller's transaction.")
    ordered_by = Side.PARTNER if partner is not None else Side.CUSTOMER
    partnership = managing_partnership(
        customer=subscription.customer, product=subscription.product, partner=partner, lock=True
    )
    priced = _end_priced(subscription, ordered_by, partnership, lock=True)
    state = (subscription.quantity, subscription.unit_price)
    subscription.cancelled_at = timezone.now()
    subscription.save(update_fields=["cancelled_at", "updated_at"])
    entry = LedgerEntry(Kind.CANCEL, state, NOTHING)
    return _credit_record(priced, entry, placed_by, clawback_notice=False)


def edition_replaced_credit(
    *,
    subscription: Subscription,
    kind: str,
    effective_on: datetime.date,
    placed_by: User | None,
    partner: Tenant | None = None,
) -> list[Order]:
    """The credit orders of an edition replaced by another (an accepted offer's
    upgrade or downgrade): the replaced subscription no longer serves from
    `effective_on` (the caller already set its last day to the day before), so
    its paid days from `effective_on` are credited to whoever paid them, at the
    price paid, with the partner's clawback in proportion. It writes the
    ledger's `kind` (`upgrade` or `downgrade`: state -> nothing) with this
    order, so the caller records no ledger row of its own for `subscription`.
    A day nobody paid for credits 0.00 (the order still carries the ledger row;
    no credit note). Runs in the caller's transaction, which checked who may
    and holds the subscription's lock; `partner` is the offering partner. One
    credit order per payer, the ledger's on the first; the caller tells the
    partners of their clawback, as for `subscription_lower_confirmed`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Credit a replaced edition inside the caller's transaction.")
    if kind not in (Kind.UPGRADE, Kind.DOWNGRADE):
        raise ValueError(f"A replaced edition is an upgrade or a downgrade, not {kind!r}.")
    ordered_by = Side.PARTNER if partner is not None else Side.CUSTOMER
    partnership = managing_partnership(
        customer=subscription.customer, product=subscription.product, partner=partner, lock=True
    )
    priced = edition_replaced_priced(
        subscription=subscription,
        effective_on=effective_on,
        ordered_by=ordered_by,
        partnership=partnership,
        lock=True,
    )
    state = (subscription.quantity, subscription.unit_price)
    entry = LedgerEntry(kind, state, NOTHING)
    return _credit_record(priced, entry, placed_by, clawback_notice=False)


def edition_replaced_last_day(subscription: Subscription, today: datetime.date) -> datetime.date:
    """The last day an edition replaced today serves: yesterday, or today when
    it only began today (a subscription serves at least its first day)."""
    return max(subscription.starts_on, today - datetime.timedelta(days=1))


def edition_replaced_priced(
    *,
    subscription: Subscription,
    effective_on: datetime.date,
    ordered_by: str,
    partnership: Partnership | None,
    lock: bool,
) -> Credit:
    """What replacing `subscription`'s edition credits: its paid days from
    `effective_on` (the day it no longer serves), at the price paid, to whoever
    paid them (`credit_quote`). The one computation behind an accepted offer's
    preview (`offers.effects`) and its commit (`edition_replaced_credit`); the
    amount depends only on the orders that paid those days."""
    credited = credit_quote(
        subscription=subscription,
        before=subscription.quantity,
        after=0,
        on=max(effective_on, subscription.starts_on),
        ordered_by=ordered_by,
        partnership=partnership,
        lock=lock,
    )
    return Credit(subscription, 0, credited, None)
