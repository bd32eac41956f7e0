"""Browser pages under /t/<slug>/ (the organization is named by the URL)."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/", views.WebhookEndpointsView.as_view(), name="webhook_endpoints"),
    path(
        "webhooks/<uuid:endpoint_id>/",
        views.WebhookEndpointView.as_view(),
        name="webhook_endpoint",
    ),
]
