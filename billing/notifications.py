"""The emails of billing, queued in the outbox inside the order's transaction
and keyed by invoice or order and recipient, so each leaves once."""

from django.urls import reverse

from billing.models import Earning, Invoice, Order
from partners.models import Side
from tenants.emails import notify
from tenants.models import Membership, Role, Tenant


def _owners_and_admins(tenant: Tenant) -> list:
    return [
        m.user
        for m in Membership.objects.filter(tenant=tenant, role__in=(Role.OWNER, Role.ADMIN))
        .select_related("user")
        .order_by("user__email")
    ]


def _tell(*, key: str, tenant: Tenant, **message) -> None:
    notify(key=key, users=_owners_and_admins(tenant), **message)


def _invoice_url(invoice: Invoice) -> str:
    return reverse("invoice_detail", kwargs={"slug": invoice.payer.slug, "invoice_id": invoice.pk})


def _products(order: Order) -> str:
    return ", ".join(f"{line.quantity} x {line.product.name}" for line in order.lines.all())


def order_placed(*, order: Order, invoice: Invoice) -> None:
    """The invoice to the payer; to a partner earning cashback on an order it did
    not place itself, what was ordered and what it earned."""
    what = _products(order)
    _tell(
        key=f"invoice:{invoice.pk}",
        tenant=invoice.payer,
        subject=f"Invoice {invoice.number}: {invoice.currency} {invoice.total}",
        lines=[
            f"{order.get_kind_display()} for {order.customer.name}: {what}.",
            f"Amount due: {invoice.currency} {invoice.total} (excl. VAT).",
        ],
        url=_invoice_url(invoice),
        label="View the invoice",
    )
    if order.earning == Earning.CASHBACK and order.ordered_by == Side.CUSTOMER:
        _tell(
            key=f"order-cashback:{order.pk}",
            tenant=order.partner,
            subject=f"{order.customer.name} ordered {what}",
            lines=[
                f"{order.customer.name} placed an order you manage: {what}.",
                f"Cashback credited to your prepaid account: {order.currency} "
                f"{order.cashback_amount}.",
            ],
            url=reverse("order_detail", kwargs={"slug": order.partner.slug, "order_id": order.pk}),
            label="View the order",
        )


def order_refunded(*, order: Order, credit_note: Invoice) -> None:
    _tell(
        key=f"invoice:{credit_note.pk}",
        tenant=credit_note.payer,
        subject=f"Credit note {credit_note.number}: {credit_note.currency} {credit_note.total}",
        lines=[
            f"The {order.get_kind_display().lower()} for {order.customer.name} was refunded.",
            f"Credited: {credit_note.currency} {-credit_note.total}.",
        ],
        url=_invoice_url(credit_note),
        label="View the credit note",
    )
