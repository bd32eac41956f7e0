"""API of resale (API.md `resale-prices/`, `partner-invoices/`): parse, call
resale.services or resale.selectors, render."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, renderers
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api import audited_csv_response, pdf_action
from billing.documents import document_pdf_response
from billing.models import CURRENCIES
from resale import selectors, services
from resale.models import PartnerInvoice
from resale.serializers import (
    PartnerInvoiceDetailSerializer,
    PartnerInvoiceSerializer,
    ResalePriceSerializer,
    ResalePriceWriteSerializer,
)
from subscriptions.api_smart_lists import CsvRenderer
from tenants.api_base import OrgAPIView, OrgViewSet
from tenants.models import AuditEvent, Role, Tenant
from tenants.selectors import OrgContext

CURRENCY = OpenApiParameter(
    "currency", OpenApiTypes.STR, enum=[c for c, _label in CURRENCIES], description="One currency."
)


class ResalePricesAPI(OrgAPIView):
    """The partner's resale price list: per product and currency, the public
    price, a markup % on the partner's cost, or a fixed price, with today's
    figures for one unit. Partner owners and admins."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN

    def _list(self, request: Request) -> Response:
        currency = request.query_params.get("currency")  # empty names no currency: a 400
        if currency is not None and currency not in dict(CURRENCIES):
            raise exceptions.ValidationError({"currency": ["Choose CHF or EUR."]})
        rows = selectors.price_list(org=self.org, currency=currency)
        return Response(ResalePriceSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="resale_prices_list",
        parameters=[CURRENCY],
        responses=ResalePriceSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return self._list(request)

    @extend_schema(
        operation_id="resale_prices_update",
        request=ResalePriceWriteSerializer(many=True),
        responses=ResalePriceSerializer(many=True),
    )
    def put(self, request: Request) -> Response:
        """Set the given products' rules from today on (the others stay as they
        are); every entry is checked first, and a 400 writes nothing."""
        if not isinstance(request.data, list):
            raise exceptions.ValidationError(
                {"non_field_errors": ["Send a list of {product, currency, mode, value}."]}
            )
        serializer = ResalePriceWriteSerializer(data=request.data, many=True)
        if not serializer.is_valid():
            # {position: {field: [messages]}} for the entries at fault only
            errors = serializer.errors
            found = errors.items() if isinstance(errors, dict) else enumerate(errors)
            raise exceptions.ValidationError({str(i): e for i, e in found if e})
        entries = [services.ResaleEntry(**row) for row in serializer.validated_data]
        try:
            services.resale_prices_set(org=self.org, entries=entries)
        except services.EntryErrors as exc:
            raise exceptions.ValidationError(
                {
                    str(index): {name: [message] for name, message in errors.items()}
                    for index, errors in exc.by_entry.items()
                }
            ) from exc
        return self._list(request)


def partner_invoice_pdf_response(invoice: PartnerInvoice) -> HttpResponse:
    """The PDF of a partner invoice the caller may read (the API's and the
    page's), in the active language, as a download named after its number."""
    return document_pdf_response(
        selectors.partner_invoice_document(invoice=invoice), filename=f"{invoice.number}.pdf"
    )


def partner_invoices_csv_response(*, org: OrgContext, month: Any = None) -> StreamingHttpResponse:
    """The partner invoices' lines as CSV (the API's and the page's), audited."""
    return audited_csv_response(
        org=org,
        action=AuditEvent.Action.EXPORT_PARTNER_INVOICES,
        name="partner-invoices",
        header=selectors.partner_invoice_csv_columns(org=org),
        rows=selectors.partner_invoice_csv_rows(org=org, month=month),
    )


class PartnerInvoiceViewSet(mixins.ListModelMixin, OrgViewSet):
    """A partner's own invoices to its customers: the issuing partner's owners
    and admins, and the billed customer's members; anyone else gets the 404 of
    a missing id. Cost and margin are null for the customer."""

    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
    serializer_class = PartnerInvoiceSerializer
    queryset = PartnerInvoice.objects.none()
    filter_backends: list = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not selectors.sees_partner_invoices(self.org):
            raise exceptions.PermissionDenied("A partner's invoices are for its owners and admins.")

    def get_org_queryset(self) -> QuerySet[PartnerInvoice]:
        return selectors.partner_invoices_for(org=self.org)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "partner_side": self.org.tenant.is_partner}

    @extend_schema(responses=PartnerInvoiceDetailSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        invoice = selectors.partner_invoice_get(org=self.org, invoice_id=pk)
        return Response(
            PartnerInvoiceDetailSerializer(invoice, context=self.get_serializer_context()).data
        )

    @pdf_action(
        operation_id="partner_invoices_pdf",
        description="The invoice as a PDF, labels in the request's language.",
    )
    def pdf(self, request: Request, pk: str | None = None) -> HttpResponse:
        return partner_invoice_pdf_response(
            selectors.partner_invoice_get(org=self.org, invoice_id=pk)
        )


class PartnerInvoiceExportAPI(OrgAPIView):
    """Every line of the partner invoices the caller may read, as CSV (cost and
    margin columns for the issuing partner only)."""

    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not selectors.sees_partner_invoices(self.org):
            raise exceptions.PermissionDenied("A partner's invoices are for its owners and admins.")

    @extend_schema(
        operation_id="partner_invoices_export_csv",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return partner_invoices_csv_response(org=self.org)
