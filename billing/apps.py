from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Pricing, orders, invoices and cashback")

    def ready(self) -> None:
        # Registers its Celery tasks (tenants.jobs) and its email renderers
        # (tenants.emails), in every process: web, worker, tests.
        from billing import notifications, tasks  # noqa: F401
