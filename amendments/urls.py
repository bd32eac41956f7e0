"""Browser pages of a change to a billed subscription under /t/<slug>/ (mounted
by portal/urls.py): the URL names billing had (issue 19 moved them)."""

from django.urls import path

from amendments import views

urlpatterns = [
    path(
        "subscriptions/<uuid:subscription_id>/raise/",
        views.SubscriptionRaiseView.as_view(),
        name="subscription_raise",
    ),
    path(
        "customers/<uuid:customer_id>/subscriptions/<uuid:subscription_id>/raise/",
        views.SubscriptionRaiseView.as_view(),
        name="customer_subscription_raise",
    ),
    path(
        "subscriptions/<uuid:subscription_id>/lower/",
        views.SubscriptionLowerView.as_view(),
        name="subscription_lower",
    ),
    path(
        "customers/<uuid:customer_id>/subscriptions/<uuid:subscription_id>/lower/",
        views.SubscriptionLowerView.as_view(),
        name="customer_subscription_lower",
    ),
    path(
        "subscriptions/<uuid:subscription_id>/end/",
        views.SubscriptionEndView.as_view(),
        name="subscription_end",
    ),
    path(
        "customers/<uuid:customer_id>/subscriptions/<uuid:subscription_id>/end/",
        views.SubscriptionEndView.as_view(),
        name="customer_subscription_end",
    ),
]
