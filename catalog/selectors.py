"""Reads of the catalog: everyone signed in reads the active products; staff also the retired ones."""

import contextlib
import uuid

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from catalog.models import Product


def products_list(*, include_inactive: bool = False) -> QuerySet[Product]:
    qs = Product.objects.prefetch_related("prices", "tiers", "features")
    return qs if include_inactive else qs.filter(is_active=True)


def product_get(*, code_or_id: str, include_inactive: bool = False) -> Product:
    """A product by its code or its id."""
    lookup: dict[str, object] = {"code": code_or_id}
    with contextlib.suppress(ValueError):
        lookup = {"id": uuid.UUID(str(code_or_id))}
    product = products_list(include_inactive=include_inactive).filter(**lookup).first()
    if product is None:
        raise Http404(_("No such product."))
    return product


PRODUCT_STATUSES = ("active", "inactive")


def products_for_staff(*, status: str = "", family: str = "") -> QuerySet[Product]:
    """The whole catalog for the provider console: `status` active or inactive,
    `family` one family's editions ("-" for products outside any family);
    anything else, all. Prices and tiers come in two more queries."""
    products = Product.objects.prefetch_related("prices", "tiers")
    if status in PRODUCT_STATUSES:
        products = products.filter(is_active=status == "active")
    if family == "-":
        products = products.filter(family="")
    elif family:
        products = products.filter(family=family)
    return products.order_by("family", "edition_rank", "name", "id")


def product_families() -> list[str]:
    """The families the catalog has, for a filter's choices and the form's suggestions."""
    return list(
        Product.objects.exclude(family="")
        .order_by("family")
        .values_list("family", flat=True)
        .distinct()
    )
