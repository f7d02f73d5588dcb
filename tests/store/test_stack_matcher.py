"""The store's stack matcher over function ids (``thread_index.ids_stack_matches``, what ``stack:`` terms run per
candidate crash) against the model's frame-by-frame definition (``crashdesk.model.threads.stack_matches``) on
random stacks and patterns."""

from __future__ import annotations

import sqlite3

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from crashdesk.model.threads import CRASHING, MAIN, stack_matches
from crashdesk.store.thread_index import StackMatcher, ids_stack_matches

# small id ranges so that elements hit the stack often, repeat in it, and overlap each other
stacks = st.lists(st.integers(0, 9), max_size=40)
elements = st.lists(st.frozensets(st.integers(1, 9), max_size=4), min_size=1, max_size=4)


@settings(max_examples=1500, deadline=None)
@given(stacks, elements, st.data())
def test_ids_matcher_equals_the_frame_by_frame_definition(ids, sets, data):
    direct = data.draw(st.lists(st.booleans(), min_size=len(sets) - 1, max_size=len(sets) - 1))
    assert ids_stack_matches(ids, sets, direct) == stack_matches(ids, sets, direct)


def test_known_cases():
    # top first: 3 is called by 2, which is called by 1
    assert ids_stack_matches([3, 2, 1], [frozenset({1}), frozenset({3})], [False])
    assert not ids_stack_matches([3, 2, 1], [frozenset({1}), frozenset({3})], [True])
    assert ids_stack_matches([3, 2, 1], [frozenset({2}), frozenset({3})], [True])
    assert not ids_stack_matches([3, 2, 1], [frozenset({3}), frozenset({1})], [False])  # callee above caller
    assert ids_stack_matches([5, 4, 5, 4], [frozenset({4}), frozenset({5}), frozenset({4}), frozenset({5})],
                             [True, True, True])


threads = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), stacks), max_size=5)
scopes = st.one_of(st.sampled_from([{"role": "crashing"}, {"role": "main"}, {"role": "any"}]),
                   st.frozensets(st.integers(0, 3), max_size=2).map(lambda names: {"names": names}))


@settings(max_examples=1500, deadline=None)
@given(st.lists(threads, min_size=1, max_size=4), elements, scopes, st.data())
def test_the_sql_function_equals_the_definition_over_each_thread(crashes, sets, scope, data):
    """``crashdesk_stack`` over the stored text (``crash_stacks.stacks``: roles, thread name id, function ids
    per thread), one spec over several crashes (its per-thread answers are reused), against matching each
    thread in scope with the model's definition."""
    direct = data.draw(st.lists(st.booleans(), min_size=len(sets) - 1, max_size=len(sets) - 1))
    conn = sqlite3.connect(":memory:")
    matcher = StackMatcher(conn)
    matcher.specs["spec"] = StackMatcher.prepared(scope, sets, direct)  # resolve() with the names looked up
    for stack_rows in crashes:
        expected = any((scope.get("role") != "crashing" or roles & CRASHING)
                       and (scope.get("role") != "main" or roles & MAIN)
                       and ("names" not in scope or nid in scope["names"])
                       and stack_matches(ids, sets, direct) for roles, nid, ids in stack_rows)
        assert matcher(orjson.dumps([list(t) for t in stack_rows]), "spec") == int(expected)
    assert matcher(None, "spec") == 0
