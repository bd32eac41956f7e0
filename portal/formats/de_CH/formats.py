"""Swiss German: Django's de_CH, with the grouping Swiss amounts are written in
(CHF 1'234.50: an apostrophe, a decimal point)."""

from django.conf.locale.de_CH.formats import *  # noqa: F403

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = "'"
