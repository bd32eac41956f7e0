"""Reads of resale: the one resale price rule, the price list as the partner
sees it, partner invoices as each side may read them, and the margin."""

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.documents import InvoiceDocument, stored_document
from billing.pricing import ResaleStep
from catalog.models import Product
from resale.invoicing import document_lines
from resale.models import PartnerInvoice, PartnerInvoiceLine, ResaleMode
from resale.pricing import NoPublicPrice, PriceBook, ResalePrice
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext, uuid_or_404

ZERO = Decimal("0.00")


def resale_unit_price(
    *, partner: Tenant, product: Product, currency: str, quantity: int, on: datetime.date
) -> ResalePrice:
    """The resale price of one unit of `product` for one billing period, when
    the customer has `quantity` units, on day `on` (resale.pricing). Raises
    NoPublicPrice when the product has none in `currency`."""
    return PriceBook(partner=partner, currency=currency).price(product, quantity, on)


def resale_steps(
    partner: Tenant, currency: str, lines: Sequence[tuple[Product, int]]
) -> list[ResaleStep | None]:
    """The resale step of each line of a waterfall a partner sees (billing's
    hook, billing.pricing.resale_steps): quantity x the resale unit price
    today, and quantity x its margin; None for a product with no public price
    in `currency`. One query for the partner's rules."""
    if not partner.is_partner:
        return [None for _line in lines]
    book = PriceBook(partner=partner, currency=currency)
    today = timezone.localdate()
    steps: list[ResaleStep | None] = []
    for product, quantity in lines:
        try:
            price = book.price(product, quantity, today)
        except NoPublicPrice:
            steps.append(None)
            continue
        steps.append(
            ResaleStep(
                unit_price=price.unit_price,
                amount=price.unit_price * quantity,
                margin=price.margin * quantity,
            )
        )
    return steps


@dataclass(frozen=True)
class PriceListRow:
    product: Product
    currency: str
    mode: str
    value: Decimal | None
    valid_from: datetime.date | None
    price: ResalePrice


def price_list(*, org: OrgContext, currency: str | None = None) -> list[PriceListRow]:
    """The partner's resale price of one unit of each product sold, in each
    currency it has a public price in (or `currency`), today: the rule in
    force and its figures (quantity 1, no degressive tier). Three queries
    plus one per currency."""
    partner = org.tenant
    today = timezone.localdate()
    products = list(
        Product.objects.filter(is_active=True)
        .prefetch_related("prices", "tiers")
        .order_by("name", "code")
    )
    books: dict[str, PriceBook] = {}
    rows = []
    for product in products:
        for price in sorted(product.prices.all(), key=lambda p: p.currency):
            if currency and price.currency != currency:
                continue
            book = books.setdefault(
                price.currency, PriceBook(partner=partner, currency=price.currency)
            )
            rule = book.rule(product, today)
            rows.append(
                PriceListRow(
                    product=product,
                    currency=price.currency,
                    mode=rule.mode if rule else ResaleMode.PUBLIC,
                    value=rule.value if rule else None,
                    valid_from=rule.valid_from if rule else None,
                    price=book.price(product, 1, today),
                )
            )
    return rows


# --- partner invoices -----------------------------------------------------------------------


def sees_partner_invoices(org: OrgContext) -> bool:
    """The issuing partner's owners and admins, and the billed customer's members."""
    tenant = org.tenant
    if tenant.is_partner:
        return org.has_role(Role.ADMIN)
    return tenant.kind == Tenant.Kind.CUSTOMER


def partner_invoices_for(*, org: OrgContext) -> QuerySet[PartnerInvoice]:
    """The partner invoices `org` issued (partner) or received (customer)."""
    if not sees_partner_invoices(org):
        return PartnerInvoice.objects.none()
    tenant = org.tenant
    side = Q(partner=tenant) if tenant.is_partner else Q(customer=tenant)
    return (
        PartnerInvoice.objects.for_org(org)
        .filter(side)
        .select_related("partner", "customer")
        .order_by("-month", "-sequence_number")
    )


def partner_invoice_get(*, org: OrgContext, invoice_id: object) -> PartnerInvoice:
    """One invoice with its lines; anyone else's is the 404 of a missing one."""
    pk = uuid_or_404(invoice_id, _("No such invoice."))
    invoice = partner_invoices_for(org=org).prefetch_related("lines__product").filter(pk=pk).first()
    if invoice is None:
        raise Http404(_("No such invoice."))
    return invoice


def partner_invoice_document(*, invoice: PartnerInvoice) -> InvoiceDocument:
    """The invoice as the document printed and downloaded (billing.documents),
    its texts in the active language; never the partner's cost or margin."""
    lines = document_lines(invoice.lines.all())
    return stored_document(invoice, kind="invoice", issued_on=invoice.issued_on, lines=lines)


def partner_invoice_csv_rows(*, org: OrgContext, month: datetime.date | None = None) -> list[list]:
    """One row per invoice line of the invoices `org` may read (oldest first); the
    cost and margin columns only for the issuing partner."""
    lines = (
        PartnerInvoiceLine.objects.for_org(org)
        .filter(invoice__in=partner_invoices_for(org=org).values("pk"))
        .select_related("invoice__partner", "invoice__customer")
        .order_by("invoice__month", "invoice__sequence_number", "position")
    )
    if month is not None:
        lines = lines.filter(invoice__month=month)
    partner_side = org.tenant.is_partner
    rows = []
    for line in lines:
        invoice = line.invoice
        row = [
            invoice.number,
            invoice.issued_at.date().isoformat(),
            invoice.month.strftime("%Y-%m"),
            invoice.partner.name,
            invoice.customer.name,
            invoice.currency,
            line.description,
            line.period_start.isoformat(),
            line.period_end.isoformat(),
            str(line.quantity.normalize() + Decimal("0.00")),
            str(line.unit_price),
            str(line.amount),
            str(invoice.net),
            str(invoice.vat_amount),
            str(invoice.total),
            invoice.due_on.isoformat(),
        ]
        if partner_side:
            row += [str(line.cost), str(line.margin)]
        rows.append(row)
    return rows


def partner_invoice_csv_columns(*, org: OrgContext) -> list[str]:
    columns = [
        "invoice",
        "issued_on",
        "month",
        "partner",
        "customer",
        "currency",
        "description",
        "period_start",
        "period_end",
        "quantity",
        "unit_price",
        "amount",
        "invoice_net",
        "invoice_vat",
        "invoice_total",
        "due_on",
    ]
    if org.tenant.is_partner:
        columns += ["cost", "margin"]
    return columns


# --- the margin -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginRow:
    month: datetime.date
    currency: str
    key: object  # a customer's or a product's id (None: contracts)
    name: str
    resale: Decimal
    cost: Decimal
    margin: Decimal


def _margin_lines(org: OrgContext, months: int) -> QuerySet[PartnerInvoiceLine]:
    if not (org.tenant.is_partner and org.has_role(Role.ADMIN)):
        return PartnerInvoiceLine.objects.none()
    since = timezone.localdate().replace(day=1)
    for _step in range(months - 1):
        since = (since - datetime.timedelta(days=1)).replace(day=1)
    return PartnerInvoiceLine.objects.for_org(org).filter(
        invoice__partner=org.tenant, invoice__month__gte=since
    )


def _rows(values: QuerySet, key: str, name: str, fallback: str) -> list[MarginRow]:
    return [
        MarginRow(
            month=row["invoice__month"],
            currency=row["invoice__currency"],
            key=row[key],
            name=row[name] or fallback,
            resale=row["resale"] or ZERO,
            cost=row["cost_sum"] or ZERO,
            margin=row["margin_sum"] or ZERO,
        )
        for row in values
    ]


def margin_by_customer(*, org: OrgContext, months: int = 12) -> list[MarginRow]:
    """Resale - cost per month and customer, from the partner invoices' lines
    (one query, summed by the database)."""
    values = (
        _margin_lines(org, months)
        .values(
            "invoice__month", "invoice__currency", "invoice__customer_id", "invoice__customer__name"
        )
        .annotate(resale=Sum("amount"), cost_sum=Sum("cost"), margin_sum=Sum("margin"))
        .order_by("-invoice__month", "invoice__currency", "invoice__customer__name")
    )
    return _rows(values, "invoice__customer_id", "invoice__customer__name", "")


def margin_by_product(*, org: OrgContext, months: int = 12) -> list[MarginRow]:
    """Resale - cost per month and product (contracts together), one query."""
    values = (
        _margin_lines(org, months)
        .values("invoice__month", "invoice__currency", "product_id", "product__name")
        .annotate(resale=Sum("amount"), cost_sum=Sum("cost"), margin_sum=Sum("margin"))
        .order_by("-invoice__month", "invoice__currency", "product__name")
    )
    return _rows(values, "product_id", "product__name", _("Contracts"))


def margin_lines(
    *,
    org: OrgContext,
    month: datetime.date | None,
    customer_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    contracts: bool = False,
) -> QuerySet[PartnerInvoiceLine]:
    """The invoice lines behind one figure of the margin (the drill-down; no
    month: the twelve months of the margin page): a customer out of reach, or
    another partner's, gives no line."""
    lines = _margin_lines(org, 12)
    if month is not None:
        lines = lines.filter(invoice__month=month.replace(day=1))
    if customer_id is not None:
        lines = lines.filter(invoice__customer_id=customer_id)
    if product_id is not None:
        lines = lines.filter(product_id=product_id)
    elif contracts:
        lines = lines.filter(product__isnull=True)
    return lines.select_related("invoice__customer", "product").order_by(
        "invoice__sequence_number", "position"
    )


def margin_by_month(*, org: OrgContext, months: int = 12) -> list[MarginRow]:
    """Resale - cost per month (and currency), newest first: one query."""
    values = (
        _margin_lines(org, months)
        .values("invoice__month", "invoice__currency")
        .annotate(resale=Sum("amount"), cost_sum=Sum("cost"), margin_sum=Sum("margin"))
        .order_by("-invoice__month", "invoice__currency")
    )
    return [
        MarginRow(
            month=row["invoice__month"],
            currency=row["invoice__currency"],
            key=None,
            name="",
            resale=row["resale"] or ZERO,
            cost=row["cost_sum"] or ZERO,
            margin=row["margin_sum"] or ZERO,
        )
        for row in values
    ]
