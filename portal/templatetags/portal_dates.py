"""The `date` filter with the house formats written each language's way (core/dates.py).

A template builtin loaded after Django's (settings TEMPLATES "builtins"), so every
`|date:"j M Y"` of every template is Italian or German where the page is; any
format that is not a house format is Django's as it is.
"""

from django import template
from django.template.defaultfilters import date as django_date
from django.utils import dateformat

from core.dates import HOUSE_FORMATS, local_format

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    """Django's `date`, with the house formats written the active language's way."""
    if value in (None, "") or arg not in HOUSE_FORMATS or not hasattr(value, "month"):
        return django_date(value, arg)
    try:
        return dateformat.format(value, local_format(arg, value))
    except AttributeError:
        return ""
