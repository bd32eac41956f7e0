from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog.models import Feature, Product
from partners.views import InvitationView
from portal import views
from portal.health import livez, readyz
from portal.i18n import language_set
from portal.profile import profile, session_end, sessions_end_others
from portal.provider import (
    PartnerDiscountView,
    PartnerInviteView,
    PartnerMoveView,
    PartnerPaymentTermsView,
    PartnerStatusView,
    PartnersView,
    PartnerView,
)
from portal.provider_catalog import ProductFormView, ProductStatusView, ProductsView
from portal.provider_platform import (
    AuditExportView,
    AuditLogView,
    InvoicingView,
    PlatformMrrView,
    TendersView,
    TenderWithdrawView,
)
from tenants import views as tenant_views
from tenants.sso_views import IdentifierFirstLoginView
from tenders.urls import public_urlpatterns as tender_public_urls

# The admin has no sign-in form of its own: /admin/login/ sends visitors to the
# portal's (allauth's), whose failed-login limits then apply to staff accounts too.
admin.site.login = secure_admin_login(admin.site.login)

handler400 = "portal.api.exceptions.bad_request"
handler404 = "portal.api.exceptions.not_found"
handler500 = "portal.api.exceptions.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    # Probes (docs/operations.md); portal.health.ProbeMiddleware answers them first.
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("healthz", readyz, name="healthz"),
    # The catalog moved from `subscriptions` to its own app (issue 19): its admin pages
    # answer at their old addresses too, so staff bookmarks keep working.
    *[
        path(
            f"admin/subscriptions/{model._meta.model_name}/",
            include(admin.site.get_model_admin(model).urls),
        )
        for model in (Product, Feature)
    ],
    path("admin/", admin.site.urls),
    # allauth's own sessions list: "Your sessions" on the profile is the one place
    path(
        "accounts/sessions/",
        RedirectView.as_view(url="/profile/#sessions"),
        name="usersessions_list",
    ),
    # The login page routes an email of a domain with single sign-on to its
    # organization's provider (tenants.sso); it takes allauth's name.
    path("accounts/login/", IdentifierFirstLoginView.as_view(), name="account_login"),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", language_set, name="set_language"),
    path("profile/", profile, name="profile"),
    path("profile/sessions/<slug:session_ref>/end/", session_end, name="profile_session_end"),
    path("profile/sessions/end-others/", sessions_end_others, name="profile_sessions_end_others"),
    path("api/v1/", include(("portal.api.urls", "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("invitations/<str:token>/", InvitationView.as_view(), name="invitation"),
    path("branding/<uuid:tenant_id>/logo", tenant_views.branding_logo, name="branding_logo"),
    # The provider console (SPEC §2): platform staff only, 404 for anyone else.
    path("provider/partners/", PartnersView.as_view(), name="provider_partners"),
    path("provider/partners/new/", PartnerInviteView.as_view(), name="provider_partner_new"),
    path(
        "provider/partners/<uuid:partner_id>/status/",
        PartnerStatusView.as_view(),
        name="provider_partner_status",
    ),
    path("provider/partners/<uuid:partner_id>/", PartnerView.as_view(), name="provider_partner"),
    path(
        "provider/partners/<uuid:partner_id>/discount/",
        PartnerDiscountView.as_view(),
        name="provider_partner_discount",
    ),
    path(
        "provider/partners/<uuid:partner_id>/payment-terms/",
        PartnerPaymentTermsView.as_view(),
        name="provider_partner_payment_terms",
    ),
    path(
        "provider/partners/<uuid:partner_id>/move/",
        PartnerMoveView.as_view(),
        name="provider_partner_move",
    ),
    path("t/<slug:slug>/", views.DashboardView.as_view(), name="org_dashboard"),
    path("t/<slug:slug>/", include("tenants.urls")),
    path("t/<slug:slug>/", include("portal.workbench.urls")),
    path("t/<slug:slug>/", include("customers.urls")),
    path("t/<slug:slug>/", include("imports.urls")),
    path("t/<slug:slug>/", include("partners.urls")),
    path("t/<slug:slug>/", include("subscriptions.views_smart_lists")),
    path("t/<slug:slug>/", include("subscriptions.urls")),
    path("t/<slug:slug>/", include("billing.urls")),
    path("t/<slug:slug>/", include("amendments.urls")),
    path("t/<slug:slug>/", include("offers.urls")),
    path("t/<slug:slug>/", include("resale.urls")),
    path("t/<slug:slug>/", include("upsell.urls")),
    path("t/<slug:slug>/", include("tenders.urls")),
    path("t/<slug:slug>/", include("webhooks.urls")),
    *tender_public_urls,
    # The provider console's catalog (SPEC §2): platform staff only, 404 for anyone else.
    path("provider/catalog/", ProductsView.as_view(), name="provider_catalog"),
    path("provider/catalog/new/", ProductFormView.as_view(), name="provider_product_new"),
    path(
        "provider/catalog/<uuid:product_id>/",
        ProductFormView.as_view(),
        name="provider_product_edit",
    ),
    path(
        "provider/catalog/<uuid:product_id>/status/",
        ProductStatusView.as_view(),
        name="provider_product_status",
    ),
    # The provider console's platform pages (portal.provider_platform).
    path("provider/mrr/", PlatformMrrView.as_view(), name="provider_mrr"),
    path("provider/invoicing/", InvoicingView.as_view(), name="provider_invoicing"),
    path("provider/audit/", AuditLogView.as_view(), name="provider_audit"),
    path("provider/audit/export.csv", AuditExportView.as_view(), name="provider_audit_export"),
    path("provider/tenders/", TendersView.as_view(), name="provider_tenders"),
    path(
        "provider/tenders/<uuid:tender_id>/withdraw/",
        TenderWithdrawView.as_view(),
        name="provider_tender_withdraw",
    ),
]
