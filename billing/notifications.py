"""The emails of billing, queued in the outbox inside the order's transaction
and keyed by invoice or order and recipient, so each leaves once. An order's
emails (the invoice, the partner's cashback) are queued as ids and rendered by
the delivery (`tenants.emails.notification_emails_deferred`); a refund's credit
note is rendered when queued."""

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from billing.models import CashbackEntry, Earning, Invoice, Order
from partners.models import Side
from tenants.emails import (
    Notification,
    emails_enqueue,
    notification_emails_deferred,
    notification_renderer,
    notifications_write,
    notify,
)
from tenants.models import OutboundEmail, Tenant
from tenants.selectors import owners_and_admins


def _tell(*, key: str, tenant: Tenant, **message: Any) -> None:
    notify(key=key, users=owners_and_admins(tenant), **message)


class _Batch:
    """The emails of many orders: each organization's owners and admins read
    once, one delivery task for all of them after commit. The emails are
    written unrendered (ids and the recipient's language): the delivery renders
    them (the renderers below), not the order's transaction."""

    def __init__(self) -> None:
        self.recipients: dict[Any, list] = {}
        self.emails: list[OutboundEmail] = []

    def tell(self, *, key: str, tenant: Tenant, renderer: str, params: dict) -> None:
        if tenant.pk not in self.recipients:
            self.recipients[tenant.pk] = owners_and_admins(tenant)
        self.emails += notification_emails_deferred(
            key=key, users=self.recipients[tenant.pk], renderer=renderer, params=params
        )

    def write(self) -> None:
        """Every email in one insert, one delivery task after commit. Their
        keys name invoices and orders of this transaction: none exists yet."""
        if ids := notifications_write(self.emails, new_keys=True):
            emails_enqueue(ids)


def _invoice_url(invoice: Invoice) -> str:
    return reverse("invoice_detail", kwargs={"slug": invoice.payer.slug, "invoice_id": invoice.pk})


def _products(order: Order) -> str:
    lines = order.lines.select_related("product").order_by("pk")
    return ", ".join(f"{line.quantity} x {line.product.name}" for line in lines)


def _amount(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount}"


def order_placed(*, order: Order, invoice: Invoice) -> None:
    """The invoice to the payer; to a partner earning cashback on an order it did
    not place itself, what was ordered and what it earned."""
    orders_placed(placed=[(order, invoice)])


def orders_placed(*, placed: Sequence[tuple[Order, Invoice]], clawback_notice: bool = True) -> None:
    """`order_placed` for many orders (a batch of renewals, a credit split
    between payers). The credit orders among them also tell each partner whose
    cashback they take back, once for all of them (`clawbacks_taken`), unless
    the caller does it for a larger act (`clawback_notice` False: an accepted
    offer's reductions)."""
    batch = _Batch()
    for order, invoice in placed:
        batch.tell(
            key=f"invoice:{invoice.pk}",
            tenant=invoice.payer,
            renderer=INVOICE_EMAIL,
            params={"invoice": str(invoice.pk)},
        )
        if invoice.kind == Invoice.Kind.CREDIT_NOTE:  # a credit order: its credit note
            continue
        if order.earning == Earning.CASHBACK and order.ordered_by == Side.CUSTOMER:
            partner = order.partner
            assert partner is not None  # the constraint order_earning_needs_partner
            batch.tell(
                key=f"order-cashback:{order.pk}",
                tenant=partner,
                renderer=CASHBACK_EMAIL,
                params={"order": str(order.pk)},
            )
    if clawback_notice:
        _tell_clawbacks(batch, [order for order, _invoice in placed])
    batch.write()


def clawbacks_taken(*, orders: Sequence[Order]) -> None:
    """One email to each partner whose cashback the credit orders `orders`
    take back, summarising their credit notes and the amount taken in all:
    `orders` are one act (a lowering credited to several payers, every
    reduction of an accepted offer), so each of the partner's owners and
    admins is told once, not once per credit note."""
    batch = _Batch()
    _tell_clawbacks(batch, orders)
    batch.write()


def _tell_clawbacks(batch: _Batch, orders: Sequence[Order]) -> None:
    taken = [o for o in orders if o.kind == Order.Kind.CREDIT and o.clawback_amount > 0]
    if not taken:
        return
    reversals = CashbackEntry.unscoped.filter(
        order__in=taken, kind=CashbackEntry.Kind.REVERSAL
    ).select_related("partner")  # one query: who was taken back from, by which order
    partners: dict[Any, Tenant] = {}
    pairs = set()
    for reversal in reversals:
        partners[reversal.partner_id] = reversal.partner
        pairs.add((reversal.partner_id, reversal.order_id))
    by_partner: dict[Any, list[str]] = {}
    for order in taken:  # in the act's order: the summary lists its credit notes so
        for partner_id in sorted({p for p, o in pairs if o == order.pk}, key=str):
            by_partner.setdefault(partner_id, []).append(str(order.pk))
    for partner_id, ids in sorted(by_partner.items(), key=lambda item: partners[item[0]].name):
        partner = partners[partner_id]
        batch.tell(
            key=f"order-clawback:{ids[0]}:{partner.pk}",
            tenant=partner,
            renderer=CLAWBACK_EMAIL,
            params={"orders": ids, "partner": str(partner.pk)},
        )


INVOICE_EMAIL = "billing.invoice"
CASHBACK_EMAIL = "billing.order-cashback"
CLAWBACK_EMAIL = "billing.order-clawback"


@notification_renderer(INVOICE_EMAIL)
def _invoice_email(params: dict) -> Notification:
    """The invoice (or a credit order's credit note) to the payer, rendered at delivery from the invoice's rows
    (an invoice and its order are never edited: the text is the one the order
    would have written)."""
    invoice = Invoice.unscoped.select_related("order__customer", "payer").get(pk=params["invoice"])
    order = invoice.order
    if invoice.kind == Invoice.Kind.CREDIT_NOTE:
        return _credit_note_email(order, invoice)
    return Notification(
        subject=format_lazy(
            _("Invoice {number}: {amount}"),
            number=invoice.number,
            amount=_amount(invoice.currency, invoice.total),
        ),
        lines=[
            format_lazy(
                _("{kind} for {customer}: {products}."),
                kind=Order.Kind(order.kind).label,
                customer=order.customer.name,
                products=_products(order),
            ),
            format_lazy(
                _("Amount due: {amount} ({net} excl. VAT, VAT {vat})."),
                amount=_amount(invoice.currency, invoice.total),
                net=_amount(invoice.currency, invoice.net),
                vat=_amount(invoice.currency, invoice.vat_amount),
            ),
            *(
                [format_lazy(_("Due by {date}."), date=date_format(invoice.due_on, "DATE_FORMAT"))]
                if invoice.due_on
                else []
            ),
        ],
        url=_invoice_url(invoice),
        label=_("View the invoice"),
    )


def _credit_note_email(order: Order, credit_note: Invoice) -> Notification:
    """The credit note of a credit order (the unused days of a lowering, an early
    end or a replaced edition) to its payer."""
    return Notification(
        subject=format_lazy(
            _("Credit note {number}: {amount}"),
            number=credit_note.number,
            amount=_amount(credit_note.currency, credit_note.total),
        ),
        lines=[
            format_lazy(
                _("{kind} for {customer}: {products}."),
                kind=Order.Kind(order.kind).label,
                customer=order.customer.name,
                products=_products(order),
            ),
            format_lazy(
                _("Credited: {amount}."), amount=_amount(credit_note.currency, -credit_note.total)
            ),
        ],
        url=_invoice_url(credit_note),
        label=_("View the credit note"),
    )


@notification_renderer(CASHBACK_EMAIL)
def _cashback_email(params: dict) -> Notification:
    """To a partner earning cashback on an order it did not place itself: what
    was ordered and what it earned."""
    order = Order.unscoped.select_related("customer", "partner").get(pk=params["order"])
    partner = order.partner
    assert partner is not None  # the constraint order_earning_needs_partner
    what = _products(order)
    return Notification(
        subject=format_lazy(
            _("{customer} ordered {products}"), customer=order.customer.name, products=what
        ),
        lines=[
            format_lazy(
                _("{customer} placed an order you manage: {products}."),
                customer=order.customer.name,
                products=what,
            ),
            format_lazy(
                _("Cashback credited to your prepaid account: {amount}."),
                amount=_amount(order.currency, order.cashback_amount),
            ),
        ],
        url=reverse("order_detail", kwargs={"slug": partner.slug, "order_id": order.pk}),
        label=_("View the order"),
    )


@notification_renderer(CLAWBACK_EMAIL)
def _clawback_email(params: dict) -> Notification:
    """To a partner whose cashback credit orders take back (a lowering, an
    early end, a replaced edition, every reduction of an accepted offer): the
    customer, each credit note, and the amount taken from its prepaid account
    in all. One email per act, however many credit notes it made."""
    ids = params.get("orders") or [params["order"]]  # "order": queued before the summary
    by_id = Order.unscoped.select_related("customer").prefetch_related("invoices").in_bulk(ids)
    orders = [by_id[uuid.UUID(str(pk))] for pk in ids]
    partner = Tenant.objects.get(pk=params["partner"])
    taken = -(
        CashbackEntry.unscoped.filter(
            order__in=orders, partner=partner, kind=CashbackEntry.Kind.REVERSAL
        ).aggregate(total=Sum("amount"))["total"]
        or Decimal("0.00")
    ).quantize(Decimal("0.01"))  # SQLite sums decimals as floats
    first = orders[0]
    amount = _amount(first.currency, taken)
    credited = [
        format_lazy(
            _("{customer} was credited for unused days of {products} (credit note {number})."),
            customer=order.customer.name,
            products=_products(order),
            number=note.number,
        )
        for order in orders
        for note in order.invoices.all()
        if note.kind == Invoice.Kind.CREDIT_NOTE
    ]
    return Notification(
        subject=format_lazy(
            _("Cashback taken back for {customer}: {amount}"),
            customer=first.customer.name,
            amount=amount,
        ),
        lines=[
            *credited,
            format_lazy(_("Taken back from your prepaid account: {amount}."), amount=amount),
        ],
        url=reverse("order_detail", kwargs={"slug": partner.slug, "order_id": first.pk}),
        label=_("View the order"),
    )


def order_refunded(*, order: Order, credit_note: Invoice) -> None:
    if order.kind == Order.Kind.RENEWAL:
        refunded = _("The renewal for {customer} was refunded.")
    else:
        refunded = _("The order for {customer} was refunded.")
    _tell(
        key=f"invoice:{credit_note.pk}",
        tenant=credit_note.payer,
        subject=format_lazy(
            _("Credit note {number}: {amount}"),
            number=credit_note.number,
            amount=_amount(credit_note.currency, credit_note.total),
        ),
        lines=[
            format_lazy(refunded, customer=order.customer.name),
            format_lazy(
                _("Credited: {amount}."), amount=_amount(credit_note.currency, -credit_note.total)
            ),
        ],
        url=_invoice_url(credit_note),
        label=_("View the credit note"),
    )
