from django.urls import include, path
from rest_framework.routers import DefaultRouter

from amendments.api import OrderViewSet, SubscriptionViewSet
from billing.api import (
    BillingExportAPI,
    CashbackAPI,
    CreditNoteViewSet,
    InvoiceViewSet,
    QuoteAPI,
)
from catalog.api import ProductViewSet
from customers.api import AlertProfileViewSet, ContractViewSet, CustomerViewSet, SlaPolicyViewSet
from offers.api import OfferBatchAPI, OfferTemplateViewSet, OfferViewSet, UpdatesAPI
from partners.api import PartnerDirectoryAPI, PartnershipViewSet
from resale.api import PartnerInvoiceExportAPI, PartnerInvoiceViewSet, ResalePricesAPI
from subscriptions.api import CustomerMrrAPI
from subscriptions.api_mrr import PlatformMrrAPI
from tenants.api import (
    ApiTokenViewSet,
    AuditEventViewSet,
    BrandingAPI,
    BrandingLogoAPI,
    MeAPI,
    MemberViewSet,
    OrganizationAPI,
    OrganizationSettingsAPI,
    PartnerCreateAPI,
    PartnerUpdateAPI,
)
from tenders.api import programme_urlpatterns
from upsell.api import (
    CustomerUpsellAPI,
    CustomerUpsellInterestAPI,
    FeatureAskAPI,
    ServicesAPI,
    UpgradeRequestViewSet,
)
from webhooks.api import WebhookEndpointViewSet, WebhookEventTypesAPI

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json` twins of every URL: API.md names none, and the viewsets' handlers
# take no `format` argument (each twin was a 500).
router.include_format_suffixes = False
router.register("members", MemberViewSet, basename="member")
router.register("tokens", ApiTokenViewSet, basename="token")
router.register("audit", AuditEventViewSet, basename="audit-event")
router.register("products", ProductViewSet, basename="product")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("customers", CustomerViewSet, basename="customer")
router.register("contracts", ContractViewSet, basename="contract")
router.register("partnerships", PartnershipViewSet, basename="partnership")
router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
router.register("alert-profiles", AlertProfileViewSet, basename="alert-profile")
router.register("orders", OrderViewSet, basename="order")
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("credit-notes", CreditNoteViewSet, basename="credit-note")
router.register("partner-invoices", PartnerInvoiceViewSet, basename="partner-invoice")
router.register("offer-templates", OfferTemplateViewSet, basename="offer-template")
router.register("offers", OfferViewSet, basename="offer")
router.register("upsell/requests", UpgradeRequestViewSet, basename="upgrade-request")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = [
    path("me/", MeAPI.as_view(), name="me"),
    path("organization/", OrganizationAPI.as_view(), name="organization"),
    path("organization/branding/", BrandingAPI.as_view(), name="organization-branding"),
    path(
        "organization/branding/logo/", BrandingLogoAPI.as_view(), name="organization-branding-logo"
    ),
    path(
        "organization/settings/",
        OrganizationSettingsAPI.as_view(),
        name="organization-settings",
    ),
    path("partners/", PartnerCreateAPI.as_view(), name="partner-create"),
    path("partners/directory/", PartnerDirectoryAPI.as_view(), name="partner-directory"),
    path("partners/<uuid:partner_id>/", PartnerUpdateAPI.as_view(), name="partner-update"),
    path("customers/import/", include("imports.api")),  # before customers/{id}/
    path("tenders/", include("tenders.api")),
    path("programme/", include(programme_urlpatterns)),
    path("mrr/", include("subscriptions.api_mrr")),
    path("smart-lists/", include("subscriptions.api_smart_lists")),
    path(  # before the router: customers/{id}/ is customers' CustomerViewSet
        "customers/<uuid:customer_id>/mrr/", CustomerMrrAPI.as_view(), name="customer-mrr"
    ),
    path(  # before the router, as above
        "customers/<uuid:customer_id>/upsell/", CustomerUpsellAPI.as_view(), name="customer-upsell"
    ),
    path(
        "customers/<uuid:customer_id>/upsell/interest/",
        CustomerUpsellInterestAPI.as_view(),
        name="customer-upsell-interest",
    ),
    path("services/", ServicesAPI.as_view(), name="services"),
    path(
        "services/<str:subscription_id>/features/<str:feature_code>/ask/",
        FeatureAskAPI.as_view(),
        name="service-feature-ask",
    ),
    path("quotes/", QuoteAPI.as_view(), name="quote"),
    path("cashback/", CashbackAPI.as_view(), name="cashback"),
    path("billing/export.csv", BillingExportAPI.as_view(), name="billing-export"),
    path("resale-prices/", ResalePricesAPI.as_view(), name="resale-prices"),
    path(  # before the router: partner-invoices/{id}/ is the viewset's
        "partner-invoices/export.csv",
        PartnerInvoiceExportAPI.as_view(),
        name="partner-invoices-export",
    ),
    path("offers/batches/<str:batch_id>/", OfferBatchAPI.as_view(), name="offer-batch"),
    path("updates/", UpdatesAPI.as_view(), name="updates"),
    path("webhook-event-types/", WebhookEventTypesAPI.as_view(), name="webhook-event-types"),
    path("", include(router.urls)),
    path("provider/mrr/", PlatformMrrAPI.as_view(), name="provider-mrr"),
]
