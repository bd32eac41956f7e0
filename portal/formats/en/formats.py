"""English: the portal's dates (portal/templatetags/portal_dates.py), 6 Dec 2026."""

MEDIUM_DATE_FORMAT = "j M Y"
MEDIUM_DATETIME_FORMAT = "j M Y, H:i"
MEDIUM_DATETIME_SECONDS_FORMAT = "j M Y, H:i:s"
SHORT_MONTH_FORMAT = "M Y"
MONTH_YEAR_FORMAT = "F Y"
LONG_DAY_FORMAT = "j F Y"
LOWERCASE_MONTHS = False
