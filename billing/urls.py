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
    path(
        "subscriptions/<uuid:subscription_id>/raise/",
        views.SubscriptionRaiseView.as_view(),
        name="subscription_raise",
    ),
    path(
        "customers/<uuid:customer_id>/subscriptions/<uuid:subscription_id>/raise/",
        views.SubscriptionRaiseView.as_view(),
        name="customer_subscription_raise",
    ),
    path(
        "subscriptions/<uuid:subscription_id>/lower/",
        views.SubscriptionLowerView.as_view(),
        name="subscription_lower",
    ),
    path(
        "customers/<uuid:customer_id>/subscriptions/<uuid:subscription_id>/lower/",
        views.SubscriptionLowerView.as_view(),
        name="customer_subscription_lower",
    ),
    path(
        "subscriptions/<uuid:subscription_id>/end/",
        views.SubscriptionEndView.as_view(),
        name="subscription_end",
    ),
    path(
        "customers/<uuid:customer_id>/subscriptions/<uuid:subscription_id>/end/",
        views.SubscriptionEndView.as_view(),
        name="customer_subscription_end",
    ),
    path("invoices/", views.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<uuid:invoice_id>/", views.InvoiceDetailView.as_view(), name="invoice_detail"),
    path("cashback/", views.CashbackView.as_view(), name="cashback"),
]
