from django.apps import AppConfig


class AmendmentsConfig(AppConfig):
    """Changes to a billed subscription mid-period: raise, lower, end now and
    the credit for a replaced edition, each an order of billing's (no models,
    so no admin page shows its name: not translated)."""

    name = "amendments"
    verbose_name = "Amendments"
