"""What a contract bills for a period (SPEC §7 "Partners invoice their customers";
docs/partner-billing.md, "Contracts that bill"). Pure reads: nothing here writes.

The partner's invoice run calls `contract_charges(customer, partner, start, end)`
once per customer and month; `charges_for_period(contract, start, end)` is one
contract's part. Both are deterministic for a period: the same rows give the
same charges, however often they are asked.

Rounding, in this order, once each:
1. a prorated quantity (a month's share by days, times the count of a counted
   contract) is rounded half-up to 4 decimal places: the quantity shown;
2. a block of money's time entry costs its hours times the hourly rate, rounded
   half-up to the cent when it is drawn;
3. every charge's amount is quantity times unit price, rounded half-up to the cent.
The sum of an invoice's charges is the sum of these amounts (nothing is
rounded again).

Terms: the version of `ContractTerms` in effect on a day bills that day (a
change applies from the next period). A contract runs from `starts_on` to
`ends_on`, both included.
"""

import calendar
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from customers.models import BLOCK_TYPES, Contract, ContractTerms, ContractTopUp, TimeEntry
from tenants.models import Tenant

CENT = Decimal("0.01")
QUANTITY_STEP = Decimal("0.0001")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ContractCharge:
    """One line of the partner's invoice: amount = quantity times unit price, rounded
    half-up to the cent once. `kind` is the contract's type."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    period_start: datetime.date
    period_end: datetime.date
    kind: str


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _quantity(value: Decimal) -> Decimal:
    return value.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP).normalize() + Decimal("0.00")


def _charge(
    contract: Contract,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    start: datetime.date,
    end: datetime.date,
) -> ContractCharge:
    return ContractCharge(
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        amount=money(quantity * unit_price),
        period_start=start,
        period_end=end,
        kind=str(contract.type),
    )


# --- what a contract has: its terms, time entries and top-ups --------------------------------


@dataclass(frozen=True)
class _Terms:
    effective_from: datetime.date
    fee: Decimal | None
    hourly_rate: Decimal | None
    unit_price: Decimal | None
    quantity: Decimal | None
    amount: Decimal | None


def _prefetched(contract: Contract, name: str) -> list | None:
    cache: dict[str, Any] = getattr(contract, "_prefetched_objects_cache", {})
    return list(cache[name]) if name in cache else None


def _terms_of(contract: Contract) -> list[_Terms]:
    rows = _prefetched(contract, "terms")
    if rows is None:
        rows = list(ContractTerms.unscoped.filter(contract=contract).order_by("effective_from"))
    versions = [
        _Terms(r.effective_from, r.fee, r.hourly_rate, r.unit_price, r.quantity, r.amount)
        for r in sorted(rows, key=lambda r: r.effective_from)
    ]
    if not versions:  # a contract written before its terms were versioned: its own columns
        versions = [
            _Terms(
                contract.starts_on,
                contract.fee,
                contract.hourly_rate,
                contract.unit_price,
                contract.quantity,
                contract.amount,
            )
        ]
    return versions


def _terms_on(versions: Sequence[_Terms], day: datetime.date) -> _Terms:
    """The version in effect on `day` (before the first: the first)."""
    current = versions[0]
    for version in versions:
        if version.effective_from <= day:
            current = version
    return current


def _entries_of(contract: Contract, until: datetime.date) -> list[TimeEntry]:
    rows = _prefetched(contract, "time_entries")
    if rows is None:
        rows = list(TimeEntry.unscoped.filter(contract=contract, date__lte=until))
    return sorted((e for e in rows if e.date <= until), key=_entry_order)


def _top_ups_of(contract: Contract, until: datetime.date) -> list[ContractTopUp]:
    rows = _prefetched(contract, "top_ups")
    if rows is None:
        rows = list(ContractTopUp.unscoped.filter(contract=contract, date__lte=until))
    return sorted((t for t in rows if t.date <= until), key=_entry_order)


def _entry_order(row: TimeEntry | ContractTopUp) -> tuple:
    return (row.date, row.created_at, str(row.pk))


# --- periods -------------------------------------------------------------------------------


def _active_span(
    contract: Contract, start: datetime.date, end: datetime.date
) -> tuple[datetime.date, datetime.date] | None:
    """The part of [start, end] the contract runs (both ends included), or None."""
    first = max(start, contract.starts_on)
    last = min(end, contract.ends_on) if contract.ends_on else end
    return (first, last) if first <= last else None


def _segments(
    first: datetime.date, last: datetime.date, versions: Sequence[_Terms]
) -> list[tuple[datetime.date, datetime.date, _Terms]]:
    """[first, last] cut at month ends and where a terms version starts."""
    cuts = {v.effective_from for v in versions if first < v.effective_from <= last}
    day = first
    segments = []
    while day <= last:
        month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        until = min(last, month_end, *(c - datetime.timedelta(days=1) for c in cuts if c > day))
        segments.append((day, until, _terms_on(versions, day)))
        day = until + datetime.timedelta(days=1)
    return segments


def _month_share(start: datetime.date, end: datetime.date) -> Decimal:
    """The share of its month that [start, end] (inside one month) covers, by days."""
    days_in_month = calendar.monthrange(start.year, start.month)[1]
    return Decimal((end - start).days + 1) / Decimal(days_in_month)


def _days_note(start: datetime.date, end: datetime.date) -> str:
    days_in_month = calendar.monthrange(start.year, start.month)[1]
    days = (end - start).days + 1
    if days == days_in_month:
        return ""
    return " " + _("(%(days)s of %(month_days)s days)") % {
        "days": days,
        "month_days": days_in_month,
    }


# --- the types -----------------------------------------------------------------------------


def _monthly(
    contract: Contract, first: datetime.date, last: datetime.date, versions: Sequence[_Terms]
) -> list[ContractCharge]:
    """Retainer (the fee), remote monitoring and online backup (count times unit
    price): per month, prorated by days in a month the contract runs in part."""
    charges = []
    for start, end, terms in _segments(first, last, versions):
        share = _month_share(start, end)
        if contract.type == Contract.Type.RETAINER:
            if terms.fee is None:
                continue
            quantity, price = _quantity(share), terms.fee
            text = _("%(name)s: monthly fee") % {"name": contract.name}
        else:
            if terms.unit_price is None or terms.quantity is None:
                continue
            quantity, price = _quantity(terms.quantity * share), terms.unit_price
            unit = (
                _("devices")
                if contract.type == Contract.Type.REMOTE_MONITORING
                else _("GB of backup")
            )
            text = _("%(name)s: %(count)s %(unit)s") % {
                "name": contract.name,
                "count": terms.quantity.normalize(),
                "unit": unit,
            }
        charges.append(
            _charge(contract, text + _days_note(start, end), quantity, price, start, end)
        )
    return charges


def _hourly(
    contract: Contract,
    first: datetime.date,
    last: datetime.date,
    versions: Sequence[_Terms],
    entries: Iterable[TimeEntry],
) -> list[ContractCharge]:
    """Time entries of the period times the hourly rate in effect on their day, one
    line per rate."""
    hours_by_rate: dict[Decimal, Decimal] = {}
    for entry in entries:
        if first <= entry.date <= last:
            rate = _terms_on(versions, entry.date).hourly_rate
            if rate is not None:
                hours_by_rate[rate] = hours_by_rate.get(rate, ZERO) + entry.hours
    return [
        _charge(
            contract,
            _("%(name)s: %(hours)s h of work") % {"name": contract.name, "hours": hours},
            hours,
            rate,
            first,
            last,
        )
        for rate, hours in hours_by_rate.items()
    ]


def _one_time(
    contract: Contract,
    period: tuple[datetime.date, datetime.date],
    versions: Sequence[_Terms],
) -> list[ContractCharge]:
    """A one-time project: its amount, in the one period that holds its billing
    day (the start when none is set), if the contract runs that day."""
    day = contract.bills_on or contract.starts_on
    if not period[0] <= day <= period[1] or _active_span(contract, day, day) is None:
        return []
    amount = _terms_on(versions, day).amount
    if amount is None:
        return []
    return [_charge(contract, contract.name, Decimal("1"), amount, day, day)]


# --- prepaid blocks ------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockMove:
    """One step of a block's replay: a purchase (the first block or a top-up) or
    a time entry's draw, with what it left."""

    date: datetime.date
    kind: str  # "purchase" or "draw"
    price: Decimal  # a purchase's billed amount
    added: Decimal  # hours (block of hours) or money (block of money) added
    hours: Decimal  # a draw's hours worked
    drawn: Decimal  # taken from the block (hours or money)
    overage: Decimal  # beyond the block (hours or money)
    overage_rate: Decimal | None  # block of hours: the hourly rate the overage bills at
    balance: Decimal  # after this step


@dataclass(frozen=True)
class BlockState:
    balance: Decimal
    moves: tuple[BlockMove, ...]


def _overage_rate(contract: Contract, terms: _Terms, first: _Terms) -> Decimal | None:
    """Block of hours: the contract's hourly rate, else the first block's own
    price per hour (its amount divided by its hours, rounded half-up to the cent)."""
    if terms.hourly_rate is not None:
        return terms.hourly_rate
    if contract.hours and first.amount is not None:
        return money(first.amount / contract.hours)
    return None


def block_replay(contract: Contract, until: datetime.date) -> BlockState:
    """A block's history up to `until`, in order (by day; on one day purchases
    before draws; then by when they were recorded): the first block at the
    start, top-ups, and each time entry drawing what the balance holds, the
    rest being overage (Atera bills it at the hourly rate). The balance never
    goes below zero, and what was bought = balance + what was drawn."""
    versions = _terms_of(contract)
    first = _terms_on(versions, contract.starts_on)
    by_hours = contract.type == Contract.Type.BLOCK_OF_HOURS
    # (sort key, kind, the row): on one day, the first block, then top-ups, then draws
    events: list[tuple[tuple, str, Any]] = []
    if contract.starts_on <= until and first.amount is not None:
        initial = (contract.hours or ZERO) if by_hours else first.amount
        events.append(
            ((contract.starts_on, 0), "purchase", (contract.starts_on, first.amount, initial))
        )
    for top_up in _top_ups_of(contract, until):
        added = (top_up.hours or ZERO) if by_hours else top_up.amount
        events.append(
            (
                (top_up.date, 1, *_entry_order(top_up)[1:]),
                "purchase",
                (top_up.date, top_up.amount, added),
            )
        )
    events += [((e.date, 2, *_entry_order(e)[1:]), "draw", e) for e in _entries_of(contract, until)]
    events.sort(key=lambda event: event[0])
    balance, moves = ZERO, []
    for _key, kind, item in events:
        if kind == "purchase":
            day, price, added = item
            balance += added
            moves.append(BlockMove(day, kind, price, added, ZERO, ZERO, ZERO, None, balance))
            continue
        terms = _terms_on(versions, item.date)
        rate = _overage_rate(contract, terms, first) if by_hours else terms.hourly_rate
        need = item.hours if by_hours else money(item.hours * (rate or ZERO))
        drawn = min(balance, need)
        balance -= drawn
        moves.append(
            BlockMove(item.date, kind, ZERO, ZERO, item.hours, drawn, need - drawn, rate, balance)
        )
    return BlockState(balance=balance, moves=tuple(moves))


def _block(contract: Contract, period: tuple[datetime.date, datetime.date]) -> list[ContractCharge]:
    """A block's purchases in the period (the first block, top-ups) at their
    price; the time drawn, with the balance left, at no charge; the overage at
    the hourly rate (block of hours, one line per rate) or at its cost (block
    of money)."""
    span = _active_span(contract, *period)
    if span is None:
        return []
    first, last = span
    state = block_replay(contract, last)
    moves = [m for m in state.moves if first <= m.date <= last]
    by_hours = contract.type == Contract.Type.BLOCK_OF_HOURS
    charges = [
        _charge(
            contract,
            _("%(name)s: prepaid block (%(added)s)")
            % {"name": contract.name, "added": _block_units(by_hours, m.added)},
            Decimal("1"),
            m.price,
            m.date,
            m.date,
        )
        for m in moves
        if m.kind == "purchase"
    ]
    draws = [m for m in moves if m.kind == "draw"]
    worked = sum((m.hours for m in draws), ZERO)
    drawn = sum((m.drawn for m in draws), ZERO)
    charges.append(
        _charge(
            contract,
            _("%(name)s: %(hours)s h worked, %(drawn)s drawn from the block; balance %(balance)s")
            % {
                "name": contract.name,
                "hours": worked,
                "drawn": _block_units(by_hours, drawn),
                "balance": _block_units(by_hours, state.balance),
            },
            worked,
            ZERO,
            first,
            last,
        )
    )
    overage: dict[Decimal | None, Decimal] = {}
    for m in draws:
        if m.overage > 0:
            key = m.overage_rate if by_hours else None
            overage[key] = overage.get(key, ZERO) + m.overage
    for rate, beyond in overage.items():
        text = _("%(name)s: beyond the prepaid block") % {"name": contract.name}
        if by_hours and rate is not None:
            charges.append(_charge(contract, text, beyond, rate, first, last))
        elif not by_hours:
            charges.append(_charge(contract, text, Decimal("1"), beyond, first, last))
    return charges


def _block_units(by_hours: bool, value: Decimal) -> str:
    value = value.quantize(CENT)
    return f"{value} h" if by_hours else f"{value}"


# --- the entry points ----------------------------------------------------------------------


def charges_for_period(
    contract: Contract, period_start: datetime.date, period_end: datetime.date
) -> list[ContractCharge]:
    """What `contract` bills for [period_start, period_end] (both included): the
    caller asks once per period (one invoice per customer and month). Reads the
    contract's terms, time entries and top-ups (prefetched by
    `contract_charges`, else three queries); writes nothing."""
    if period_end < period_start:
        raise ValueError("period_end comes before period_start")
    period = (period_start, period_end)
    versions = _terms_of(contract)
    if contract.type == Contract.Type.PROJECT_ONE_TIME:
        return _one_time(contract, period, versions)
    if contract.type in BLOCK_TYPES:
        return _block(contract, period)
    span = _active_span(contract, period_start, period_end)
    if span is None:
        return []
    if contract.type in (Contract.Type.HOURLY, Contract.Type.PROJECT_HOURLY):
        return _hourly(contract, *span, versions, _entries_of(contract, span[1]))
    return _monthly(contract, *span, versions)


def billable_contracts(
    *, customer: Tenant, partner: Tenant, period_start: datetime.date, period_end: datetime.date
) -> list[Contract]:
    """`partner`'s contracts with `customer` that may bill in the period, with
    what billing reads prefetched (four queries, however many entries)."""
    return list(
        Contract.unscoped.filter(partner=partner, customer=customer, starts_on__lte=period_end)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=period_start))
        .order_by("starts_on", "name", "pk")
        .prefetch_related(
            Prefetch("terms", queryset=ContractTerms.unscoped.order_by("effective_from")),
            Prefetch("time_entries", queryset=TimeEntry.unscoped.filter(date__lte=period_end)),
            Prefetch("top_ups", queryset=ContractTopUp.unscoped.filter(date__lte=period_end)),
        )
    )


def contract_charges(
    customer: Tenant, partner: Tenant, period_start: datetime.date, period_end: datetime.date
) -> list[ContractCharge]:
    """Every charge of `partner`'s contracts with `customer` for the period, in
    the order of the contracts (start, name) and, within one, as its type lists
    them. Four queries; writes nothing."""
    charges: list[ContractCharge] = []
    for contract in billable_contracts(
        customer=customer, partner=partner, period_start=period_start, period_end=period_end
    ):
        charges += charges_for_period(contract, period_start, period_end)
    return charges
