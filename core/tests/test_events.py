"""Domain events after commit, in one place (core.events; SPEC §8 rev. 2):
heard once the transaction commits, never after a rollback; a failing
subscriber neither breaks the commit nor silences the others; only API.md's
event types; the payload is ids and a kind, as strings."""

import logging
import uuid

import pytest
from django.db import transaction

from core.events import EVENT_TYPES, event_emit, event_subscribe, events_emit, events_gathered


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
            caplog.at_level(logging.INFO, logger="core.events"),
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


def test_a_gathered_block_is_heard_at_its_end_at_once_by_a_subscriber_of_many(db):
    one_by_one, at_once = [], []
    unsubscribe = [
        event_subscribe(lambda n, p: one_by_one.append(n), in_transaction=True),
        event_subscribe(lambda events: at_once.append(events), in_transaction=True, many=True),
    ]
    try:
        with transaction.atomic():
            with events_gathered():
                event_emit("order.placed", {"id": "1"})
                event_emit("invoice.issued", {"id": "2"})
                assert (one_by_one, at_once) == ([], [])  # not yet
            assert one_by_one == ["order.placed", "invoice.issued"]
            assert at_once == [[("order.placed", [{"id": "1"}]), ("invoice.issued", [{"id": "2"}])]]

            with pytest.raises(ValueError), events_gathered():
                event_emit("order.placed", {"id": "3"})
                raise ValueError("the block failed: its writes roll back")
            assert len(at_once) == 1 and one_by_one == ["order.placed", "invoice.issued"]
            event_emit("order.placed", {"id": "4"})  # outside a block: at the call again
            assert at_once[-1] == [("order.placed", [{"id": "4"}])]
    finally:
        for u in unsubscribe:
            u()


def test_only_a_subscriber_in_the_transaction_hears_many_at_once():
    with pytest.raises(ValueError):
        event_subscribe(lambda events: None, many=True)
