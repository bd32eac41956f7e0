"""The partners' books kept by deltas (issue 27 point 1; docs/performance.md,
"The books kept by deltas"): the dashboard's MRR read from a few rows, not
computed from every subscription of the book.

A **book** (`Book`) is a partner's own customers or its sub-tree's, in one
currency, as its owners and admins see it (`mrr.book_customers`; a
collaborator's view stays computed). What is kept:

- each customer's **share** of each book it is in (`BookShare`): its MRR in
  cents from each day it changes (each customer rounded once a day, as the
  ledger's SQL rounds it: `mrr_rules.cents_sql`) and the first day it paid,
  from the ledger's states (`selectors.ledger_states`, the one rule), counting
  the subscriptions the book counts (`mrr_rules.book_subscriptions`: a limited
  grant's products; in a sub-tree book the union of its partners' grants);
- per book and day, the **deltas** (`BookDayDelta`): how many customers'
  MRR changes that day, and the change that day of the month's movements
  (new, expansion, contraction, churn, reactivation) read on it: each
  customer's move from the month before's end to the day. A share counted
  again inserts its new changes less its old ones, never updates a row, so
  writers side by side never lose each other's change. Summed up to a day of
  a month, they are the month's movements read on that day (the current
  month is read today, a past one on its last day: the same sums); the MRR at
  a day is the sum of every movement up to it; the upcoming MRR is today's
  plus the changes of the first day after today on which a customer changes.

**When shares are counted.** A write that can change a customer's shares (its
subscriptions, its grants, its currency, its partner's place in the tree)
marks the customer pending in its own transaction (`partners.PendingShare`,
written by `partners.book_changes.book_changed`, the hook every such write
already calls). The fold (`shares_fold`, the beat's `fold-book-shares` every
few seconds and `manage.py fold_books`) takes pending marks under a lock
(`SKIP LOCKED`: folds side by side take different marks), counts their
customers' shares again (one after the other when two folds took marks of one
customer: a lock per customer), inserts the deltas and deletes the marks it
took, in one transaction. A mark is a plain insert, so a write never waits on
another's; one committed while a fold runs stays for the next fold.

**Reading** (`book_figures`) is two queries over the deltas (the months'
sums up to today, the first days after it with a change) and the few
customers the sums cannot know yet, counted from the ledger with their stored
shares taken off:

- pending customers of the book (so the figures are exact at every commit,
  folded or not);
- customers of a grant past its `ends_on` that the expiry job has not marked
  yet.

More than `CORRECTIONS_MAX` customers to correct (after a bulk write, before
the fold has run) or a day before the book's last fold: None, and
`mrr.book_mrr` computes the book as before. `mrr_check` compares the two for
every book, to the cent.
"""

import bisect
import datetime
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from partners.book_changes import shares_pending
from partners.models import Partnership, PendingShare
from partners.selectors import customers_managed_now, grants_active_now, manages_now
from subscriptions.models import Book, BookDayDelta, BookShare, Subscription
from subscriptions.months import month_start
from subscriptions.mrr_rules import (
    KINDS,
    as_date,
    book_subscriptions,
    cents_sql,
    month_ends,
    movement_kind,
)
from subscriptions.selectors import HOLDS, ledger_states
from tenants.models import PATH_SEPARATOR, Tenant

# More customers than this to correct at a read: the book is computed instead.
CORRECTIONS_MAX = 300
# Pending marks a fold takes in one transaction.
FOLD_BATCH = 500


_AFTER = 2**63  # sorts after any cents


@dataclass(frozen=True)
class Share:
    """A customer's share of a book: (day's ordinal, MRR in cents from that day)
    for each day it changes, ascending, and the first day it paid (0: never)."""

    first_paid: int
    days: tuple[tuple[int, int], ...]

    @classmethod
    def stored(cls, row: BookShare) -> "Share":
        return cls(_ordinal(row.first_paid), tuple((d, c) for d, c in row.days))

    def on(self, day: int) -> int:
        """Its MRR in cents on `day` (an ordinal)."""
        i = bisect.bisect_right(self.days, (day, _AFTER))
        return self.days[i - 1][1] if i else 0

    def changes(self) -> dict[int, list[int]]:
        """Its part of the book's day deltas: per day it changes (an ordinal),
        [1 (a customer changing), then per kind the change that day of its move
        in the day's month, read on the day]: from the month before's end to
        the day, less the same read on its change before in the month."""
        found: dict[int, list[int]] = {}
        month, moved = None, [0] * len(KINDS)
        for day, cents in self.days:
            first = month_start(datetime.date.fromordinal(day))
            if first != month:
                month, moved = first, [0] * len(KINDS)
                before_day = first.toordinal() - 1
                before, paid = self.on(before_day), 0 < self.first_paid <= before_day
            now = [0] * len(KINDS)
            kind = movement_kind(before, cents, paid)
            if kind:
                now[KINDS.index(kind)] = cents - before
            found[day] = [1, *(a - b for a, b in zip(now, moved, strict=True))]
            moved = now
        return found


NO_SHARE = Share(0, ())


def _ordinal(day: datetime.date | str | None) -> int:
    found = as_date(day)
    return found.toordinal() if found else 0


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _book_subscriptions(book: Book, today: datetime.date) -> QuerySet[Subscription]:
    """The subscriptions the book counts (as `mrr.book_mrr` computes it for the
    partner's owners and admins)."""
    customers = customers_managed_now(
        partner=book.partner, subtree=book.subtree, today=today
    ).filter(currency=book.currency)
    managed = manages_now(
        partner=book.partner,
        customer=OuterRef("customer"),
        product=OuterRef("product"),
        subtree=book.subtree,
        today=today,
    )
    return book_subscriptions(customers, book.currency, managed)


def shares_counted(
    book: Book, customers: Iterable[uuid.UUID], today: datetime.date
) -> dict[uuid.UUID, Share]:
    """These customers' shares of the book from the ledger now (one customer
    with nothing counted has none). Two queries: the subscriptions' ids, then
    one statement over their states: each state adds its cents on its first day
    and takes them off on the day after its last, and a running sum per
    customer gives its MRR from each day it changes."""
    subscriptions = _book_subscriptions(book, today).filter(customer__in=list(customers))
    ids = list(subscriptions.values_list("pk", flat=True))
    if not ids:
        return {}
    states, params = ledger_states(
        Subscription.unscoped.filter(pk__in=ids).order_by(), with_twelves=False
    )
    twelves = "SUM(delta) OVER (PARTITION BY customer_id ORDER BY day)"
    sql = (
        f"WITH states AS ({states}), "  # noqa: S608 (no values)
        "moves AS ("
        f"SELECT customer_id, since AS day, cents AS delta, "
        f"CASE WHEN cents > 0 THEN 1 ELSE 0 END AS paid FROM states WHERE {HOLDS} "
        "UNION ALL "
        "SELECT customer_id, until AS day, -cents AS delta, 0 AS paid FROM states "
        "WHERE until IS NOT NULL AND until > since), "
        "per_day AS (SELECT customer_id, day, SUM(delta) AS delta, MAX(paid) AS paid "
        "FROM moves GROUP BY customer_id, day) "
        f"SELECT customer_id, day, {cents_sql(twelves)}, paid FROM per_day "
        "ORDER BY customer_id, day"
    )
    with connections[subscriptions.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found: dict[uuid.UUID, tuple[int, list]] = {}
    for customer, day, cents, paid in rows:
        first_paid, days = found.setdefault(_uuid(customer), (0, []))
        ordinal = _ordinal(day)
        days.append((ordinal, int(cents)))
        if paid and not first_paid:
            found[_uuid(customer)] = (ordinal, days)
    return {c: Share(first_paid, tuple(days)) for c, (first_paid, days) in found.items()}


# --- counting shares again (the fold) ------------------------------------------------


def shares_fold(*, limit: int = FOLD_BATCH, today: datetime.date | None = None) -> int:
    """Count the shares of the customers of up to `limit` pending marks again,
    in one transaction: the marks taken under a lock, skipping those another
    fold holds; each customer under a lock of its own (two folds that took
    marks of one customer count it one after the other); the marks taken
    deleted. How many marks were folded."""
    today = today or timezone.localdate()
    with transaction.atomic():
        marks = list(
            PendingShare.objects.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "customer_id")[:limit]
        )
        if not marks:
            return 0
        customers = sorted({customer for _, customer in marks})
        _customers_lock(customers)
        shares_recount(customers, today=today)
        PendingShare.objects.filter(pk__in=[pk for pk, _ in marks]).delete()
    return len(marks)


def _customers_lock(customers: list[uuid.UUID]) -> None:
    """PostgreSQL: a transaction lock per customer (advisory, keyed by the
    id's first 8 bytes), taken in one order by every fold. SQLite has one
    writer at a time."""
    connection = connections[PendingShare.objects.db]
    if connection.vendor != "postgresql":
        return
    keys = sorted({int.from_bytes(c.bytes[:8], "big", signed=True) for c in customers})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) WITH ORDINALITY AS l(k, n) "
            "ORDER BY n",
            [keys],
        )


def shares_fold_all(
    *, today: datetime.date | None = None, seconds: float | None = None, limit: int = FOLD_BATCH
) -> int:
    """Fold until no customer is pending (or only those other folds hold), or
    for at most `seconds`; how many were folded."""
    deadline = None if seconds is None else time.monotonic() + seconds
    total = 0
    while folded := shares_fold(today=today, limit=limit):
        total += folded
        if deadline is not None and time.monotonic() > deadline:
            break
    return total


def _ancestors(path: str) -> list[str]:
    """The paths of a tenant and of every tenant above it."""
    parts = path.split(PATH_SEPARATOR)[:-1]
    return [PATH_SEPARATOR.join(parts[: i + 1]) + PATH_SEPARATOR for i in range(len(parts))]


def _books_wanted(
    customers: list[uuid.UUID], today: datetime.date
) -> dict[tuple[str, bool, str], set[uuid.UUID]]:
    """Per book (partner's path, sub-tree, currency), the customers the grants
    active today put in it: a partner's own book and the sub-tree books of it
    and of every partner above it, in the customer's currency."""
    wanted: dict[tuple[str, bool, str], set[uuid.UUID]] = defaultdict(set)
    grants = (
        grants_active_now(today=today)
        .filter(customer_id__in=customers, customer__kind=Tenant.Kind.CUSTOMER)
        .values_list("customer_id", "customer__currency", "partner__path")
    )
    for customer, currency, path in grants:
        wanted[(path, False, currency)].add(customer)
        for above in _ancestors(path):
            wanted[(above, True, currency)].add(customer)
    return wanted


def _books_for(keys: Iterable[tuple[str, bool, str]], today: datetime.date) -> dict:
    """The books of these keys, made where missing."""
    keys = set(keys)
    named = Tenant.objects.filter(path__in={path for path, _, _ in keys}, kind=Tenant.Kind.PARTNER)
    partners = {t.path: t for t in named}
    keys = {k for k in keys if k[0] in partners}

    def existing() -> dict:
        books = Book.unscoped.select_related("partner").filter(
            partner__in=[partners[path] for path, _, _ in keys]
        )
        return {(b.partner.path, b.subtree, b.currency): b for b in books}

    found = existing()
    missing = keys - found.keys()
    if missing:
        Book.unscoped.bulk_create(
            [
                Book(
                    partner=partners[path],
                    subtree=subtree,
                    currency=currency,
                    folded_on=today,
                )
                for path, subtree, currency in missing
            ],
            ignore_conflicts=True,
        )
        found = existing()
    return {k: found[k] for k in keys}


FIELDS = ("customers", *KINDS)  # BookDayDelta's figures


def _add(total: dict, changes: dict, sign: int) -> None:
    """Add (1) or take off (-1) figures (a share's `changes`) to sums by key."""
    for day, figures in changes.items():
        row = total.setdefault(day, [0] * len(figures))
        for i, value in enumerate(figures):
            row[i] += sign * value


def _delta(book_id: int, day: int, figures: list[int]) -> BookDayDelta:
    on = datetime.date.fromordinal(day)
    return BookDayDelta(
        book_id=book_id, month=month_start(on), day=on, **dict(zip(FIELDS, figures, strict=True))
    )


def shares_recount(customer_ids: Iterable, *, today: datetime.date) -> None:
    """Count these customers' shares of every book again (in the caller's
    transaction): the books they were in and those their grants put them in;
    for each share that changed, its day deltas (new less old) inserted and the
    share rewritten."""
    customers = sorted({_uuid(pk) for pk in customer_ids})
    old = {
        (row.book_id, row.customer_id): row
        for row in BookShare.unscoped.filter(customer_id__in=customers)
    }
    wanted = _books_wanted(customers, today)
    books = _books_for(wanted, today)
    theirs: dict[int, set[uuid.UUID]] = defaultdict(set)
    by_id: dict[int, Book] = {}
    for key, book in books.items():
        by_id[book.pk] = book
        theirs[book.pk] |= wanted[key]
    held = {book_id for book_id, _ in old} - by_id.keys()
    for book in Book.unscoped.select_related("partner").filter(pk__in=held):
        by_id[book.pk] = book
    for book_id, customer in old:
        theirs[book_id].add(customer)
    deltas, shares, gone = [], [], []
    for book_id, members in theirs.items():
        book = by_id[book_id]
        counted = shares_counted(book, members, today)
        total: dict[int, list[int]] = {}
        for customer in members:
            before = old.get((book_id, customer))
            share = counted.get(customer, NO_SHARE)
            stored = Share.stored(before) if before else NO_SHARE
            if stored == share:
                continue
            _add(total, stored.changes(), -1)
            _add(total, share.changes(), 1)
            if before is not None:
                gone.append(before.pk)
            if share.days:
                first_paid = (
                    datetime.date.fromordinal(share.first_paid) if share.first_paid else None
                )
                shares.append(
                    BookShare(
                        book=book,
                        customer_id=customer,
                        first_paid=first_paid,
                        days=[list(d) for d in share.days],
                    )
                )
        deltas += [_delta(book_id, day, figures) for day, figures in total.items() if any(figures)]
    BookShare.unscoped.filter(pk__in=gone).delete()
    BookShare.unscoped.bulk_create(shares, batch_size=2000)
    BookDayDelta.unscoped.bulk_create(deltas, batch_size=2000)
    # the first fold of a day: the books' rows locked in one order (no deadlock
    # between folds side by side), then their day moved on
    behind = Book.unscoped.filter(pk__in=list(theirs), folded_on__lt=today)
    locked = list(behind.select_for_update().order_by("pk").values_list("pk", flat=True))
    if locked:
        Book.unscoped.filter(pk__in=locked, folded_on__lt=today).update(folded_on=today)


def books_compact(*, rows_over: int = 64) -> int:
    """Fold each book's day deltas into one row per day (and per month for the
    months before its last fold's, which no reader reads by the day) where
    they are more than `rows_over` rows beyond that: taken with `DELETE …
    RETURNING` (rows inserted meanwhile are not taken, so none is lost) and
    their sums inserted, in one transaction per book; how many books."""
    busy = (
        BookDayDelta.unscoped.values("book")
        .annotate(rows=Count("id"), days=Count("day", distinct=True))
        .order_by()
        .values_list("book", "rows", "days")
    )
    compacted = 0
    table = BookDayDelta._meta.db_table
    columns = ", ".join(["day", *FIELDS])
    for book_id, rows, days in busy:
        if rows <= days + rows_over:
            continue
        with transaction.atomic(), connections[BookDayDelta.unscoped.db].cursor() as cursor:
            book = Book.unscoped.select_for_update().get(pk=book_id)
            current = month_start(book.folded_on).toordinal()
            cursor.execute(
                f"DELETE FROM {table} WHERE book_id = %s RETURNING {columns}",  # noqa: S608
                [book_id],
            )
            total: dict[int, list[int]] = {}
            for day, *figures in cursor.fetchall():
                ordinal = _ordinal(day)
                if ordinal < current:  # a month no reader reads by the day
                    ordinal = month_start(datetime.date.fromordinal(ordinal)).toordinal()
                _add(total, {ordinal: [int(f) for f in figures]}, 1)
            BookDayDelta.unscoped.bulk_create(
                [_delta(book_id, day, figures) for day, figures in total.items() if any(figures)],
                batch_size=2000,
            )
        compacted += 1
    return compacted


def books_recount(*, paths: Iterable[str]) -> int:
    """Count these partners' books again from the ledger (`check_mrr --retire`
    after a difference, a repair in SQL): the books deleted with their shares
    and deltas, their customers and those of the partners' grants pending, so
    readers count them from the ledger until the fold has built the books
    again; how many books."""
    paths = list(paths)
    books = Book.unscoped.filter(partner__path__in=paths)
    customers = set(BookShare.unscoped.filter(book__in=books).values_list("customer_id", flat=True))
    customers |= set(
        Partnership.unscoped.filter(partner__path__in=paths).values_list("customer_id", flat=True)
    )
    shares_pending(customers)
    count = books.count()
    books.delete()  # their shares and deltas with them
    return count


# --- reading a book ------------------------------------------------------------------


def _corrected(
    book: Book | None, partner: Tenant, subtree: bool, today: datetime.date
) -> set[uuid.UUID] | None:
    """The customers to count from the ledger at this read: pending ones of the
    book (in it, or with a grant in its scope), and those of a grant past its
    end the expiry job has not marked. None: more than CORRECTIONS_MAX."""
    in_scope = Q(partner__path__startswith=partner.path) if subtree else Q(partner_id=partner.pk)
    grants = Partnership.unscoped.filter(in_scope, customer_id=OuterRef("customer_id"))
    mine = Q(Exists(grants))
    if book is not None:
        mine |= Q(Exists(BookShare.unscoped.filter(book=book, customer_id=OuterRef("customer_id"))))
    pending = (
        PendingShare.objects.filter(mine)
        .order_by()
        .values_list("customer_id", flat=True)
        .distinct()
    )
    ended = (
        Partnership.unscoped.filter(in_scope, status=Partnership.Status.ACTIVE, ends_on__lt=today)
        .order_by()
        .values_list("customer_id", flat=True)
        .distinct()
    )
    found = set(pending.union(ended)[: CORRECTIONS_MAX + 1])
    return None if len(found) > CORRECTIONS_MAX else found


def book_figures(
    *, partner: Tenant, subtree: bool, currency: str, months: int, today: datetime.date
) -> tuple[list[list[int]], int, int] | None:
    """The book's figures as `mrr.book_mrr` serves them, in cents: per month of
    the window its MRR then its movements (KINDS' order), the current MRR and
    the upcoming one. None: to be computed (see the module's docstring).
    Two queries over the deltas: the months' sums up to today (a past month
    whole, the current one to today: it is read on today), and the first days
    after today with a change; and the corrections'."""
    book = (
        Book.unscoped.filter(partner=partner, subtree=subtree, currency=currency)
        .only("pk", "folded_on", "partner_id", "subtree", "currency")
        .first()
    )
    if book is not None and today < book.folded_on:
        return None
    recount = _corrected(book, partner, subtree, today)
    if recount is None:
        return None
    book = book or Book(partner=partner, subtree=subtree, currency=currency)
    book.partner = partner
    t = today.toordinal()
    # The corrections: the customers counted again now, their stored shares off.
    corrections: dict[int, list[int]] = {}
    if recount:
        stored = BookShare.unscoped.filter(book=book, customer_id__in=recount) if book.pk else ()
        for share_row in stored:
            _add(corrections, Share.stored(share_row).changes(), -1)
        for share in shares_counted(book, recount, today).values():
            _add(corrections, share.changes(), 1)
    totals: dict[datetime.date, list[int]] = {}
    later: dict[int, list[int]] = {}
    for day, figures in corrections.items():
        if day <= t:
            _add(totals, {month_start(datetime.date.fromordinal(day)): figures[1:]}, 1)
        else:
            _add(later, {day: figures}, 1)
    if book.pk is not None:
        sums = {f"s_{field}": Sum(field) for field in FIELDS}
        deltas = BookDayDelta.unscoped.filter(book=book).order_by()
        for month_row in deltas.filter(day__lte=today).values("month").annotate(**sums):
            month = month_row["month"]
            _add(totals, {as_date(month): [int(month_row[f"s_{k}"]) for k in KINDS]}, 1)
        # the first days after today with a change (as many more as the
        # corrections can take off)
        next_days = (
            deltas.filter(day__gt=today)
            .values("day")
            .annotate(**sums)
            .exclude(**{"s_customers": 0})  # HAVING: a day on which a customer changes
            .order_by("day")[: len(later) + 1]
        )
        for day_row in next_days:
            _add(later, {_ordinal(day_row["day"]): [int(day_row[f"s_{f}"]) for f in FIELDS]}, 1)
    first = month_start(today)
    window = {month_start(end) for end in month_ends(today, months)[0][1:]}
    history: list[list[int]] = []
    level = 0
    for first_day in sorted(set(totals) | window):
        if first_day > first:
            break
        level += sum(totals.get(first_day, ()))
        if first_day in window:
            history.append([level, *totals.get(first_day, [0] * len(KINDS))])
    # The upcoming MRR: the book's on the next day anything changes.
    changing = sorted(day for day, changes in later.items() if changes[0])
    upcoming = level + sum(later[changing[0]][1:]) if changing else level
    return history, level, upcoming
