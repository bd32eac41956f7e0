from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResaleConfig(AppConfig):
    name = "resale"
    verbose_name = _("Resale prices and partner invoices")

    def ready(self) -> None:
        # Registers its Celery tasks, and hands billing the resale step of the
        # price waterfall the partner sees (billing.pricing.use_resale_rule).
        from billing.pricing import use_resale_rule
        from resale import selectors, tasks  # noqa: F401

        use_resale_rule(selectors.resale_steps)
