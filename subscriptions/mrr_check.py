"""The MRR oracle operators run (`manage.py check_mrr`, issue 27): every partner's
book as it is served (the book kept by deltas, subscriptions.books, for its
owners and admins; the branch cache's figures otherwise) against
the same book computed afresh from the subscription ledger, to the cent; and the
identities between its two readings of the ledger (`mrr.book_mrr`'s one-row
history and `mrr.book_movements`' per-customer classification).

What is compared, per partner, currency of its customers, and book (its own; the
sub-tree's), as the partner's first owner sees it today:

- served vs fresh: the current and upcoming MRR, and each month's MRR and
  movements (a stale cache, a retirement a write forgot, shows here); and the
  same read from the book kept by deltas with no cache (`book_mrr_kept`: a
  mark a write forgot, a wrong delta);
- the month identity: a month's MRR less the month before's is the sum of its
  movements;
- the customers behind the figures: per month and kind, the sum of the customers'
  changes (`book_movements`) is the book's figure (two queries that classify
  customers independently).

The cost is that of computing every book afresh (docs/performance.md): on a large
install, `--months` narrows the window.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from partners.selectors import customers_managed_now
from subscriptions.books import books_recount
from subscriptions.mrr import KINDS, book_movements, book_mrr, book_mrr_kept
from tenants.branch_cache import branch_changed
from tenants.models import Tenant
from tenants.selectors import OrgContext, org_as_first_owner, partners_list


@dataclass(frozen=True)
class Difference:
    """One figure that does not hold: what is served (or the left side of an
    identity) and what it should be."""

    partner: str
    partner_path: str
    currency: str
    book: str  # "own" or "sub-tree"
    figure: str
    served: Decimal
    expected: Decimal

    def __str__(self) -> str:
        return (
            f"{self.partner} {self.currency} {self.book}: {self.figure} "
            f"is {self.served}, should be {self.expected}"
        )


@dataclass
class CheckResult:
    books: int = 0
    figures: int = 0
    skipped: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = ()


def _currencies(partner: Tenant, today: datetime.date) -> list[str]:
    held = customers_managed_now(partner=partner, subtree=True, today=today)
    return sorted({partner.currency, *held.values_list("currency", flat=True).distinct()})


def _book_differences(
    org: OrgContext, currency: str, subtree: bool, months: int, today: datetime.date
) -> Iterator[tuple[str, Decimal, Decimal]]:
    """(figure, served, expected) for every figure of one book."""
    served = book_mrr(org=org, currency=currency, months=months, subtree=subtree, today=today)
    fresh = book_mrr(
        org=org, currency=currency, months=months, subtree=subtree, today=today, cached=False
    )
    for figure in ("current_mrr", "upcoming_mrr"):
        yield figure, served[figure], fresh[figure]
    # the book kept by deltas as it is read after a write (the served figure
    # may come from the cache)
    kept = book_mrr_kept(org=org, currency=currency, months=months, subtree=subtree, today=today)
    if kept is not None:
        for figure in ("current_mrr", "upcoming_mrr"):
            yield f"kept {figure}", kept[figure], fresh[figure]
        for kept_month, fresh_month in zip(kept["history"], fresh["history"], strict=True):
            for figure in ("mrr", *KINDS):
                yield (
                    f"kept {fresh_month['month']} {figure}",
                    kept_month[figure],
                    fresh_month[figure],
                )
    previous = None
    for served_month, fresh_month in zip(served["history"], fresh["history"], strict=True):
        label = fresh_month["month"]
        for figure in ("mrr", *KINDS):
            yield f"{label} {figure}", served_month[figure], fresh_month[figure]
        if previous is not None:
            moved = sum((fresh_month[kind] for kind in KINDS), Decimal("0.00"))
            yield f"{label} mrr less the month before", fresh_month["mrr"] - previous, moved
        previous = fresh_month["mrr"]
        movements = book_movements(
            org=org, month=label, currency=currency, subtree=subtree, today=today
        )
        for kind in KINDS:
            customers = sum(
                (m.after_cents - m.before_cents for m in movements.moves if m.kind == kind), 0
            )
            yield (
                f"{label} {kind}, summed over its customers",
                (Decimal(customers) / 100).quantize(Decimal("0.01")),
                fresh_month[kind],
            )


def check_mrr(*, months: int = 12, today: datetime.date | None = None) -> CheckResult:
    """Every partner's books, as described above."""
    today = today or timezone.localdate()
    result = CheckResult()
    skipped, differences = [], []
    for partner in partners_list():
        org = org_as_first_owner(tenant=partner)
        if org is None:
            skipped.append(f"{partner.name}: no owner to read its book as")
            continue
        for currency in _currencies(partner, today):
            for subtree in (False, True):
                result.books += 1
                for figure, served, expected in _book_differences(
                    org, currency, subtree, months, today
                ):
                    result.figures += 1
                    if served != expected:
                        differences.append(
                            Difference(
                                partner=partner.name,
                                partner_path=partner.path,
                                currency=currency,
                                book="sub-tree" if subtree else "own",
                                figure=figure,
                                served=served,
                                expected=expected,
                            )
                        )
    result.skipped, result.differences = tuple(skipped), tuple(differences)
    return result


def retire_differing(result: CheckResult) -> int:
    """Retire the figures of the partners a check found wrong: their cached
    figures (their branches: the next view recomputes them from the ledger)
    and their books kept by deltas (counted again: `books.books_recount`);
    how many partners."""
    paths = sorted({d.partner_path for d in result.differences})
    branch_changed(paths=paths)
    books_recount(paths=paths)
    return len(paths)
