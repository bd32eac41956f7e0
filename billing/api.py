"""API of billing (API.md `quotes/`, `orders/`, `invoices/`, `cashback/`,
`billing/export.csv`; SPEC §7): parse, call billing.services or
billing.selectors, render. Who may order, what each side may see of an order's
money and which invoices an organization reads are decided there."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, renderers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from billing import selectors
from billing.documents import document_pdf_response
from billing.models import Invoice, Order
from billing.serializers import (
    BalanceSerializer,
    CashbackEntrySerializer,
    CashbackPageSerializer,
    InvoiceSerializer,
    OrderCreateSerializer,
    OrderPlaceSerializer,
    OrderSerializer,
    QuoteSerializer,
    SubscriptionOrderSerializer,
    SubscriptionPlacedSerializer,
    quote_as_seen,
)
from billing.services import orders, special_prices
from billing.services.orders import LineRequest, Quote
from core import exports
from core.exceptions import validation_detail
from subscriptions import api as subscriptions_api
from subscriptions import services as subscription_services
from subscriptions.api_smart_lists import CsvRenderer
from subscriptions.models import Subscription
from subscriptions.serializers import SubscriptionSerializer
from tenants.api_base import OrgAPIView, OrgGenericAPIView, OrgViewSet
from tenants.api_sync import SyncFilterBackend
from tenants.audit import audit_record
from tenants.models import AuditEvent, Role, Tenant
from tenants.selectors import OrgContext

BOTH_SIDES = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)


def _order_request(
    request: Request,
    org: OrgContext,
    serializer_class: type[Serializer] = OrderCreateSerializer,
) -> tuple[Tenant, list[LineRequest], dict[str, Any]]:
    """(the customer, [LineRequest], the body's data) from the body, or a 400 with
    field errors; the customer loaded once, through the permission function (a
    customer out of reach: 404)."""
    serializer = serializer_class(data=request.data, context={"org": org})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    lines = [
        orders.LineRequest(line["product"], line["quantity"], special_price=line.get("unit_price"))
        for line in data["lines"]
    ]
    special_prices.special_prices_check(org=org, lines=lines, price_reason=data.get("price_reason"))
    return selectors.order_customer_get(org=org, customer_id=data["customer"]), lines, data


def _preview(org: OrgContext, quote: Quote) -> dict:
    """A quote as the caller's side may read it."""
    return QuoteSerializer(quote_as_seen(quote, by_partner=selectors.sees_margin(org))).data


def _price_changed(org: OrgContext, exc: orders.PriceChanged) -> Response:
    """409: the amount moved since the preview; the new figures, nothing written."""
    body = {"detail": exc.message, "quote": _preview(org, exc.quote)}
    return Response(body, status=status.HTTP_409_CONFLICT)


class QuoteAPI(OrgAPIView):
    """What ordering these lines for the customer would cost now, line by line,
    and who would pay and earn; nothing is written. Partner users allowed on the
    customer and its products; a customer's members for their own organization."""

    allowed_kinds = BOTH_SIDES

    @extend_schema(
        operation_id="quotes_create",
        request=OrderCreateSerializer,
        responses={200: QuoteSerializer},
    )
    def post(self, request: Request) -> Response:
        customer, lines, _data = _order_request(request, self.org)
        quote = orders.quote_for(org=self.org, customer=customer, lines=lines)
        return Response(_preview(self.org, quote))


class OrderFilter(django_filters.FilterSet):
    # Plain filters over the caller's orders: a foreign customer gives an empty list.
    kind = django_filters.ChoiceFilter(choices=Order.Kind.choices)
    customer = django_filters.UUIDFilter(field_name="customer_id", help_text="A customer's id.")

    class Meta:
        model = Order
        fields = ["kind", "customer"]


class OrderViewSet(mixins.ListModelMixin, OrgViewSet):
    """Orders and renewals of the caller's organization: a customer's own, or
    those of the customers a partner managed (collaborators: their assigned
    customers), newest first. Amounts a side may not see are null."""

    serializer_class = OrderSerializer
    allowed_kinds = BOTH_SIDES
    filter_backends = [DjangoFilterBackend, SyncFilterBackend]
    filterset_class = OrderFilter
    queryset = Order.objects.none()

    def get_org_queryset(self) -> QuerySet[Order]:
        return selectors.orders_for(org=self.org).order_by("-placed_at", "-pk")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "org": self.org}

    def _render(self, order_id: object, status_code: int = status.HTTP_200_OK) -> Response:
        order = selectors.order_get(org=self.org, order_id=order_id)
        return Response(self.get_serializer(order).data, status=status_code)

    @extend_schema(
        request=OrderPlaceSerializer, responses={201: OrderSerializer, 200: QuoteSerializer}
    )
    def create(self, request: Request) -> Response:
        """Place an order: each line starts a subscription today for one billing
        period, priced and settled by SPEC §7; the invoice goes to the payer and
        the partner's cashback to its prepaid account. Customer owners and admins,
        and partner users allowed on the customer, with the buyer flag."""
        customer, lines, data = _order_request(request, self.org, OrderPlaceSerializer)
        if data["dry_run"]:
            quote = orders.quote_for(org=self.org, customer=customer, lines=lines)
            return Response(_preview(self.org, quote))
        try:
            if data.get("price_reason"):  # staff's special prices (checked in _order_request)
                order = special_prices.order_place_special(
                    org=self.org,
                    customer=customer,
                    lines=lines,
                    price_reason=data["price_reason"],
                    expected_total=data.get("expected_total"),
                )
            else:
                order = orders.order_place_for(
                    org=self.org,
                    customer=customer,
                    lines=lines,
                    expected_total=data.get("expected_total"),
                )
        except orders.PriceChanged as exc:
            return _price_changed(self.org, exc)
        return self._render(order.pk, status.HTTP_201_CREATED)

    @extend_schema(responses=OrderSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return self._render(pk)


class PdfRenderer(renderers.BaseRenderer):
    """Lets `Accept: application/pdf` through; the PDF itself is an
    HttpResponse (an error under this Accept is its JSON, as elsewhere)."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return renderers.JSONRenderer().render(data)


def pdf_action(*, operation_id: str, description: str) -> Callable[[Callable], Callable]:
    """A viewset's `<id>/pdf/` action (invoices, credit notes, partner
    invoices): a PDF under `Accept: application/pdf`, errors as JSON, no
    filters or pages, documented as a binary download."""

    def decorate(method: Callable) -> Callable:
        return extend_schema(
            operation_id=operation_id,
            responses={(200, "application/pdf"): OpenApiTypes.BINARY},
            description=description,
        )(
            action(
                detail=True,
                methods=["get"],
                url_path="pdf",
                renderer_classes=[renderers.JSONRenderer, PdfRenderer],
                filter_backends=[],
                pagination_class=None,
            )(method)
        )

    return decorate


def invoice_pdf_response(invoice: Invoice) -> HttpResponse:
    """The PDF of an invoice the caller may read (the API's and the page's),
    in the active language, as a download named after its number."""
    return document_pdf_response(
        selectors.invoice_document(invoice=invoice), filename=f"{invoice.number}.pdf"
    )


class InvoiceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Invoice.Kind.choices)

    class Meta:
        model = Invoice
        fields = ["kind"]


class InvoiceViewSet(mixins.ListModelMixin, OrgViewSet):
    """Invoices and credit notes addressed to the caller's organization, newest
    first; the other side of the order gets the 404 of a missing id."""

    serializer_class = InvoiceSerializer
    allowed_kinds = BOTH_SIDES
    filter_backends = [DjangoFilterBackend, SyncFilterBackend]
    filterset_class: type[django_filters.FilterSet] | None = InvoiceFilter
    queryset = Invoice.objects.none()
    sync_field = "issued_at"  # an invoice never changes once issued

    def get_org_queryset(self) -> QuerySet[Invoice]:
        return selectors.invoices_for(org=self.org).order_by("-issued_at", "-sequence_number")

    def document_get(self, pk: str | None) -> Invoice:
        return selectors.invoice_get(org=self.org, invoice_id=pk)

    @extend_schema(responses=InvoiceSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(InvoiceSerializer(self.document_get(pk)).data)

    @pdf_action(
        operation_id="invoices_pdf",
        description="The invoice (or credit note) as a PDF, labels in the request's language.",
    )
    def pdf(self, request: Request, pk: str | None = None) -> HttpResponse:
        return invoice_pdf_response(self.document_get(pk))


@extend_schema_view(
    pdf=extend_schema(
        operation_id="credit_notes_pdf",
        description="The credit note as a PDF, labels in the request's language.",
    )
)
class CreditNoteViewSet(InvoiceViewSet):
    """API.md rev. 2 `credit-notes/`: the credit notes addressed to the caller's
    organization (proration credits and refunds), the same documents as
    `invoices/?kind=credit_note`; an invoice's id here is the 404 of a missing one."""

    filter_backends = [SyncFilterBackend]
    filterset_class = None

    def get_org_queryset(self) -> QuerySet[Invoice]:
        return super().get_org_queryset().filter(kind=Invoice.Kind.CREDIT_NOTE)

    def document_get(self, pk: str | None) -> Invoice:
        return selectors.credit_note_get(org=self.org, credit_note_id=pk)


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="A page number."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Entries per page, up to 200."),
]


class CashbackAPI(OrgGenericAPIView):
    """The partner's prepaid account: its ledger, newest first, paginated, with
    the balance per currency. Partner owners and admins."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN
    filter_backends = []

    @extend_schema(
        operation_id="cashback_list",
        parameters=PAGE_PARAMETERS,
        responses=CashbackPageSerializer,
    )
    def get(self, request: Request) -> Response:
        ledger = selectors.cashback_ledger(org=self.org).order_by("-created_at", "-pk")
        page = self.paginate_queryset(ledger)
        response = self.get_paginated_response(CashbackEntrySerializer(page, many=True).data)
        balance = selectors.cashback_balance(partner=self.org.tenant)
        rows = [{"currency": currency, "amount": amount} for currency, amount in balance.items()]
        response.data["balance"] = BalanceSerializer(rows, many=True).data
        return response


def audited_csv_response(
    *, org: OrgContext, action: str, name: str, header: Iterable[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    """An export of the caller's organization as CSV, streamed, named
    `<name>-<slug>-<today>.csv` and recorded in its audit log under `action`
    (the billing export, a partner's invoices)."""
    filename = f"{name}-{org.tenant.slug}-{timezone.localdate().isoformat()}.csv"
    audit_record(
        tenant=org.tenant,
        action=action,
        actor=org.user,
        actor_tenant=org.tenant,
        target=filename,
        details={"filename": filename},
    )
    return exports.csv_response(exports.csv_lines(header, rows), filename=filename)


def billing_export_response(*, org: OrgContext) -> StreamingHttpResponse:
    """The streamed billing CSV (the API's and the page's)."""
    return audited_csv_response(
        org=org,
        action=AuditEvent.Action.EXPORT_BILLING,
        name="billing",
        header=selectors.BILLING_EXPORT_COLUMNS,
        rows=selectors.billing_export_rows(org=org),
    )


class BillingExportAPI(OrgAPIView):
    """The billing data of the partner's customers as CSV, streamed: one row per
    order line, oldest first; invoice numbers only of invoices addressed to the
    partner. Partner owners and admins."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="billing_export_csv", responses={(200, "text/csv"): OpenApiTypes.STR}
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return billing_export_response(org=self.org)


# --- subscriptions: every write that moves money is an order (SPEC §4 rev. 2) -----------


def _on_the_product(exc: ValidationError) -> ValidationError:
    """An order's refusal of its one line (no price in this currency, no longer
    sold, another partner's product) is a field error of the subscription's product."""
    detail = validation_detail(exc)
    if "lines" in detail:
        detail["product"] = detail.pop("lines")
    return ValidationError(detail)


class SubscriptionViewSet(subscriptions_api.SubscriptionViewSet):
    """`subscriptions/`: the reads of subscriptions.api, and the writes, each an
    order under SPEC §7's rules: the buyer flag (403 otherwise), prices from the
    pricing rules for the payer, the invoice, the cashback and the ledger's change.
    `dry_run` previews; `expected_total` commits only the previewed amount (409)."""

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "org": self.org}

    def _placed(
        self, subscription: Subscription, order: Order | None, status_code: int
    ) -> Response:
        order = selectors.order_get(org=self.org, order_id=order.pk) if order else None
        body = {
            "subscription": SubscriptionSerializer(subscription).data,
            "order": OrderSerializer(order, context=self.get_serializer_context()).data
            if order
            else None,
        }
        return Response(body, status=status_code)

    @extend_schema(
        request=SubscriptionOrderSerializer,
        responses={201: SubscriptionPlacedSerializer, 200: QuoteSerializer},
    )
    def create(self, request: Request) -> Response:
        """Open a subscription by an order placed today (with `dry_run`: its preview)."""
        body = request.data if hasattr(request.data, "get") else {}
        customer = self._customer_to_write(body.get("customer"))
        serializer = SubscriptionOrderSerializer(data=request.data, context={"org": self.org})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # a limited grant without this product: the 404 of a customer out of reach
        subscription_services.subscription_write_check(
            org=self.org, customer=customer, product=data["product"]
        )
        line = LineRequest(
            data["product"],
            data["quantity"],
            ends_on=data.get("ends_on"),
            special_price=data.get("unit_price"),
        )
        # staff's special price: checked (reason, 400) before anything is priced
        reason = special_prices.special_prices_check(
            org=self.org, lines=[line], price_reason=data.get("price_reason")
        )
        try:
            if data["dry_run"]:
                quote = orders.quote_for(org=self.org, customer=customer, lines=[line])
                return Response(_preview(self.org, quote))
            order = special_prices.order_place_special(
                org=self.org,
                customer=customer,
                lines=[line],
                price_reason=reason,
                expected_total=data.get("expected_total"),
            )
        except ValidationError as exc:
            raise _on_the_product(exc) from exc
        except orders.PriceChanged as exc:
            return _price_changed(self.org, exc)
        subscription = order.lines.get().subscription
        assert subscription is not None  # the order's one line opened it
        return self._placed(subscription, order, status.HTTP_201_CREATED)
