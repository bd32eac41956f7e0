"""Domain events, in one place (SPEC §8 rev. 2; issue 20): the services that
place orders, issue invoices and credit notes, change subscriptions and answer
offers each say what happened with one `event_emit` / `events_emit` call, and
whoever needs to know subscribes here (the webhook outbox of a later issue, a
test, the log line below). No Django signals: the call is explicit.

An event is `(name, payload)`: `name` is one of API.md's webhook event types
(`EVENT_TYPES`), the payload holds ids and a kind, as strings, never an
amount, an email or a secret: a subscriber loads what it needs itself.

Two moments to hear an event:

- **after the commit** (the default): the subscribers run in one
  `transaction.on_commit(..., robust=True)` hook per emit call, so nothing is
  heard of a change that rolls back, and a subscriber that fails is logged
  and neither undoes the committed change nor silences the subscribers after
  it. Outside a transaction (autocommit), at once.
- **in the transaction** (`in_transaction=True`): at the emit call itself,
  inside the service's transaction, for a subscriber that writes rows that
  must commit or roll back with the change (an outbox: SPEC §8's "written in
  the same transaction ... none lost when a worker dies"). Its error is the
  service's error: the change rolls back.

A subscriber takes the name and the list of payloads of one emit call (a
batch of renewals is one call of 500), so it can write them in one insert.

Inside `events_gathered()` (an order writes its ledger change, its invoice and
itself, three events), the in-transaction subscribers hear the block's events
at its end, still in the transaction: a subscriber registered with `many=True`
hears all of them in one call (the webhook outbox: one insert for the
order's three rows), the others one call per emit as before.
"""

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger(__name__)

# API.md, "Webhook event types (rev. 2)".
EVENT_TYPES = frozenset(
    {
        "customer.created",
        "customer.updated",
        "partnership.invited",
        "partnership.accepted",
        "partnership.changed",
        "partnership.ended",
        "partnership.expired",
        "subscription.changed",
        "order.placed",
        "invoice.issued",
        "credit_note.issued",
        "partner_invoice.issued",
        "offer.delivered",
        "offer.accepted",
        "offer.declined",
        "offer.cancelled",
        "offer.expired",
        "offer.failed",
    }
)

Payload = Mapping[str, object]
Payloads = list[dict[str, str | None]]
Subscriber = Callable[[str, Payloads], None]
ManySubscriber = Callable[[list[tuple[str, Payloads]]], None]


@dataclass(frozen=True)
class _Subscription:
    handler: Callable
    names: frozenset[str] | None  # None: every event
    in_transaction: bool
    many: bool = False  # handler([(name, payloads), ...])

    def wants(self, name: str) -> bool:
        return self.names is None or name in self.names


_subscribers: list[_Subscription] = []
_gathering = threading.local()  # .events: the emit calls of an events_gathered block


def event_subscribe(
    handler: Subscriber | ManySubscriber,
    *,
    names: Iterable[str] | None = None,
    in_transaction: bool = False,
    many: bool = False,
) -> Callable[[], None]:
    """Call `handler(name, payloads)` for the events named (all, without
    `names`), after the commit or (`in_transaction`) at the emit call. With
    `many` (in the transaction only), `handler([(name, payloads), ...])`: the
    events of an `events_gathered` block in one call, else one emit call's.
    Returns the function that unsubscribes it (tests)."""
    wanted = None if names is None else frozenset(names)
    if wanted is not None and not wanted <= EVENT_TYPES:
        raise ValueError(f"Unknown event types: {sorted(wanted - EVENT_TYPES)}")
    if many and not in_transaction:
        raise ValueError("A subscriber of many events at once hears them in the transaction.")
    entry = _Subscription(handler, wanted, in_transaction, many)
    _subscribers.append(entry)

    def unsubscribe() -> None:
        if entry in _subscribers:
            _subscribers.remove(entry)

    return unsubscribe


def _clean(name: str, payload: Payload) -> dict[str, str | None]:
    if name not in EVENT_TYPES:
        raise ValueError(f"Unknown event type: {name!r}")
    if "id" not in payload:
        raise ValueError(f"An event's payload names its object's id: {name}")
    return {key: None if value is None else str(value) for key, value in payload.items()}


def _hear_in_transaction(events: list[tuple[str, Payloads]]) -> None:
    """The in-transaction subscribers hear `events` (emit calls), each
    subscriber in turn; an error is the service's (it rolls back)."""
    for entry in list(_subscribers):
        if not entry.in_transaction:
            continue
        wanted = [(name, [dict(p) for p in payloads]) for name, payloads in events]
        wanted = [(name, payloads) for name, payloads in wanted if entry.wants(name)]
        if entry.many:
            if wanted:
                entry.handler(wanted)
            continue
        for name, payloads in wanted:
            entry.handler(name, payloads)


def _hear(name: str, payloads: list[dict[str, str | None]], *, in_transaction: bool) -> None:
    if in_transaction:
        _hear_in_transaction([(name, payloads)])
        return
    for entry in list(_subscribers):
        if entry.in_transaction or not entry.wants(name):
            continue
        try:
            entry.handler(name, [dict(p) for p in payloads])
        except Exception:
            logger.exception("event %s: subscriber %r failed", name, entry.handler)


def events_emit(name: str, payloads: Iterable[Payload]) -> None:
    """Emit `name` once per payload: heard by the in-transaction subscribers now,
    by the others once the transaction commits (never after a rollback)."""
    cleaned = [_clean(name, payload) for payload in payloads]
    if not cleaned:
        return
    gathered = getattr(_gathering, "events", None)
    if gathered is not None:
        gathered.append((name, cleaned))
    else:
        _hear(name, cleaned, in_transaction=True)

    def after_commit() -> None:
        logger.info("event %s x%d: %s", name, len(cleaned), ", ".join(_ids(cleaned)))
        _hear(name, cleaned, in_transaction=False)

    # Django logs a robust hook's error under its __qualname__.
    after_commit.__qualname__ = f"events_emit({name!r})"
    transaction.on_commit(after_commit, robust=True)


@contextmanager
def events_gathered() -> Iterator[None]:
    """The in-transaction subscribers hear the events emitted inside the block
    at its end (module docstring). A block that raises makes them hear nothing:
    its writes roll back (with its transaction or the caller's savepoint), and
    a write after a database error would only replace that error with another.
    Nested blocks are the outermost one's."""
    if getattr(_gathering, "events", None) is not None:
        yield
        return
    _gathering.events = []
    try:
        yield
    except BaseException:
        _gathering.events = None
        raise
    events, _gathering.events = _gathering.events, None
    if events:
        _hear_in_transaction(events)


def event_emit(name: str, payload: Payload) -> None:
    """`events_emit` of one event."""
    events_emit(name, [payload])


def _ids(payloads: Sequence[Payload], shown: int = 5) -> list[str]:
    ids = [str(p["id"]) for p in payloads[:shown]]
    return [*ids, "..."] if len(payloads) > shown else ids
