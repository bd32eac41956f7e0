"""The customer list under /t/<slug>/ (mounted by portal/urls.py before the
customers app's pages): the page and its bulk actions."""

from django.urls import path

from portal.workbench import views

urlpatterns = [
    path("customers/", views.CustomerWorkbenchView.as_view(), name="partner_customers"),
    path("customers/bulk/", views.CustomerBulkView.as_view(), name="customers_bulk"),
]
