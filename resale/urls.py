"""Browser pages of resale under /t/<slug>/ (mounted by portal/urls.py)."""

from django.urls import path

from resale import views

urlpatterns = [
    path("resale-prices/", views.ResalePricesView.as_view(), name="resale_prices"),
    path("partner-invoices/", views.PartnerInvoiceListView.as_view(), name="partner_invoices"),
    path(
        "partner-invoices/export.csv",
        views.PartnerInvoiceExportView.as_view(),
        name="partner_invoices_export",
    ),
    path(
        "partner-invoices/<uuid:invoice_id>/",
        views.PartnerInvoiceDetailView.as_view(),
        name="partner_invoice_detail",
    ),
    path(
        "partner-invoices/<uuid:invoice_id>.pdf",
        views.PartnerInvoicePdfView.as_view(),
        name="partner_invoice_pdf",
    ),
    path("margin/", views.MarginView.as_view(), name="resale_margin"),
    path("margin/lines/", views.MarginLinesView.as_view(), name="resale_margin_lines"),
]
