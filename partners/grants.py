"""Grants in words, for pages and emails alike: "Limited to Web Hosting, until
1 May 2027", and what was asked next to what was granted."""

import datetime
from typing import TYPE_CHECKING

from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Product
from core.dates import local_date
from partners.models import Access, Payment

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def product_names(*grants: dict) -> dict[str, str]:
    codes = {code for grant in grants for code in (grant.get("products") or [])}
    if not codes:
        return {}
    return dict(Product.objects.filter(code__in=codes).values_list("code", "name"))


def _day(value: str) -> str:
    """ "1 May 2027", "1 mag 2027", "1. Mai 2027" (core/dates.py)."""
    return local_date(datetime.date.fromisoformat(value))


# Lazy, so that a grant in an email reads in its recipient's language.
_day_lazy = lazy(_day, str)


def grant_value(key: str, grant: dict, names: dict[str, str]) -> "StrOrPromise":
    value = grant.get(key)
    if key == "access":
        return Access(value).label if value else "—"
    if key == "payment":
        return Payment(value).label if value else "—"
    if key == "products":
        return ", ".join(names.get(code, code) for code in value) if value else "—"
    return _day_lazy(value) if value else gettext_lazy("none")


GRANT_LABELS = {
    "access": gettext_lazy("Access"),
    "payment": gettext_lazy("Who pays"),
    "products": gettext_lazy("Products"),
    "ends_on": gettext_lazy("End date"),
}


def grant_comparison(asked: dict, granted: dict | None) -> list[dict]:
    """Rows of what was asked next to what is granted (None: nothing granted)."""
    names = product_names(asked, granted or {})
    return [
        {
            "label": label,
            "asked": grant_value(key, asked, names),
            "granted": grant_value(key, granted, names) if granted is not None else "",
            "differs": granted is not None and asked.get(key) != granted.get(key),
        }
        for key, label in GRANT_LABELS.items()
    ]


def _grant_text(grant: dict, names: dict[str, str]) -> str:
    if grant.get("access") == Access.FULL:
        if grant.get("payment") == Payment.CUSTOMER:
            text = _("Full access, the customer pays")
        elif grant.get("payment") == Payment.PARTNER:
            text = _("Full access, the partner pays")
        else:
            text = _("Full access, %(payment)s") % {
                "payment": str(grant_value("payment", grant, names)).lower()
            }
    else:
        text = _("Limited to %(products)s") % {"products": grant_value("products", grant, names)}
    if grant.get("ends_on"):
        text = _("%(grant)s, until %(date)s") % {
            "grant": text,
            "date": grant_value("ends_on", grant, names),
        }
    return text


_grant_text_lazy = lazy(_grant_text, str)


def grant_text(grant: dict, names: dict[str, str] | None = None) -> "StrOrPromise":
    """A grant in words, with product names: "Limited to Web Hosting, until 1 May 2027".
    Lazy: it reads in the language active where it is shown (a page, an email)."""
    names = product_names(grant) if names is None else names
    return _grant_text_lazy(dict(grant), names)


def grant_differences(asked: dict, granted: dict) -> "list[StrOrPromise]":
    """One line per field that differs: "Access: asked Full…, granted Limited…" (lazy)."""
    return [
        format_lazy(
            gettext_lazy("{label}: asked {asked}, granted {granted}"),
            label=row["label"],
            asked=row["asked"],
            granted=row["granted"],
        )
        for row in grant_comparison(asked, granted)
        if row["differs"]
    ]
