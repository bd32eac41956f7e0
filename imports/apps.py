from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("Import customers and contacts")

    def ready(self) -> None:
        from imports import tasks  # noqa: F401  (registers its Celery tasks: tenants.jobs)
