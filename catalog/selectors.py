"""Reads of the catalog: everyone signed in reads the active products; staff also the retired ones."""

import contextlib
import uuid

from django.db.models import QuerySet
from django.http import Http404

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
        raise Http404("No such product.")
    return product
