"""Browser pages of partnerships under /t/<slug>/ (the organization is named by the URL).
The public invitation landing lives outside /t/ (portal/urls.py)."""

from django.urls import include, path

from partners import views

urlpatterns = [
    # Partner console: customers
    path("customers/", views.PartnerCustomersView.as_view(), name="partner_customers"),
    path("customers/add/", views.CustomerAddView.as_view(), name="customer_add"),
    path("customers/import/", include("partners.views_imports")),
    path(
        "customers/<uuid:customer_id>/",
        views.CustomerDetailView.as_view(),
        name="customer_detail",
    ),
    path(
        "customers/<uuid:customer_id>/contacts/<uuid:contact_id>/",
        views.CustomerContactView.as_view(),
        name="customer_contact",
    ),
    path(
        "customers/<uuid:customer_id>/contracts/<uuid:contract_id>/",
        views.CustomerContractView.as_view(),
        name="customer_contract",
    ),
    path(
        "customers/<uuid:customer_id>/collaborators/",
        views.CustomerCollaboratorsView.as_view(),
        name="customer_collaborators",
    ),
    # Partner console: the lists a partner keeps
    path("sla-policies/", views.SlaPoliciesView.as_view(), name="sla_policies"),
    path("sla-policies/<uuid:policy_id>/", views.SlaPolicyView.as_view(), name="sla_policy"),
    path("alert-profiles/", views.AlertProfilesView.as_view(), name="alert_profiles"),
    path(
        "alert-profiles/<uuid:profile_id>/",
        views.AlertProfileView.as_view(),
        name="alert_profile",
    ),
    # Both sides
    path(
        "partnerships/<uuid:partnership_id>/",
        views.PartnershipDetailView.as_view(),
        name="partnership_detail",
    ),
    # Customer portal
    path("partners/", views.CustomerPartnersView.as_view(), name="customer_partners"),
    path("partners/invite/", views.PartnerInviteView.as_view(), name="partner_invite"),
]
