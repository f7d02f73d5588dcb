"""The stack index (``crashdesk.store.stack_index``, ``stack_query``): the vectorized matcher against the model's
frame-by-frame definition (``crashdesk.model.threads.stack_matches``) on random stacks; the store's ``stack:``
and every-thread ``function:`` searches through it against the SQL path (``crashdesk_stack`` over
``crash_stacks``) on generated stores, after new and reprocessed crashes patched it; the kept file; the function
name lookup against ``function_id_sql`` (SQLite's own LIKE / NOCASE / trigram index)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.query import parse_query
from crashdesk.model.threads import stack_matches
from crashdesk.store import CrashStore, facet_query, stack_index, stack_query
from crashdesk.store import facet_index as fx
from crashdesk.store.crashes import NewCrash
from crashdesk.store.search import search
from crashdesk.store.thread_index import function_id_sql
from tests.store.test_thread_search import doc_st

stack_lists = st.lists(st.lists(st.integers(0, 9), max_size=30), min_size=1, max_size=30)
element_sets = st.lists(st.frozensets(st.integers(1, 9), max_size=4), min_size=1, max_size=4)


def _snapshot(stacks: list[list[int]], covered: int) -> stack_index.Snapshot:
    """A snapshot of ``stacks`` (no threads) whose inverted index covers the first ``covered`` frames (the rest
    as a patch leaves them: scanned)."""
    frames = np.array([f for s in stacks for f in s], dtype=np.int32)
    starts = np.r_[0, np.cumsum([len(s) for s in stacks])].astype(np.int64)
    none = np.zeros(0, np.int32)
    order, fstarts = stack_index.inverted(frames[:covered])
    return stack_index.Snapshot(0, frames, starts, none, none, np.zeros(0, np.uint8), none, order, fstarts,
                                np.zeros(1, np.int64))


@settings(max_examples=800, deadline=None)
@given(stack_lists, element_sets, st.data())
def test_matching_stacks_equals_the_definition(stacks, sets, data):
    direct = tuple(data.draw(st.lists(st.booleans(), min_size=len(sets) - 1, max_size=len(sets) - 1)))
    total = sum(map(len, stacks))
    snap = _snapshot(stacks, data.draw(st.integers(0, total)))
    elements = [np.array(sorted(s), dtype=np.int64) for s in sets]
    expected = [stack_matches(s, [set(e) for e in sets], list(direct)) for s in stacks]
    assert stack_query.matching_stacks(snap, elements, direct).tolist() == expected
    # each way matching_stacks can take, on every stack: the walk over every frame, over a copy of the
    # stacks' frames, over the elements' positions
    assert stack_query._chain(snap.frames, snap.starts, elements, direct).tolist() == expected
    every = np.arange(len(stacks))
    assert stack_query._by_frames(snap, every, elements, direct).tolist() == expected
    some = np.array(sorted(data.draw(st.sets(st.integers(0, len(stacks) - 1)))), dtype=np.int64)
    assert stack_query._by_positions(snap, some, elements, direct, lambda k: snap.positions(elements[k])
                                     ).tolist() == [expected[i] for i in some.tolist()]
    for ids in elements:  # positions: inverted index and scanned tail together
        assert snap.positions(ids).tolist() == [p for p, f in enumerate(snap.frames.tolist()) if f in set(ids)]


def test_known_stacks():
    # top first: 3 is called by 2, which is called by 1; "1 > 3" anywhere above, "2 >> 3" right above
    snap = _snapshot([[3, 2, 1], [1, 3], [2, 3]], 5)
    e = [np.array([i]) for i in range(4)]
    assert stack_query.matching_stacks(snap, [e[1], e[3]], (False,)).tolist() == [True, False, False]
    assert stack_query.matching_stacks(snap, [e[2], e[3]], (True,)).tolist() == [True, False, False]
    assert stack_query.matching_stacks(snap, [e[3], e[2]], (True,)).tolist() == [False, False, True]
    assert stack_query.matching_stacks(snap, [e[3]], ()).tolist() == [True, True, True]


QUERIES = ['stack:"Run > wait"', 'stack:"main >> Run"', 'thread:any stack:"Run > NtWaitForSingleObject"',
           'thread:any stack:"=main >> =Foo::Run"', 'thread:main stack:"x > run"',
           'thread.name:compositor stack:"run > x"', 'thread.name:=Worker function:~wait', 'thread:any function:~Run',
           'thread:main function:=main', 'thread:any function:^foo', 'thread:any function:$Event',
           'thread:any function:~run product:P1', 'thread:any function:~wait date:>=7d',
           '-stack:"Run > wait"', 'stack:"Run > wait" OR thread:any function:~B<int>',
           'thread:any stack:"Run >> Run"', 'stack:"ProcessNextEvent > x > main"']


def _same(store: CrashStore, text: str) -> None:
    indexed = search(store, text, limit=1000, engine="index")
    assert indexed.to_json() == search(store, text, limit=1000, engine="sql").to_json(), text


def _docs(draw_docs: list[dict], offset: int) -> list[NewCrash]:
    """Crashes of the documents, one a day back from ``offset`` days ago (``date:>=7d`` takes some)."""
    now = dt.datetime.now(dt.UTC)
    return [NewCrash({"ProductName": d["product"]}, processed=d, submitted_at=(
        now - dt.timedelta(days=offset + 2 * n, hours=1)).isoformat(timespec="microseconds"))
            for n, d in enumerate(draw_docs)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(doc_st(), min_size=1, max_size=8), more=st.lists(doc_st(), max_size=5),
       again=st.lists(doc_st(), min_size=1, max_size=3))
def test_searches_through_the_stack_index_equal_sql_as_the_store_changes(first, more, again):
    with tempfile.TemporaryDirectory() as tmp:
        store = CrashStore.open(Path(tmp))
        try:
            ids = store.add_many(_docs(first, 0))
            for text in QUERIES:
                _same(store, text)
            index = stack_query.index_of(store.db)
            assert index.built
            index.last_build_seconds = None
            store.add_many(_docs(more, 3))  # new crashes, and crashes processed again with other threads
            for crash_id, doc in zip(ids, again, strict=False):
                store.save_processed(crash_id, doc)
            for text in QUERIES:
                _same(store, text)
            assert index.last_build_seconds is None  # patched from the change log, not built again
        finally:
            store.close()


def test_the_kept_file_is_loaded_and_a_damaged_one_is_not(tmp_path, monkeypatch):
    monkeypatch.setattr(fx, "SAVE_AFTER", 0)
    docs = [{"status": "OK", "crash_info": {"crashing_thread": 0}, "product": "P1",
             "threads": [{"frames": [{"function": f"F{n}"}, {"function": "Run"}]},
                         {"thread_name": "Compositor", "frames": [{"function": "Wait"}, {"function": "Run"}]}]}
            for n in range(5)]
    store = CrashStore.open(tmp_path)
    try:
        store.add_many([NewCrash({"ProductName": "P1"}, processed=d) for d in docs])
        _same(store, 'stack:"Run > F3"')
        built = stack_query.index_of(store.db)._snap
        file = tmp_path / "crashdesk.sqlite.stacks"
        assert file.exists()
        conn = store.db.conn
        conn.execute("BEGIN")
        try:
            loaded = stack_index.StackIndex(file).snapshot(conn, build=False)
            for name in stack_index._ARRAYS:
                assert np.array_equal(getattr(loaded, name), getattr(built, name)), name
            file.write_bytes(file.read_bytes()[:len(file.read_bytes()) // 2])  # cut short
            with pytest.raises(fx.IndexUnavailable):
                stack_index.StackIndex(file).snapshot(conn, build=False)
            assert stack_index.StackIndex(file).snapshot(conn).t_crash.tolist() == built.t_crash.tolist()
        finally:
            conn.execute("COMMIT")
    finally:
        store.close()


def test_hostile_stacks_text_is_parsed_like_json():
    # not orjson's compact text (spaces, an empty thread): parsed as JSON, same keys as the compact form
    spaced = stack_index._threads(b"[[1, 3, [5, 6]], [0, 2, []], [2,0,[7]]]")
    compact = stack_index._threads(b"[[1,3,[5,6]],[0,2,[]],[2,0,[7]]]")
    assert [t[:3] for t in spaced] == [t[:3] for t in compact] == [(1, 3, b"5,6"), (0, 2, b""), (2, 0, b"7")]


def test_which_queries_take_the_index_path():
    now = dt.datetime.now(dt.UTC)

    def native(text: str) -> bool:
        return facet_query.native(parse_query(text).root, now)

    assert native('stack:"A > B"') and native('thread:any stack:"A >> B"') and native("thread:any function:~x")
    assert native("thread:any function:~x product:Firefox date:>=7d")  # a date beside a stack term
    assert not native("product:Firefox date:>=7d")  # as before: the SQL path's covering index
    assert not native("thread:crashing function:~x")  # crash_terms' crashing-thread functions
    assert not native("function:~x")


NAME_CHARS = st.sampled_from(list("abcRUNrun_%\\:<>É") + ["ß", "İ", "K"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(st.text(NAME_CHARS, min_size=1, max_size=8), min_size=1, max_size=25, unique=True),
       needles=st.lists(st.tuples(st.sampled_from(["=", "~", "^", "$"]), st.text(NAME_CHARS, min_size=1,
                                                                                     max_size=4)), max_size=8),
       ascii_only=st.booleans())
def test_function_name_lookup_equals_sqlite(names, needles, ascii_only):
    if ascii_only:
        names = list(dict.fromkeys(n for n in names if n.isascii())) or ["Run"]
    with tempfile.TemporaryDirectory() as tmp:
        store = CrashStore.open(Path(tmp))
        try:
            conn = store.db.conn
            lookup = stack_query.FunctionNames()
            half = len(names) // 2
            for batch in (names[:half], names[half:]):  # names added after the first lookup are found too
                with store.db.write() as w:
                    w.executemany("INSERT OR IGNORE INTO function_names (name) VALUES (?)", [(n,) for n in batch])
                for op, needle in [*needles, ("~", names[0][:3]), ("=", names[-1].upper())]:
                    expected = sorted(r[0] for r in conn.execute(*function_id_sql(op, needle)))
                    assert sorted(lookup.matching(conn, op, needle).tolist()) == expected, (op, needle)
        finally:
            store.close()


def test_a_store_without_the_change_log_is_not_indexed():
    conn = sqlite3.connect(":memory:")
    with pytest.raises(fx.IndexUnavailable):
        stack_index.StackIndex().snapshot(conn)


def test_a_large_store_builds_on_a_thread_and_sql_answers_meanwhile(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_query, "BACKGROUND_MIN_CRASHES", 1)  # this store counts as large
    docs = [{"status": "OK", "crash_info": {"crashing_thread": 0}, "product": "P1",
             "threads": [{"frames": [{"function": f"F{n}"}, {"function": "Run"}]}]} for n in range(4)]
    store = CrashStore.open(tmp_path)
    try:
        store.add_many([NewCrash({"ProductName": "P1"}, processed=d) for d in docs])
        conn = store.db.conn
        index = stack_query.index_of(store.db)
        conn.execute("BEGIN")
        try:
            assert stack_query.snapshot(store.db, conn, 5, build=False) is None  # not built here
        finally:
            conn.execute("COMMIT")
        index._building.join(60)
        assert index.built
        conn.execute("BEGIN")
        try:
            snap = stack_query.snapshot(store.db, conn, 5, build=False)
            assert snap is not None and sorted(snap.t_crash.tolist()) == [1, 2, 3, 4]
        finally:
            conn.execute("COMMIT")
        _same(store, 'stack:"Run > F2"')
    finally:
        store.close()
