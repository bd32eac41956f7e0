"""Quotes and orders (SPEC §7): the price waterfall of each line, who pays and
who earns, read from the partnership at the moment of the order; then the
invoice to the payer and the partner's cashback, in the same transaction."""

import copy
import datetime
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import notifications
from billing.models import CashbackEntry, Earning, Invoice, Order, OrderLine, Payer
from billing.pricing import ZERO, Terms, Waterfall, order_terms, tier_rate, waterfall
from billing.proration import Period, last_day_billed, period_end, waterfall_span
from billing.selectors import live_quantities, order_customer_get
from billing.services.invoices import invoice_issue, invoices_issue
from catalog.models import Product
from catalog.selectors import prices_and_tiers_read
from core.events import events_emit, events_gathered
from core.exceptions import Conflict, Errors
from partners.models import Access, Partnership, Side
from partners.selectors import managing_partnership
from partners.services import partner_grant
from subscriptions.models import Subscription, SubscriptionChange
from subscriptions.services import (
    LedgerEntry,
    buyer_check,
    ledger_record_many,
    subscription_build,
    subscriptions_create_ordered,
)
from tenants.models import Tenant, User
from tenants.selectors import OrgContext

MAX_QUANTITY = 100_000
MAX_LINES = 50


@dataclass(frozen=True)
class LineRequest:
    product: Product
    quantity: int
    subscription: Subscription | None = None
    # What the line did to the subscription, when the caller changed one that
    # existed (an accepted offer); else the order opens or renews it.
    change: LedgerEntry | None = None
    # The last day of service of the subscription the line opens (None: renews).
    ends_on: datetime.date | None = None
    # A unit price platform staff set instead of the rules' (billing.services.special_prices).
    special_price: Decimal | None = None


class PriceChanged(Conflict):
    """The amount at commit differs from the preview the payer confirmed (409,
    with the new figures); nothing was written."""

    def __init__(self, quote: "Quote"):
        super().__init__(
            _(
                "The amount changed since the preview: %(currency)s %(total)s now. "
                "Check the new figures and confirm again."
            )
            % {"currency": quote.currency, "total": quote.net}
        )
        self.quote = quote


@dataclass(frozen=True)
class QuoteLine:
    product: Product
    price: Waterfall
    charged: Decimal
    cashback: Decimal
    discount: Decimal
    subscription: Subscription | None = None
    change: LedgerEntry | None = None
    # A credit order's line (amendments.credits): what is credited to the
    # payer, the cashback taken back, and from which credits of the prepaid
    # account, newest first ((entry, amount) pairs adding up to `clawback`).
    credit: Decimal = ZERO
    clawback: Decimal = ZERO
    clawback_from: tuple[tuple[CashbackEntry, Decimal], ...] = ()
    # The last day this line bills when it is not its order's (a raise by an
    # accepted offer up to a last day of service before the period's end).
    until: datetime.date | None = None

    @classmethod
    def under(
        cls,
        terms: Terms,
        product: Product,
        price: Waterfall,
        subscription: Subscription | None = None,
        change: LedgerEntry | None = None,
        until: datetime.date | None = None,
    ) -> "QuoteLine":
        """A line priced at `price`, split by the order's `terms` (charged,
        cashback, discount): the one place a line's amounts are derived."""
        return cls(
            product=product,
            price=price,
            charged=terms.charged(price),
            cashback=terms.cashback(price),
            discount=terms.discount(price),
            subscription=subscription,
            change=change,
            until=until,
        )


@dataclass(frozen=True)
class Quote:
    """What an order would cost now, line by line, and who would pay and earn."""

    customer: Tenant
    currency: str
    ordered_by: str
    partnership: Partnership | None
    terms: Terms
    lines: list[QuoteLine]

    @property
    def partner(self) -> Tenant | None:
        return self.partnership.partner if self.partnership else None

    @property
    def payer_tenant(self) -> Tenant:
        if self.terms.payer == Payer.PARTNER:
            partner = self.partner
            assert partner is not None  # order_terms: a partner pays only under its grant
            return partner
        return self.customer

    def total(self, field: str) -> Decimal:
        return sum((getattr(line.price, field) for line in self.lines), ZERO)

    @property
    def charged(self) -> Decimal:
        return sum((line.charged for line in self.lines), ZERO)

    @property
    def cashback(self) -> Decimal:
        return sum((line.cashback for line in self.lines), ZERO)

    @property
    def discount(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def clawback(self) -> Decimal:
        return sum((line.clawback for line in self.lines), ZERO)

    @property
    def net(self) -> Decimal:
        """Charged minus credited: what `expected_total` confirms (the charged
        total of an order that credits nothing)."""
        return self.charged - self.credit


def _unit_price(product: Product, currency: str) -> Decimal:
    for price in product.prices.all():
        if price.currency == currency:
            return price.amount
    raise ValidationError(
        {
            "lines": _("%(product)s has no public price in %(currency)s.")
            % {"product": product.name, "currency": currency}
        }
    )


def _clean_lines(lines: Sequence[LineRequest]) -> None:
    """Every problem of the lines at once (a form shows them together)."""
    if not lines:
        raise ValidationError({"lines": _("Order at least one product.")})
    errors = Errors()
    if len(lines) > MAX_LINES:
        errors.add("lines", _("At most %(count)s lines per order.") % {"count": MAX_LINES})
    codes = [line.product.code for line in lines]
    if len(set(codes)) != len(codes):
        errors.add("lines", _("Give each product once, with its whole quantity."))
    if any(not 1 <= line.quantity <= MAX_QUANTITY for line in lines):
        errors.add("lines", _("Quantities go from 1 to %(max)s.") % {"max": MAX_QUANTITY})
    for line in lines:
        if not line.product.is_active:
            errors.add(
                "lines", _("%(product)s is no longer sold.") % {"product": line.product.name}
            )
    if any(
        line.subscription is not None and line.subscription.product_id != line.product.pk
        for line in lines
    ):
        errors.add("lines", _("A line bills a subscription of its own product."))
    errors.raise_any()


def ordering_side(
    org: OrgContext | None, customer: Tenant, lines: Sequence[LineRequest], *, lock: bool
) -> tuple[str, Partnership | None]:
    """Who orders, and the one partnership the order is settled under.

    A partner user orders under its own grant, for products it covers (else 400
    naming them). The caller loaded the customer through the permission
    function; the grant is read again here (with `lock`, under its row lock):
    ended or unassigned since, it is the 404 of a customer out of reach. A
    customer orders; each product's managing partnership (or none) must be the
    same for every line, since one order has one earning partner."""
    if org is not None and org.tenant.is_partner:
        partnership = partner_grant(org=org, customer=customer, lock=lock)
        if partnership is None:
            raise Http404(_("No such customer."))
        granted = (
            None
            if partnership.access == Access.FULL
            else set(partnership.products.values_list("pk", flat=True))
        )
        outside = [
            line.product.name
            for line in lines
            if granted is not None and line.product.pk not in granted
        ]
        if outside:
            raise ValidationError(
                {
                    "lines": _(
                        "Your access to %(customer)s does not include %(products)s. "
                        "Ask its owner for full access, or for these products."
                    )
                    % {"customer": customer.name, "products": ", ".join(outside)}
                }
            )
        return Side.PARTNER, partnership
    found = {
        line.product.code: managing_partnership(customer=customer, product=line.product, lock=lock)
        for line in lines
    }
    partners = {p.pk if p else None for p in found.values()}
    if len(partners) > 1:
        nobody = _("no partner")
        names = ", ".join(
            f"{code} ({p.partner.name if p else nobody})" for code, p in found.items()
        )
        raise ValidationError(
            {
                "lines": _(
                    "These products are managed by different partners: %(names)s. "
                    "Place one order per partner."
                )
                % {"names": names}
            }
        )
    return Side.CUSTOMER, next(iter(found.values()))


def quote_build(
    *,
    customer: Tenant,
    lines: Sequence[LineRequest],
    ordered_by: str,
    partnership: Partnership | None,
    elsewhere: Mapping[object, int] | None = None,
) -> Quote:
    """The quote of `lines`; each line's degressive tier is the one its quantity
    plus the customer's `elsewhere` units of the product reach (by product id:
    its other live subscriptions, billing.selectors.live_quantities)."""
    elsewhere = elsewhere or {}
    terms = order_terms(
        access=partnership.access if partnership else None,
        payment=partnership.payment if partnership else None,
        ordered_by=ordered_by,
    )
    discount_rate = partnership.partner.discount_rate if partnership else Decimal("0")
    quoted = []
    unpriced = Errors()  # every product without a price, named at once
    for line in lines:
        if line.special_price is not None:  # staff's: the public unit price, no tier
            unit_price, rate = line.special_price, Decimal("0")
        else:
            with unpriced.collect():
                unit_price = _unit_price(line.product, customer.currency)
            if unpriced:
                continue
            rate = tier_rate(
                line.product.tiers.all(),
                quantity=line.quantity,
                elsewhere=elsewhere.get(line.product.pk, 0),
            )
        price = waterfall(
            unit_price=unit_price,
            quantity=line.quantity,
            tier_rate=rate,
            discount_rate=discount_rate,
        )
        priced = QuoteLine.under(
            terms, line.product, price, subscription=line.subscription, change=line.change
        )
        if line.subscription is None and line.ends_on is not None:  # opens one with a last day
            priced = _first_period(terms, priced, line.ends_on)
        quoted.append(priced)
    unpriced.raise_any()
    return Quote(
        customer=customer,
        currency=customer.currency,
        ordered_by=ordered_by,
        partnership=partnership,
        terms=terms,
        lines=quoted,
    )


def line_to_last_day(
    terms: Terms, line: QuoteLine, *, period: Period, last_day: datetime.date | None
) -> QuoteLine:
    """`line` (priced for the whole of `period`) billing `period` from its first
    day: up to the period's last day, or up to `last_day`, the subscription's
    last day of service, when that comes first, prorated by days
    (`billing.proration.waterfall_span`, the rule of a raise and of a credit)
    with `until` saying so. A new subscription's first period and a renewal's
    period alike: no day after the last day of service is billed."""
    until = last_day_billed(period, last_day)
    if until >= period[1]:
        return line
    price = waterfall_span(line.price, period=period, on=period[0], until=until)
    priced = QuoteLine.under(
        terms, line.product, price, subscription=line.subscription, change=line.change
    )
    return replace(priced, until=until)


def _first_period(terms: Terms, line: QuoteLine, ends_on: datetime.date) -> QuoteLine:
    """A line opening a subscription today with the last day of service
    `ends_on`: its first period, to `ends_on` when that comes first."""
    today = timezone.localdate()
    if ends_on < today:
        raise ValidationError({"ends_on": _("The last day of service cannot be before the start.")})
    period = (today, period_end(today, line.product.billing_period))
    return line_to_last_day(terms, line, period=period, last_day=ends_on)


def quote(*, org: OrgContext, customer_id: object, lines: Sequence[LineRequest]) -> Quote:
    """What the caller would pay, and earn, ordering `lines` for the customer now."""
    return quote_for(
        org=org, customer=order_customer_get(org=org, customer_id=customer_id), lines=lines
    )


def quote_for(*, org: OrgContext, customer: Tenant, lines: Sequence[LineRequest]) -> Quote:
    """`quote` for a customer the caller loaded (order_customer_get)."""
    _clean_lines(lines)
    lines = with_catalog(lines)
    ordered_by, partnership = ordering_side(org, customer, lines, lock=False)
    return quote_build(
        customer=customer,
        lines=lines,
        ordered_by=ordered_by,
        partnership=partnership,
        elsewhere=_elsewhere(customer, lines),
    )


def _elsewhere(customer: Tenant, lines: Sequence[LineRequest]) -> dict[object, int]:
    """The customer's live units of each line's product outside the order's lines,
    for the products whose tier they can move (a line priced by the rules
    whose quantity alone does not reach its product's highest tier); no query
    when there is none (a product without tiers, say). The lines come from
    `with_catalog` (the tiers read in this transaction)."""
    product_ids = {
        line.product.pk
        for line in lines
        if line.special_price is None
        and any(tier.min_quantity > line.quantity for tier in line.product.tiers.all())
    }
    if not product_ids:
        return {}
    return live_quantities(
        customer=customer,
        product_ids=product_ids,
        day=timezone.localdate(),
        exclude=[line.subscription.pk for line in lines if line.subscription is not None],
    )


def order_check(*, org: OrgContext) -> None:
    """Ordering spends money: the buyer flag's rule (subscriptions.services.buyer_check)."""
    buyer_check(org=org)


def _cashback_credit(order: Order) -> CashbackEntry | None:
    """The partner's credit for `order`, unsaved (None when it earns none)."""
    if order.earning == Earning.CASHBACK and order.cashback_amount > 0:
        assert order.partner is not None  # the constraint order_earning_needs_partner
        with translation.override("en"):  # the note is a record: written once, in English
            note = f"{order.get_kind_display()} for {order.customer.name}"
        return CashbackEntry(
            partner=order.partner,
            order=order,
            kind=CashbackEntry.Kind.CREDIT,
            amount=order.cashback_amount,
            currency=order.currency,
            note=note,
        )
    return None


@dataclass(frozen=True)
class OrderRequest:
    """One order to write: its quote, the first day it bills and the subscription
    of each line."""

    quote: Quote
    period_starts_on: datetime.date
    subscriptions: Sequence[Subscription]
    # The last day the lines bill (a raise to a last day of service before the
    # period's end, a credit of the days paid); None: the period's end.
    period_ends_on: datetime.date | None = None
    # False: the lines write no ledger change (a credit split between payers:
    # the first payer's order carries the one change, amendments.credits).
    ledger: bool = True


def _order_row(
    quote: Quote, kind: str, placed_by: User | None, placed_at: datetime.datetime
) -> Order:
    partnership = quote.partnership
    return Order(
        placed_at=placed_at,
        kind=kind,
        customer=quote.customer,
        partner=quote.partner,
        partnership=partnership,
        access=partnership.access if partnership else "",
        payment=partnership.payment if partnership else "",
        discount_rate=quote.partner.discount_rate if quote.partner else Decimal("0"),
        ordered_by=quote.ordered_by,
        placed_by=placed_by,
        payer=quote.terms.payer,
        payer_tenant=quote.payer_tenant,
        price_basis=quote.terms.price_basis,
        earning=quote.terms.earning,
        currency=quote.currency,
        list_amount=quote.total("list_amount"),
        public_amount=quote.total("public_amount"),
        preferential_amount=quote.total("preferential_amount"),
        charged_amount=quote.charged,
        cashback_amount=quote.cashback,
        discount_amount=quote.discount,
        credited_amount=quote.credit,
        clawback_amount=quote.clawback,
    )


def order_record(
    *,
    quote: Quote,
    kind: str,
    placed_by: User | None,
    period_starts_on: datetime.date,
    subscriptions: Sequence[Subscription],
    period_ends_on: datetime.date | None = None,
    unrecorded: Collection[object] = (),
) -> Order:
    """Write the order of `quote` with its lines (one per subscription), the
    subscription ledger's change of each line, its invoice to the payer and the
    partner's cashback; queue the emails. Runs inside the caller's transaction,
    after the caller's checks. A credit order (kind `credit`) writes a credit
    note instead of the invoice and takes its clawback back from the credits its
    lines name. `unrecorded`: the subscriptions the caller inserted without a
    ledger change yet (subscriptions.services.ledger_record_many)."""
    (order,) = orders_record(
        requests=[OrderRequest(quote, period_starts_on, subscriptions, period_ends_on)],
        kind=kind,
        placed_by=placed_by,
        unrecorded=unrecorded,
    )
    return order


def orders_record(
    *,
    requests: Sequence[OrderRequest],
    kind: str,
    placed_by: User | None,
    clawback_notice: bool = True,
    unrecorded: Collection[object] = (),
) -> list[Order]:
    """`order_record` for many orders at once (a batch of renewals, a credit
    split between payers): one bulk insert per table, and the invoice numbers
    drawn last, as one block. Credit orders tell each partner whose cashback
    they take back once for all of them; `clawback_notice` False leaves that to
    a caller placing more of them in one act (notifications.clawbacks_taken)."""
    with events_gathered():  # the outbox: one insert for the orders' events
        placed_at = timezone.now()  # one moment: a credit split between payers is one act
        orders = Order.unscoped.bulk_create(
            [_order_row(request.quote, kind, placed_by, placed_at) for request in requests]
        )
        pairs = [
            (order, request, line, subscription)
            for order, request in zip(orders, requests, strict=True)
            for line, subscription in zip(request.quote.lines, request.subscriptions, strict=True)
        ]
        OrderLine.unscoped.bulk_create(
            [
                OrderLine(
                    order=order,
                    product=line.product,
                    subscription=subscription,
                    quantity=line.price.quantity,
                    unit_price=line.price.unit_price,
                    tier_rate=line.price.tier_rate,
                    list_amount=line.price.list_amount,
                    after_partner_discount=line.price.after_partner_discount,
                    preferential_amount=line.price.preferential_amount,
                    public_amount=line.price.public_amount,
                    charged_amount=line.charged,
                    cashback_amount=line.cashback,
                    discount_amount=line.discount,
                    credited_amount=line.credit,
                    clawback_amount=line.clawback,
                    period_starts_on=request.period_starts_on,
                    period_ends_on=line.until
                    or request.period_ends_on
                    or period_end(
                        request.period_starts_on,
                        line.product.billing_period,
                        anchor=subscription.starts_on,
                    ),
                )
                for order, request, line, subscription in pairs
            ],
            batch_size=1000,
        )
        ledger_rows = [
            (
                subscription,
                _ledger_entry(kind, line, subscription),
                request.period_starts_on,
                order.pk,
            )
            for order, request, line, subscription in pairs
            if request.ledger
        ]
        _renewals_repriced(ledger_rows)
        ledger_record_many(rows=ledger_rows, unrecorded=unrecorded)
        CashbackEntry.unscoped.bulk_create(
            [credit for order in orders if (credit := _cashback_credit(order)) is not None]
            + [
                _cashback_reversal(order, entry, amount)
                for order, _request, line, _subscription in pairs
                for entry, amount in line.clawback_from
            ],
            batch_size=1000,
        )
        # The invoice numbers last: their sequence stays locked from here to the
        # commit, so only the invoice rows and their emails (which print the
        # numbers) are written under it, never the orders' pricing and rows above.
        # A credit order's document is a credit note (its own sequence), when it
        # credits anything.
        billed = [order for order in orders if order.kind != Order.Kind.CREDIT]
        credited = [o for o in orders if o.kind == Order.Kind.CREDIT and o.credited_amount > 0]
        invoices = invoices_issue(orders=billed)
        credit_notes = invoices_issue(orders=credited, kind=Invoice.Kind.CREDIT_NOTE)
        notifications.orders_placed(
            placed=list(zip(billed, invoices, strict=True))
            + list(zip(credited, credit_notes, strict=True)),
            clawback_notice=clawback_notice,
        )
        events_emit(
            "order.placed",
            [{"id": o.pk, "kind": o.kind, "customer": o.customer_id} for o in orders],
        )
    return orders


def _cashback_reversal(order: Order, credit: CashbackEntry, amount: Decimal) -> CashbackEntry:
    """The part `amount` of the cashback `credit` taken back by the credit order `order`."""
    with translation.override("en"):  # the note is a record: written once, in English
        note = f"Clawback of the credit for {order.customer.name}"
    return CashbackEntry(
        partner=credit.partner,
        order=order,
        kind=CashbackEntry.Kind.REVERSAL,
        amount=-amount,
        currency=credit.currency,
        reverses=credit,
        note=note,
    )


def _ledger_entry(kind: str, line: QuoteLine, subscription: Subscription) -> LedgerEntry:
    """A renewal renews at the unit price it was billed at; an order opens the
    subscription it created, unless the caller says what it changed."""
    if line.change is not None:
        return line.change
    if kind == Order.Kind.RENEWAL:
        return LedgerEntry.renewal(subscription, unit_price=line.price.public_unit_price)
    return LedgerEntry.opening(subscription)


def _renewals_repriced(rows: Sequence[tuple[Subscription, LedgerEntry, Any, Any]]) -> None:
    """A renewal billed at another unit price than the subscription had (the tier
    of the customer's total moved, or the list price did) sets that price on the
    subscription, so that its MRR, read from the ledger, is what it is billed."""
    repriced = []
    for subscription, entry, _day, _order in rows:
        if (
            entry.kind == SubscriptionChange.Kind.RENEWAL
            and subscription.unit_price != entry.after[1]
        ):
            subscription.unit_price = entry.after[1]
            repriced.append(subscription)
    if repriced:
        Subscription.unscoped.bulk_update(repriced, ["unit_price"])


def with_catalog(lines: Sequence[LineRequest]) -> list[LineRequest]:
    """The lines with each product's prices and tiers read now, in two queries.
    The product rows are the caller's (it loaded them in this request and
    `_clean_lines` checked them still sold), copied so that the caller's
    objects keep whatever they had prefetched."""
    products: dict = {}
    for line in lines:
        if line.product.pk not in products:
            product = copy.copy(line.product)
            product._prefetched_objects_cache = {}  # type: ignore[attr-defined]
            products[line.product.pk] = product
    prices_and_tiers_read(list(products.values()))
    return [
        LineRequest(
            products[line.product.pk],
            line.quantity,
            line.subscription,
            line.change,
            line.ends_on,
            line.special_price,
        )
        for line in lines
    ]


def order_place(
    *,
    org: OrgContext,
    customer_id: object,
    lines: Sequence[LineRequest],
    expected_total: Decimal | None = None,
) -> Order:
    """Order `lines` for the customer: each line starts a subscription today for
    one billing period (or bills the given subscription), priced and settled now.
    With `expected_total` (the preview's charged total), a different amount at
    commit is a 409 (PriceChanged) and nothing is written."""
    return order_place_for(
        org=org,
        customer=order_customer_get(org=org, customer_id=customer_id),
        lines=lines,
        expected_total=expected_total,
    )


@transaction.atomic
def order_place_for(
    *,
    org: OrgContext,
    customer: Tenant,
    lines: Sequence[LineRequest],
    expected_total: Decimal | None = None,
) -> Order:
    """`order_place` for a customer the caller loaded (order_customer_get); the
    grant it orders under is read again under its lock (ordering_side)."""
    order_check(org=org)
    _clean_lines(lines)
    if any(line.subscription and line.subscription.customer_id != customer.pk for line in lines):
        raise Http404(_("No such subscription."))
    lines = with_catalog(lines)
    ordered_by, partnership = ordering_side(org, customer, lines, lock=True)
    priced = quote_build(
        customer=customer,
        lines=lines,
        ordered_by=ordered_by,
        partnership=partnership,
        elsewhere=_elsewhere(customer, lines),
    )
    if expected_total is not None and priced.charged != expected_total:
        raise PriceChanged(priced)
    today = timezone.localdate()
    subscriptions = [
        line.subscription
        or subscription_build(
            customer=customer,
            product=line.product,
            quantity=line.price.quantity,
            starts_on=today,
            ends_on=request.ends_on,
            unit_price=line.price.public_unit_price,
        )
        for line, request in zip(priced.lines, lines, strict=True)
    ]
    # The grant and its products were read under the grant's lock (ordering_side),
    # each product checked still sold (_clean_lines): the new ones in one insert.
    opened = [
        s for s, line in zip(subscriptions, priced.lines, strict=True) if not line.subscription
    ]
    if opened:
        subscriptions_create_ordered(org=org, customer=customer, rows=opened)
    return order_record(
        quote=priced,
        kind=Order.Kind.ORDER,
        placed_by=org.user,
        period_starts_on=today,
        subscriptions=subscriptions,
        unrecorded=[s.pk for s in opened],
    )


@transaction.atomic
def order_refund(*, actor: User, order_id: uuid.UUID | str, reason: str = "") -> Order:
    """Refund an order (platform staff): a credit note to the same payer and the
    reversal of its cashback, as counter-entries; the order and its invoice stay.
    A second refund is a 409."""
    if not actor.is_staff:
        raise PermissionDenied(_("Only platform staff refund orders."))
    if Order.unscoped.filter(pk=order_id, kind=Order.Kind.CREDIT).exists():
        raise Conflict(_("A credit is not refunded: it already gave the money back."))
    now = timezone.now()
    refunded = Order.unscoped.filter(pk=order_id, status=Order.Status.PLACED).update(
        status=Order.Status.REFUNDED,
        refunded_at=now,
        refunded_by=actor,
        refund_reason=reason,
        updated_at=now,
    )
    if refunded != 1:
        if not Order.unscoped.filter(pk=order_id).exists():
            raise Http404(_("No such order."))
        raise Conflict(_("This order is already refunded."))
    order = Order.unscoped.select_related("customer", "partner", "payer_tenant").get(pk=order_id)
    with translation.override("en"):  # the note is a record: written once, in English
        note = f"Refund of the {order.get_kind_display().lower()} for {order.customer.name}"
    credits = CashbackEntry.unscoped.select_for_update().filter(
        order=order, kind=CashbackEntry.Kind.CREDIT
    )
    for credit in list(credits):
        taken = credit.reversed_by.aggregate(taken=Sum("amount"))["taken"] or ZERO
        remaining = credit.amount + taken  # what credit orders left of it
        if remaining <= 0:
            continue
        CashbackEntry.unscoped.create(
            partner=credit.partner,
            order=order,
            kind=CashbackEntry.Kind.REVERSAL,
            amount=-remaining,
            currency=credit.currency,
            reverses=credit,
            note=note,
        )
    credit_note = invoice_issue(
        order=order, kind=Invoice.Kind.CREDIT_NOTE
    )  # last: see order_record
    notifications.order_refunded(order=order, credit_note=credit_note)
    return order
