"""Grants in words, for pages and emails alike: "Limited to Web Hosting, until
1 May 2027", and what was asked next to what was granted."""

import datetime

from django.utils.dateformat import format as date_format

from partners.models import Access, Payment
from subscriptions.models import Product


def product_names(*grants: dict) -> dict[str, str]:
    codes = {code for grant in grants for code in (grant.get("products") or [])}
    if not codes:
        return {}
    return dict(Product.objects.filter(code__in=codes).values_list("code", "name"))


def grant_value(key: str, grant: dict, names: dict[str, str]) -> str:
    value = grant.get(key)
    if key == "access":
        return Access(value).label if value else "—"
    if key == "payment":
        return Payment(value).label if value else "—"
    if key == "products":
        return ", ".join(names.get(code, code) for code in value) if value else "—"
    return date_format(datetime.date.fromisoformat(value), "j M Y") if value else "none"


GRANT_LABELS = {
    "access": "Access",
    "payment": "Who pays",
    "products": "Products",
    "ends_on": "End date",
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


def grant_text(grant: dict, names: dict[str, str] | None = None) -> str:
    """A grant in words, with product names: "Limited to Web Hosting, until 1 May 2027"."""
    names = product_names(grant) if names is None else names
    if grant.get("access") == Access.FULL:
        text = f"Full access, {grant_value('payment', grant, names).lower()}"
    else:
        text = f"Limited to {grant_value('products', grant, names)}"
    if grant.get("ends_on"):
        text += f", until {grant_value('ends_on', grant, names)}"
    return text


def grant_differences(asked: dict, granted: dict) -> list[str]:
    """One line per field that differs: "Access: asked Full…, granted Limited…"."""
    return [
        f"{row['label']}: asked {row['asked']}, granted {row['granted']}"
        for row in grant_comparison(asked, granted)
        if row["differs"]
    ]
