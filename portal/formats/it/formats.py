"""Italian (and it-CH, which falls back here): month names in lower case, as
Italian writes them (6 dic 2026, dicembre 2026); Django's own capitalise them."""

MEDIUM_DATE_FORMAT = "j M Y"
MEDIUM_DATETIME_FORMAT = "j M Y, H:i"
MEDIUM_DATETIME_SECONDS_FORMAT = "j M Y, H:i:s"
SHORT_MONTH_FORMAT = "M Y"
MONTH_YEAR_FORMAT = "F Y"
LONG_DAY_FORMAT = "j F Y"
LOWERCASE_MONTHS = True
