from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from tenants import (
            receivers,  # noqa: F401  (allauth integration only)
            tasks,  # noqa: F401  (registers its Celery tasks: core.jobs)
        )
