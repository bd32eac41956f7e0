"""The MRR's rules in code, shared by the book computed from the ledger
(`subscriptions.mrr`) and the book kept by deltas (`subscriptions.books`): how a
customer's move is classified, which days a window's months are read on, how
cents are rounded, which subscriptions a book counts. Definitions:
`subscriptions.mrr`'s docstring."""

import datetime
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db.models import Exists, QuerySet

from subscriptions.models import Subscription
from subscriptions.months import month_start, reading_days
from tenants.models import Tenant

CENT = Decimal("0.01")
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")


def movement_kind(before: Decimal | int, after: Decimal | int, paid_before: bool) -> str | None:
    """The kind of a customer's move from `before` to `after`; its change is always
    `after - before` (churn's is -before, new's and reactivation's after)."""
    if before == after:
        return None
    if before == 0:
        return "reactivation" if paid_before else "new"
    if after == 0:
        return "churn"
    return "expansion" if after > before else "contraction"


def month_ends(today: datetime.date, months: int) -> tuple[list[datetime.date], list[str]]:
    """The end of the month before the window, then the day each month is read on
    (`months.reading_days`: the current month's is today), with the months' labels."""
    days = reading_days(today, months)
    before = month_start(days[0]) - datetime.timedelta(days=1)
    return [before, *days], [day.strftime("%Y-%m") for day in days]


def cents_sql(twelves: str) -> str:
    """SQL: a customer's MRR in cents from its sum of cent twelves, rounded half-up
    (an integer division, the amounts are never negative), as `mrr_from_twelves`."""
    return f"((CAST({twelves} AS BIGINT) + 6) / 12)"


def money(cents: Decimal | int | None) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def as_date(value: datetime.date | str | None) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(value)


def book_subscriptions(
    customers: QuerySet[Tenant], currency: str, managed: Exists
) -> QuerySet[Subscription]:
    """Their ledgers say which count on which day: a cancelled one until its cancel."""
    return Subscription.unscoped.filter(
        managed, customer__in=customers.values("pk"), currency=currency
    ).order_by()


def customers_in(
    subscriptions: QuerySet[Subscription], customers: Iterable[str]
) -> QuerySet[Subscription] | None:
    """The book's subscriptions of these customers, as a list of their ids (one
    query; None: there are none). The ledger's SQL over a short list of ids is
    planned as such, where the book's conditions narrowed to a customer could be
    planned as a scan of every change (1.1 s for one customer of a sub-tree's
    book at 100,000 customers)."""
    ids = list(
        subscriptions.filter(customer__in=[uuid.UUID(c) for c in customers]).values_list(
            "pk", flat=True
        )
    )
    return Subscription.unscoped.filter(pk__in=ids).order_by() if ids else None


def month_history(figures: Sequence[Decimal | int | None], labels: list[str]) -> list[dict]:
    """`month_columns`' figures (cents), as months: `{month, mrr, new, …}` in Decimal."""
    history = []
    for m, label in enumerate(labels):
        month_figures = figures[6 * m : 6 * (m + 1)]
        month = {"month": label, "mrr": money(month_figures[0])}
        month.update(zip(KINDS, map(money, month_figures[1:]), strict=True))
        history.append(month)
    return history
