"""Periods and proration (SPEC §7, rev. 2): what a change mid-period settles.

Periods. A subscription's billing periods are fixed by its billing anchor, the
first day of its first period, which is never edited. Period k starts on
anchor + k x MONTHS_PER_PERIOD[billing_period] months (clamped to the end of a
short month, always counted from the anchor, never from the previous period),
and ends the day before period k + 1 starts. Monthly from 31 January: 31 Jan-27
Feb, 28 Feb-30 Mar, 31 Mar-29 Apr, ...; annual from 29 February 2028: 29 Feb
2028-27 Feb 2029, 28 Feb 2029-27 Feb 2030, ... The periods tile the calendar
from the anchor on: every day belongs to exactly one period. This is the rule
of `period_end` (the last day of an order line's period) and
`current_period_start` (the renewal job's), both here: the lowest layer of
billing's date rules, which orders and renewals import.

Proration, by days. The value of a state (quantity q, unit price p per period)
for the rest of a period of D days, from day `on` (included) to the period's
last day (included), r days in all, is

    value(q, p, on) = round(q x p x r / D)

rounded half-up to 0.01 once (`subscriptions.models.round_money`). A change on
day `on` from state `before` to state `after` settles

    value(after, on) - value(before, on)

now: positive is charged, negative is a credit note. A renewal bills the period
ahead once: value(state, first day) = q x p, no rounding needed. A new
subscription mid-period changes from (0, 0), an early end changes to (0, 0).

Why nothing is billed twice and nothing is used unpaid. Within one period, let
the states be s_0 (from the first day, billed by the renewal or the order that
created it), s_1 from day d_1, ..., s_n from day d_n, and let r(d) be the days
left from day d, with r(first day) = D and r(day after the last) = 0. Writing
V_i(d) = round(q_i x p_i x r(d) / D), the amounts settled over the period are

      V_0(first)                                    the renewal
    + [V_1(d_1) - V_0(d_1)] + ... + [V_n(d_n) - V_{n-1}(d_n)]   the changes
    = sum over i of [V_i(d_i) - V_i(d_{i+1})]      (d_0 = first, d_{n+1} = last + 1)

so the sum telescopes: each state pays exactly the difference of two rounded
values of the rest of the period, at its first day and at the day after its
last, and nothing else. Before rounding, V_i(d_i) - V_i(d_{i+1}) is exactly
q_i x p_i x (days in state i) / D, so per day the settled rate is exactly the
live rate: no day twice, no day unpaid.

What "to the cent" means. Half-up rounding moves a value by e, with
-0.005 < e <= 0.005, and V_i(first) = q_i x p_i and V_i(last + 1) = 0 are exact.
So each state's share differs from its exact q_i x p_i x days_i / D by less than
0.01, by nothing at the period's ends, and the period's total (charges minus
credits) differs from the exact sum over the days used of q x p / D by less
than 0.01 per day inside the period (not its first) on which the state changed:
the two rounded values of that day are the only roundings that do not cancel.
It is NOT in general equal to the sum over the states of
round(q_i x p_i x days_i / D): each state is rounded as "rest of the period at
its start minus rest of the period at its end", which may differ from rounding
its own days by one cent (see docs/billing.md). In exchange, a change's amount
depends only on the day and the two states (a preview needs no history and is
exactly what is committed), two changes on the same day settle exactly like one
(35 -> 38 -> 40 = 35 -> 40), and raising then lowering back on the same day
settles to 0.00 exactly.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from billing.pricing import WATERFALL_AMOUNTS, Waterfall
from catalog.models import round_money
from subscriptions.models import MONTHS_PER_PERIOD, Subscription


def period_end(
    starts_on: datetime.date, billing_period: str, anchor: datetime.date | None = None
) -> datetime.date:
    """The last day of the billing period that begins on `starts_on`. Periods are
    counted from `anchor` (the subscription's start), so a subscription started on
    31 January runs 31 Jan-27 Feb, 28 Feb-30 Mar, 31 Mar-…: no gap, no overlap."""
    anchor = anchor if anchor is not None and anchor <= starts_on else starts_on
    months = MONTHS_PER_PERIOD[billing_period]
    k = max(1, ((starts_on.year - anchor.year) * 12 + starts_on.month - anchor.month) // months)
    while anchor + relativedelta(months=k * months) <= starts_on:
        k += 1
    return anchor + relativedelta(months=k * months) - datetime.timedelta(days=1)


def current_period_start(subscription: Subscription, today: datetime.date) -> datetime.date | None:
    """The start of the billing period that contains `today`, when it is a
    renewal (not the subscription's first period)."""
    months = MONTHS_PER_PERIOD[subscription.billing_period]
    start = subscription.starts_on
    elapsed = (today.year - start.year) * 12 + today.month - start.month
    k = elapsed // months
    period = start + relativedelta(months=k * months)
    if period > today:
        k -= 1
        period = start + relativedelta(months=k * months)
    return period if k >= 1 else None


Period = tuple[datetime.date, datetime.date]
"""A billing period: its first and its last day, both included."""

# Every quotient below is (cents x days) / (days in the period), a fraction with
# a denominator of at most 366: it is never closer than 1/732 cent to a half
# cent unless it is one, so dividing at 60 significant digits before the one
# rounding to the cent can never round the wrong way.
_PRECISION = 60


class State(NamedTuple):
    """What a subscription is for the rest of a period: how many units, at what
    net unit price per billing period. (0, 0) is "no subscription"."""

    quantity: int
    unit_price: Decimal

    @property
    def amount_per_period(self) -> Decimal:
        return Decimal(self.quantity) * self.unit_price


NOTHING = State(0, Decimal("0.00"))


@dataclass(frozen=True)
class Settlement:
    """One amount settled: the change from `before` to `after` on day `on`,
    for the days from `on` to the end of `period`, both included. A renewal is
    the change from NOTHING to the current state on the period's first day."""

    on: datetime.date
    period: Period
    before: State
    after: State
    amount: Decimal

    @property
    def is_credit(self) -> bool:
        """A negative amount is a credit note to whoever paid."""
        return self.amount < 0


def _check_billing_period(billing_period: str) -> None:
    if billing_period not in MONTHS_PER_PERIOD:
        raise ValueError(f"Unknown billing period {billing_period!r}.")


def period_bounds(anchor: datetime.date, billing_period: str, day: datetime.date) -> Period:
    """The billing period containing `day` (first day, last day, both included)
    of a subscription anchored at `anchor` (its first day, `day` >= `anchor`).

    Period k starts on anchor + k periods, counted from the anchor and clamped
    to a short month's end: monthly from 31 January, 31 Jan-27 Feb, 28 Feb-30
    Mar, 31 Mar-29 Apr. The rule of `current_period_start` and `period_end`."""
    _check_billing_period(billing_period)
    if day < anchor:
        raise ValueError(f"{day} is before the billing anchor {anchor}.")
    # current_period_start reads only the anchor and the period of a subscription:
    # an unsaved instance, never touching the database.
    subscription = Subscription(starts_on=anchor, billing_period=billing_period)
    first = current_period_start(subscription, day) or anchor
    return first, period_end(first, billing_period, anchor)


def days_in(period: Period) -> int:
    """The number of days of `period`, its first and last day included."""
    first, last = period
    return (last - first).days + 1


def prorate(*, amount_per_period: Decimal, period: Period, from_day: datetime.date) -> Decimal:
    """The part of one period's `amount_per_period` for the days from `from_day`
    to the period's last day, both included, by days:

        round(amount_per_period x days remaining / days in the period)

    rounded half-up to 0.01 once. From the first day, it is the whole amount
    (rounded to the cent); from the last day, one day's worth."""
    first, last = period
    if not first <= from_day <= last:
        raise ValueError(f"{from_day} is outside the period {first}-{last}.")
    remaining = (last - from_day).days + 1
    with localcontext() as context:
        context.prec = _PRECISION
        return round_money(amount_per_period * remaining / days_in(period))


def _state(value: tuple[int, Decimal]) -> State:
    state = State(*value)
    if state.quantity < 0 or state.unit_price < 0:
        raise ValueError(f"A quantity and a unit price are never negative: {value}.")
    return state


def state_value(*, state: tuple[int, Decimal], period: Period, on: datetime.date) -> Decimal:
    """What `state` (quantity, unit price per period) is worth for the rest of
    `period` from day `on`: prorate(quantity x unit price, period, on), rounded
    once, half-up to 0.01."""
    return prorate(amount_per_period=_state(state).amount_per_period, period=period, from_day=on)


def change_amount(
    *,
    anchor: datetime.date,
    billing_period: str,
    on: datetime.date,
    before: tuple[int, Decimal],
    after: tuple[int, Decimal],
) -> Decimal:
    """The signed amount to settle when a subscription anchored at `anchor`
    changes on day `on` from `before` to `after` (quantity, unit price per
    period) for the rest of the current period, `on` included:

        state_value(after) - state_value(before)

    each value rounded once, half-up to 0.01, so the difference is exact in
    cents. Positive: charged now; negative: a credit note; 0.00: nothing to
    settle. An early end is `after=(0, 0)`, a new subscription mid-period
    `before=(0, 0)`. Amounts telescope: settling s -> t -> u on one day is
    exactly settling s -> u, and s -> t -> s settles to 0.00 (module docstring)."""
    return _difference(before, after, period_bounds(anchor, billing_period, on), on)


def settle(
    *,
    anchor: datetime.date,
    billing_period: str,
    changes: Sequence[tuple[datetime.date, int, Decimal]],
    until: datetime.date,
) -> list[Settlement]:
    """Every amount settled for a subscription anchored at `anchor`, whose
    state becomes (quantity, unit price) on each day of `changes` (in order;
    several on one day apply in turn), through the period containing `until`.

    The state is (0, 0) until the first change. Each period whose first day
    finds a quantity is billed once, ahead, by its renewal (NOTHING -> state,
    the whole period); each change settles `change_amount` on its day. A change
    to quantity 0 ends the subscription; a later one starts it again."""
    _check_billing_period(billing_period)
    previous = anchor
    for day, quantity, unit_price in changes:
        if not previous <= day <= until:
            raise ValueError(
                f"Changes fall between the anchor {anchor} and {until}, in order; {day} does not."
            )
        _state((quantity, unit_price))
        previous = day

    settlements: list[Settlement] = []
    state = NOTHING
    pending = list(changes)
    period = period_bounds(anchor, billing_period, anchor)
    while True:
        first, last = period
        if state.quantity > 0:
            settlements.append(_settlement(NOTHING, state, period, first))
        while pending and pending[0][0] <= last:
            day, quantity, unit_price = pending.pop(0)
            after = State(quantity, unit_price)
            settlements.append(_settlement(state, after, period, day))
            state = after
        if until <= last:
            return settlements
        following = last + datetime.timedelta(days=1)
        period = period_bounds(anchor, billing_period, following)
        if period[0] != following:  # periods tile the calendar: never loop on one
            raise RuntimeError(f"The period after {last} starts on {period[0]}.")


def _difference(
    before: tuple[int, Decimal], after: tuple[int, Decimal], period: Period, on: datetime.date
) -> Decimal:
    return state_value(state=after, period=period, on=on) - state_value(
        state=before, period=period, on=on
    )


def _settlement(before: State, after: State, period: Period, on: datetime.date) -> Settlement:
    amount = _difference(before, after, period, on)
    return Settlement(on=on, period=period, before=before, after=after, amount=amount)


def span_value(
    *, amount_per_period: Decimal, period: Period, on: datetime.date, until: datetime.date
) -> Decimal:
    """What `amount_per_period` is worth for the days from `on` to `until` (both
    included) of `period`: value(on) - value(until + 1), each rounded once, so
    spans telescope like the rest of the period (`prorate`). With `until` the
    period's last day it is `prorate(on)`; a raise of a subscription whose last
    day falls before the period's end charges to that day, and a credit covers
    the days paid, no further."""
    first, last = period
    if not first <= on <= until <= last:
        raise ValueError(f"{on}-{until} is not a span of the period {first}-{last}.")
    rest = prorate(amount_per_period=amount_per_period, period=period, from_day=on)
    if until == last:
        return rest
    after = until + datetime.timedelta(days=1)
    return rest - prorate(amount_per_period=amount_per_period, period=period, from_day=after)


def waterfall_span(
    price: Waterfall, *, period: Period, on: datetime.date, until: datetime.date
) -> Waterfall:
    """`price` (one whole period's waterfall) for the days from `on` to `until`
    of `period`: each amount by `span_value`, rounded once. The one rule of a
    line that bills less than its period: a subscription whose last day of
    service comes before the period's end (a new one, a renewal), a raise, a
    credit of the days paid."""
    return Waterfall(
        quantity=price.quantity,
        unit_price=price.unit_price,
        tier_rate=price.tier_rate,
        discount_rate=price.discount_rate,
        **{
            field: span_value(
                amount_per_period=getattr(price, field), period=period, on=on, until=until
            )
            for field in WATERFALL_AMOUNTS
        },
    )


def last_day_billed(period: Period, last_day: datetime.date | None) -> datetime.date:
    """The last day a line billing `period` charges: the period's, or the
    subscription's last day of service when that comes first."""
    return period[1] if last_day is None else min(period[1], last_day)
