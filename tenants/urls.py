"""Browser pages under /t/<slug>/ (the organization is named by the URL)."""

from django.urls import path

from tenants import sso_views, views

urlpatterns = [
    path("members/", views.MembersView.as_view(), name="members"),
    path("members/<uuid:membership_id>/", views.MemberChangeView.as_view(), name="member_change"),
    path("tokens/", views.ApiTokensView.as_view(), name="tokens"),
    path("audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("organization/", views.OrganizationView.as_view(), name="organization"),
    path("sso/", sso_views.SsoView.as_view(), name="sso"),
]
