"""The pricing rule of SPEC §7: the worked example, and properties that hold for
every price (hypothesis): a higher discount never raises a price, nothing goes
negative, and each step is rounded once, half-up, to 0.01."""

from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.models import Earning, Payer, PriceBasis
from billing.pricing import order_terms, waterfall
from catalog.models import degressive_rate as tier_rate
from catalog.models import round_money

RATES = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.35"), places=4)
TIER_RATES = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.9"), places=4)
UNIT_PRICES = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2)
QUANTITIES = st.integers(min_value=1, max_value=100_000)


@pytest.mark.parametrize(
    ("unit_price", "expected"),
    [
        ("9.92", ("347.20", "277.76", "208.32", "260.40")),
        ("5.75", ("201.25", "161.00", "120.75", "150.94")),
    ],
    ids=["CHF", "EUR"],
)
def test_the_worked_example_of_spec_7(unit_price, expected):
    # given 35 web hostings, a 20 % partner and the 25 % degressive tier
    price = waterfall(
        unit_price=Decimal(unit_price),
        quantity=35,
        tier_rate=Decimal("0.25"),
        discount_rate=Decimal("0.20"),
    )
    # then the partner's discount comes first, the degressive rate on the rest
    assert (
        price.list_amount,
        price.after_partner_discount,
        price.preferential_amount,
        price.public_amount,
    ) == tuple(Decimal(x) for x in expected)
    # and the partner's margin is public - preferential
    assert price.margin == price.public_amount - price.preferential_amount


def test_the_highest_tier_reached_applies_to_every_unit():
    tiers = [
        SimpleNamespace(min_quantity=10, rate=Decimal("0.10")),
        SimpleNamespace(min_quantity=30, rate=Decimal("0.25")),
    ]
    assert tier_rate(tiers, 9) == Decimal("0")
    assert tier_rate(tiers, 10) == Decimal("0.10")
    assert tier_rate(tiers, 29) == Decimal("0.10")
    assert tier_rate(tiers, 35) == Decimal("0.25")
    assert tier_rate([], 35) == Decimal("0")


@given(UNIT_PRICES, QUANTITIES, TIER_RATES, RATES, RATES)
def test_a_higher_discount_never_raises_the_price(unit, quantity, tier, low, high):
    low, high = sorted((low, high))
    cheap = waterfall(unit_price=unit, quantity=quantity, tier_rate=tier, discount_rate=high)
    dear = waterfall(unit_price=unit, quantity=quantity, tier_rate=tier, discount_rate=low)
    assert cheap.after_partner_discount <= dear.after_partner_discount
    assert cheap.preferential_amount <= dear.preferential_amount
    assert cheap.public_amount == dear.public_amount


@given(UNIT_PRICES, QUANTITIES, TIER_RATES, RATES)
def test_prices_are_never_negative_and_preferential_never_above_public(
    unit, quantity, tier, discount
):
    price = waterfall(unit_price=unit, quantity=quantity, tier_rate=tier, discount_rate=discount)
    assert price.preferential_amount >= 0
    assert price.public_amount >= 0
    assert price.preferential_amount <= price.public_amount <= price.list_amount
    assert price.margin >= 0


@given(UNIT_PRICES, QUANTITIES, TIER_RATES, RATES)
def test_each_step_is_rounded_once_half_up_from_the_step_before(unit, quantity, tier, discount):
    price = waterfall(unit_price=unit, quantity=quantity, tier_rate=tier, discount_rate=discount)
    cent = Decimal("0.01")
    for amount in (
        price.list_amount,
        price.after_partner_discount,
        price.preferential_amount,
        price.public_amount,
    ):
        assert amount == amount.quantize(cent)
    # each step starts from the rounded figure of the step before, not from exact values
    assert price.after_partner_discount == (price.list_amount * (1 - discount)).quantize(
        cent, rounding=ROUND_HALF_UP
    )
    assert price.preferential_amount == (price.after_partner_discount * (1 - tier)).quantize(
        cent, rounding=ROUND_HALF_UP
    )


def test_round_money_rounds_half_up():
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("2.675")) == Decimal("2.68")
    assert round_money(Decimal("-0.005")) == Decimal("-0.01")


@pytest.mark.parametrize(
    ("access", "payment", "ordered_by", "payer", "basis", "earning"),
    [
        ("limited", None, "customer", Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.CASHBACK),
        ("full", "customer", "customer", Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.CASHBACK),
        ("full", "customer", "partner", Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.CASHBACK),
        ("full", "partner", "customer", Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.CASHBACK),
        ("full", "partner", "partner", Payer.PARTNER, PriceBasis.PREFERENTIAL, Earning.DISCOUNT),
        (None, None, "customer", Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.NOTHING),
        # the table is silent: a limited partner orders with the customer's means
        ("limited", None, "partner", Payer.CUSTOMER, PriceBasis.PUBLIC, Earning.CASHBACK),
    ],
)
def test_the_table_of_who_pays_and_who_earns(access, payment, ordered_by, payer, basis, earning):
    terms = order_terms(access=access, payment=payment, ordered_by=ordered_by)
    assert (terms.payer, terms.price_basis, terms.earning) == (payer, basis, earning)
