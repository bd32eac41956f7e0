"""Browser pages of the customers a partner manages, under /t/<slug>/ (the
organization is named by the URL): the wizard, a customer's records
(the list is portal.workbench's, the import's pages the `imports` app's), and the partner's own SLA policies and alert profiles."""

from django.urls import path

from customers import views

urlpatterns = [
    path("customers/add/", views.CustomerAddView.as_view(), name="customer_add"),
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
    # The lists a partner keeps
    path("sla-policies/", views.SlaPoliciesView.as_view(), name="sla_policies"),
    path("sla-policies/<uuid:policy_id>/", views.SlaPolicyView.as_view(), name="sla_policy"),
    path("alert-profiles/", views.AlertProfilesView.as_view(), name="alert_profiles"),
    path(
        "alert-profiles/<uuid:profile_id>/",
        views.AlertProfileView.as_view(),
        name="alert_profile",
    ),
]
