"""Writes of the catalog: platform staff only."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Feature, PriceTier, Product, ProductPrice
from tenants.models import User

PRODUCT_FIELDS = (
    "code",
    "name",
    "category",
    "family",
    "edition_rank",
    "billing_period",
    "is_active",
)


def _require_staff(actor: User) -> None:
    if not actor.is_staff:
        raise PermissionDenied(_("Only platform staff manage the catalog."))


def _replace_prices(product: Product, prices: dict[str, Decimal]) -> None:
    product.prices.all().delete()
    ProductPrice.objects.bulk_create(
        [ProductPrice(product=product, currency=c, amount=a) for c, a in sorted(prices.items())]
    )


def _replace_tiers(product: Product, tiers: list[dict]) -> None:
    quantities = [t["min_quantity"] for t in tiers]
    if len(set(quantities)) != len(quantities):
        raise ValidationError({"tiers": _("Each tier needs its own min_quantity.")})
    product.tiers.all().delete()
    PriceTier.objects.bulk_create([PriceTier(product=product, **t) for t in tiers])


def _replace_features(product: Product, features: list[dict]) -> None:
    found = []
    for item in features:
        feature, created = Feature.objects.get_or_create(
            code=item["code"], defaults={"name": item["name"]}
        )
        if not created and feature.name != item["name"]:
            feature.name = item["name"]
            feature.save(update_fields=["name"])
        found.append(feature)
    product.features.set(found)


@transaction.atomic
def product_create(
    *,
    actor: User,
    prices: dict[str, Decimal],
    tiers: list[dict] | None = None,
    features: list[dict] | None = None,
    **fields: Any,
) -> Product:
    _require_staff(actor)
    if not prices:
        raise ValidationError({"prices": _("Give the public price in CHF and EUR.")})
    product = Product(**{k: v for k, v in fields.items() if k in PRODUCT_FIELDS})
    product.full_clean()
    product.save(force_insert=True)
    _replace_prices(product, prices)
    _replace_tiers(product, tiers or [])
    _replace_features(product, features or [])
    return product


@transaction.atomic
def product_update(
    *,
    actor: User,
    product: Product,
    prices: dict[str, Decimal] | None = None,
    tiers: list[dict] | None = None,
    features: list[dict] | None = None,
    **fields: Any,
) -> Product:
    _require_staff(actor)
    product = Product.objects.select_for_update().get(pk=product.pk)
    changed = [k for k in fields if k in PRODUCT_FIELDS]
    for field in changed:
        setattr(product, field, fields[field])
    product.full_clean()
    product.save(update_fields=[*changed, "updated_at"])
    if prices is not None:
        _replace_prices(product, prices)
    if tiers is not None:
        _replace_tiers(product, tiers)
    if features is not None:
        _replace_features(product, features)
    return product
