"""Domain events after commit, in one place (tenants.events; SPEC §8 rev. 2):
heard once the transaction commits, never after a rollback; a failing
subscriber neither breaks the commit nor silences the others; only API.md's
event types; the payload is ids and a kind, as strings."""

import logging
import uuid

import pytest
from django.db import transaction

from tenants.events import EVENT_TYPES, event_emit, event_subscribe, events_emit


@pytest.fixture
def heard():
    """What a test subscriber hears after the commit: [(name, payload)]."""
    got: list = []
    unsubscribe = event_subscribe(lambda name, payloads: got.extend((name, p) for p in payloads))
    yield got
    unsubscribe()


def test_an_event_is_heard_after_the_commit_only(db, heard, django_capture_on_commit_callbacks):
    order = uuid.uuid4()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_emit("order.placed", {"id": order, "kind": "order"})
        assert heard == []  # not before the commit

    assert heard == [("order.placed", {"id": str(order), "kind": "order"})]


def test_nothing_is_heard_of_a_change_that_rolls_back(
    db, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as hooks:
        try:
            with transaction.atomic():
                events_emit("invoice.issued", [{"id": "1"}, {"id": "2"}])
                raise RuntimeError("the order failed")
        except RuntimeError:
            pass

    assert hooks == [] and heard == []


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    db, heard, django_capture_on_commit_callbacks, caplog
):
    def broken(name, payloads):
        raise ValueError("the outbox is down")

    unsubscribe = event_subscribe(broken)
    heard_after = []
    unsubscribe_after = event_subscribe(lambda n, p: heard_after.append(n))
    try:
        with (
            caplog.at_level(logging.INFO, logger="tenants.events"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            event_emit("offer.accepted", {"id": "o-1", "kind": "accepted"})
    finally:
        unsubscribe()
        unsubscribe_after()

    assert [name for name, _ in heard] == ["offer.accepted"]
    assert heard_after == ["offer.accepted"]
    assert "event offer.accepted x1: o-1" in caplog.text
    assert "subscriber" in caplog.text and "failed" in caplog.text


def test_subscribers_choose_their_events_and_the_moment(db, django_capture_on_commit_callbacks):
    invoices, in_transaction = [], []
    unsubscribe = [
        event_subscribe(lambda n, p: invoices.append(n), names=["invoice.issued"]),
        event_subscribe(lambda n, p: in_transaction.append(n), in_transaction=True),
    ]
    try:
        with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
            event_emit("order.placed", {"id": "1"})
            event_emit("invoice.issued", {"id": "2"})
            assert in_transaction == ["order.placed", "invoice.issued"]  # at the call
        assert invoices == []  # not committed (the hooks were not run)
    finally:
        for u in unsubscribe:
            u()


def test_only_the_api_event_types_and_a_payload_with_an_id(db):
    with pytest.raises(ValueError):
        event_emit("order.deleted", {"id": "1"})
    with pytest.raises(ValueError):
        event_emit("order.placed", {"kind": "order"})
    with pytest.raises(ValueError):
        event_subscribe(lambda n, p: None, names=["order.shipped"])
    assert {"order.placed", "invoice.issued", "credit_note.issued"} <= EVENT_TYPES
