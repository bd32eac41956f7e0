"""Browser pages of billing (SPEC §7, §9) under /t/<slug>/: the partner's billing
summary, CSV export and cashback ledger; the price quote; placing an order (in
the customer portal, and in the partner console for a customer); the orders and
invoices of both sides. Thin: forms parse, billing.services price and write,
billing.selectors read, scoped to the organization, and `order_figures` decides
which amounts a side may see. Mounted by portal/urls.py from billing/urls.py."""

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views import View

from billing import selectors
from billing.api import billing_export_response, invoice_pdf_response
from billing.forms import OrderLinesForm
from billing.models import Earning, Order, Payer, PriceBasis
from billing.pricing import ResaleStep, resale_steps
from billing.services import orders, special_prices
from billing.services.orders import PriceChanged
from catalog.models import Product
from core.templatetags.money import money
from partners.selectors import customer_get_for_partner, customers_visible_to
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext
from tenants.web import OrgViewMixin, ResolveFirstMixin, form_add_service_errors

PAGE_SIZE = 50
PARTNER_ONLY = (Tenant.Kind.PARTNER,)
PARTNER_OR_CUSTOMER = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)


def _money(currency: str, amount: Decimal) -> str:
    """An amount as the pages show it (core.templatetags.money: one place)."""
    return money(amount, currency)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


def _buyer_refusal(org: OrgContext) -> str | None:
    """Why this member may not order, in the service's own words; None if they may."""
    try:
        orders.order_check(org=org)
    except PermissionDenied as exc:
        return str(exc)
    return None


def _active_products() -> list[Product]:
    return list(Product.objects.filter(is_active=True).order_by("name", "code"))


def _expected_total(value: str | None) -> Decimal | None:
    """The preview's total the order form carries back (None: no preview shown)."""
    try:
        amount = Decimal(value) if value else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() else None


class BillingView(OrgViewMixin, ResolveFirstMixin, View):
    allowed_kinds: tuple[str, ...] = PARTNER_OR_CUSTOMER

    @property
    def partner_side(self) -> bool:
        return self.org.tenant.is_partner

    def render_page(
        self, request: HttpRequest, template: str, context: dict, status: int = 200
    ) -> HttpResponse:
        context = {"partner_side": self.partner_side, **context}
        return render(request, template, context, status=status)


# --- the partner's summary, export and prepaid account ------------------------------------


class BillingDashboardView(BillingView):
    allowed_kinds = PARTNER_ONLY
    min_role = Role.ADMIN

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        summary = selectors.billing_summary(org=self.org)
        return self.render_page(request, "billing/dashboard.html", {"summary": summary})


class BillingExportView(BillingView):
    """Every order line this partner may see, streamed (SPEC §7)."""

    allowed_kinds = PARTNER_ONLY
    min_role = Role.ADMIN

    def get(self, request: HttpRequest, slug: str) -> StreamingHttpResponse:
        return billing_export_response(org=self.org)


class CashbackView(BillingView):
    allowed_kinds = PARTNER_ONLY
    min_role = Role.ADMIN

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        entries = selectors.cashback_ledger(org=self.org).order_by("-created_at", "-pk")
        page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
        balance = selectors.cashback_balance(partner=self.org.tenant)
        return self.render_page(
            request, "billing/cashback.html", {"page": page, "balance": balance}
        )


# --- quotes and orders ----------------------------------------------------------------------


def _quote_context(org: OrgContext, quote: orders.Quote) -> dict:
    """The quote as this side may read it: the customer never sees the partner's
    discount, preferential price or earnings."""
    partner_side = org.tenant.is_partner
    terms = quote.terms
    earning = terms.earning if partner_side and terms.earning != Earning.NOTHING else None
    rows = []
    for line in quote.lines:
        price = line.price
        row = {
            "product": line.product,
            "quantity": price.quantity,
            "tier_rate": price.tier_rate,
            "list_amount": price.list_amount,
            "public_amount": price.public_amount,
            "charged": line.charged,
        }
        if partner_side:
            row["after_partner_discount"] = price.after_partner_discount
            row["preferential_amount"] = price.preferential_amount
            row["earned"] = line.discount if earning == Earning.DISCOUNT else line.cashback
        rows.append(row)
    steps: list[ResaleStep | None] = []
    if partner_side:
        steps = resale_steps(
            partner=org.tenant,
            currency=quote.currency,
            lines=[(line.product, line.price.quantity) for line in quote.lines],
        )
        for row, step in zip(rows, steps, strict=True):
            row["resale"] = step
    totals = {
        "list_amount": quote.total("list_amount"),
        "public_amount": quote.total("public_amount"),
        "charged": quote.charged,
    }
    if partner_side:
        totals["after_partner_discount"] = quote.total("after_partner_discount")
        totals["preferential_amount"] = quote.total("preferential_amount")
        totals["earned"] = quote.discount if earning == Earning.DISCOUNT else quote.cashback
        priced = [step for step in steps if step is not None]
        if priced and len(priced) == len(steps):
            totals["resale"] = sum((step.amount for step in priced), Decimal("0.00"))
            totals["resale_margin"] = sum((step.margin for step in priced), Decimal("0.00"))
    you_pay = quote.payer_tenant.pk == org.tenant.pk
    return {
        "quote": quote,
        "quote_rows": rows,
        "quote_totals": totals,
        "payer_name": _("You") if you_pay else quote.payer_tenant.name,
        "you_pay": you_pay,
        "price_basis": PriceBasis(terms.price_basis).label,
        "earning": earning,
        "discount_percent": (
            quote.partner.discount_rate * 100 if partner_side and quote.partner else None
        ),
    }


class QuoteView(BillingView):
    """What an order would cost now, line by line (htmx swaps the panel in place;
    a plain POST renders the whole page)."""

    def new_form(
        self, data: QueryDict | None = None, initial: dict | None = None
    ) -> OrderLinesForm:
        customers = None
        if self.partner_side:
            customers = list(customers_visible_to(org=self.org).order_by("name", "pk"))
        return OrderLinesForm(
            data, products=_active_products(), customers=customers, initial=initial
        )

    def respond(self, request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
        context = {"partner_side": self.partner_side, **context}
        if _is_htmx(request):
            response = render(request, "billing/_quote_panel.html", context)
        else:
            response = render(request, "billing/quote.html", context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        initial = {"customer": request.GET.get("customer", "")}
        return self.respond(request, {"form": self.new_form(initial=initial)})

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        form = self.new_form(request.POST)
        context: dict[str, Any] = {"form": form}
        if form.is_valid():
            customer = form.chosen_customer() or self.org.tenant
            try:  # the form's customers are those the permission function lists
                quote = orders.quote_for(
                    org=self.org, customer=customer, lines=form.line_requests()
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                context.update(_quote_context(self.org, quote))
                if _buyer_refusal(self.org) is None:
                    context["order_url"] = f"{self.place_url(customer)}?{form.querystring()}"
                return self.respond(request, context)
        return self.respond(request, context, status=400)

    def place_url(self, customer: Tenant) -> str:
        if self.partner_side:
            return reverse(
                "customer_order_place",
                kwargs={"slug": self.org.tenant.slug, "customer_id": customer.pk},
            )
        return reverse("order_place", kwargs={"slug": self.org.tenant.slug})


class OrderPlaceView(BillingView):
    """Order for the customer: `orders/new/` in the customer portal,
    `customers/<id>/orders/new/` in the partner console. "Preview price" shows the
    quote (htmx, or the whole page), "Place order" orders it. Who may not order
    (not a buyer, or a customer user) gets the reason, with a 403."""

    def resolve(self) -> None:
        customer_id = self.kwargs.get("customer_id")
        if self.partner_side != (customer_id is not None):
            raise Http404(_("No such page."))
        if customer_id is not None:
            self.customer = customer_get_for_partner(org=self.org, customer_id=customer_id)
        else:
            self.customer = self.org.tenant
        self.refusal = _buyer_refusal(self.org)

    def new_form(
        self, data: QueryDict | None = None, initial: dict | None = None
    ) -> OrderLinesForm:
        return OrderLinesForm(
            data, products=_active_products(), initial=initial, special_prices=self.org.is_staff
        )

    def respond(self, request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
        context = {
            "partner_side": self.partner_side,
            "customer": self.customer,
            "refusal": self.refusal,
            "place_url": request.path,
            "quote_url": self.quote_url(),
            **context,
        }
        if _is_htmx(request) and self.refusal is None:
            response = render(request, "billing/_order_panel.html", context)
        else:
            response = render(request, "billing/order_place.html", context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def get(
        self, request: HttpRequest, slug: str, customer_id: uuid.UUID | None = None
    ) -> HttpResponse:
        if self.refusal:
            return self.respond(request, {}, status=403)
        initial = {
            key: value
            for key, value in request.GET.items()
            if key.startswith(("product_", "quantity_"))
        }
        return self.respond(request, {"form": self.new_form(initial=initial)})

    def post(
        self, request: HttpRequest, slug: str, customer_id: uuid.UUID | None = None
    ) -> HttpResponse:
        if self.refusal:
            return self.respond(request, {}, status=403)
        form = self.new_form(request.POST)
        context: dict[str, Any] = {"form": form}
        if form.is_valid():
            lines = form.line_requests()
            expected = _expected_total(request.POST.get("expected_total"))
            try:
                reason = special_prices.special_prices_check(
                    org=self.org, lines=lines, price_reason=form.price_reason()
                )
                if request.POST.get("action") == "place" and expected is not None:
                    order = special_prices.order_place_special(
                        org=self.org,
                        customer=self.customer,
                        lines=lines,
                        price_reason=reason,
                        expected_total=expected,
                    )
                    messages.success(request, self.placed_message(order))
                    return redirect("order_detail", slug=slug, order_id=order.pk)
                # Placing needs the amount the person saw: without one, the preview first.
                quote = orders.quote_for(org=self.org, customer=self.customer, lines=lines)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            except PriceChanged as exc:
                context.update(_quote_context(self.org, exc.quote), price_changed=exc.message)
                return self.respond(request, context, status=409)
            except PermissionDenied as exc:
                context["refusal"] = str(exc)
                return self.respond(request, context, status=403)
            else:
                context.update(_quote_context(self.org, quote))
                return self.respond(request, context)
        elif form.special_prices and "price_reason" not in form.errors:
            # The reason's rule on what was sent, with the lines' errors (all at once).
            try:
                special_prices.special_reason_clean(
                    org=self.org,
                    special=form.special_price_given(),
                    price_reason=form.data.get("price_reason"),
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
        return self.respond(request, context, status=200 if _is_htmx(request) else 400)

    def quote_url(self) -> str:
        """The quote page, for this customer on the partner side."""
        url = reverse("quote", kwargs={"slug": self.org.tenant.slug})
        return f"{url}?customer={self.customer.pk}" if self.partner_side else url

    def placed_message(self, order: Order) -> str:
        products = ", ".join(f"{line.quantity} x {line.product.name}" for line in order.lines.all())
        charged = _money(order.currency, order.charged_amount)
        if order.payer_tenant_id == self.org.tenant.pk:
            invoice = selectors.invoices_for(org=self.org).filter(order=order).first()
            if invoice:
                return _(
                    "Order placed: %(products)s. We issued invoice %(number)s to you "
                    "for %(amount)s (excl. VAT)."
                ) % {"products": products, "number": invoice.number, "amount": charged}
            return _(
                "Order placed: %(products)s. We issued an invoice to you for %(amount)s (excl. VAT)."
            ) % {"products": products, "amount": charged}
        text = _(
            "Order placed for %(customer)s: %(products)s. %(payer)s is invoiced "
            "%(amount)s (excl. VAT)."
        ) % {
            "customer": order.customer.name,
            "products": products,
            "payer": order.payer_tenant.name,
            "amount": charged,
        }
        if order.cashback_amount:
            text += " " + _("Your cashback of %(amount)s was credited to your prepaid account.") % {
                "amount": _money(order.currency, order.cashback_amount)
            }
        return text


# --- orders and invoices of both sides ------------------------------------------------------


def _order_row(org: OrgContext, order: Order) -> dict:
    return {
        "order": order,
        "figures": selectors.order_figures(org=org, order=order),
        "is_payer": order.payer_tenant_id == org.tenant.pk,
    }


class OrderListView(BillingView):
    """Newest first, 50 a page, in a fixed number of queries; ?kind=order|renewal."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        orders = selectors.orders_for(org=self.org).order_by("-placed_at", "-pk")
        kind = request.GET.get("kind", "")
        if kind in Order.Kind.values:
            orders = orders.filter(kind=kind)
        else:
            kind = ""
        page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            "page": page,
            "rows": [_order_row(self.org, order) for order in page.object_list],
            "kind": kind,
            "kinds": Order.Kind.choices,
            "may_order": _buyer_refusal(self.org) is None,
        }
        return self.render_page(request, "billing/orders.html", context)


class OrderDetailView(BillingView):
    def resolve(self) -> None:
        self.order = selectors.order_get(org=self.org, order_id=self.kwargs["order_id"])

    def get(self, request: HttpRequest, slug: str, order_id: uuid.UUID) -> HttpResponse:
        order = self.order
        figures = selectors.order_figures(org=self.org, order=order)
        partner_figures = figures["preferential"] is not None
        lines = []
        for line in order.lines.all():
            row = {
                "line": line,
                "list_amount": line.list_amount,
                "public_amount": line.public_amount,
                "charged": line.charged_amount if figures["charged"] is not None else None,
            }
            if partner_figures:
                row["after_partner_discount"] = line.after_partner_discount
                row["preferential_amount"] = line.preferential_amount
                row["cashback"] = line.cashback_amount
                row["discount"] = line.discount_amount
            lines.append(row)
        own_side = "partner" if self.partner_side else "customer"
        context = {
            "order": order,
            "figures": figures,
            "lines": lines,
            "partner_figures": partner_figures,
            "is_payer": order.payer_tenant_id == self.org.tenant.pk,
            # The payer's invoices only: orders_for prefetches those of this organization.
            "invoices": list(order.invoices.all()),
            "placed_by_us": order.ordered_by == own_side,
            "discount_percent": order.discount_rate * 100,
            "payer_is_partner": order.payer == Payer.PARTNER,
        }
        return self.render_page(request, "billing/order_detail.html", context)


class InvoiceListView(BillingView):
    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        invoices = selectors.invoices_for(org=self.org).order_by(
            "-issued_at", "-sequence_number", "pk"
        )
        page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
        return self.render_page(request, "billing/invoices.html", {"page": page})


class InvoiceDetailView(BillingView):
    """The printable invoice (or credit note, with negative amounts): the same
    document as its PDF (issuer, bill-to, dates, lines with periods, net, VAT,
    total), and the order it bills."""

    def resolve(self) -> None:
        self.invoice = selectors.invoice_get(org=self.org, invoice_id=self.kwargs["invoice_id"])

    def get(self, request: HttpRequest, slug: str, invoice_id: uuid.UUID) -> HttpResponse:
        invoice = self.invoice
        lines = selectors.invoice_lines(invoice=invoice)
        related = (
            selectors.invoices_for(org=self.org)
            .filter(order_id=invoice.order_id)
            .exclude(pk=invoice.pk)
            .prefetch_related(None)
            .order_by("issued_at")
        )
        context = {
            "invoice": invoice,
            "order": invoice.order,
            "bill_to": invoice.bill_to,
            "issuer": invoice.issuer,
            "lines": lines,
            "document": selectors.invoice_document(invoice=invoice),
            "related": list(related),
        }
        return self.render_page(request, "billing/invoice_detail.html", context)


class InvoicePdfView(BillingView):
    """The invoice's PDF, for the payer's organization only (404 for anyone
    else, as the page), in the page's language."""

    def resolve(self) -> None:
        self.invoice = selectors.invoice_get(org=self.org, invoice_id=self.kwargs["invoice_id"])

    def get(self, request: HttpRequest, slug: str, invoice_id: uuid.UUID) -> HttpResponse:
        return invoice_pdf_response(self.invoice)
