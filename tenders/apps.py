from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TendersConfig(AppConfig):
    name = "tenders"
    verbose_name = _("Tenders")

    def ready(self) -> None:
        from tenders import (
            programme,
            tasks,  # noqa: F401  (registers its Celery tasks: tenants.jobs)
        )

        programme.connect()
