"""Browser pages of upsell under /t/<slug>/ (mounted by portal/urls.py)."""

from django.urls import path

from upsell import views

FEATURE = "services/<uuid:subscription_id>/features/<str:feature_code>/"

urlpatterns = [
    # Customer portal: Services, the dialog of a locked feature, Buy now, Ask my partner
    path("services/", views.ServicesView.as_view(), name="services"),
    path(FEATURE, views.FeatureDialogView.as_view(), name="service_feature"),
    path(f"{FEATURE}buy/", views.BuyNowView.as_view(), name="service_buy"),
    path(f"{FEATURE}ask/", views.AskPartnerView.as_view(), name="service_ask"),
    # Partner console: the Configure tab of a customer, and customers' requests
    path(
        "customers/<uuid:customer_id>/upsell/",
        views.CustomerUpsellView.as_view(),
        name="customer_upsell",
    ),
    path("upsell/requests/", views.UpgradeRequestsView.as_view(), name="upgrade_requests"),
    path(
        "upsell/requests/<uuid:request_id>/",
        views.UpgradeRequestView.as_view(),
        name="upgrade_request",
    ),
]
