"""What contracts bill for a period (customers/contract_billing.py): each of
Atera's eight types, proration by days, terms versions, one-time projects once,
prepaid blocks with their draws, overage and top-ups; the partner's run over a
customer's contracts in a fixed number of queries; and, as properties, that an
invoice's sum is the sum of its rounded lines and that a block never loses or
invents time or money."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.contract_billing import (
    ContractCharge,
    block_replay,
    charges_for_period,
    contract_charges,
)
from customers.models import Contract, ContractTerms, ContractTopUp, TimeEntry

day = datetime.date
D = Decimal
DECEMBER = (day(2026, 12, 1), day(2026, 12, 31))
JANUARY = (day(2027, 1, 1), day(2027, 1, 31))
FEBRUARY = (day(2027, 2, 1), day(2027, 2, 28))

TERMS = ("fee", "hourly_rate", "unit_price", "quantity", "amount")


def contract(world, kind: str, starts_on=day(2026, 12, 1), *, versions=(), **fields) -> Contract:
    """A contract as the services leave it: its columns, and its terms from its
    start (then each of `versions`: (effective_from, {term: value}))."""
    made = Contract.unscoped.create(
        partner=world.partner,
        customer=world.customer,
        type=kind,
        name=fields.pop("name", kind.replace("_", " ").title()),
        starts_on=starts_on,
        **{k: (D(v) if isinstance(v, str | int) else v) for k, v in fields.items()},
    )
    first = {name: getattr(made, name) for name in TERMS}
    ContractTerms.unscoped.create(contract=made, effective_from=starts_on, **first)
    for effective_from, changed in versions:
        ContractTerms.unscoped.create(
            contract=made,
            effective_from=effective_from,
            **{**first, **{k: D(v) for k, v in changed.items()}},
        )
    return made


def entry(contract_: Contract, date, hours: str) -> TimeEntry:
    return TimeEntry.unscoped.create(contract=contract_, date=date, hours=D(hours))


def lines(charges: list[ContractCharge]) -> list[tuple]:
    return [(c.quantity, c.unit_price, c.amount, c.period_start, c.period_end) for c in charges]


# --- monthly: retainer, remote monitoring, online backup ------------------------------------


def test_a_retainer_bills_its_fee_for_a_whole_month(world):
    care = contract(world, "retainer", fee="450.00")
    [charge] = charges_for_period(care, *DECEMBER)
    assert charge == ContractCharge(
        description="Retainer: monthly fee",
        quantity=D("1.00"),
        unit_price=D("450.00"),
        amount=D("450.00"),
        period_start=day(2026, 12, 1),
        period_end=day(2026, 12, 31),
        kind="retainer",
    )


def test_a_retainer_that_starts_or_ends_inside_the_month_bills_its_days(world):
    care = contract(world, "retainer", day(2026, 12, 20), fee="1000.00", ends_on=day(2027, 2, 10))
    # 12 of 31 days: 0.387096… → 0.3871 (4 places), times 1000 = 387.10
    assert lines(charges_for_period(care, *DECEMBER)) == [
        (D("0.3871"), D("1000.00"), D("387.10"), day(2026, 12, 20), day(2026, 12, 31))
    ]
    assert charges_for_period(care, *DECEMBER)[0].description == (
        "Retainer: monthly fee (12 of 31 days)"
    )
    assert lines(charges_for_period(care, *JANUARY))[0][2] == D("1000.00")
    # the end day is billed: 10 of 28 days = 0.3571 → 357.10
    assert lines(charges_for_period(care, *FEBRUARY)) == [
        (D("0.3571"), D("1000.00"), D("357.10"), day(2027, 2, 1), day(2027, 2, 10))
    ]
    assert charges_for_period(care, day(2027, 3, 1), day(2027, 3, 31)) == []
    assert charges_for_period(care, day(2026, 11, 1), day(2026, 11, 30)) == []


def test_a_change_of_terms_bills_from_its_version_and_a_past_month_keeps_its_own(world):
    care = contract(world, "retainer", fee="100.00", versions=[(day(2027, 1, 1), {"fee": "150"})])
    assert [c.amount for c in charges_for_period(care, *DECEMBER)] == [D("100.00")]
    assert [c.amount for c in charges_for_period(care, *JANUARY)] == [D("150.00")]
    # a period across the change: one line per version
    assert [c.amount for c in charges_for_period(care, DECEMBER[0], JANUARY[1])] == [
        D("100.00"),
        D("150.00"),
    ]


@pytest.mark.parametrize(
    ("kind", "unit"), [("remote_monitoring", "devices"), ("online_backup", "GB of backup")]
)
def test_counted_contracts_bill_the_count_times_the_unit_price(world, kind, unit):
    counted = contract(
        world,
        kind,
        unit_price="4.50",
        quantity="12",
        versions=[(day(2027, 1, 1), {"quantity": "15"})],
    )
    [december] = charges_for_period(counted, *DECEMBER)
    assert (december.quantity, december.unit_price, december.amount) == (
        D("12.00"),
        D("4.50"),
        D("54.00"),
    )
    assert december.description == f"{counted.name}: 12 {unit}"
    assert [c.amount for c in charges_for_period(counted, *JANUARY)] == [D("67.50")]


# --- time: hourly and project hourly ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hourly", "project_hourly"])
def test_hourly_contracts_bill_the_periods_time_at_the_rate_of_its_day(world, kind):
    work = contract(
        world, kind, hourly_rate="120.00", versions=[(day(2027, 1, 1), {"hourly_rate": "130"})]
    )
    entry(work, day(2026, 12, 2), "1.5")
    entry(work, day(2026, 12, 31), "2.25")
    entry(work, day(2027, 1, 1), "1")

    assert lines(charges_for_period(work, *DECEMBER)) == [
        (D("3.75"), D("120.00"), D("450.00"), day(2026, 12, 1), day(2026, 12, 31))
    ]
    assert lines(charges_for_period(work, *JANUARY)) == [
        (D("1.00"), D("130.00"), D("130.00"), day(2027, 1, 1), day(2027, 1, 31))
    ]
    assert charges_for_period(work, *FEBRUARY) == []


# --- a one-time project -------------------------------------------------------------------------


def test_a_one_time_project_bills_once_in_the_month_of_its_billing_date(world):
    project = contract(
        world,
        "project_one_time",
        amount="5000",
        bills_on=day(2027, 1, 15),
        ends_on=day(2027, 6, 30),
    )
    assert charges_for_period(project, *DECEMBER) == []
    january = charges_for_period(project, *JANUARY)
    assert lines(january) == [
        (D("1"), D("5000.00"), D("5000.00"), day(2027, 1, 15), day(2027, 1, 15))
    ]
    assert charges_for_period(project, *JANUARY) == january  # the same answer, however often
    assert charges_for_period(project, *FEBRUARY) == []
    # without a billing date: the month of its start
    started = contract(world, "project_one_time", day(2026, 12, 5), amount="80")
    assert [c.amount for c in charges_for_period(started, *DECEMBER)] == [D("80.00")]


# --- prepaid blocks -----------------------------------------------------------------------------


def test_a_block_of_hours_bills_its_purchase_draws_time_and_bills_the_overage(world):
    block = contract(world, "block_of_hours", hours="10", amount="900", hourly_rate="110")
    entry(block, day(2026, 12, 3), "4")
    entry(block, day(2026, 12, 20), "4.5")
    entry(block, day(2027, 1, 10), "3")  # 1.5 left: 1.5 h beyond the block

    december = charges_for_period(block, *DECEMBER)
    assert [(c.description, c.amount) for c in december] == [
        ("Block Of Hours: prepaid block (10.00 h)", D("900.00")),
        (
            "Block Of Hours: 8.50 h worked, 8.50 h drawn from the block; balance 1.50 h",
            D("0.00"),
        ),
    ]
    january = charges_for_period(block, *JANUARY)
    assert [(c.quantity, c.unit_price, c.amount) for c in january] == [
        (D("3.00"), D("0"), D("0.00")),
        (D("1.50"), D("110.00"), D("165.00")),
    ]
    assert "balance 0.00 h" in january[0].description
    assert block_replay(block, day(2027, 1, 31)).balance == D("0.00")


def test_a_top_up_bills_in_its_month_and_the_overage_rate_defaults_to_the_blocks_price(world):
    block = contract(world, "block_of_hours", hours="3", amount="100")  # 33.33 per hour
    ContractTopUp.unscoped.create(
        contract=block, date=day(2027, 1, 5), hours=D("5"), amount=D("450")
    )
    entry(block, day(2026, 12, 1), "4")  # 1 h beyond the block
    entry(block, day(2027, 1, 5), "2")  # drawn from the top-up of the same day

    december = charges_for_period(block, *DECEMBER)
    assert [(c.quantity, c.unit_price, c.amount) for c in december] == [
        (D("1"), D("100.00"), D("100.00")),
        (D("4.00"), D("0"), D("0.00")),
        (D("1.00"), D("33.33"), D("33.33")),
    ]
    january = charges_for_period(block, *JANUARY)
    assert [c.amount for c in january] == [D("450.00"), D("0.00")]
    assert january[1].description.endswith("balance 3.00 h")


def test_a_block_of_money_draws_each_entrys_cost_and_bills_what_the_block_lacks(world):
    block = contract(world, "block_of_money", amount="500", hourly_rate="95.50")
    entry(block, day(2026, 12, 1), "3.33")  # 318.015 → 318.02
    entry(block, day(2026, 12, 2), "2")  # 191.00: 181.98 left, 9.02 beyond
    december = charges_for_period(block, *DECEMBER)
    assert [(c.quantity, c.unit_price, c.amount) for c in december] == [
        (D("1"), D("500.00"), D("500.00")),
        (D("5.33"), D("0"), D("0.00")),
        (D("1"), D("9.02"), D("9.02")),
    ]
    assert december[1].description.endswith("500.00 drawn from the block; balance 0.00")


def test_a_contract_before_its_start_or_after_its_end_bills_nothing(world):
    for kind, fields in (
        ("retainer", {"fee": "1"}),
        ("hourly", {"hourly_rate": "1"}),
        ("block_of_hours", {"hours": "1", "amount": "1"}),
        ("online_backup", {"unit_price": "1", "quantity": "1"}),
    ):
        late = contract(world, kind, day(2027, 1, 1), **fields)
        assert charges_for_period(late, *DECEMBER) == [], kind


def test_a_period_that_ends_before_it_starts_is_refused(world):
    with pytest.raises(ValueError):
        charges_for_period(contract(world, "retainer", fee="1"), JANUARY[1], JANUARY[0])


# --- the partner's run over one customer --------------------------------------------------------


def test_contract_charges_reads_a_customers_contracts_in_four_queries_and_no_one_elses(world):
    contract(world, "retainer", fee="100")
    hourly = contract(world, "hourly", hourly_rate="100")
    block = contract(world, "block_of_money", amount="1000", hourly_rate="100")
    for n in range(1, 21):
        entry(hourly, day(2026, 12, n), "1")
        entry(block, day(2026, 12, n), "0.5")
    ContractTopUp.unscoped.create(contract=block, date=day(2026, 12, 15), amount=D("200"))
    contract(world, "retainer", day(2026, 1, 1), fee="999", ends_on=day(2026, 11, 30))  # ended
    theirs = Contract.unscoped.create(
        partner=world.other_partner,
        customer=world.customer,
        type="retainer",
        name="Theirs",
        starts_on=day(2026, 1, 1),
        fee=D("777"),
    )
    ContractTerms.unscoped.create(contract=theirs, effective_from=theirs.starts_on, fee=D("777"))

    with CaptureQueriesContext(connection) as queries:
        charges = contract_charges(world.customer, world.partner, *DECEMBER)
    assert len(queries) == 4  # the contracts, their terms, time entries and top-ups

    assert sum(c.amount for c in charges) == D("100.00") + D("2000.00") + D("1000.00") + D("200.00")
    assert {c.kind for c in charges} == {"retainer", "hourly", "block_of_money"}
    assert D("777") not in {c.unit_price for c in charges}


def test_contract_charges_writes_nothing(world):
    contract(world, "block_of_hours", hours="1", amount="100", warning_threshold="5")
    with CaptureQueriesContext(connection) as queries:
        contract_charges(world.customer, world.partner, *DECEMBER)
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries.captured_queries)


# --- properties ---------------------------------------------------------------------------------

MONTHS = [(day(2026, m, 1), day(2026, m + 1, 1) - datetime.timedelta(days=1)) for m in range(1, 12)]
MONTHS.append((day(2026, 12, 1), day(2026, 12, 31)))

money_st = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)
hours_st = st.decimals(min_value=D("0.01"), max_value=D("24"), places=2)
dates_st = st.dates(min_value=day(2026, 1, 1), max_value=day(2026, 12, 31))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


@settings(
    deadline=None,
    database=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(
        ["retainer", "hourly", "block_of_hours", "block_of_money", "remote_monitoring"]
    ),
    starts_on=dates_st,
    price=money_st,
    count=st.decimals(min_value=D("1"), max_value=D("500"), places=2),
    changes=st.lists(st.tuples(st.integers(2, 12), money_st), max_size=3),
    entries=st.lists(st.tuples(dates_st, hours_st), max_size=12),
    top_ups=st.lists(st.tuples(dates_st, money_st, hours_st), max_size=3),
)
def test_charges_sum_to_their_rounded_lines_and_blocks_keep_every_hour_and_cent(
    world, kind, starts_on, price, count, changes, entries, top_ups
):
    with transaction.atomic():
        fields: dict = {
            "retainer": {"fee": price},
            "hourly": {"hourly_rate": price},
            "block_of_hours": {"hours": count, "amount": price},
            "block_of_money": {"amount": price * 4, "hourly_rate": price},
            "remote_monitoring": {"unit_price": price, "quantity": count},
        }[kind]
        term = next(iter(set(fields) & {"fee", "hourly_rate", "unit_price"}), "amount")
        versions = {
            day(2026, month, 1): {term: str(value)}
            for month, value in changes
            if day(2026, month, 1) > starts_on
        }
        made = contract(world, kind, starts_on, versions=sorted(versions.items()), **fields)
        kept = [(d, h) for d, h in entries if d >= starts_on]
        for date, hours in kept:
            entry(made, date, str(hours))
        added = []
        if made.is_block:
            for date, amount, hours in top_ups:
                if date >= starts_on:
                    top = ContractTopUp.unscoped.create(
                        contract=made,
                        date=date,
                        amount=amount,
                        hours=hours if kind == "block_of_hours" else None,
                    )
                    added.append(top)

        charges = [c for period in MONTHS for c in charges_for_period(made, *period)]

        # every line: amount = quantity times unit price, rounded half-up to the cent once
        for charge in charges:
            assert charge.amount == _cents(charge.quantity * charge.unit_price)
            assert charge.kind == kind
        # an invoice's total is the sum of its lines, nothing rounded again
        month_totals = [
            sum((c.amount for c in charges_for_period(made, *period)), D("0")) for period in MONTHS
        ]
        assert sum(month_totals) == sum(_cents(c.quantity * c.unit_price) for c in charges)
        # asked again, the same answer (nothing is written, nothing drifts)
        assert charges == [c for period in MONTHS for c in charges_for_period(made, *period)]

        if made.is_block:
            state = block_replay(made, day(2026, 12, 31))
            draws = [m for m in state.moves if m.kind == "draw"]
            bought = sum((m.added for m in state.moves if m.kind == "purchase"), D("0"))
            drawn = sum((m.drawn for m in draws), D("0"))
            # never negative; nothing lost, nothing invented
            assert all(m.balance >= 0 for m in state.moves)
            assert bought == state.balance + drawn
            if kind == "block_of_hours":
                assert bought == made.hours + sum((t.hours for t in added), D("0"))
                assert drawn + sum((m.overage for m in draws), D("0")) == sum(
                    (h for _, h in kept), D("0")
                )
            # every purchase is billed once, at its price, in the month of its day
            billed = sorted(c.amount for c in charges if "prepaid block (" in c.description)
            assert billed == sorted([made.amount, *(t.amount for t in added)])
        transaction.set_rollback(True)
