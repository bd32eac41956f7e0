from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = "Offers"

    def ready(self) -> None:
        from offers import tasks  # noqa: F401  (registers its Celery tasks: core.jobs)
