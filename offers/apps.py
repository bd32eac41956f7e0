from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = "Offers"

    def ready(self) -> None:
        # its Celery tasks (core.jobs) and the renderers of its deferred emails
        from offers import notifications, tasks  # noqa: F401
