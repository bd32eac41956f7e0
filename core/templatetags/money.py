"""Money as the pages show it, in one place: the currency before the amount,
two decimals with the language's grouping, and a sign that reads as one (a
minus sign, U+2212, before the currency: "\u2212 CHF 9.52", never "CHF -9.52").

    {% load money %}
    {{ row.reduction|money:cur }}        (minus sign) CHF 9.52
    {{ row.change|signed_money:cur }}    + CHF 12.00 / (minus sign) CHF 3.00
"""

from decimal import Decimal, InvalidOperation

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext_lazy as _

register = template.Library()

MINUS = "\u2212"  # the minus sign, not a hyphen


def _parts(amount: object) -> tuple[int, str]:
    """The sign (-1, 0, 1) and the absolute amount with two decimals, grouped."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        return 0, ""
    if value.is_nan():
        return 0, ""
    sign = (value > 0) - (value < 0)
    return sign, str(floatformat(abs(value), "2g"))


@register.filter
def money(amount: object, currency: str = "") -> str:
    """`CHF 12.00`; a negative amount with the minus sign first; "" for no amount."""
    if amount is None or amount == "":
        return ""
    sign, digits = _parts(amount)
    if not digits:
        return ""
    shown = f"{currency} {digits}" if currency else digits
    return f"{MINUS} {shown}" if sign < 0 else shown


@register.filter
def signed_money(amount: object, currency: str = "") -> str:
    """A change: `+ CHF 12.00`, a minus sign for a decrease, `CHF 0.00` unsigned."""
    shown = money(amount, currency)
    if shown and _parts(amount)[0] > 0:
        return f"+ {shown}"
    return shown


PER_PERIOD = {"monthly": _("per month"), "annual": _("per year")}


@register.filter
def per_period(billing_period: str) -> str:
    """A billing period as the words after an amount: "per month", "per year"."""
    return str(PER_PERIOD.get(billing_period, billing_period))
