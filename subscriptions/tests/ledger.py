"""Tests' subscriptions written the way revision 1 did (a row, no order) get the
ledger migrations 0005 and 0007 give existing data: an opening `new` on the
first day, a `cancel` on the day of a cancel, a `cancel` the day after a last
day of service. MRR is read from the ledger (`selectors.ledger_states`)."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone

from subscriptions.models import Subscription, SubscriptionChange
from subscriptions.services import (
    NOTHING,
    Kind,
    LedgerEntry,
    end_entries,
    ledger_record_many,
    subscription_create,
)


def subscribed(
    org, customer, product, price: str, starts_on: datetime.date, ends_on=None, quantity=1
) -> Subscription:
    """A subscription through the service, with the ledger the order that
    places it writes."""
    subscription = subscription_create(
        org=org,
        customer=customer,
        product=product,
        quantity=quantity,
        unit_price=Decimal(price),
        starts_on=starts_on,
        ends_on=ends_on,
    )
    open_ledger(subscription)
    return subscription


def open_ledger(*subscriptions: Subscription) -> None:
    """What is missing of that ledger (`subscription_create` already wrote the end)."""
    rows = []
    for s in subscriptions:
        s.refresh_from_db()
        ledger = list(SubscriptionChange.unscoped.filter(subscription=s))
        if not any(c.kind == Kind.NEW for c in ledger):
            rows.append((s, LedgerEntry.opening(s), s.starts_on, None))
        if s.cancelled_at is not None and not any(c.kind == Kind.CANCEL for c in ledger):
            state = (s.quantity, s.unit_price)
            day = max(timezone.localdate(s.cancelled_at), s.starts_on)
            rows.append((s, LedgerEntry(Kind.CANCEL, state, NOTHING), day, None))
        rows += [(s, entry, day, None) for entry, day in end_entries(s, ledger)]
    ledger_record_many(rows=rows)


def cancel_on(subscription: Subscription, when: datetime.datetime) -> None:
    """Cancel as `subscriptions.services.subscription_cancel` does, at `when`."""
    Subscription.unscoped.filter(pk=subscription.pk).update(cancelled_at=when)
    subscription.refresh_from_db()
    state = (subscription.quantity, subscription.unit_price)
    day = max(timezone.localdate(when), subscription.starts_on)
    ledger_record_many(rows=[(subscription, LedgerEntry(Kind.CANCEL, state, NOTHING), day, None)])


def rev1_mrr(customer_id, day: datetime.date) -> Decimal:
    """Revision 1's rule, the oracle the ledger's figures are proved against: the
    customer's subscriptions live on `day` by their rows' dates, never a
    cancelled one, quantity x unit price per month summed, rounded once."""
    twelves = sum(
        (
            s.quantity * s.unit_price * (1 if s.billing_period == "annual" else 12)
            for s in Subscription.unscoped.filter(customer_id=customer_id, cancelled_at=None)
            if s.starts_on <= day and (s.ends_on is None or s.ends_on >= day)
        ),
        Decimal(0),
    )
    return (twelves / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture
def books_computed(monkeypatch):
    """The books computed and cached (subscriptions.book_cache), not read from
    the books kept by deltas: the path of a collaborator's view, and of an
    owner's when the kept book cannot answer (subscriptions.books)."""
    from subscriptions import mrr

    monkeypatch.setattr(mrr, "book_figures", lambda **kwargs: None)
