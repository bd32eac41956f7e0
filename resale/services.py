"""Writes of the resale price list (SPEC §7 rev. 2). The month-end run is
`resale.invoicing`."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from resale.models import MAX_MARKUP_PERCENT, ResaleMode, ResalePriceEntry
from resale.pricing import PriceBook
from tenants.audit import audit_record
from tenants.models import AuditEvent, Role
from tenants.selectors import OrgContext

# A fixed unit price above this is a typing error (the money fields hold 12 digits).
MAX_FIXED_PRICE = Decimal("1000000.00")


class EntryErrors(ValidationError):
    """Errors of a list of entries: `by_entry[position]` = {field: message}."""

    def __init__(self, by_entry: dict[int, dict[str, str]]):
        self.by_entry = by_entry
        super().__init__(
            {
                f"{index}.{name}": [message]
                for index, errors in by_entry.items()
                for name, message in errors.items()
            }
        )


@dataclass(frozen=True)
class ResaleEntry:
    """One row of a PUT: how to resell `product` in `currency`."""

    product: Product
    currency: str
    mode: str
    value: Decimal | None


def resale_prices_check(*, org: OrgContext) -> None:
    """Only a partner's owners and admins set its resale prices."""
    if not org.tenant.is_partner or not org.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only the partner's owners and admins set resale prices."))


def resale_entry_errors(entry: ResaleEntry) -> dict[str, str]:
    """What is wrong with one entry, by field (empty: nothing)."""
    errors: dict[str, str] = {}
    currencies = {price.currency for price in entry.product.prices.all()}
    if entry.currency not in currencies:
        errors["currency"] = _("%(product)s has no public price in %(currency)s.") % {
            "product": entry.product.name,
            "currency": entry.currency,
        }
    if entry.mode not in ResaleMode.values:
        errors["mode"] = _("Choose public, markup or fixed.")
    elif entry.mode == ResaleMode.PUBLIC:
        if entry.value is not None:
            errors["value"] = _("The public price takes no value.")
    elif entry.value is None:
        errors["value"] = _("Give a value.")
    elif entry.value < 0:
        errors["value"] = _("Give a value of 0 or more.")
    elif entry.mode == ResaleMode.MARKUP and entry.value > MAX_MARKUP_PERCENT:
        errors["value"] = _("A markup goes up to %(max)s %%.") % {"max": MAX_MARKUP_PERCENT}
    elif entry.mode == ResaleMode.FIXED and entry.value > MAX_FIXED_PRICE:
        errors["value"] = _("A fixed price goes up to %(max)s.") % {"max": MAX_FIXED_PRICE}
    elif entry.value != entry.value.quantize(Decimal("0.01")):
        errors["value"] = _("Give at most two decimal places.")
    return errors


def resale_prices_validate(entries: Sequence[ResaleEntry]) -> None:
    """Every entry checked, all errors at once (EntryErrors, by position)."""
    errors: dict[int, dict[str, str]] = {}
    seen: set[tuple[object, str]] = set()
    for index, entry in enumerate(entries):
        entry_errors = resale_entry_errors(entry)
        if (entry.product.pk, entry.currency) in seen:
            entry_errors["product"] = _("Give each product and currency once.")
        seen.add((entry.product.pk, entry.currency))
        if entry_errors:
            errors[index] = entry_errors
    if errors:
        raise EntryErrors(errors)


def resale_prices_set(*, org: OrgContext, entries: Sequence[ResaleEntry]) -> int:
    """Set how the partner resells each product and currency from today on:
    every entry is checked first (all errors at once, by position, and nothing
    written), then each one that changes the rule in force is written valid
    from today (the same day's row replaced). Returns how many changed."""
    resale_prices_check(org=org)
    resale_prices_validate(entries)
    today = timezone.localdate()
    partner = org.tenant
    changed = []
    with transaction.atomic():
        books: dict[str, PriceBook] = {}
        for entry in entries:
            book = books.setdefault(
                entry.currency, PriceBook(partner=partner, currency=entry.currency)
            )
            rule = book.rule(entry.product, today)
            now = (rule.mode, rule.value) if rule else (ResaleMode.PUBLIC, None)
            if now == (entry.mode, entry.value):
                continue
            ResalePriceEntry.unscoped.update_or_create(
                partner=partner,
                product=entry.product,
                currency=entry.currency,
                valid_from=today,
                defaults={"mode": entry.mode, "value": entry.value, "updated_by": org.user},
            )
            changed.append(
                {
                    "product": entry.product.code,
                    "currency": entry.currency,
                    "before": {
                        "mode": now[0],
                        "value": str(now[1]) if now[1] is not None else None,
                    },
                    "after": {
                        "mode": entry.mode,
                        "value": str(entry.value) if entry.value is not None else None,
                    },
                }
            )
        if changed:
            audit_record(
                tenant=partner,
                action=AuditEvent.Action.RESALE_PRICES_CHANGED,
                actor=org.user,
                actor_tenant=partner,
                target=", ".join(f"{c['product']} {c['currency']}" for c in changed)[:255],
                details={"changes": changed, "valid_from": today.isoformat()},
            )
    return len(changed)
