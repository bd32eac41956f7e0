"""German (and de-CH, which falls back here): the day with its period and the
month abbreviated the German way, with its period where it is cut short
(6. Dez. 2026, 6. Mai 2026: Django's `N`, translated per month)."""

MEDIUM_DATE_FORMAT = "j. N Y"
MEDIUM_DATETIME_FORMAT = "j. N Y, H:i"
MEDIUM_DATETIME_SECONDS_FORMAT = "j. N Y, H:i:s"
SHORT_MONTH_FORMAT = "N Y"
MONTH_YEAR_FORMAT = "F Y"
LONG_DAY_FORMAT = "j. F Y"
LOWERCASE_MONTHS = False
