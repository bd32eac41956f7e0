"""Invoices: one per order to the payer, numbered without gaps per sequence."""

from django.db import transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceSequence, Order
from tenants.models import Tenant
from tenants.selectors import provider_root

PREFIXES: dict[str, str] = {Invoice.Kind.INVOICE: "INV", Invoice.Kind.CREDIT_NOTE: "CN"}


def bill_to(tenant: Tenant) -> dict:
    """A name and address as printed on an invoice (the payer's, the issuing
    provider's), frozen at issue."""
    fields = ("name", "address", "postal_code", "city", "state", "country", "tax_id")
    return {field: getattr(tenant, field) for field in fields}


def _next_number(key: str) -> tuple[InvoiceSequence, int]:
    """Draw the next number of sequence `key`: the row stays locked until the
    caller's transaction ends, so numbers are consecutive and a rollback leaves
    no gap."""
    InvoiceSequence.objects.get_or_create(key=key)
    sequence = InvoiceSequence.objects.select_for_update().get(key=key)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence, sequence.last_number


def invoice_issue(*, order: Order, kind: str = Invoice.Kind.INVOICE) -> Invoice:
    """The invoice (or, for a refund, the credit note) of `order` to its payer."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Invoices are issued inside the order's transaction.")
    issued_at = timezone.now()
    prefix = PREFIXES[kind]
    key = f"{prefix}-{timezone.localdate(issued_at).year}"
    sequence, number = _next_number(key)
    total = order.charged_amount if kind == Invoice.Kind.INVOICE else -order.charged_amount
    return Invoice.objects.create(
        kind=kind,
        order=order,
        sequence=sequence,
        sequence_number=number,
        number=f"{key}-{number:06d}",
        payer=order.payer_tenant,
        issuer=bill_to(provider_root()),
        bill_to=bill_to(order.payer_tenant),
        currency=order.currency,
        total=total,
        issued_at=issued_at,
    )
