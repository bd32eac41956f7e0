from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Pricing, orders, invoices and cashback")

    def ready(self) -> None:
        from billing import tasks  # noqa: F401  (registers its Celery tasks: tenants.jobs)
