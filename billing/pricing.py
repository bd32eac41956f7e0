"""The one pricing rule of SPEC §7, and who pays and who earns.

Price of q units: the list amount is q x the public unit price; the degressive
rate of the highest tier reached applies to everyone; a partner's discount rate
comes first and the degressive rate on what remains. Each step is rounded
half-up to 0.01 once:

    list                   = q x unit                          347.20
    after partner discount = round(list x (1 - discount))      277.76
    preferential           = round(after x (1 - degressive))   208.32
    public                 = round(list x (1 - degressive))    260.40

Everything here is pure: the callers load the catalog and the partnership.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.models import Earning, Payer, PriceBasis
from catalog.models import PriceTier, Product, degressive_rate, round_money
from partners.models import Access, Payment, Side
from tenants.models import Tenant

ZERO = Decimal("0.00")

# The amounts of a waterfall, each prorated on its own (billing.proration).
WATERFALL_AMOUNTS = (
    "list_amount",
    "after_partner_discount",
    "preferential_amount",
    "public_amount",
)


@dataclass(frozen=True)
class Waterfall:
    quantity: int
    unit_price: Decimal
    tier_rate: Decimal
    discount_rate: Decimal
    list_amount: Decimal
    after_partner_discount: Decimal
    preferential_amount: Decimal
    public_amount: Decimal

    @property
    def margin(self) -> Decimal:
        """Public - preferential: the partner's cashback, or its discount."""
        return self.public_amount - self.preferential_amount

    @property
    def public_unit_price(self) -> Decimal:
        """The public price of one unit after the degressive rate (for subscriptions)."""
        return round_money(self.unit_price * (1 - self.tier_rate))

    def at(self, quantity: int) -> "Waterfall":
        """`quantity` units at this unit price, tier and discount (a raise
        values the state before and after at the tier the new total reaches)."""
        return waterfall(
            unit_price=self.unit_price,
            quantity=quantity,
            tier_rate=self.tier_rate,
            discount_rate=self.discount_rate,
        )


def waterfall(
    *, unit_price: Decimal, quantity: int, tier_rate: Decimal, discount_rate: Decimal
) -> Waterfall:
    list_amount = round_money(unit_price * quantity)
    after_partner_discount = round_money(list_amount * (1 - discount_rate))
    return Waterfall(
        quantity=quantity,
        unit_price=unit_price,
        tier_rate=tier_rate,
        discount_rate=discount_rate,
        list_amount=list_amount,
        after_partner_discount=after_partner_discount,
        preferential_amount=round_money(after_partner_discount * (1 - tier_rate)),
        public_amount=round_money(list_amount * (1 - tier_rate)),
    )


def tier_rate(tiers: Iterable[PriceTier], *, quantity: int, elsewhere: int = 0) -> Decimal:
    """The degressive rate of a line of `quantity` units: the tier the customer's
    *total* quantity of the product reaches, this line's units plus the
    `elsewhere` units of its other live subscriptions of that product (SPEC §7:
    several subscriptions of one product count as one quantity)."""
    return degressive_rate(tiers, quantity + elsewhere)


@dataclass(frozen=True)
class Terms:
    """One row of SPEC §7's table: who pays which price, and what the partner earns."""

    payer: str
    price_basis: str
    earning: str

    def charged(self, price: Waterfall) -> Decimal:
        if self.price_basis == PriceBasis.PREFERENTIAL:
            return price.preferential_amount
        return price.public_amount

    def cashback(self, price: Waterfall) -> Decimal:
        return price.margin if self.earning == Earning.CASHBACK else ZERO

    def discount(self, price: Waterfall) -> Decimal:
        return price.margin if self.earning == Earning.DISCOUNT else ZERO


CUSTOMER_PAYS_PUBLIC = Terms(Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.CASHBACK)


def order_terms(*, access: str | None, payment: str | None, ordered_by: str) -> Terms:
    """SPEC §7's table. `access` is None when no active partnership manages the
    product. A partner ordering under limited access (the table is silent)
    orders with the customer's means, like a full customer-pays partner."""
    if access is None:
        return Terms(Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.NOTHING)
    if access == Access.FULL and payment == Payment.PARTNER and ordered_by == Side.PARTNER:
        return Terms(Payer.PARTNER, PriceBasis.PREFERENTIAL, Earning.DISCOUNT)
    return CUSTOMER_PAYS_PUBLIC


# --- the resale step (SPEC §7 rev. 2) ------------------------------------------------------
# The partner's own resale price is the rule of `resale/`, above billing: `resale`
# hands it down at start-up (ResaleConfig.ready), like partners' managing rule
# (core.scoping.use_managing_rule). Until it has, the waterfall has no resale step.


@dataclass(frozen=True)
class ResaleStep:
    """What the partner resells `quantity` units for (one billing period) and
    its margin on them: quantity x the resale unit price, and quantity x
    (resale - cost) per unit (resale.pricing)."""

    unit_price: Decimal
    amount: Decimal
    margin: Decimal


ResaleRule = Callable[[Tenant, str, Sequence[tuple[Product, int]]], list[ResaleStep | None]]
_resale_rule: list[ResaleRule] = []


def use_resale_rule(rule: ResaleRule) -> None:
    _resale_rule[:] = [rule]


def resale_steps(
    *, partner: Tenant, currency: str, lines: Sequence[tuple[Product, int]]
) -> list[ResaleStep | None]:
    """The resale step of each (product, quantity) line the partner sees, read
    at once (all None: no rule handed down, or not a partner)."""
    if not _resale_rule:
        return [None for _line in lines]
    return _resale_rule[0](partner, currency, lines)
