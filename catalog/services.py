"""Writes of the catalog: platform staff only, whether from the provider
console, Django admin or the API, each refused with the same field errors.

The rules of a product's prices (SPEC §2, §4): an active product has a public
price, above zero, in every currency (without one, every quote of it in that
currency would fail); its degressive tiers start above one unit, each from its
own quantity, and a larger quantity never earns a smaller discount. Every
write is recorded in the provider's audit log."""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Feature, PriceTier, Product, ProductPrice
from core.exceptions import Errors
from tenants.audit import audit_record
from tenants.models import AuditEvent, User
from tenants.selectors import provider_root
from tenants.services import require_provider_writer

PRODUCT_FIELDS = (
    "code",
    "name",
    "description",
    "category",
    "family",
    "edition_rank",
    "billing_period",
    "is_active",
)
CURRENCIES: tuple[str, ...] = tuple(
    code for code, _label in ProductPrice._meta.get_field("currency").choices or []
)
MAX_TIER_RATE = Decimal("0.9")


def _require_staff(actor: User) -> None:
    """The catalog is changed by whoever changes partners: the provider's owners
    and admins and platform staff (one rule, tenants.services.require_provider_writer)."""
    require_provider_writer(actor, _("Only the provider's owners and admins manage the catalog."))


def product_prices_check(*, is_active: bool, prices: Mapping[str, Decimal | None]) -> None:
    """The prices of a product, as they will be: known currencies, each above
    zero, and every currency for an active product. Raises a ValidationError
    on `prices`; the admin's price inline asks the same."""
    errors = []
    given = {c: a for c, a in prices.items() if a is not None}
    unknown = sorted(set(given) - set(CURRENCIES))
    if unknown:
        errors.append(
            _("Prices are in %(currencies)s only, not %(unknown)s.")
            % {"currencies": ", ".join(CURRENCIES), "unknown": ", ".join(unknown)}
        )
    if any(amount <= 0 for amount in given.values()):
        errors.append(_("A price is more than 0."))
    missing = [c for c in CURRENCIES if c not in given]
    if is_active and missing:
        errors.append(
            _("An active product needs a public price in every currency; missing: %(missing)s.")
            % {"missing": ", ".join(missing)}
        )
    if errors:
        raise ValidationError({"prices": errors})


def product_tiers_check(tiers: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Degressive tiers (from `min_quantity` units on, `rate` off every unit),
    returned in ascending order. One unit is always at the public price, so a
    tier starts from 2; each tier has its own quantity; a rate is above 0 and
    at most 90 %; a larger quantity gets a larger discount. Raises a
    ValidationError on `tiers`; the admin's tier inline asks the same."""
    ordered = sorted((int(t["min_quantity"]), Decimal(t["rate"])) for t in tiers)
    quantities = [quantity for quantity, _rate in ordered]
    rates = [rate for _quantity, rate in ordered]
    errors = []
    if any(q < 2 for q in quantities):
        errors.append(_("A tier starts from 2 units or more: one unit is at the public price."))
    if len(set(quantities)) != len(quantities):
        errors.append(_("Each tier needs its own min_quantity."))
    if any(not Decimal("0") < rate <= MAX_TIER_RATE for rate in rates):
        errors.append(_("A tier's discount is more than 0 % and at most 90 %."))
    if not errors and any(later <= earlier for earlier, later in pairwise(rates)):
        errors.append(_("A tier from more units gives a larger discount than the tiers below it."))
    if errors:
        raise ValidationError({"tiers": errors})
    return [{"min_quantity": q, "rate": r} for q, r in ordered]


def _edition_check(product: Product) -> None:
    if not product.family:
        return
    clash = Product.objects.filter(family=product.family, edition_rank=product.edition_rank)
    if clash.exclude(pk=product.pk).exists():
        raise ValidationError({"edition_rank": _("Another edition of this family has this rank.")})


def _product_clean(
    product: Product, *, prices: Mapping[str, Decimal | None], tiers: list[dict] | None
) -> list[dict] | None:
    """Every check of a product, all run: their errors are raised together
    (a form shows them at once). The tiers in order (None: not given)."""
    errors = Errors()
    ordered_tiers = None
    with errors.collect():
        product_prices_check(is_active=product.is_active, prices=prices)
    with errors.collect():
        ordered_tiers = product_tiers_check(tiers) if tiers is not None else None
    edition_ok = True
    try:
        _edition_check(product)
    except ValidationError as exc:
        edition_ok = False
        errors.add_error(exc)
    with errors.collect():
        # The family's rank constraint is the edition check's, named on its field once.
        product.full_clean(validate_constraints=edition_ok)
    errors.raise_any()
    return ordered_tiers


def _replace_prices(product: Product, prices: Mapping[str, Decimal]) -> None:
    product.prices.all().delete()
    ProductPrice.objects.bulk_create(
        [ProductPrice(product=product, currency=c, amount=a) for c, a in sorted(prices.items())]
    )


def _replace_tiers(product: Product, tiers: list[dict]) -> None:
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


def product_snapshot(product: Product) -> dict:
    """What the audit log records of a product: its fields, prices, tiers (from
    quantity → rate) and feature codes, as JSON."""
    return {
        **{field: getattr(product, field) for field in PRODUCT_FIELDS},
        "prices": {p.currency: f"{p.amount:.2f}" for p in product.prices.all()},
        "tiers": {str(t.min_quantity): f"{t.rate:.4f}" for t in product.tiers.all()},
        "features": sorted(product.features.values_list("code", flat=True)),
    }


def product_audit(*, actor: User, product: Product, before: dict | None, action: str = "") -> None:
    """Record a write of `product` in the provider's log: created (no `before`),
    or changed, naming the fields that changed (none changed: nothing recorded)."""
    if not action:
        action = AuditEvent.Action.PRODUCT_CHANGED if before else AuditEvent.Action.PRODUCT_CREATED
    after = product_snapshot(product)
    if before is not None:
        changed = [key for key in after if before.get(key) != after[key]]
        if not changed:
            return
        details = {
            "before": {k: before.get(k) for k in changed},
            "after": {k: after[k] for k in changed},
        }
    else:
        details = {"after": after}
    provider = provider_root()
    audit_record(
        tenant=provider,
        action=action,
        actor=actor,
        actor_tenant=provider,
        target=str(product),
        details={"product": str(product.pk), **details},
    )


@transaction.atomic
def product_create(
    *,
    actor: User,
    prices: Mapping[str, Decimal],
    tiers: list[dict] | None = None,
    features: list[dict] | None = None,
    **fields: Any,
) -> Product:
    _require_staff(actor)
    product = Product(**{k: v for k, v in fields.items() if k in PRODUCT_FIELDS})
    ordered_tiers = _product_clean(product, prices=prices, tiers=tiers or [])
    assert ordered_tiers is not None
    product.save(force_insert=True)
    _replace_prices(product, prices)
    _replace_tiers(product, ordered_tiers)
    _replace_features(product, features or [])
    product_audit(actor=actor, product=product, before=None)
    return product


@transaction.atomic
def product_update(
    *,
    actor: User,
    product: Product,
    prices: Mapping[str, Decimal] | None = None,
    tiers: list[dict] | None = None,
    features: list[dict] | None = None,
    **fields: Any,
) -> Product:
    """Change a product; what is not given stays. Deactivating it or selling it
    again through here is audited as a change (`product_status_set` is the
    console's button for it)."""
    _require_staff(actor)
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = product_snapshot(product)
    changed = [k for k in fields if k in PRODUCT_FIELDS]
    for field in changed:
        setattr(product, field, fields[field])
    current_prices = {p.currency: p.amount for p in product.prices.all()}
    ordered_tiers = _product_clean(
        product, prices=current_prices if prices is None else prices, tiers=tiers
    )
    product.save(update_fields=[*changed, "updated_at"])
    if prices is not None:
        _replace_prices(product, prices)
    if ordered_tiers is not None:
        _replace_tiers(product, ordered_tiers)
    if features is not None:
        _replace_features(product, features)
    product_audit(actor=actor, product=product, before=before)
    return product


@transaction.atomic
def product_status_set(*, actor: User, product: Product, is_active: bool) -> Product:
    """Stop selling a product, or sell it again (SPEC §4, §7). Inactive, it
    takes no new order, raise, offer or upgrade; the subscriptions that have it
    keep running and renew at their price. Selling it again needs its price in
    every currency. Setting the status it has records nothing."""
    _require_staff(actor)
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.is_active == is_active:
        return product
    if is_active:
        product_prices_check(
            is_active=True, prices={p.currency: p.amount for p in product.prices.all()}
        )
    before = product_snapshot(product)
    product.is_active = is_active
    product.save(update_fields=["is_active", "updated_at"])
    action = (
        AuditEvent.Action.PRODUCT_REACTIVATED
        if is_active
        else AuditEvent.Action.PRODUCT_DEACTIVATED
    )
    product_audit(actor=actor, product=product, before=before, action=action)
    return product
