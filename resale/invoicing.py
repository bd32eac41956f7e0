"""The month-end run: a partner's invoice to each customer it bills
(SPEC §7 rev. 2; docs/partner-billing.md, "The month-end run").

Who is billed. Each partnership that is active, with full access, where the
partner pays, when the run looks at it (SPEC §3: a customer the partner no
longer manages is not billed by it). One invoice per partner, customer and
calendar month, issued once whatever the reruns or races (a unique
constraint, and the partnership's row lock while the invoice is written).

What is billed, for the days of the month, in arrears:

- every provider subscription of the customer that the partner paid for (its
  opening order's payer is the partner; a subscription the customer ordered
  and pays for itself is the provider's invoice to the customer, not the
  partner's to bill again), from the subscription ledger: each state
  (quantity q from its change's `effective_on` to the day before the next
  change), within the month and the subscription's days of service, cut at
  its billing periods (billing.proration.period_bounds, anchored at its first
  day) and at the days the partner's resale rule for the product changed;
  each piece is one line:

      unit    = resale.pricing at quantity q, on the piece's first day
      amount  = span_value(q x unit,      period, first day, last day)
      cost    = span_value(q x unit cost, period, first day, last day)
      margin  = amount - cost

  `span_value` is the provider's own proration (value of the rest of the
  period at the first day minus at the day after the last, each rounded
  half-up once), so a whole period is exactly q x unit and pieces telescope;

- the customer's contracts with the partner, by their type, for the month
  (customers.contract_billing.contract_charges: its amounts are rounded there,
  once each); a contract line has no provider cost: its margin is its amount.

The invoice (billing.documents.totals): net = the sum of the lines; VAT = the
rate of the treatment (billing.vat.vat_treatment, from the partner's country
to the customer, on the invoice date) x net, rounded half-up once; total =
net + VAT; due on the invoice date plus the customer's payment terms. Cost
and margin = the sums of the lines'. A month with no line issues nothing.

An issued invoice emits `partner_invoice.issued` (core.events) in its
transaction, once (`_write`, the one place an invoice is written): the
webhook outbox sends it to the partner's endpoints and the billed customer's
(docs/webhooks.md), and the email to the customer's billing contact follows.
"""

import base64
import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone, translation

from billing.documents import DocumentLine, net_of
from billing.models import Payer
from billing.proration import period_bounds, span_value
from billing.services.invoices import bill_to, invoice_figures, next_number
from billing.vat import vat_treatment
from catalog.models import Product
from core.events import event_emit
from customers.contract_billing import contract_charges
from partners.models import Access, Partnership, Payment
from resale import notifications
from resale.models import PartnerInvoice, PartnerInvoiceLine
from resale.pricing import NoPublicPrice, PriceBook
from subscriptions.models import Subscription, SubscriptionChange
from tenants.emails import recipient_language
from tenants.models import Membership, Role

ZERO = Decimal("0.00")
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class LineDraft:
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    period_start: datetime.date
    period_end: datetime.date
    unit_cost: Decimal = ZERO
    cost: Decimal = ZERO
    product: Product | None = None
    subscription: Subscription | None = None
    charge_kind: str = ""

    @property
    def margin(self) -> Decimal:
        return self.amount - self.cost


@dataclass
class InvoiceDraft:
    partnership: Partnership
    month: datetime.date
    currency: str
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def cost(self) -> Decimal:
        return sum((line.cost for line in self.lines), ZERO)

    @property
    def margin(self) -> Decimal:
        return sum((line.margin for line in self.lines), ZERO)


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = month.replace(day=1)
    return first, first + relativedelta(months=1) - ONE_DAY


def month_to_bill(today: datetime.date) -> datetime.date:
    """The month a run on `today` bills: the one that ended before it."""
    return today.replace(day=1) - relativedelta(months=1)


def billed_partnerships() -> QuerySet[Partnership]:
    """The grants under which a partner bills its customer now (module docstring)."""
    today = timezone.localdate()
    return (
        Partnership.unscoped.filter(
            status=Partnership.Status.ACTIVE,
            access=Access.FULL,
            payment=Payment.PARTNER,
            partner__status="active",
        )
        .exclude(ends_on__lt=today)
        .order_by("partner_id", "customer_id")
    )


# --- the lines ------------------------------------------------------------------------------


def _states(
    changes: list[SubscriptionChange],
) -> list[tuple[datetime.date, datetime.date | None, int]]:
    """(first day, last day or None, quantity) of each state of one ledger."""
    states = []
    for index, change in enumerate(changes):
        following = changes[index + 1].effective_on if index + 1 < len(changes) else None
        last = following - ONE_DAY if following is not None else None
        if last is not None and last < change.effective_on:
            continue  # replaced the same day
        states.append((change.effective_on, last, change.quantity_after))
    return states


def _cuts(first: datetime.date, last: datetime.date, days: Iterable[datetime.date]) -> list:
    """[first, last] cut before each of `days` inside it: the pieces, in order."""
    starts = sorted({first, *(d for d in days if first < d <= last)})
    return [
        (start, (starts[i + 1] - ONE_DAY) if i + 1 < len(starts) else last)
        for i, start in enumerate(starts)
    ]


def subscription_lines(
    *,
    subscription: Subscription,
    changes: list[SubscriptionChange],
    book: PriceBook,
    month_start: datetime.date,
    month_end: datetime.date,
) -> list[LineDraft]:
    """The lines of one subscription for the month (module docstring)."""
    product = subscription.product
    anchor = subscription.starts_on
    service_end = subscription.ends_on or month_end
    rule_days = [rule.valid_from for rule in book.rules.get(product.pk, ())]
    lines = []
    for since, until, quantity in _states(changes):
        first = max(since, month_start, anchor)
        last = min(until or month_end, month_end, service_end)
        if quantity <= 0 or first > last:
            continue
        day = first
        while day <= last:
            period = period_bounds(anchor, subscription.billing_period, day)
            piece_end = min(last, period[1])
            for start, end in _cuts(day, piece_end, rule_days):
                price = book.price(product, quantity, start)
                q = Decimal(quantity)
                lines.append(
                    LineDraft(
                        kind=PartnerInvoiceLine.Kind.PRODUCT,
                        description=product.name,
                        quantity=q,
                        unit_price=price.unit_price,
                        amount=span_value(
                            amount_per_period=q * price.unit_price,
                            period=period,
                            on=start,
                            until=end,
                        ),
                        unit_cost=price.cost,
                        cost=span_value(
                            amount_per_period=q * price.cost, period=period, on=start, until=end
                        ),
                        period_start=start,
                        period_end=end,
                        product=product,
                        subscription=subscription,
                    )
                )
            day = piece_end + ONE_DAY
    return lines


def _partner_paid(changes: list[SubscriptionChange], partner_id: object) -> bool:
    """The subscription's opening order was paid by the partner (or it predates
    orders: the ledger's opening row without one)."""
    opening = changes[0].order if changes else None
    if opening is None:
        return bool(changes)
    return opening.payer == Payer.PARTNER and opening.payer_tenant_id == partner_id


def product_lines(
    *,
    partnership: Partnership,
    book: PriceBook,
    month_start: datetime.date,
    month_end: datetime.date,
) -> list[LineDraft]:
    """Every product line of the month, in three queries whatever the count of
    subscriptions (the ledger with its orders and products, their prices, tiers)."""
    ledger: dict[object, list[SubscriptionChange]] = defaultdict(list)
    changes = (
        SubscriptionChange.unscoped.filter(
            subscription__customer_id=partnership.customer_id, effective_on__lte=month_end
        )
        .select_related("order", "subscription__product")
        .order_by("subscription__starts_on", "subscription_id", "effective_on", "created_at", "id")
    )
    subscriptions: dict[object, Subscription] = {}
    for change in changes:
        ledger[change.subscription_id].append(change)
        subscriptions[change.subscription_id] = change.subscription
    products = {s.product_id: s.product for s in subscriptions.values()}
    prefetch_related_objects(list(products.values()), "prices", "tiers")
    lines: list[LineDraft] = []
    for subscription_id, rows in ledger.items():
        subscription = subscriptions[subscription_id]
        subscription.product = products[subscription.product_id]
        if subscription.currency != book.currency:
            continue
        if not _partner_paid(rows, partnership.partner_id):
            continue
        try:
            lines += subscription_lines(
                subscription=subscription,
                changes=rows,
                book=book,
                month_start=month_start,
                month_end=month_end,
            )
        except NoPublicPrice:
            continue  # a product no longer priced in this currency bills nothing
    return lines


def invoice_draft(*, partnership: Partnership, month: datetime.date) -> InvoiceDraft:
    """What the partner's invoice to the customer for `month` holds (nothing written)."""
    month_start, month_end = month_bounds(month)
    currency = partnership.customer.currency
    book = PriceBook(partner=partnership.partner, currency=currency)
    draft = InvoiceDraft(partnership=partnership, month=month_start, currency=currency)
    draft.lines += product_lines(
        partnership=partnership, book=book, month_start=month_start, month_end=month_end
    )
    # The contracts' descriptions in the customer's language (its first owner's).
    owner = (
        Membership.unscoped.filter(tenant_id=partnership.customer_id, role=Role.OWNER)
        .select_related("user")
        .order_by("created_at", "pk")
        .first()
    )
    with translation.override(recipient_language(owner.user if owner else None)):
        charges = contract_charges(
            partnership.customer, partnership.partner, month_start, month_end
        )
    draft.lines += [
        LineDraft(
            kind=PartnerInvoiceLine.Kind.CONTRACT,
            description=charge.description,
            quantity=charge.quantity,
            unit_price=charge.unit_price,
            amount=charge.amount,
            period_start=charge.period_start,
            period_end=charge.period_end,
            charge_kind=charge.kind,
        )
        for charge in charges
    ]
    return draft


# --- issuing ------------------------------------------------------------------------------


def sequence_key(partner_id: object, year: int) -> str:
    """The partner's own gap-free sequence of a year (billing.InvoiceSequence,
    its 32 characters): the year and the partner's id in base 32."""
    raw = uuid.UUID(str(partner_id)).bytes
    return f"R{year}" + base64.b32encode(raw).decode().rstrip("=")


def partner_invoice_issue(
    *, partnership_id: uuid.UUID | str, month: datetime.date
) -> PartnerInvoice | None:
    """Issue the partner's invoice to the customer for `month` once: None when
    it exists already (a rerun, a racing worker), when the grant no longer
    bills, or when the month has nothing to bill."""
    month = month.replace(day=1)
    try:
        with transaction.atomic():
            partnership = (
                billed_partnerships()
                .select_for_update(of=("self",))
                .select_related("partner", "customer")
                .filter(pk=partnership_id)
                .first()
            )
            if partnership is None:
                return None
            if PartnerInvoice.unscoped.filter(
                partner_id=partnership.partner_id, customer_id=partnership.customer_id, month=month
            ).exists():
                return None
            draft = invoice_draft(partnership=partnership, month=month)
            if not draft.lines:
                return None
            return _write(draft)
    except IntegrityError:
        # A racing run wrote it between our check and our insert: its number
        # was given back with our rollback.
        if PartnerInvoice.unscoped.filter(partnership_id=partnership_id, month=month).exists():
            return None
        raise


def document_lines(lines: Iterable[LineDraft | PartnerInvoiceLine]) -> list[DocumentLine]:
    """The lines (drafted, or stored) as billing.documents prints and totals them."""
    return [
        DocumentLine(
            description=line.description,
            period_start=line.period_start,
            period_end=line.period_end,
            quantity=line.quantity,
            unit_price=line.unit_price,
            net=line.amount,
        )
        for line in lines
    ]


def _write(draft: InvoiceDraft) -> PartnerInvoice:
    partnership = draft.partnership
    partner, customer = partnership.partner, partnership.customer
    issued_at = timezone.now()
    month_start, month_end = month_bounds(draft.month)
    key = sequence_key(partner.pk, timezone.localdate(issued_at).year)
    # Drawn last: the sequence row stays locked from here to the commit only.
    sequence_id, number = next_number(key)
    issued_on = timezone.localdate(issued_at)
    figures = invoice_figures(
        net=net_of(document_lines(draft.lines)),
        treatment=vat_treatment(partner.country, customer, issued_on),
        bill_to=customer,
        issued_on=issued_on,
    )
    invoice = PartnerInvoice.unscoped.create(
        partner=partner,
        customer=customer,
        partnership=partnership,
        month=draft.month,
        period_start=month_start,
        period_end=month_end,
        sequence_id=sequence_id,
        sequence_number=number,
        number=f"{timezone.localdate(issued_at).year}-{number:05d}",
        issuer=bill_to(partner),
        bill_to=bill_to(customer),
        currency=draft.currency,
        **figures.fields(),
        cost=draft.cost,
        margin=draft.margin,
        issued_at=issued_at,
        issued_on=issued_on,
    )
    PartnerInvoiceLine.unscoped.bulk_create(
        [
            PartnerInvoiceLine(
                invoice=invoice,
                position=position,
                kind=line.kind,
                charge_kind=line.charge_kind,
                product=line.product,
                subscription=line.subscription,
                description=line.description[:300],
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                unit_cost=line.unit_cost,
                cost=line.cost,
                margin=line.margin,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for position, line in enumerate(draft.lines, start=1)
        ]
    )
    event_emit("partner_invoice.issued", _issued(invoice))
    notifications.partner_invoice_issued(invoice=invoice)
    return invoice


def _issued(invoice: PartnerInvoice) -> dict[str, object]:
    """The payload of `partner_invoice.issued` (core.events): the ids, never an
    amount (a subscriber reads the invoice; webhooks send its `GET`)."""
    return {
        "id": invoice.pk,
        "partner": invoice.partner_id,
        "customer": invoice.customer_id,
        "partnership": invoice.partnership_id,
    }


def partner_invoices_due(*, today: datetime.date) -> list[tuple[str, str]]:
    """(partnership id, month) of each invoice the run on `today` should issue
    and has not yet: the grants that bill, less those invoiced for the month."""
    month = month_to_bill(today)
    done = set(PartnerInvoice.unscoped.filter(month=month).values_list("partner_id", "customer_id"))
    return [
        (str(pk), month.isoformat())
        for pk, partner_id, customer_id in billed_partnerships().values_list(
            "pk", "partner_id", "customer_id"
        )
        if (partner_id, customer_id) not in done
    ]
