"""What retires the programme's cached figure when invoices change
(`tenders.selectors.programme_progress` is cached per branch until the book
changes). An order that opens or raises a subscription retires it through the
subscription's save (subscriptions.book_cache); a batch of renewals or a
refund saves no subscription, so the invoices they issue retire it here, as a
subscriber of `invoice.issued` and `credit_note.issued` (core.events), heard in
the transaction: one `book_changed` after the commit per emit call, whatever
the batch's size, for the customers the transaction has not retired already
(`invoices_changed_on_commit`: an order's new subscription has, and its
retirement after the commit then names their invoices too)."""

from core.events import event_subscribe
from partners.book_changes import invoices_changed_on_commit


def programme_retire(name: str, payloads: list[dict[str, str | None]]) -> None:
    invoices_changed_on_commit(customer_ids={p["customer"] for p in payloads if p.get("customer")})


_connected: list[bool] = []


def connect() -> None:
    """Called from TendersConfig.ready(); subscribes once."""
    if not _connected:
        event_subscribe(
            programme_retire, names=["invoice.issued", "credit_note.issued"], in_transaction=True
        )
        _connected.append(True)
