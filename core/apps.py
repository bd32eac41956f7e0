from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The infrastructure every app stands on, with no models of its own: the
    tenant scoping of querysets, domain events, Celery jobs, Redis faults,
    database helpers, API exceptions, language and CSV exports."""

    name = "core"
    verbose_name = "Core"
