"""The import's browser pages, under /t/<slug>/customers/import/ (the organization
is named by the URL): the upload with its dry run, the templates, a job's progress."""

from django.urls import path

from imports import views

urlpatterns = [
    path("customers/import/", views.CustomerImportView.as_view(), name="customer_import"),
    path(
        "customers/import/template/",
        views.CustomerImportTemplateView.as_view(),
        name="customer_import_template",
    ),
    path(
        "customers/import/jobs/<uuid:job_id>/",
        views.CustomerImportJobView.as_view(),
        name="customer_import_job",
    ),
]
