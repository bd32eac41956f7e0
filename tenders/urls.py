"""Tenders and the partner programme under /t/<slug>/ (mounted by portal/urls.py);
the public pages (the visitor's form, the poster's links, the directory) are
in `public_urlpatterns`, mounted at the root."""

from django.urls import path

from tenders import views

urlpatterns = [
    path("tenders/", views.TendersView.as_view(), name="tenders"),
    path("tenders/new/", views.TenderPostView.as_view(), name="tender_new"),
    path("tenders/<uuid:tender_id>/", views.TenderDetailView.as_view(), name="tender_detail"),
]

public_urlpatterns = [
    path("directory/", views.DirectoryView.as_view(), name="directory"),
    path("requests/new/", views.VisitorTenderView.as_view(), name="tender_new_public"),
    path("requests/confirm/<str:token>/", views.TenderConfirmView.as_view(), name="tender_confirm"),
    path("requests/manage/<str:token>/", views.TenderManageView.as_view(), name="tender_manage"),
]
