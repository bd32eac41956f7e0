"""Periods and proration (SPEC §7, rev. 2): worked examples with exact figures,
and the rule as properties (hypothesis) over random changes across periods:
charges minus credits equal the days used at the daily price, within less than
a cent per day on which the state changed; every day is paid for exactly once;
a change undone on the same day settles to 0.00."""

import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.proration import (
    NOTHING,
    Settlement,
    State,
    change_amount,
    days_in,
    period_bounds,
    prorate,
    settle,
    state_value,
)
from subscriptions.models import MONTHS_PER_PERIOD

D = datetime.date
HOSTING = Decimal("9.92")  # SPEC §7's web hosting, CHF per month
APRIL = (D(2026, 4, 1), D(2026, 4, 30))  # a 30-day monthly period
CENT = Fraction(1, 100)

properties = settings(deadline=None, database=None, max_examples=200)


def total(settlements: list[Settlement]) -> Decimal:
    return sum((s.amount for s in settlements), Decimal("0.00"))


# Periods -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "billing_period", "day", "expected"),
    [
        # monthly from 31 January: 28-day February, then counted from the anchor
        (D(2026, 1, 31), "monthly", D(2026, 1, 31), (D(2026, 1, 31), D(2026, 2, 27))),
        (D(2026, 1, 31), "monthly", D(2026, 2, 27), (D(2026, 1, 31), D(2026, 2, 27))),
        (D(2026, 1, 31), "monthly", D(2026, 2, 28), (D(2026, 2, 28), D(2026, 3, 30))),
        (D(2026, 1, 31), "monthly", D(2026, 3, 31), (D(2026, 3, 31), D(2026, 4, 29))),
        (D(2026, 1, 31), "monthly", D(2026, 4, 30), (D(2026, 4, 30), D(2026, 5, 30))),
        # a leap year: from 31 January 2028, February's period has 29 days
        (D(2028, 1, 31), "monthly", D(2028, 2, 28), (D(2028, 1, 31), D(2028, 2, 28))),
        (D(2028, 1, 31), "monthly", D(2028, 2, 29), (D(2028, 2, 29), D(2028, 3, 30))),
        (D(2028, 2, 15), "monthly", D(2028, 2, 29), (D(2028, 2, 15), D(2028, 3, 14))),
        # annual
        (D(2025, 7, 1), "annual", D(2026, 1, 1), (D(2025, 7, 1), D(2026, 6, 30))),
        (D(2027, 3, 1), "annual", D(2028, 2, 29), (D(2027, 3, 1), D(2028, 2, 29))),
        # annual from 29 February: 28 February in common years, 366 days to 2032
        (D(2028, 2, 29), "annual", D(2029, 2, 27), (D(2028, 2, 29), D(2029, 2, 27))),
        (D(2028, 2, 29), "annual", D(2029, 2, 28), (D(2029, 2, 28), D(2030, 2, 27))),
        (D(2028, 2, 29), "annual", D(2032, 2, 28), (D(2031, 2, 28), D(2032, 2, 28))),
        (D(2028, 2, 29), "annual", D(2032, 2, 29), (D(2032, 2, 29), D(2033, 2, 27))),
    ],
)
def test_periods_are_fixed_by_the_anchor(anchor, billing_period, day, expected):
    assert period_bounds(anchor, billing_period, day) == expected


def test_period_lengths_of_the_examples():
    assert days_in(APRIL) == 30
    assert days_in(period_bounds(D(2026, 1, 31), "monthly", D(2026, 2, 1))) == 28
    assert days_in(period_bounds(D(2028, 2, 15), "monthly", D(2028, 2, 29))) == 29
    assert days_in(period_bounds(D(2025, 7, 1), "annual", D(2025, 7, 1))) == 365
    assert days_in(period_bounds(D(2027, 3, 1), "annual", D(2027, 3, 1))) == 366
    assert days_in(period_bounds(D(2028, 2, 29), "annual", D(2031, 12, 1))) == 366


def test_no_period_before_the_anchor_nor_of_an_unknown_kind():
    with pytest.raises(ValueError, match="before the billing anchor"):
        period_bounds(D(2026, 4, 1), "monthly", D(2026, 3, 31))
    with pytest.raises(ValueError, match="Unknown billing period"):
        period_bounds(D(2026, 4, 1), "weekly", D(2026, 4, 1))


# Prorating one amount -------------------------------------------------------


def test_prorate_counts_both_ends_and_rounds_once_half_up():
    amount = Decimal("347.20")  # 35 x 9.92
    assert prorate(amount_per_period=amount, period=APRIL, from_day=D(2026, 4, 1)) == amount
    assert prorate(amount_per_period=amount, period=APRIL, from_day=D(2026, 4, 16)) == Decimal(
        "173.60"
    )  # 15 of 30 days
    # one day: 347.20 / 30 = 11.57333...
    assert prorate(amount_per_period=amount, period=APRIL, from_day=D(2026, 4, 30)) == Decimal(
        "11.57"
    )
    # an exact half cent rounds up: 0.10 x 1/20 = 0.005 -> 0.01 (half-even would say 0.00)
    twenty_days = (D(2026, 4, 1), D(2026, 4, 20))
    assert prorate(
        amount_per_period=Decimal("0.10"), period=twenty_days, from_day=D(2026, 4, 20)
    ) == Decimal("0.01")
    # and 0.30 x 1/20 = 0.015 -> 0.02 (half-even would agree; 0.25 x 1/20 = 0.0125 -> 0.01)
    assert prorate(
        amount_per_period=Decimal("0.30"), period=twenty_days, from_day=D(2026, 4, 20)
    ) == Decimal("0.02")


def test_prorate_refuses_a_day_outside_the_period():
    for day in (D(2026, 3, 31), D(2026, 5, 1)):
        with pytest.raises(ValueError, match="outside the period"):
            prorate(amount_per_period=Decimal("1.00"), period=APRIL, from_day=day)


# The worked examples (docs/billing.md, "Periods and proration") ---------------


def test_worked_example_raise_then_lower_in_a_30_day_period():
    # given 35 web hostings at CHF 9.92 a month, anchored on 1 April 2026 (1-30 April)
    def change(on, before, after):
        return change_amount(
            anchor=D(2026, 4, 1),
            billing_period="monthly",
            on=on,
            before=(before, HOSTING),
            after=(after, HOSTING),
        )

    # when raised to 40 on day 16: 15 of 30 days left, 198.40 - 173.60
    assert change(D(2026, 4, 16), 35, 40) == Decimal("24.80")
    # when lowered to 30 on day 21: 10 of 30 days left, 99.20 - 132.27 (132.2666...)
    assert change(D(2026, 4, 21), 40, 30) == Decimal("-33.07")
    # then over April: 347.20 + 24.80 - 33.07 = 338.93
    settlements = settle(
        anchor=D(2026, 4, 1),
        billing_period="monthly",
        changes=[
            (D(2026, 4, 1), 35, HOSTING),
            (D(2026, 4, 16), 40, HOSTING),
            (D(2026, 4, 21), 30, HOSTING),
        ],
        until=D(2026, 5, 1),
    )
    assert [(s.on, s.amount) for s in settlements] == [
        (D(2026, 4, 1), Decimal("347.20")),
        (D(2026, 4, 16), Decimal("24.80")),
        (D(2026, 4, 21), Decimal("-33.07")),
        (D(2026, 5, 1), Decimal("297.60")),  # May's renewal, at 30, once
    ]
    assert [s.is_credit for s in settlements] == [False, False, True, False]
    april = total(settlements[:3])
    assert april == Decimal("338.93")
    # which is the days used at the daily price: 1,025 unit-days x 9.92 / 30 = 338.9333...
    assert 35 * 15 + 40 * 5 + 30 * 10 == 1025
    assert abs(Fraction(april) - Fraction(1025) * Fraction(HOSTING) / 30) < CENT


def test_worked_example_early_end():
    # given 40 hostings in April; when it ends early on day 21: credit 10 of 30 days
    assert change_amount(
        anchor=D(2026, 4, 1),
        billing_period="monthly",
        on=D(2026, 4, 21),
        before=(40, HOSTING),
        after=(0, Decimal("0")),
    ) == Decimal("-132.27")
    # then no renewal follows
    settlements = settle(
        anchor=D(2026, 4, 1),
        billing_period="monthly",
        changes=[(D(2026, 4, 1), 40, HOSTING), (D(2026, 4, 21), 0, Decimal("0"))],
        until=D(2026, 6, 15),
    )
    assert [s.amount for s in settlements] == [Decimal("396.80"), Decimal("-132.27")]
    assert total(settlements) == Decimal("264.53")  # 40 x 9.92 x 20/30 = 264.5333...


def test_worked_example_new_subscription_mid_period():
    # a subscription co-termed to an anchor of 1 April, started on 16 April: from (0, 0)
    assert change_amount(
        anchor=D(2026, 4, 1),
        billing_period="monthly",
        on=D(2026, 4, 16),
        before=(0, Decimal("0")),
        after=(35, HOSTING),
    ) == Decimal("173.60")


def test_worked_example_annual():
    # given 10 units at CHF 119.00 a year from 1 July 2025 (365 days);
    # when raised to 12 on 1 January 2026: 181 of 365 days left, 708.13 - 590.11
    assert change_amount(
        anchor=D(2025, 7, 1),
        billing_period="annual",
        on=D(2026, 1, 1),
        before=(10, Decimal("119.00")),
        after=(12, Decimal("119.00")),
    ) == Decimal("118.02")


def test_worked_example_from_31_january():
    # given 35 hostings from 31 January 2026: the first period is 31 Jan-27 Feb, 28 days
    def raise_to_40(on):
        return change_amount(
            anchor=D(2026, 1, 31),
            billing_period="monthly",
            on=on,
            before=(35, HOSTING),
            after=(40, HOSTING),
        )

    # on 14 February, 14 of 28 days are left: 198.40 - 173.60
    assert raise_to_40(D(2026, 2, 14)) == Decimal("24.80")
    # on 27 February, the last day: 5 x 9.92 / 28 = 1.7714...
    assert raise_to_40(D(2026, 2, 27)) == Decimal("1.77")
    # on 28 February a new period starts (28 Feb-30 Mar): the whole of it
    assert raise_to_40(D(2026, 2, 28)) == Decimal("49.60")


def test_worked_example_leap_day():
    # given 35 hostings from 15 February 2028: 15 Feb-14 Mar has 29 days;
    # when ended on 29 February: 15 of 29 days left, 347.20 x 15/29 = 179.586...
    assert change_amount(
        anchor=D(2028, 2, 15),
        billing_period="monthly",
        on=D(2028, 2, 29),
        before=(35, HOSTING),
        after=(0, Decimal("0")),
    ) == Decimal("-179.59")
    # given one unit at 119.00 a year from 1 March 2027 (366 days, to 29 February 2028);
    # when ended on its last day, 29 February: 119.00 / 366 = 0.3251...
    assert change_amount(
        anchor=D(2027, 3, 1),
        billing_period="annual",
        on=D(2028, 2, 29),
        before=(1, Decimal("119.00")),
        after=(0, Decimal("0")),
    ) == Decimal("-0.33")


def test_each_state_is_rounded_as_rest_of_period_at_start_minus_at_end():
    # "to the cent" exactly: 35 -> 40 on 2 April, back to 35 on 3 April
    settlements = settle(
        anchor=D(2026, 4, 1),
        billing_period="monthly",
        changes=[
            (D(2026, 4, 1), 35, HOSTING),
            (D(2026, 4, 2), 40, HOSTING),
            (D(2026, 4, 3), 35, HOSTING),
        ],
        until=D(2026, 4, 30),
    )
    # 347.20; then 40 vs 35 for 29 of 30 days, 383.57 - 335.63; then 324.05 - 370.35
    assert [s.amount for s in settlements] == [
        Decimal("347.20"),
        Decimal("47.94"),
        Decimal("-46.30"),
    ]
    assert total(settlements) == Decimal("348.84")

    def rest(quantity, on):
        return state_value(state=(quantity, HOSTING), period=APRIL, on=on)

    # each state pays the rest of April at its first day minus the rest after its last:
    # 35 on 1 April: 347.20 - 335.63 = 11.57; 40 on 2 April: 383.57 - 370.35 = 13.22;
    # 35 from 3 April: 324.05 - 0 = 324.05
    first = rest(35, D(2026, 4, 1)) - rest(35, D(2026, 4, 2))
    second = rest(40, D(2026, 4, 2)) - rest(40, D(2026, 4, 3))
    third = rest(35, D(2026, 4, 3))
    assert (first, second, third) == (Decimal("11.57"), Decimal("13.22"), Decimal("324.05"))
    assert first + second + third == total(settlements)
    # rounding each state on its own days would give 13.23 for the day at 40
    # (396.80 / 30 = 13.2266...), so 348.85: one cent apart, as the rule allows
    # (under a cent per day on which the state changed: two days here)
    assert prorate(
        amount_per_period=40 * HOSTING, period=APRIL, from_day=D(2026, 4, 30)
    ) == Decimal("13.23")
    exact = Fraction(HOSTING) * (35 * 1 + 40 * 1 + 35 * 28) / 30
    assert float(exact) == pytest.approx(348.8533333)
    assert abs(Fraction(total(settlements)) - exact) < 2 * CENT


def test_raising_then_lowering_back_on_the_same_day_settles_nothing():
    settlements = settle(
        anchor=D(2026, 4, 1),
        billing_period="monthly",
        changes=[
            (D(2026, 4, 1), 35, HOSTING),
            (D(2026, 4, 21), 40, HOSTING),
            (D(2026, 4, 21), 35, HOSTING),
        ],
        until=D(2026, 4, 30),
    )
    assert [s.amount for s in settlements] == [
        Decimal("347.20"),
        Decimal("16.54"),  # 132.27 - 115.73
        Decimal("-16.54"),
    ]
    assert total(settlements) == Decimal("347.20")


def test_settle_refuses_changes_out_of_order_or_out_of_range_and_negative_states():
    with pytest.raises(ValueError, match="in order"):
        settle(
            anchor=D(2026, 4, 1),
            billing_period="monthly",
            changes=[(D(2026, 4, 5), 1, HOSTING), (D(2026, 4, 4), 2, HOSTING)],
            until=D(2026, 4, 30),
        )
    with pytest.raises(ValueError, match="in order"):
        settle(
            anchor=D(2026, 4, 1),
            billing_period="monthly",
            changes=[(D(2026, 3, 31), 1, HOSTING)],
            until=D(2026, 4, 30),
        )
    with pytest.raises(ValueError, match="never negative"):
        change_amount(
            anchor=D(2026, 4, 1),
            billing_period="monthly",
            on=D(2026, 4, 5),
            before=(1, HOSTING),
            after=(-1, HOSTING),
        )


# Properties -------------------------------------------------------------------

PRICES = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("999.99"), places=2)
QUANTITIES = st.integers(min_value=0, max_value=60)
BILLING_PERIODS = st.sampled_from(sorted(MONTHS_PER_PERIOD))


@st.composite
def anchors(draw) -> datetime.date:
    """Any day 2024-2031, often one of the month ends that break date code."""
    year = draw(st.integers(min_value=2024, max_value=2031))
    month = draw(st.integers(min_value=1, max_value=12))
    day = draw(st.one_of(st.integers(min_value=1, max_value=31), st.integers(28, 31)))
    last = ((D(year, month, 1) + relativedelta(months=1)) - datetime.timedelta(days=1)).day
    return D(year, month, min(day, last))


@st.composite
def histories(draw):
    """(anchor, billing period, changes, until): changes over up to 4 periods,
    several on one day at times, starting on the anchor or later."""
    anchor = draw(anchors())
    billing_period = draw(BILLING_PERIODS)
    horizon = 124 if billing_period == "monthly" else 1_460
    offsets = draw(st.lists(st.integers(min_value=0, max_value=horizon), max_size=10))
    if draw(st.booleans()):
        offsets.append(0)  # usually bought on the anchor
    changes = [
        (anchor + datetime.timedelta(days=offset), draw(QUANTITIES), draw(PRICES))
        for offset in sorted(offsets)
    ]
    until = anchor + datetime.timedelta(days=draw(st.integers(max(offsets, default=0), horizon)))
    return anchor, billing_period, changes, until


def oracle_periods(anchor, billing_period, until):
    """The periods through the one containing `until`, from the anchor, by
    relativedelta: period k starts on anchor + k periods."""
    months = MONTHS_PER_PERIOD[billing_period]
    k, periods = 0, []
    while not periods or periods[-1][1] < until:
        first = anchor + relativedelta(months=k * months)
        following = anchor + relativedelta(months=(k + 1) * months)
        periods.append((first, following - datetime.timedelta(days=1)))
        k += 1
    return periods


def live_state(changes, day) -> State:
    """The state on `day`: the last change on or before it, else nothing."""
    state = NOTHING
    for on, quantity, unit_price in changes:
        if on <= day:
            state = State(quantity, unit_price)
    return state


def days(period):
    first, last = period
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


@properties
@given(anchor=anchors(), billing_period=BILLING_PERIODS, offset=st.integers(0, 3_000))
def test_periods_tile_the_calendar_from_the_anchor(anchor, billing_period, offset):
    day = anchor + datetime.timedelta(days=offset)
    first, last = period_bounds(anchor, billing_period, day)
    # the period containing day is the anchor's k-th, counted from the anchor
    assert (first, last) == oracle_periods(anchor, billing_period, day)[-1]
    assert first <= day <= last
    # and the next one starts the day after: no gap, no overlap
    assert period_bounds(anchor, billing_period, last + datetime.timedelta(days=1))[0] == (
        last + datetime.timedelta(days=1)
    )
    assert days_in((first, last)) in (
        (28, 29, 30, 31) if billing_period == "monthly" else (365, 366)
    )


@properties
@given(histories())
def test_charges_minus_credits_are_the_days_used_at_the_daily_price(history):
    anchor, billing_period, changes, until = history
    settlements = settle(anchor=anchor, billing_period=billing_period, changes=changes, until=until)
    for period in oracle_periods(anchor, billing_period, until):
        first, last = period
        length = days_in(period)
        settled = total([s for s in settlements if s.period == period])
        assert settled.as_tuple().exponent == -2
        # exact: the sum over the days used of quantity x unit price / days in period
        used = [live_state(changes, day) for day in days(period)]
        exact = sum((Fraction(s.amount_per_period) / length for s in used), Fraction(0))
        # each state pays round(value of the rest at its start) - round(... after its end)
        all_days = days(period)
        starts = [first] + [
            day
            for day, previous, state in zip(all_days[1:], used, used[1:], strict=False)
            if state != previous
        ]
        ends = [*starts[1:], last + datetime.timedelta(days=1)]

        def rest(state, on, period=period, last=last):
            return state_value(state=state, period=period, on=on) if on <= last else 0

        by_segments = sum(
            (
                rest(used[(start - first).days], start) - rest(used[(start - first).days], end)
                for start, end in zip(starts, ends, strict=True)
            ),
            Decimal("0.00"),
        )
        assert settled == by_segments
        # so: within less than a cent per day, not the first, on which the state changed
        changed_on = len(starts) - 1
        error = abs(Fraction(settled) - exact)
        if changed_on == 0:
            assert error == 0
        else:
            assert error < CENT * changed_on


@properties
@given(histories())
def test_every_day_lived_is_paid_exactly_once(history):
    anchor, billing_period, changes, until = history
    settlements = settle(anchor=anchor, billing_period=billing_period, changes=changes, until=until)
    periods = oracle_periods(anchor, billing_period, until)
    for s in settlements:
        # a settlement covers `on` to its period's end, inside one of the anchor's periods
        assert s.period in periods
        assert s.period[0] <= s.on <= s.period[1]
    for period in periods:
        for day in days(period):
            covering = [s for s in settlements if s.period == period and s.on <= day]
            live = live_state(changes, day)
            # units paid for on this day, and their price, are exactly what was live
            assert sum(s.after.quantity - s.before.quantity for s in covering) == live.quantity
            assert (
                sum(
                    (s.after.amount_per_period - s.before.amount_per_period for s in covering),
                    Decimal(0),
                )
                == live.amount_per_period
            )
        # the unrounded amounts are exactly the days used at the daily price
        length = days_in(period)
        unrounded = sum(
            (
                Fraction(s.after.amount_per_period - s.before.amount_per_period)
                * ((period[1] - s.on).days + 1)
                / length
                for s in settlements
                if s.period == period
            ),
            Fraction(0),
        )
        used = sum(
            (Fraction(live_state(changes, day).amount_per_period) for day in days(period)),
            Fraction(0),
        )
        assert unrounded == used / length


@properties
@given(
    anchor=anchors(),
    billing_period=BILLING_PERIODS,
    offset=st.integers(0, 800),
    states=st.lists(st.tuples(QUANTITIES, PRICES), min_size=3, max_size=3),
)
def test_a_change_undone_the_same_day_settles_to_zero(anchor, billing_period, offset, states):
    on = anchor + datetime.timedelta(days=offset)
    s, t, u = states

    def change(before, after):
        return change_amount(
            anchor=anchor, billing_period=billing_period, on=on, before=before, after=after
        )

    # raising (or lowering, or repricing) then going back: 0.00
    assert change(s, t) + change(t, s) == Decimal("0.00")
    # two changes on one day settle exactly like one
    assert change(s, t) + change(t, u) == change(s, u)
    # a bigger state for the rest of the period never costs less
    if t[0] >= s[0] and t[1] >= s[1]:
        assert change(s, t) >= 0


@properties
@given(histories(), st.data())
def test_an_undone_change_inserted_into_a_history_changes_no_total(history, data):
    anchor, billing_period, changes, until = history
    day = anchor + datetime.timedelta(days=data.draw(st.integers(0, (until - anchor).days)))
    before = [c for c in changes if c[0] <= day]
    after = [c for c in changes if c[0] > day]
    live = live_state(changes, day)
    detour = (day, data.draw(QUANTITIES), data.draw(PRICES))
    undone = [*before, detour, (day, live.quantity, live.unit_price), *after]
    plain = settle(anchor=anchor, billing_period=billing_period, changes=changes, until=until)
    with_detour = settle(anchor=anchor, billing_period=billing_period, changes=undone, until=until)
    assert total(with_detour) == total(plain)
