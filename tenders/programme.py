"""What retires the programme's cached figure when invoices change
(`tenders.selectors.programme_progress` is cached per branch until the book
changes). An order that opens or raises a subscription retires it through the
subscription's save (subscriptions.book_cache); a batch of renewals or a
refund saves no subscription, so the invoices they issue retire it here, as a
subscriber of `invoice.issued` and `credit_note.issued` (tenants.events), after
the commit: one `book_changed` per emit call, whatever the batch's size."""

from partners.book_changes import book_changed
from tenants.events import event_subscribe


def programme_retire(name: str, payloads: list[dict[str, str | None]]) -> None:
    book_changed(customer_ids={p["customer"] for p in payloads if p.get("customer")})


_connected: list[bool] = []


def connect() -> None:
    """Called from TendersConfig.ready(); subscribes once."""
    if not _connected:
        event_subscribe(programme_retire, names=["invoice.issued", "credit_note.issued"])
        _connected.append(True)
