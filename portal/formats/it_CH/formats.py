"""Swiss Italian: Italian dates, with Swiss amounts (CHF 1'234.50)."""

from django.conf.locale.it.formats import *  # noqa: F403

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = "'"
