"""Browser pages of billing under /t/<slug>/ (mounted by portal/urls.py)."""

from django.urls import path

from billing import views

urlpatterns = [
    path("billing/", views.BillingDashboardView.as_view(), name="billing"),
    path("billing/export.csv", views.BillingExportView.as_view(), name="billing_export"),
    path("quote/", views.QuoteView.as_view(), name="quote"),
    path("orders/", views.OrderListView.as_view(), name="billing_orders"),
    path("orders/new/", views.OrderPlaceView.as_view(), name="order_place"),
    path("orders/<uuid:order_id>/", views.OrderDetailView.as_view(), name="order_detail"),
    path(
        "customers/<uuid:customer_id>/orders/new/",
        views.OrderPlaceView.as_view(),
        name="customer_order_place",
    ),
    path("invoices/", views.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<uuid:invoice_id>/", views.InvoiceDetailView.as_view(), name="invoice_detail"),
    path("invoices/<uuid:invoice_id>.pdf", views.InvoicePdfView.as_view(), name="invoice_pdf"),
    path("cashback/", views.CashbackView.as_view(), name="cashback"),
]
