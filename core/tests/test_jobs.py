"""`core.jobs.on_commit_gathered`: the items of one transaction's calls in one
after-commit call, a rolled-back savepoint's items dropped with its hook."""

import pytest
from django.db import transaction

from core.jobs import on_commit_gathered

pytestmark = pytest.mark.django_db


def test_the_calls_of_a_transaction_make_one_call_after_its_commit(
    django_capture_on_commit_callbacks,
):
    runs = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        on_commit_gathered("test", ["a"], runs.append)
        on_commit_gathered("test", ["b", "c"], runs.append)
        on_commit_gathered("other", ["x"], runs.append)  # another key: its own call
        assert runs == []  # not before the commit

    assert sorted(runs) == [["a", "b", "c"], ["x"]]


def test_a_savepoint_rolled_back_drops_its_items_and_keeps_the_others(
    django_capture_on_commit_callbacks,
):
    runs = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        on_commit_gathered("test", ["kept"], runs.append)
        with pytest.raises(RuntimeError), transaction.atomic():
            on_commit_gathered("test", ["dropped"], runs.append)
            raise RuntimeError("rolled back")
        on_commit_gathered("test", ["also kept"], runs.append)

    assert runs == [["kept", "also kept"]]


def test_outside_a_transaction_it_runs_at_once(transactional_db):
    runs = []
    on_commit_gathered("test", ["now"], runs.append)
    assert runs == [["now"]]
