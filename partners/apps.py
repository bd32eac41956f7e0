from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Partnerships"

    def ready(self) -> None:
        from partners import (
            book_changes,
            tasks,  # noqa: F401  (registers its Celery tasks: tenants.jobs)
        )

        book_changes.connect()
