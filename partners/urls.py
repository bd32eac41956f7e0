"""Browser pages of partnerships under /t/<slug>/ (the organization is named by the URL).
The public invitation landing lives outside /t/ (portal/urls.py)."""

from django.urls import path

from partners import views

urlpatterns = [
    # Partner console: who works on a customer
    path(
        "customers/<uuid:customer_id>/collaborators/",
        views.CustomerCollaboratorsView.as_view(),
        name="customer_collaborators",
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
