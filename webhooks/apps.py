from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # The outbox hears every domain event (core.events) in the change's own
        # transaction; the tasks' names are known in every process (core.jobs).
        from webhooks import services, tasks  # noqa: F401

        services.outbox_subscribe()
