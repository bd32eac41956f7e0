"""Browser pages of offers under /t/<slug>/ (mounted by portal/urls.py). Emails
link to `updates` and `offer_detail`: keep those names and arguments."""

from django.urls import path

from offers import views

urlpatterns = [
    # Customer portal
    path("updates/", views.UpdatesView.as_view(), name="updates"),
    # Both sides
    path("offers/<uuid:offer_id>/", views.OfferDetailView.as_view(), name="offer_detail"),
    path("offers/<uuid:offer_id>/status/", views.OfferStatusView.as_view(), name="offer_status"),
    # Partner console: sending and following offers
    path("offers/", views.SentOffersView.as_view(), name="offers_sent"),
    path("offers/new/", views.OfferSendView.as_view(), name="offer_send"),
    path("offers/sends/<uuid:batch_id>/", views.BatchView.as_view(), name="offer_batch"),
    # Partner console: templates
    path("offer-templates/", views.TemplateListView.as_view(), name="offer_templates"),
    path(
        "offer-templates/<uuid:template_id>/",
        views.TemplateView.as_view(),
        name="offer_template",
    ),
    path(
        "offer-templates/<uuid:template_id>/items/",
        views.TemplateItemsView.as_view(),
        name="offer_template_items",
    ),
    path(
        "offer-templates/<uuid:template_id>/items/<uuid:item_id>/",
        views.TemplateItemView.as_view(),
        name="offer_template_item",
    ),
]
