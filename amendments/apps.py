from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AmendmentsConfig(AppConfig):
    """Changes to a billed subscription mid-period: raise, lower, end now and
    the credit for a replaced edition, each an order of billing's (no models)."""

    name = "amendments"
    verbose_name = _("Changes to a billed subscription")
