"""Browser pages of subscriptions under /t/<slug>/ (mounted by portal/urls.py)."""

from django.urls import path

from subscriptions import views

PAGES = [
    ("subscriptions/", views.SubscriptionListView, "subscriptions"),
    ("subscriptions/add/", views.SubscriptionAddView, "subscription_add"),
    ("subscriptions/<uuid:subscription_id>/", views.SubscriptionEditView, "subscription_edit"),
    (
        "subscriptions/<uuid:subscription_id>/cancel/",
        views.SubscriptionCancelView,
        "subscription_cancel",
    ),
]

urlpatterns = [
    # Partner console: a customer's subscriptions
    *(
        path(f"customers/<uuid:customer_id>/{route}", view.as_view(), name=f"customer_{name}")
        for route, view, name in PAGES
    ),
    path("mrr/movements/", views.MrrMovementsView.as_view(), name="mrr_movements"),
    # Customer portal: its own subscriptions
    *(path(route, view.as_view(), name=name) for route, view, name in PAGES),
]
