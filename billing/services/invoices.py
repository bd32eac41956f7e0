"""Invoices: one per order to the payer, numbered without gaps per sequence,
with VAT and a due date (SPEC §7 rev. 2, docs/invoices.md)."""

import dataclasses
import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from billing.documents import vat_on
from billing.models import Invoice, InvoiceSequence, Order
from billing.vat import VatTreatment, vat_treatment
from core.events import events_emit
from tenants.models import Tenant
from tenants.selectors import provider_root
from tenants.vat_numbers import vat_number_valid

PREFIXES: dict[str, str] = {Invoice.Kind.INVOICE: "INV", Invoice.Kind.CREDIT_NOTE: "CN"}


def bill_to(tenant: Tenant) -> dict:
    """A name and address as printed on an invoice (the payer's, the issuing
    provider's), frozen at issue."""
    fields = ("name", "address", "postal_code", "city", "state", "country", "tax_id", "vat_number")
    return {field: getattr(tenant, field) for field in fields}


def _draw(key: str, count: int) -> tuple[int, int] | None:
    """`UPDATE … RETURNING`: move sequence `key` on by `count` and read where it
    stands, in one statement (PostgreSQL; SQLite >= 3.35). None: no such row."""
    table, last, key_ = (
        connection.ops.quote_name(name)
        for name in (InvoiceSequence._meta.db_table, "last_number", "key")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {last} = {last} + %s WHERE {key_} = %s RETURNING id, {last}",  # noqa: S608 (quoted names)
            [count, key],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def next_number(key: str, count: int = 1) -> tuple[int, int]:
    """Draw the next `count` numbers of sequence `key`: (the sequence's id, the
    first of them). One `UPDATE … RETURNING` takes the row's lock, which stays
    until the caller's transaction ends, so numbers are consecutive and a
    rollback leaves no gap. Callers draw as late as they can (invoice_issue,
    resale.invoicing; just before the invoice row): the lock is held from here to the commit
    only, never through pricing, subscriptions, ledger or cashback."""
    drawn = _draw(key, count)
    if drawn is None:
        InvoiceSequence.objects.get_or_create(key=key)  # the first number of its year
        drawn = _draw(key, count)
        assert drawn is not None  # the row exists now (created, or by a racing order)
    pk, last = drawn
    return pk, last - count + 1


def sequence_key(kind: str, issued_at: datetime.datetime) -> str:
    """One sequence per kind and year of issue: INV-2026, CN-2026."""
    return f"{PREFIXES[kind]}-{timezone.localdate(issued_at).year}"


def invoice_issue(*, order: Order, kind: str = Invoice.Kind.INVOICE) -> Invoice:
    """The invoice (or, for a refund, the credit note) of `order` to its payer."""
    (invoice,) = invoices_issue(orders=[order], kind=kind)
    return invoice


@dataclasses.dataclass(frozen=True)
class Figures:
    """What an invoice states (docs/invoices.md "Figures")."""

    net: Decimal
    treatment: VatTreatment
    vat_amount: Decimal
    total: Decimal
    due_on: datetime.date | None

    def fields(self) -> dict[str, object]:
        """The figures as the fields of an invoice (billing.models.VatFigures)."""
        return {
            "net": self.net,
            "vat_rate": self.treatment.rate,
            "vat_amount": self.vat_amount,
            "vat_treatment": self.treatment.kind,
            "vat_country": self.treatment.country,
            "total": self.total,
            "due_on": self.due_on,
        }


def invoice_figures(
    *,
    net: Decimal,
    treatment: VatTreatment,
    bill_to: Tenant,
    issued_on: datetime.date,
    due: bool = True,
) -> Figures:
    """The figures of an invoice of `net` under `treatment` (the provider's, a
    partner's to its customer): VAT = the rate x net, rounded half-up once;
    total = net + VAT; due `bill_to`'s payment terms after `issued_on` (a
    credit note, `due=False`, is not due)."""
    vat = vat_on(net, treatment.rate)
    due_on = issued_on + datetime.timedelta(days=bill_to.payment_terms_days) if due else None
    return Figures(net, treatment, vat, net + vat, due_on)


def invoices_issue(*, orders: Sequence[Order], kind: str = Invoice.Kind.INVOICE) -> list[Invoice]:
    """`invoice_issue` for many orders: one block of consecutive numbers, in the
    orders' order, and one insert. Call it last in the transaction. The VAT
    rates are read before the sequence is locked."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Invoices are issued inside the order's transaction.")
    if not orders:
        return []
    provider = provider_root()
    issuer = bill_to(provider)
    issued_at = timezone.now()
    figures = _figures(orders, kind, provider, timezone.localdate(issued_at))
    key = sequence_key(kind, issued_at)
    sequence_id, first = next_number(key, len(orders))  # the lock lasts until the commit
    invoices = Invoice.unscoped.bulk_create(
        [
            Invoice(
                kind=kind,
                order=order,
                sequence_id=sequence_id,
                sequence_number=number,
                number=f"{key}-{number:06d}",
                payer=order.payer_tenant,
                issuer=issuer,
                bill_to=bill_to(order.payer_tenant),
                currency=order.currency,
                issued_at=issued_at,
                **figure.fields(),
            )
            for number, order, figure in zip(
                range(first, first + len(orders)), orders, figures, strict=True
            )
        ]
    )
    events_emit(f"{kind}.issued", [_issued(invoice) for invoice in invoices])
    return invoices


def _figures(
    orders: Sequence[Order], kind: str, provider: Tenant, issued_on: datetime.date
) -> list[Figures]:
    """Net, VAT and due date of each order's invoice (or credit note), dated
    `issued_on`. The VAT follows `billing.vat.vat_treatment` from the
    provider's country to the payer on that day; the credit note of a refund
    mirrors its invoice (the same rule and rate, negated), whatever the rate
    is today. An invoice is due after the payer's payment terms; a credit
    note is not due."""
    originals = {}
    if kind == Invoice.Kind.CREDIT_NOTE:
        refunded = [order.pk for order in orders if order.kind != Order.Kind.CREDIT]
        if refunded:
            originals = {
                invoice.order_id: invoice
                for invoice in Invoice.unscoped.filter(
                    order__in=refunded, kind=Invoice.Kind.INVOICE
                )
            }
    sign = 1 if kind == Invoice.Kind.INVOICE else -1
    by_payer: dict[tuple[str, bool], VatTreatment] = {}
    figures = []
    for order in orders:
        payer = order.payer_tenant
        original = originals.get(order.pk)
        if original is not None:
            treatment = original.vat
        else:
            key = (payer.country, vat_number_valid(payer.vat_number, payer.country))
            if key not in by_payer:
                by_payer[key] = vat_treatment(provider.country, payer, issued_on)
            treatment = by_payer[key]
        figures.append(
            invoice_figures(
                net=_total(order, sign),
                treatment=treatment,
                bill_to=payer,
                issued_on=issued_on,
                due=kind == Invoice.Kind.INVOICE,
            )
        )
    return figures


def _issued(invoice: Invoice) -> dict[str, object]:
    """The payload of `invoice.issued` / `credit_note.issued` (core.events)."""
    return {
        "id": invoice.pk,
        "kind": invoice.kind,
        "order": invoice.order_id,
        "customer": invoice.order.customer_id,
        "payer": invoice.payer_id,
    }


def _total(order: Order, sign: int) -> Decimal:
    """The net: an invoice bills what was charged; a credit note gives back
    what a credit order credited, or (a refund) what the order charged."""
    if order.kind == Order.Kind.CREDIT:
        return -order.credited_amount
    return sign * order.charged_amount
