"""Dates as each language writes them, in one place (issue 25).

The code and the templates write the house formats — "j M Y", "j M Y, H:i", "F Y",
… — which are English; `local_format` swaps one for the active language's
(portal/formats/<lang>/formats.py: 6 Dec 2026, 6 dic 2026, 6. Dez. 2026), with
Italian month names in lower case. Templates get it through the `date` filter
(portal/templatetags/portal_dates.py), Python code through `local_date`.
"""

import datetime
from functools import lru_cache

from django.utils import dateformat, formats, timezone
from django.utils.dates import MONTHS, MONTHS_3
from django.utils.translation import get_language

# The house format → the name of each language's own (portal/formats/*/formats.py).
HOUSE_FORMATS = {
    "j M Y": "MEDIUM_DATE_FORMAT",
    "j M Y, H:i": "MEDIUM_DATETIME_FORMAT",
    "j M Y H:i": "MEDIUM_DATETIME_FORMAT",
    "j M Y, H:i:s": "MEDIUM_DATETIME_SECONDS_FORMAT",
    "M Y": "SHORT_MONTH_FORMAT",
    "F Y": "MONTH_YEAR_FORMAT",
    "j F Y": "LONG_DAY_FORMAT",
}


@lru_cache(maxsize=64)
def _setting(lang: str, name: str):
    for module in formats.get_format_modules(lang):
        value = getattr(module, name, None)
        if value is not None:
            return value
    return None


def _literal(text: str) -> str:
    return "".join(f"\\{char}" for char in text)


def local_format(house_format: str, value: datetime.date) -> str:
    """The active language's format for `house_format`, for `value`'s month."""
    lang = get_language() or "en"
    name = HOUSE_FORMATS.get(house_format)
    fmt = (_setting(lang, name) if name else None) or house_format
    if _setting(lang, "LOWERCASE_MONTHS"):
        # F and M (not escaped) as the month's name in lower case, written literally.
        names = {"F": str(MONTHS[value.month]).lower(), "M": str(MONTHS_3[value.month]).lower()}
        out, escaped = [], False
        for char in fmt:
            if escaped:
                out.append("\\" + char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char in names:
                out.append(_literal(names[char]))
            else:
                out.append(char)
        fmt = "".join(out)
    return fmt


def local_date(value, house_format: str = "j M Y") -> str:
    """`value` (a date or datetime) in the active language's form of `house_format`."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, local_format(house_format, value))
