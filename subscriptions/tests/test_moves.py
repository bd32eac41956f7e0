"""`mrr.Moves`: a month's moves as columns for the cache, read back as the same
Move rows (issue 27: a warm movements page unpickled one tuple per customer)."""

import pickle
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.mrr import KINDS, Move, Moves

moves_lists = st.lists(
    st.builds(
        Move,
        kind=st.sampled_from(KINDS),
        name=st.text(max_size=12),
        customer_id=st.uuids().map(str),
        before_cents=st.integers(min_value=0, max_value=10**12),
        after_cents=st.integers(min_value=0, max_value=10**12),
    ),
    max_size=30,
).map(lambda moves: sorted(moves, key=lambda m: (KINDS.index(m.kind), m.name)))


@given(moves_lists)
def test_the_columns_read_back_as_the_rows_they_were_given(moves):
    table = pickle.loads(pickle.dumps(Moves(moves), protocol=pickle.HIGHEST_PROTOCOL))

    assert list(table) == moves
    assert table == moves
    assert len(table) == len(moves)
    assert table[1:4] == moves[1:4]
    if moves:
        assert table[-1] == moves[-1]
    assert table.change_cents == sum(m.after_cents - m.before_cents for m in moves)
    for kind in KINDS:
        assert table.of_kind(kind) == [m for m in moves if m.kind == kind]
    assert table.of_kind(None) == moves


def test_a_row_past_the_end_is_an_index_error_and_an_id_must_be_a_uuid():
    table = Moves([Move("new", "Alpha", str(uuid.uuid4()), 0, 500)])

    assert table[0].name == "Alpha"
    with pytest.raises(IndexError):
        table[1]
    with pytest.raises(ValueError):
        Moves([Move("new", "Alpha", "not-a-uuid", 0, 500)])
