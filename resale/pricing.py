"""The resale price of one unit (SPEC §7 rev. 2; docs/partner-billing.md,
"Resale prices").

For a product, a currency and a quantity q (its degressive tier), per unit
and per billing period, each step rounded half-up to 0.01 once, by
billing.pricing's waterfall of one unit at the tier q reaches:

    public  = round(list x (1 - degressive))                    the public price
    cost    = round(round(list x (1 - discount)) x (1 - degressive))
                                                            the partner's cost
    resale  = public                                  mode `public` (the default)
            = round(cost x (1 + markup / 100))        mode `markup`
            = the fixed value                         mode `fixed`
    margin  = resale - cost                  (negative when sold below cost)

Worked example (web hosting CHF 9.92, 20 % discount, 35 units: 25 % off):
public 7.44, cost round(7.94 x 0.75) = 5.96 (5.955 rounds up), a 30 % markup
resells at round(5.96 x 1.30) = 7.75, margin 1.79 a unit.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billing.pricing import waterfall
from catalog.models import Product, degressive_rate, round_money
from resale.models import ResaleMode, ResalePriceEntry
from tenants.models import Tenant

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class ResalePrice:
    """One unit for one billing period: what the partner resells it for, what it
    costs the partner, the public price, and the margin (resale - cost)."""

    unit_price: Decimal
    cost: Decimal
    public: Decimal
    margin: Decimal
    mode: str


@dataclass(frozen=True)
class Rule:
    valid_from: datetime.date
    mode: str
    value: Decimal | None


def resale_from(*, mode: str, value: Decimal | None, public: Decimal, cost: Decimal) -> Decimal:
    """The resale unit price of a rule (the module's table), rounded once."""
    if mode == ResaleMode.MARKUP:
        assert value is not None
        return round_money(cost * (1 + value / HUNDRED))
    if mode == ResaleMode.FIXED:
        assert value is not None
        return value
    return public


class PriceBook:
    """One partner's resale rules in one currency, read once (one query), with
    the catalog rows the caller loaded (their `prices` and `tiers`, prefetched
    or read on demand): `price()` is the rule for every line of an invoice."""

    def __init__(self, *, partner: Tenant, currency: str):
        self.partner = partner
        self.currency = currency
        self.rules: dict[object, list[Rule]] = defaultdict(list)
        for entry in ResalePriceEntry.unscoped.filter(partner=partner, currency=currency).order_by(
            "product_id", "-valid_from"
        ):
            self.rules[entry.product_id].append(Rule(entry.valid_from, entry.mode, entry.value))

    def rule(self, product: Product, on: datetime.date) -> Rule | None:
        """The rule in force on `on` (the newest row valid from that day or before)."""
        for rule in self.rules.get(product.pk, ()):
            if rule.valid_from <= on:
                return rule
        return None

    def price(self, product: Product, quantity: int, on: datetime.date) -> ResalePrice:
        list_price = _list_price(product, self.currency)
        unit = waterfall(
            unit_price=list_price,
            quantity=1,
            tier_rate=degressive_rate(product.tiers.all(), quantity),
            discount_rate=self.partner.discount_rate,
        )
        public, cost = unit.public_amount, unit.preferential_amount
        rule = self.rule(product, on)
        mode = rule.mode if rule else ResaleMode.PUBLIC
        resale = resale_from(
            mode=mode, value=rule.value if rule else None, public=public, cost=cost
        )
        return ResalePrice(
            unit_price=resale, cost=cost, public=public, margin=resale - cost, mode=mode
        )


class NoPublicPrice(LookupError):
    """The product has no public price in this currency: nothing to resell."""


def _list_price(product: Product, currency: str) -> Decimal:
    for price in product.prices.all():
        if price.currency == currency:
            return price.amount
    raise NoPublicPrice(f"{product.code} has no public price in {currency}.")


def priced_currencies(products: Iterable[Product]) -> dict[object, list[str]]:
    """The currencies each product has a public price in (prefetched `prices`)."""
    return {
        product.pk: sorted(price.currency for price in product.prices.all()) for product in products
    }
