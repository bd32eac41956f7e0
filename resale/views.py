"""Browser pages of resale under /t/<slug>/: the partner's resale price list,
the partner invoices (the partner's and the billed customer's), their CSV,
and the partner's margin with its drill-down. Thin: resale.services writes,
resale.selectors reads. Mounted by portal/urls.py from resale/urls.py."""

import datetime
import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from resale import selectors, services
from resale.api import partner_invoice_pdf_response, partner_invoices_csv_response
from resale.models import ResaleMode
from tenants.models import Role, Tenant
from tenants.web import OrgViewMixin, ResolveFirstMixin

PAGE_SIZE = 50
PARTNER_ONLY = (Tenant.Kind.PARTNER,)


class PartnerView(OrgViewMixin, ResolveFirstMixin, View):
    allowed_kinds: tuple[str, ...] = PARTNER_ONLY
    min_role = Role.ADMIN


# --- the price list -------------------------------------------------------------------------


def _parse_value(raw: str) -> Decimal | str | None:
    """A typed value: None when empty, a Decimal, or the text of an error."""
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return _("Enter a number.")
    return value if value.is_finite() else _("Enter a number.")


class ResalePricesView(PartnerView):
    """Every product and currency with its rule; one form saves them all (every
    error shown at once, nothing written until all are right)."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return self.page(request, {})

    def page(self, request: HttpRequest, errors: dict, status: int = 200) -> HttpResponse:
        rows = selectors.price_list(org=self.org)
        posted = request.POST if request.method == "POST" else None
        items = []
        for row in rows:
            field = f"{row.product.code}:{row.currency}"
            items.append(
                {
                    "row": row,
                    "field": field,
                    "mode": posted.get(f"mode-{field}", row.mode) if posted else row.mode,
                    "value": posted.get(f"value-{field}", "")
                    if posted
                    else (row.value if row.value is not None else ""),
                    "errors": errors.get(field, {}),
                }
            )
        context = {"items": items, "modes": ResaleMode.choices, "has_errors": bool(errors)}
        return render(request, "resale/prices.html", context, status=status)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        rows = selectors.price_list(org=self.org)
        entries: list[services.ResaleEntry] = []
        fields: list[str] = []
        errors: dict[str, dict[str, str]] = {}
        for row in rows:
            field = f"{row.product.code}:{row.currency}"
            mode = request.POST.get(f"mode-{field}")
            if mode is None:
                continue
            value = _parse_value(request.POST.get(f"value-{field}", ""))
            if isinstance(value, str):
                errors[field] = {"value": value}
                continue
            if mode == ResaleMode.PUBLIC:
                value = None
            entries.append(services.ResaleEntry(row.product, row.currency, mode, value))
            fields.append(field)
        try:
            if errors:  # the typing errors with the service's, all at once
                services.resale_prices_validate(entries)
                raise services.EntryErrors({})
            changed = services.resale_prices_set(org=self.org, entries=entries)
        except services.EntryErrors as exc:
            for index, entry_errors in exc.by_entry.items():
                errors[fields[index]] = entry_errors
            return self.page(request, errors, status=400)
        if changed:
            messages.success(request, _("Resale prices saved: they apply from today."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("resale_prices", slug=slug)


# --- partner invoices -----------------------------------------------------------------------


class PartnerInvoiceView(OrgViewMixin, ResolveFirstMixin, View):
    """The issuing partner's owners and admins, the billed customer's members."""

    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)

    def resolve(self) -> None:
        if not selectors.sees_partner_invoices(self.org):
            raise PermissionDenied(_("A partner's invoices are for its owners and admins."))


class PartnerInvoiceListView(PartnerInvoiceView):
    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        invoices = selectors.partner_invoices_for(org=self.org)
        page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"page": page, "partner_side": self.org.tenant.is_partner}
        return render(request, "resale/invoices.html", context)


class PartnerInvoiceExportView(PartnerInvoiceView):
    def get(self, request: HttpRequest, slug: str) -> StreamingHttpResponse:
        return partner_invoices_csv_response(org=self.org)


class PartnerInvoiceDetailView(PartnerInvoiceView):
    def resolve(self) -> None:
        super().resolve()
        self.invoice = selectors.partner_invoice_get(
            org=self.org, invoice_id=self.kwargs["invoice_id"]
        )

    def get(self, request: HttpRequest, slug: str, invoice_id: uuid.UUID) -> HttpResponse:
        context = {
            "invoice": self.invoice,
            "lines": list(self.invoice.lines.all()),
            "partner_side": self.org.tenant.is_partner,
            "vat": self.invoice.vat,
        }
        return render(request, "resale/invoice_detail.html", context)


class PartnerInvoicePdfView(PartnerInvoiceDetailView):
    def get(self, request: HttpRequest, slug: str, invoice_id: uuid.UUID) -> HttpResponse:
        return partner_invoice_pdf_response(self.invoice)


# --- the margin -----------------------------------------------------------------------------


def _month(raw: str | None) -> datetime.date | None:
    if not raw:
        return None
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        raise Http404(_("No such month.")) from None


class MarginView(PartnerView):
    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        context = {
            "by_customer": selectors.margin_by_customer(org=self.org),
            "by_product": selectors.margin_by_product(org=self.org),
        }
        return render(request, "resale/margin.html", context)


class MarginLinesView(PartnerView):
    """The invoice lines behind one figure of the margin."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        month = _month(request.GET.get("month"))

        def _id(name: str) -> uuid.UUID | None:
            raw = request.GET.get(name)
            if not raw:
                return None
            try:
                return uuid.UUID(raw)
            except ValueError:
                raise Http404(_("No such line.")) from None

        lines = list(
            selectors.margin_lines(
                org=self.org,
                month=month,
                customer_id=_id("customer"),
                product_id=_id("product"),
                contracts=request.GET.get("contracts") == "1",
            )[:500]
        )
        totals = {
            "amount": sum((line.amount for line in lines), Decimal("0.00")),
            "cost": sum((line.cost for line in lines), Decimal("0.00")),
            "margin": sum((line.margin for line in lines), Decimal("0.00")),
        }
        context = {"month": month, "lines": lines, "totals": totals}
        return render(request, "resale/margin_lines.html", context)
