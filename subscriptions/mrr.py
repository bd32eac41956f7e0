"""The partner's book: its MRR month by month and the standard movements
(ChartMogul's definitions, at the customer level), read from the subscription
ledger (`selectors.ledger_states`: the state after each subscription's last
change effective by a day).

Definitions, once:

- The MRR of a month is the MRR on its last day (for the current month: today);
  a customer's MRR on a day is the sum of its subscriptions' states that day
  (a cancelled one counts until its cancel), rounded
  half-up to 0.01 once per customer and day. Book figures are exact sums of those
  rounded amounts, so `mrr[M] - mrr[M-1]` equals the sum of M's movements.
- A subscription that starts on day d counts from d's month end on; one whose
  last day is d (`ends_on`, inclusive) still counts at d's month end when d is
  that last day, and drops in the month of d + 1.
- Movements of month M compare each customer's MRR at the end of M-1 and at the
  end of M: new (0 → > 0, never paid before), reactivation (0 → > 0, paid on any
  earlier day: a positive subscription started on or before the end of M-1),
  expansion / contraction (> 0 → more / less), churn (> 0 → 0). Contraction and
  churn are negative.
- Amounts are never converted: a book holds the customers of one currency.
"""

import datetime
import itertools
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.selectors import (
    customers_managed_now,
    customers_visible_to,
    manages_now,
)
from subscriptions.book_cache import book_scope
from subscriptions.books import book_figures
from subscriptions.models import Subscription
from subscriptions.months import month_end
from subscriptions.mrr_rules import (
    KINDS,
    as_date,
    book_subscriptions,
    cents_sql,
    customers_in,
    money,
    month_ends,
    month_history,
    movement_kind,
)
from subscriptions.selectors import HOLDS, ledger_states, state_on
from tenants.branch_cache import Change, Parted, branch_cached
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext

ZERO = Decimal("0.00")
MONTHS_MAX = 36


def parse_month(value: str) -> datetime.date:
    """The first day of month "YYYY-MM"."""
    try:
        year, month = (int(part) for part in value.split("-"))
        if len(value) != 7:
            raise ValueError(value)
        return datetime.date(year, month, 1)
    except (ValueError, AttributeError) as exc:
        raise ValidationError({"month": _("A month as YYYY-MM.")}) from exc


def book_customers(
    *,
    org: OrgContext,
    currency: str | None = None,
    subtree: bool = False,
    today: datetime.date | None = None,
) -> tuple[QuerySet[Tenant], str]:
    """The customers of the book and its currency: those the user may act on,
    or with `subtree` (partner owners and admins) every customer the partner or
    a partner below it manages now (partners.selectors.manages_now: never the
    customers' place in the tree)."""
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Only partners have a book."))
    currency = currency or org.tenant.currency
    if subtree:
        if not org.has_role(Role.ADMIN):
            raise PermissionDenied(_("The sub-tree's book is for partner owners and admins."))
        customers = customers_managed_now(partner=org.tenant, subtree=True, today=today)
    else:
        customers = customers_visible_to(org=org, today=today)
    return customers.filter(currency=currency), currency


def _managed_by(org: OrgContext, subtree: bool, today: datetime.date) -> Exists:
    """The subscriptions whose product the partner (with `subtree`, it or a partner
    below it) manages now for their customer: a full grant, or a limited one
    listing it (SPEC §3: the widget and the subscription list say the same)."""
    return manages_now(
        partner=org.tenant,
        customer=OuterRef("customer"),
        product=OuterRef("product"),
        subtree=subtree,
        today=today,
    )


def _customer_series(
    subscriptions: QuerySet[Subscription], ends: list[datetime.date]
) -> list[dict]:
    """One query: per customer, the MRR at each of `ends` and whether it paid on
    or before each of `ends[:-1]` (a positive state held on a day by then)."""
    inner, params = _per_customer(subscriptions, ends, ends[-1])
    connection = connections[subscriptions.db]
    tenants = connection.ops.quote_name(Tenant._meta.db_table)
    name = connection.ops.quote_name(Tenant._meta.get_field("name").column)
    pk = connection.ops.quote_name(Tenant._meta.pk.column)
    twelves = ", ".join(f"per_customer.t{i}" for i in range(len(ends)))
    sql = (
        f"SELECT per_customer.customer_id, t.{name}, per_customer.first_paid, {twelves} "  # noqa: S608
        f"FROM ({inner}) per_customer JOIN {tenants} t ON t.{pk} = per_customer.customer_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    series = []
    for customer, customer_name, first_paid, *cents in rows:
        first = as_date(first_paid)
        series.append(
            {
                "customer": uuid.UUID(str(customer)),
                "customer__name": customer_name,
                "mrr": [money(_twelfth(c)) for c in cents],
                "paid": [first is not None and first <= end for end in ends[:-1]],
            }
        )
    return series


def _twelfth(cents_twelves: Decimal | int | None) -> int:
    """Cents from twelve times them, rounded half-up (as `cents_sql` in SQL)."""
    return (int(cents_twelves or 0) + 6) // 12


def _fetch_one(subscriptions: QuerySet[Subscription], sql: str, params: list) -> tuple:
    with connections[subscriptions.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def book_mrr(
    *,
    org: OrgContext,
    currency: str | None = None,
    months: int = 12,
    subtree: bool = False,
    today: datetime.date | None = None,
    cached: bool = True,
) -> dict:
    """The book's current and upcoming MRR and its last `months` months with their
    movements. One query, one row: the month figures with their movements (the
    database classifies each customer) and the upcoming MRR, from one reading of
    the ledger's states (a common table expression).
    Cached until the book changes (subscriptions.book_cache), computed then from
    the book kept by deltas for the partner's owners and admins (four queries
    at any size: subscriptions.books, `book_mrr_kept`), else from each
    customer's share cached apart; `cached=False` computes it afresh from the
    ledger (the oracle: mrr_check)."""
    if not 1 <= months <= MONTHS_MAX:
        raise ValidationError({"months": _("From 1 to %(max)s.") % {"max": MONTHS_MAX}})
    today = today or timezone.localdate()
    customers, currency = book_customers(org=org, currency=currency, subtree=subtree, today=today)
    subscriptions = book_subscriptions(customers, currency, _managed_by(org, subtree, today))

    def compute() -> dict:
        ends, labels = month_ends(today, months)
        history, next_change, upcoming = _book_history(subscriptions, ends, labels, today)
        current = history[-1]["mrr"]
        return {
            "currency": currency,
            "current_mrr": current,
            # on the next day a change takes effect (a start, an end, a new quantity)
            "upcoming_mrr": upcoming if next_change else current,
            "history": history,
        }

    if not cached:
        return compute()

    def kept() -> dict | None:
        # owners' and admins' view: the book kept by deltas (subscriptions.books)
        return _kept(org, currency, months, subtree, today)

    key = ("book_mrr", org.tenant.pk, book_scope(org), currency, months, subtree, today)

    def from_shares() -> dict:
        # Each customer's share, cached apart (large) and patched after a write
        # to a few customers' subscriptions (BookShares); the figures are its sums.
        ends, labels = month_ends(today, months)
        shares = branch_cached(
            path=org.tenant.path,
            key=("book_mrr shares", BookShares.VERSION, *key[1:]),
            compute=lambda: BookShares.read(subscriptions, ends, today),
            patch=lambda shares, change, load: shares.patched(
                subscriptions, today, change.customers, load
            ),
        )
        history, current, upcoming = shares.figures(labels)
        return {
            "currency": currency,
            "current_mrr": current,
            "upcoming_mrr": upcoming,
            "history": history,
        }

    return branch_cached(
        path=org.tenant.path,
        key=key,
        compute=lambda: kept() or from_shares(),
        uncached=lambda: kept() or compute(),
    )


def book_mrr_kept(
    *,
    org: OrgContext,
    currency: str | None = None,
    months: int = 12,
    subtree: bool = False,
    today: datetime.date | None = None,
) -> dict | None:
    """`book_mrr` as read from the book kept by deltas, with no cache (what a
    view after a write costs; the bench's figure): the partner's owners and
    admins only. None: the kept book cannot answer (subscriptions.books)."""
    if not 1 <= months <= MONTHS_MAX:
        raise ValidationError({"months": _("From 1 to %(max)s.") % {"max": MONTHS_MAX}})
    today = today or timezone.localdate()
    currency = book_customers(org=org, currency=currency, subtree=subtree, today=today)[1]
    return _kept(org, currency, months, subtree, today)


def _kept(
    org: OrgContext, currency: str, months: int, subtree: bool, today: datetime.date
) -> dict | None:
    if book_scope(org) != "partner":
        return None  # a collaborator sees the customers assigned to them
    kept = book_figures(
        partner=org.tenant, subtree=subtree, currency=currency, months=months, today=today
    )
    if kept is None:
        return None
    figures, current, upcoming = kept
    return {
        "currency": currency,
        "current_mrr": money(current),
        "upcoming_mrr": money(upcoming),
        "history": month_history(
            [c for month in figures for c in month], month_ends(today, months)[1]
        ),
    }


# A patch recomputes at most this many customers; a write to more, the whole book.
PATCH_CUSTOMERS_MAX = 1000


def _uuid_bytes(value: object) -> bytes:
    return value.bytes if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).bytes


class _SharesPart:
    """The shares of the customers of one part of a book (BookShares.PARTS):
    16 bytes of id per customer and a column per figure (4-byte integers, 8
    for a column that holds more), which pickle as a few buffers."""

    def __init__(self, width: int) -> None:
        self.ids = bytearray()
        self.columns = [array("i") for _ in range(width)]

    def find(self, customer: bytes) -> int:
        """The customer's row (-1: none)."""
        return _row_of(self.ids, customer)

    def append(self, customer: bytes) -> int:
        self.ids += customer
        for column in self.columns:
            column.append(0)
        return len(self.ids) // 16 - 1

    def row(self, i: int) -> list[int]:
        return [column[i] for column in self.columns]

    def put(self, i: int, values: list[int]) -> None:
        for c, value in enumerate(values):
            try:
                self.columns[c][i] = value
            except OverflowError:  # over 2**31 - 1 cents (21 million a month)
                self.columns[c] = array("q", self.columns[c])
                self.columns[c][i] = value


class BookShares:
    """Each customer's share of a book's figures, with their sums: what the
    cached `book_mrr` keeps, so that a write to a few customers' subscriptions
    patches the book (`patched`: those customers read again, their old shares
    taken off the sums and their new ones added) instead of computing it
    afresh (tenants.branch_cache). A customer's share: its MRR in cents at each
    month end (rounded once each, as the book's SQL does), the first day it
    paid, its next change and its MRR that day. The sums: per month, the MRR
    and the movements in KINDS' order; per next-change day, how many customers
    change then and by how much (the book's upcoming MRR is today's plus the
    earliest day's change).
    This object is the sums (the head of a `Parted` value); the shares are in
    PARTS parts by the customer's id, cached apart, so that a patch reads and
    writes the parts of the customers it reads again (about 75 KB each at
    100,000 customers), not every share (4.8 MB). A customer that leaves
    keeps a row of zeros."""

    VERSION = 3
    PARTS = 64

    def __init__(self, ends: list[datetime.date]) -> None:
        self.ends = [end.toordinal() for end in ends]
        # a share's columns: its MRR in cents at each of `ends`, then the first
        # day it paid and its next change (ordinals; 0: none), then its MRR in
        # cents on its next change
        self.width = len(ends) + 3
        self.totals = [[0] * (1 + len(KINDS)) for _ in ends[1:]]
        self.next_changes: dict[int, list[int]] = {}  # day: [customers, change in cents]

    @staticmethod
    def _rows(
        subscriptions: QuerySet[Subscription], ends: list[datetime.date], today: datetime.date
    ) -> list[tuple]:
        inner, params = _per_customer(subscriptions, ends, today, upcoming="customer")
        sql = (
            f"SELECT customer_id, first_paid, next_change, {rounded_columns(ends)}, "  # noqa: S608
            f"{cents_sql('tu')} FROM ({inner}) per_customer"
        )
        with connections[subscriptions.db].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    @classmethod
    def read(
        cls, subscriptions: QuerySet[Subscription], ends: list[datetime.date], today: datetime.date
    ) -> Parted:
        shares = cls(ends)
        parts = {n: _SharesPart(shares.width) for n in range(cls.PARTS)}
        for row in cls._rows(subscriptions, ends, today):
            customer = _uuid_bytes(row[0])
            part = parts[cls._part_of(customer)]
            values = shares._values(row)
            part.put(part.append(customer), values)
            shares._add(values, 1)
        return Parted(shares, parts)

    def patched(
        self,
        subscriptions: QuerySet[Subscription],
        today: datetime.date,
        customers: frozenset[str],
        load: Callable[[Iterable[int]], dict],
    ) -> Parted:
        ends = [datetime.date.fromordinal(end) for end in self.ends]
        if len(customers) > PATCH_CUSTOMERS_MAX:
            return self.read(subscriptions, ends, today)
        theirs = customers_in(subscriptions, customers)
        rows = {
            _uuid_bytes(row[0]): row
            for row in (self._rows(theirs, ends, today) if theirs is not None else ())
        }
        written = [_uuid_bytes(customer) for customer in customers]
        parts = load(self._part_of(customer) for customer in written)
        for customer in written:
            part = parts[self._part_of(customer)]
            i = part.find(customer)
            row = rows.get(customer)
            if i < 0 and row is None:
                continue
            if i < 0:
                i = part.append(customer)
            self._add(part.row(i), -1)
            values = self._values(row)
            part.put(i, values)
            self._add(values, 1)
        return Parted(self, parts)

    def figures(self, labels: list[str]) -> tuple[list[dict], Decimal, Decimal]:
        """The months' figures, the current MRR and the upcoming one."""
        history = month_history([cents for month in self.totals for cents in month], labels)
        current = history[-1]["mrr"]
        if not self.next_changes:
            return history, current, current
        return history, current, current + money(self.next_changes[min(self.next_changes)][1])

    @classmethod
    def _part_of(cls, customer: bytes) -> int:
        return customer[0] % cls.PARTS

    def _values(self, row: tuple | None) -> list[int]:
        """A share's columns from its row of `_rows` (None: none now)."""
        if row is None:
            return [0] * self.width
        first_paid, next_change, *cents = row[1:]
        return [*map(int, cents[:-1]), _ordinal(first_paid), _ordinal(next_change), int(cents[-1])]

    def _add(self, values: list[int], sign: int) -> None:
        """Add (1) or take off (-1) a share to the sums."""
        *cents, first_paid, day, upcoming = values
        for m, month in enumerate(self.totals, start=1):
            before, after = cents[m - 1], cents[m]
            month[0] += sign * after
            kind = movement_kind(before, after, 0 < first_paid <= self.ends[m - 1])
            if kind:
                month[1 + KINDS.index(kind)] += sign * (after - before)
        if day:
            entry = self.next_changes.setdefault(day, [0, 0])
            entry[0] += sign
            entry[1] += sign * (upcoming - cents[-1])
            if not entry[0]:
                del self.next_changes[day]


def _ordinal(day: datetime.date | str | None) -> int:
    found = as_date(day)
    return found.toordinal() if found else 0


def _per_customer(
    subscriptions: QuerySet[Subscription],
    days: list[datetime.date],
    today: datetime.date,
    *,
    upcoming: str | None = None,
) -> tuple[str, list]:
    """SQL: per customer of `subscriptions`, from their ledger's states
    (`selectors.ledger_states`, the one rule): `t0`… twelve times its MRR in
    cents on each of `days`; `first_paid`, the first day it paid anything;
    `next_change`, the first day after `today` a change takes effect; with
    `upcoming`, `tu`: twelve times its MRR in cents on the next change, the
    book's (`"book"`) or the customer's own (`"customer"`), 0 when there is
    none. The states are read once (`WITH states`): the next change is found
    among them, not by a second statement."""
    states, states_params = ledger_states(subscriptions, with_twelves=False)
    connection = connections[subscriptions.db]
    columns = [
        f"MIN(CASE WHEN cents > 0 AND {HOLDS} THEN since END) AS first_paid",
        f"MIN(CASE WHEN since > %s AND {HOLDS} THEN since END) AS next_change",
    ]
    params = [connection.ops.adapt_datefield_value(today)]
    for i, day in enumerate(days):
        holds, holds_params = state_on(day, using=subscriptions.db)
        columns.append(f"SUM(CASE WHEN {holds} THEN cents ELSE 0 END) AS t{i}")
        params += holds_params
    source, source_params = "states", []
    if upcoming is not None:
        columns.append(
            "SUM(CASE WHEN since <= next_day AND (until IS NULL OR until > next_day) "
            "THEN cents ELSE 0 END) AS tu"
        )
        later = f"FROM states WHERE since > %s AND {HOLDS}"
        if upcoming == "book":
            source = f"states CROSS JOIN (SELECT MIN(since) AS next_day {later}) book_next"
        else:
            source = (
                "states LEFT JOIN (SELECT customer_id AS next_of, MIN(since) AS next_day "
                f"{later} GROUP BY customer_id) customer_next "
                "ON customer_next.next_of = states.customer_id"
            )
        source_params = [connection.ops.adapt_datefield_value(today)]
    sql = (
        f"WITH states AS ({states}) "  # noqa: S608 (no values)
        f"SELECT customer_id, {', '.join(columns)} FROM {source} GROUP BY customer_id"
    )
    return sql, states_params + params + source_params


def _book_history(
    subscriptions: QuerySet[Subscription],
    ends: list[datetime.date],
    labels: list[str],
    today: datetime.date,
) -> tuple[list[dict], datetime.date | None, Decimal]:
    """One query, one row: per month of `labels` the book's MRR and movements, each
    customer's MRR at `ends` (the end before the window first) rounded once per
    customer and month end, then classified and summed by the database; and the
    first day after `today` a change takes effect, with the book's MRR that day."""
    inner, params = _per_customer(subscriptions, ends, today, upcoming="book")
    columns, day_params = month_columns(ends, using=subscriptions.db)
    sql = (
        f"SELECT MIN(next_change), {', '.join(columns)}, SUM(cu) FROM ("  # noqa: S608 (no values)
        f"SELECT first_paid, next_change, {rounded_columns(ends)}, {cents_sql('tu')} AS cu "
        f"FROM ({inner}) per_customer"
        ") rounded"
    )
    row = _fetch_one(subscriptions, sql, day_params + list(params))
    # the upcoming MRR (`cu`): each customer rounded once
    return month_history(row[1:-1], labels), as_date(row[0]), money(row[-1])


def rounded_columns(ends: list[datetime.date]) -> str:
    """SQL over `_per_customer`'s row: a customer's MRR in cents at each of `ends`
    (`c0`…), rounded once."""
    return ", ".join(cents_sql(f"t{i}") + f" AS c{i}" for i in range(len(ends)))


def month_columns(ends: list[datetime.date], *, using: str) -> tuple[list[str], list]:
    """SQL aggregates over customers' rounded rows (`rounded_columns`, with
    `first_paid`): per month after the first of `ends`, its MRR then its
    movements in KINDS' order (the database classifies each customer), in
    cents; and their parameters."""
    connection = connections[using]
    # Paid by the end before: a positive state held on a day by then.
    paid = "(first_paid IS NOT NULL AND first_paid <= %s)"
    columns, params = [], []
    for m in range(1, len(ends)):
        before, after = f"c{m - 1}", f"c{m}"
        params += [connection.ops.adapt_datefield_value(ends[m - 1])] * 2
        columns += [
            f"SUM({after})",
            f"SUM(CASE WHEN {before} = 0 AND {after} > 0 AND NOT {paid} THEN {after} ELSE 0 END)",
            f"SUM(CASE WHEN {before} > 0 AND {after} > {before} THEN {after} - {before} ELSE 0 END)",
            f"SUM(CASE WHEN {before} > 0 AND {after} > 0 AND {after} < {before} "
            f"THEN {after} - {before} ELSE 0 END)",
            f"SUM(CASE WHEN {before} > 0 AND {after} = 0 THEN -{before} ELSE 0 END)",
            f"SUM(CASE WHEN {before} = 0 AND {after} > 0 AND {paid} THEN {after} ELSE 0 END)",
        ]
    return columns, params


class Move(NamedTuple):
    """One customer's movement in a month, compact for the cache (a month can
    hold thousands): the customer's id as text, money in cents."""

    kind: str
    name: str
    customer_id: str
    before_cents: int
    after_cents: int


class Moves(Sequence[Move]):
    """A month's moves as the cache holds them: columns (each row's kind as a
    byte, the names and the ids joined in one string each, the cents in arrays),
    which unpickle as a few buffers, where a list of Move tuples builds an object
    per customer and row (at 100,000 customers a month holds 25,625 moves: 120 ms
    of every warm movements page, bench/pages.py). A Move is built for each row
    read; a kind's rows are one slice (the rows are sorted by kind)."""

    ID_LENGTH = 36  # str(uuid)

    def __init__(self, moves: Iterable[Move] = ()) -> None:
        moves = list(moves)
        if any(len(m.customer_id) != self.ID_LENGTH for m in moves):
            raise ValueError("A move's customer id is a UUID as text.")
        self._kinds = bytes(KINDS.index(m.kind) for m in moves)
        self._names = "".join(m.name for m in moves)
        self._name_ends = array("Q", itertools.accumulate(len(m.name) for m in moves))
        self._ids = "".join(m.customer_id for m in moves)
        self._before = array("q", (m.before_cents for m in moves))
        self._after = array("q", (m.after_cents for m in moves))

    def __len__(self) -> int:
        return len(self._kinds)

    def _row(self, i: int) -> Move:
        name_start = self._name_ends[i - 1] if i else 0
        return Move(
            KINDS[self._kinds[i]],
            self._names[name_start : self._name_ends[i]],
            self._ids[i * self.ID_LENGTH : (i + 1) * self.ID_LENGTH],
            self._before[i],
            self._after[i],
        )

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._row(index)

    def __iter__(self) -> Iterator[Move]:
        return (self._row(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Moves, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Moves({list(self)!r})"

    @property
    def change_cents(self) -> int:
        return sum(self._after) - sum(self._before)

    def of_kind(self, kind: str | None) -> "Moves":
        """The rows of one kind (all of them for None): a slice of the columns."""
        if kind is None:
            return self
        code = bytes([KINDS.index(kind)])
        start = self._kinds.find(code)
        if start < 0:
            return Moves()
        return self._slice(start, self._kinds.rfind(code) + 1)

    def replaced(self, customer_ids: Iterable[str], moves: Iterable[Move]) -> "Moves":
        """These customers' rows replaced by `moves` (theirs, read again), kept in
        `move_order`: slices of the columns joined, not a row object per move."""
        found = (self._find(customer) for customer in customer_ids)
        dropped = sorted(i for i in found if i >= 0)
        bounds = zip([-1, *dropped], [*dropped, len(self)], strict=True)
        kept = Moves._joined([self._slice(start + 1, stop) for start, stop in bounds])
        parts, start = [], 0
        for move in sorted(moves, key=move_order):
            at = kept._bisect(move_order(move), start)
            parts += [kept._slice(start, at), Moves([move])]
            start = at
        return Moves._joined([*parts, kept._slice(start, len(kept))])

    def _find(self, customer_id: str) -> int:
        return _row_of(self._ids, customer_id)

    def _bisect(self, order: tuple, low: int) -> int:
        high = len(self)
        while low < high:
            middle = (low + high) // 2
            if move_order(self._row(middle)) <= order:
                low = middle + 1
            else:
                high = middle
        return low

    def _slice(self, start: int, stop: int) -> "Moves":
        part = Moves()
        if start >= stop:
            return part
        name_start = self._name_ends[start - 1] if start else 0
        part._kinds = self._kinds[start:stop]
        part._names = self._names[name_start : self._name_ends[stop - 1]]
        part._name_ends = array("Q", (end - name_start for end in self._name_ends[start:stop]))
        part._ids = self._ids[start * self.ID_LENGTH : stop * self.ID_LENGTH]
        part._before = self._before[start:stop]
        part._after = self._after[start:stop]
        return part

    @staticmethod
    def _joined(parts: "list[Moves]") -> "Moves":
        joined, offset = Moves(), 0
        joined._kinds = b"".join(part._kinds for part in parts)
        joined._names = "".join(part._names for part in parts)
        joined._ids = "".join(part._ids for part in parts)
        for part in parts:
            joined._name_ends.extend(end + offset for end in part._name_ends)
            joined._before += part._before
            joined._after += part._after
            offset += len(part._names)
        return joined


def _row_of(ids: Any, customer: Any) -> int:
    """The row of `customer` in `ids`, fixed-width ids joined (bytes or text;
    -1: none): a match must start on a row's boundary."""
    at = ids.find(customer)
    while at >= 0 and at % len(customer):
        at = ids.find(customer, at + 1)
    return at // len(customer) if at >= 0 else -1


def move_order(move: Move) -> tuple[int, str, str]:
    """How a month's moves are sorted: by kind (KINDS' order), name, then id."""
    return KINDS.index(move.kind), move.name, move.customer_id


@dataclass(frozen=True)
class MonthMovements:
    """The customers behind a month's movement figures: `moves`, sorted by kind
    (in KINDS' order) then name; `with_subscriptions` turns the rows a page
    shows into their MRR before and after, the change, and what started, ended
    or was cancelled (one query for the page, not the book)."""

    moves: Moves
    customers: QuerySet[Tenant]
    currency: str
    before: datetime.date
    after: datetime.date
    managed: Exists

    @property
    def total(self) -> Decimal:
        return money(self.moves.change_cents)

    def with_subscriptions(self, moves: Iterable[Move] | None = None) -> list[dict]:
        rows = [
            {
                "customer": {"id": uuid.UUID(m.customer_id), "name": m.name},
                "kind": m.kind,
                "mrr_before": money(m.before_cents),
                "mrr_after": money(m.after_cents),
                "change": money(m.after_cents - m.before_cents),
                "subscriptions": [],
            }
            for m in (self.moves if moves is None else moves)
        ]
        _attach_changes(rows, self.customers, self.currency, self.before, self.after, self.managed)
        return rows


def book_movements(
    *,
    org: OrgContext,
    month: str,
    kind: str | None = None,
    currency: str | None = None,
    subtree: bool = False,
    today: datetime.date | None = None,
    cached: bool = True,
) -> MonthMovements:
    """The customers behind each movement figure of `month` ("YYYY-MM"). The
    `change` of each kind's rows sums to that month's figure in `book_mrr`.
    The classification is cached until the book changes, as `book_mrr` is."""
    today = today or timezone.localdate()
    first = parse_month(month)
    if first > today:
        raise ValidationError({"month": _("Not a past or current month.")})
    if kind is not None and kind not in KINDS:
        raise ValidationError({"kind": _("One of %(values)s.") % {"values": ", ".join(KINDS)}})
    customers, currency = book_customers(org=org, currency=currency, subtree=subtree, today=today)
    managed = _managed_by(org, subtree, today)
    subscriptions = book_subscriptions(customers, currency, managed)
    # the day before the month (none before year 1, where no subscription is either)
    before = first - datetime.timedelta(days=1) if first > datetime.date.min else first
    after = min(month_end(first), today)

    def moves_of(subscriptions: QuerySet[Subscription]) -> list[Move]:
        moves = []
        for s in _customer_series(subscriptions, [before, after]):
            moved = movement_kind(s["mrr"][0], s["mrr"][1], s["paid"][0])
            if moved:
                cents = [int(amount * 100) for amount in s["mrr"]]
                moves.append(Move(moved, s["customer__name"], str(s["customer"]), *cents))
        return moves

    def classify() -> Moves:
        return Moves(sorted(moves_of(subscriptions), key=move_order))

    def reclassify(moves: Moves, change: Change) -> Moves:
        """After a write to some customers' subscriptions: theirs read again."""
        customers = change.customers
        if len(customers) > PATCH_CUSTOMERS_MAX:
            return classify()
        theirs = customers_in(subscriptions, customers)
        return moves.replaced(customers, moves_of(theirs) if theirs is not None else [])

    if cached:
        # Moves' and Move's shapes in the key: a release that changes them never
        # reads the old rows.
        # Today too, even for a past month: whom the partner manages is judged today.
        key = (
            "book_movements",
            Move._fields,
            "Moves columns, sorted by move_order",
            org.tenant.pk,
            book_scope(org),
            currency,
            subtree,
            before,
            after,
            today,
        )
        moves = branch_cached(path=org.tenant.path, key=key, compute=classify, patch=reclassify)
    else:
        moves = classify()
    return MonthMovements(
        moves=moves.of_kind(kind),
        customers=customers,
        currency=currency,
        before=before,
        after=after,
        managed=managed,
    )


def _attach_changes(
    moves: Iterable[dict],
    customers: QuerySet[Tenant],
    currency: str,
    before: datetime.date,
    after: datetime.date,
    managed: Exists,
) -> None:
    """One query: what started, ended (its last day from `before` to the day before
    `after`) or was cancelled in the month, for the customers that moved."""
    by_customer = {m["customer"]["id"]: m for m in moves}
    if not by_customer:
        return
    live = Q(cancelled_at__isnull=True)
    started = live & Q(starts_on__gt=before, starts_on__lte=after)
    ended = live & Q(ends_on__gte=before, ends_on__lt=after)
    cancelled = Q(cancelled_at__date__gt=before, cancelled_at__date__lte=after)
    rows = (
        Subscription.unscoped.filter(customer__in=customers.values("pk"), currency=currency)
        .filter(managed, customer__in=list(by_customer))
        .filter(started | ended | cancelled)
        .select_related("product")
        .order_by("starts_on", "created_at")
    )
    for sub in rows:
        changes = []
        if sub.cancelled_at is not None:
            changes.append("cancelled")
        else:
            if before < sub.starts_on <= after:
                changes.append("started")
            if sub.ends_on is not None and before <= sub.ends_on < after:
                changes.append("ended")
        for change in changes:
            by_customer[sub.customer_id]["subscriptions"].append(
                {
                    "id": sub.id,
                    "product": sub.product.code,  # the API's
                    "product_name": sub.product.name,  # the page's (issue 25: names, not codes)
                    "quantity": sub.quantity,
                    "starts_on": sub.starts_on,
                    "ends_on": sub.ends_on,
                    "change": change,
                }
            )
