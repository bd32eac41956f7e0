"""Reads of the catalog: everyone signed in reads the active products; staff also the retired ones."""

import contextlib
import uuid
from collections.abc import Callable

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from catalog.models import PriceTier, Product, ProductPrice
from core.db import CompiledQuery, Many, model_columns


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


def _of_products(model: type[ProductPrice] | type[PriceTier]) -> Callable[..., QuerySet]:
    def build(*, products: list) -> QuerySet:
        # the related manager's order (the model's), as a prefetch reads them
        return model.objects.filter(product_id__in=products).values_list(*model_columns(model))

    return build


# Every order reads them: compiled once per process and number of products.
_PRICES = CompiledQuery(_of_products(ProductPrice), "products", kinds={"products": Many(uuid.UUID)})
_TIERS = CompiledQuery(_of_products(PriceTier), "products", kinds={"products": Many(uuid.UUID)})


def prices_and_tiers_read(products: list[Product]) -> None:
    """Read the prices and tiers of `products` now, as `prefetch_related("prices",
    "tiers")` does (two queries; `product.prices.all()` then holds them), on
    products whose prefetched rows the caller has cleared."""
    ids = [product.pk for product in products]
    reads: tuple[tuple[str, CompiledQuery, type[ProductPrice] | type[PriceTier]], ...] = (
        ("prices", _PRICES, ProductPrice),
        ("tiers", _TIERS, PriceTier),
    )
    for name, query, model in reads:
        rows: dict = {product.pk: [] for product in products}
        for row in query.instances(model, using=model.objects.db, products=ids):
            rows[row.product_id].append(row)
        for product in products:
            for row in rows[product.pk]:
                row.product = product
            manager = getattr(product, name)
            related = manager.get_queryset()
            related._result_cache = rows[product.pk]
            related._prefetch_done = True
            product._prefetched_objects_cache[name] = related  # type: ignore[attr-defined]
