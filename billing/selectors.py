"""Reads of billing, scoped to what the organization may see (SPEC §7).

Orders are seen by both sides: the customer, and the partner that managed the
products (collaborators: their assigned customers only). Invoices are seen only
by the payer's organization; the other side gets the 404 of a missing id. Amounts
a side must not learn are withheld by `order_figures`: the customer never sees
the partner's preferential price or earnings, nor the amount of an order its
partner paid.
"""

import datetime
import uuid
from collections.abc import Collection, Iterator
from decimal import Decimal

from django.db.models import Case, Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.documents import DocumentLine, InvoiceDocument, stored_document
from billing.models import CashbackEntry, Invoice, Order, OrderLine
from core.db import CompiledQuery, Many
from partners.selectors import assigned_only, customer_get_for_partner
from subscriptions.models import Subscription
from tenants.models import Tenant
from tenants.selectors import OrgContext, uuid_or_404


def order_customer_get(*, org: OrgContext, customer_id: object) -> Tenant:
    """The customer `org` orders or quotes for, loaded once per request through
    the permission function: one a partner user may act on, or the customer
    organization itself; anything else is a 404. The services take it from here."""
    if org.tenant.is_partner:
        return customer_get_for_partner(org=org, customer_id=customer_id)
    if org.tenant.is_customer and str(customer_id) == str(org.tenant.pk):
        return org.tenant
    raise Http404(_("No such customer."))


def orders_for(*, org: OrgContext) -> QuerySet[Order]:
    tenant = org.tenant
    qs = Order.unscoped.select_related("customer", "partner", "payer_tenant", "placed_by")
    qs = qs.prefetch_related(
        Prefetch("lines", queryset=OrderLine.unscoped.select_related("product")),
        Prefetch(
            "invoices", queryset=Invoice.unscoped.filter(payer=tenant, kind=Invoice.Kind.INVOICE)
        ),
    )
    if tenant.is_customer:
        return qs.filter(customer=tenant)
    if tenant.is_partner:
        return assigned_only(org, qs.filter(partner=tenant), "customer")
    return qs.none()


def order_get(*, org: OrgContext, order_id: object) -> Order:
    order = orders_for(org=org).filter(pk=uuid_or_404(order_id, _("No such order."))).first()
    if order is None:
        raise Http404(_("No such order."))
    return order


def live_quantities(
    *,
    customer: Tenant,
    product_ids: Collection[object],
    day: datetime.date,
    exclude: Collection[object] = (),
) -> dict[object, int]:
    """The customer's quantity of each product over its subscriptions live on
    `day`, leaving out the subscriptions `exclude` names (the ones an order is
    changing): what the degressive tier counts besides the order's own line
    (billing.pricing.tier_rate). One query."""
    rows = _LIVE_QUANTITIES.rows(
        using=Subscription.unscoped.db,
        customer=customer.pk,
        products=list(product_ids),
        exclude=list(exclude),
        day=day,
    )
    return dict(rows)


def _live_quantities(
    *, customer: uuid.UUID, products: list, exclude: list, day: datetime.date
) -> QuerySet:
    return (
        Subscription.unscoped.active_on(day)
        .filter(customer_id=customer, product_id__in=products)
        .exclude(pk__in=exclude)
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values_list("product_id", "total")
    )


# Every order reads it: compiled once per process and list lengths (core.db.CompiledQuery).
_LIVE_QUANTITIES = CompiledQuery(
    _live_quantities,
    "customer",
    "products",
    "exclude",
    "day",
    kinds={
        "customer": uuid.UUID,
        "products": Many(uuid.UUID),
        "exclude": Many(uuid.UUID),
        "day": datetime.date,
    },
)


def live_totals(
    *, customer_ids: Collection[object], product_ids: Collection[object], day: datetime.date
) -> dict[tuple[object, object], int]:
    """The quantity of each (customer, product) over its subscriptions live on
    `day`, for many customers at once (a batch of renewals): the total the
    degressive tier reaches. One query."""
    rows = (
        Subscription.unscoped.active_on(day)
        .filter(customer_id__in=list(customer_ids), product_id__in=list(product_ids))
        .order_by()
        .values("customer_id", "product_id")
        .annotate(total=Sum("quantity"))
    )
    return {(row["customer_id"], row["product_id"]): row["total"] for row in rows}


def sees_margin(org: OrgContext) -> bool:
    """Only the partner side reads preferential prices, cashback and discounts
    (of orders and of quotes): a customer never learns its partner's margin."""
    return org.tenant.is_partner


def order_figures(*, org: OrgContext, order: Order) -> dict:
    """What this side may read of an order's money: the payer sees what it was
    charged (and its invoice); only the partner sees its margin."""
    is_payer = order.payer_tenant_id == org.tenant.pk
    is_partner = sees_margin(org)
    return {
        "charged": order.charged_amount if is_payer or order.payer == "customer" else None,
        "preferential": order.preferential_amount if is_partner else None,
        "cashback": order.cashback_amount if is_partner else None,
        "discount": order.discount_amount if is_partner else None,
        "invoice": next(iter(order.invoices.all()), None) if is_payer else None,
    }


def invoices_for(*, org: OrgContext) -> QuerySet[Invoice]:
    """The invoices addressed to this organization, and nothing else."""
    tenant = org.tenant
    if not (tenant.is_customer or tenant.is_partner):
        return Invoice.objects.none()
    qs = Invoice.objects.for_org(tenant).select_related("order", "order__customer")
    qs = qs.prefetch_related(
        Prefetch("order__lines", queryset=OrderLine.unscoped.select_related("product"))
    )
    if tenant.is_partner:
        qs = assigned_only(org, qs, "order__customer")
    return qs


def invoice_get(*, org: OrgContext, invoice_id: object) -> Invoice:
    invoice = (
        invoices_for(org=org).filter(pk=uuid_or_404(invoice_id, _("No such invoice."))).first()
    )
    if invoice is None:
        raise Http404(_("No such invoice."))
    return invoice


def credit_note_get(*, org: OrgContext, credit_note_id: object) -> Invoice:
    """A credit note addressed to this organization; an invoice's id is a 404."""
    credit_note = (
        invoices_for(org=org)
        .filter(
            pk=uuid_or_404(credit_note_id, _("No such credit note.")),
            kind=Invoice.Kind.CREDIT_NOTE,
        )
        .first()
    )
    if credit_note is None:
        raise Http404(_("No such credit note."))
    return credit_note


def invoice_lines(*, invoice: Invoice) -> list[dict]:
    """The lines printed on an invoice: list price, the reductions (degressive
    tier, and the partner's discount when it pays the preferential price) and
    the amount. On a credit note every figure is negated, so the lines add up
    to its negative total."""
    sign = -1 if invoice.kind == Invoice.Kind.CREDIT_NOTE else 1
    credit = invoice.order.kind == Order.Kind.CREDIT  # the unused days of a credit order
    return [
        {
            "line": line,
            "product": line.product,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "period_starts_on": line.period_starts_on,
            "period_ends_on": line.period_ends_on,
            "list_amount": sign * line.list_amount,
            "reduction": sign * (amount - line.list_amount),
            "amount": sign * amount,
        }
        for line in invoice.order.lines.all()
        for amount in [line.credited_amount if credit else line.charged_amount]
    ]


def invoice_document(*, invoice: Invoice) -> InvoiceDocument:
    """The invoice (or credit note) as the document printed and downloaded
    (billing.documents): what it stored, with its texts in the active
    language. Its lines are the order's, with their periods; their nets add
    up to the invoice's net."""
    lines = (
        DocumentLine(
            description=row["product"].name,
            period_start=row["period_starts_on"],
            period_end=row["period_ends_on"],
            quantity=Decimal(row["quantity"]),
            unit_price=row["unit_price"],
            net=row["amount"],
        )
        for row in invoice_lines(invoice=invoice)
    )
    return stored_document(invoice, kind=invoice.kind, issued_on=invoice.issued_on, lines=lines)


def cashback_ledger(*, org: OrgContext) -> QuerySet[CashbackEntry]:
    if not org.tenant.is_partner:
        return CashbackEntry.objects.none()
    return CashbackEntry.unscoped.filter(partner=org.tenant).select_related("order__customer")


def cashback_balance(*, partner: Tenant) -> dict[str, Decimal]:
    """The prepaid account's balance per currency: the sum of its entries."""
    rows = (
        CashbackEntry.unscoped.filter(partner=partner)
        .values("currency")
        .annotate(balance=Sum("amount"))
        .order_by("currency")
    )
    return {row["currency"]: row["balance"] for row in rows}


def billing_summary(*, org: OrgContext, today: datetime.date | None = None) -> dict:
    """The figures of a billing dashboard for this month, per currency: orders
    placed (refunded ones left out), their public volume and, for a partner,
    its cashback and discount; what was invoiced to the organization."""
    today = today or timezone.localdate()
    month_start = today.replace(day=1)
    orders = orders_for(org=org).filter(
        placed_at__date__gte=month_start, status=Order.Status.PLACED
    )
    # a credit order gives back: its public volume and its clawback count negative
    credit = Q(kind=Order.Kind.CREDIT)
    public = Case(When(credit, then=-F("public_amount")), default=F("public_amount"))
    sums = {"orders": Count("pk"), "public": Sum(public)}
    if sees_margin(org):
        cashback = F("cashback_amount") - F("clawback_amount")
        sums |= {"cashback": Sum(cashback), "discount": Sum("discount_amount")}
    per_currency = orders.order_by().values("currency").annotate(**sums).order_by("currency")
    invoiced = (
        invoices_for(org=org)
        .filter(issued_at__date__gte=month_start)
        .order_by()
        .values("currency")
        .annotate(total=Sum("net"), count=Count("pk"))  # excl. VAT, as orders
        .order_by("currency")
    )
    return {
        "month": month_start,
        "orders": list(per_currency),
        "invoiced": list(invoiced),
        "cashback_balance": cashback_balance(partner=org.tenant) if org.tenant.is_partner else {},
    }


BILLING_EXPORT_COLUMNS = (
    "placed_on",
    "order_id",
    "kind",
    "status",
    "customer_id",
    "customer",
    "product_code",
    "product",
    "quantity",
    "period_starts_on",
    "period_ends_on",
    "currency",
    "payer",
    "list_amount",
    "public_amount",
    "preferential_amount",
    "charged_amount",
    "earning",
    "cashback_amount",
    "discount_amount",
    "invoice_number",
)


def billing_export_rows(*, org: OrgContext) -> Iterator[tuple]:
    """One row per order line of the orders this partner may see, oldest first,
    streamed from the database. The invoice number is given only for invoices
    addressed to the partner itself."""
    orders = orders_for(org=org).values("pk")
    own_invoice = Invoice.unscoped.filter(
        order=OuterRef("order"), payer=org.tenant, kind=Invoice.Kind.INVOICE
    ).values("number")[:1]
    rows = (
        OrderLine.unscoped.filter(order__in=orders)
        .annotate(invoice_number=Subquery(own_invoice))
        .order_by("order__placed_at", "order_id", "id")
        .values_list(
            "order__placed_at",
            "order_id",
            "order__kind",
            "order__status",
            "order__customer_id",
            "order__customer__name",
            "product__code",
            "product__name",
            "quantity",
            "period_starts_on",
            "period_ends_on",
            "order__currency",
            "order__payer",
            "list_amount",
            "public_amount",
            "preferential_amount",
            "charged_amount",
            "order__earning",
            "cashback_amount",
            "discount_amount",
            "invoice_number",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        placed_at = timezone.localtime(row[0])
        yield (placed_at.date().isoformat(), *row[1:20], row[20] or "")


def credits_placed_with(*, order: Order) -> list[Order]:
    """The other credit orders placed with the credit order `order` for the same
    subscription: one per other payer of the units a change removed
    (amendments.credits), placed in one act (`placed_at`). The caller read
    `order` through the permission function."""
    if order.kind != Order.Kind.CREDIT:
        return []
    subscriptions = order.lines.values_list("subscription_id", flat=True)
    return list(
        Order.unscoped.filter(
            kind=Order.Kind.CREDIT,
            customer_id=order.customer_id,
            placed_at=order.placed_at,
            lines__subscription_id__in=list(subscriptions),
        )
        .exclude(pk=order.pk)
        .select_related("payer_tenant")
        .distinct()
        .order_by("pk")
    )
