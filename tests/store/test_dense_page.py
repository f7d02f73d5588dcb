"""The first page of a query that is one term of the term indexes matching much of the store
(``search.dense_set_page``: the total counted from the index, the page from the date index walked in steps
whose rowid ranges are looked up in the term index) against the facet index's path (the term's crash ids as a
mask, paged by its own walk), on generated stores whose dates are not in rowid order."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.store import CrashStore
from crashdesk.store import search as search_module
from crashdesk.store.crashes import NewCrash
from crashdesk.store.search import search
from tests.store.test_thread_search import atom_st, doc_st

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
WORDS = ["P1", "P2", "SIGSEGV", "xul", "Run", "wait", '"Foo::Run"']


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(docs=st.lists(st.tuples(doc_st(), st.integers(0, 5000)), min_size=20, max_size=40),
       atoms=st.lists(atom_st(), min_size=1, max_size=4), words=st.lists(st.sampled_from(WORDS), max_size=3),
       step=st.integers(1, 7))
def test_dense_pages_equal_the_index_path(monkeypatch, docs, atoms, words, step):
    monkeypatch.setattr(search_module, "DENSE_WALK", step)  # short steps: pages span several of them
    monkeypatch.setattr(search_module, "DENSE_STEPS", 2)
    monkeypatch.setattr(search_module, "DENSE_MIN_CRASHES", 0)
    with tempfile.TemporaryDirectory() as tmp, CrashStore.open(Path(tmp)) as store:
        store.add_many([NewCrash({"ProductName": d["product"]}, processed=d,
                                 submitted_at=(NOW - dt.timedelta(minutes=minutes)).isoformat())
                        for d, minutes in docs])
        for text in [a[0] for a in atoms] + words:
            for sort, offset, limit in (("-date", 0, 2), ("date", 1, 2), ("-date", 2, 1), ("-date", 0, 3)):
                got = search(store, text, sort=sort, offset=offset, limit=limit, now=NOW, engine="sql")
                indexed = search(store, text, sort=sort, offset=offset, limit=limit, now=NOW, engine="index")
                assert got.to_json() == indexed.to_json(), (text, sort, offset)


def test_the_dense_plan_answers_a_common_term(tmp_path, monkeypatch):
    """A term in most crashes is paged by the walk (the plan answers), with the set path's total and page."""
    monkeypatch.setattr(search_module, "DENSE_WALK", 4)
    monkeypatch.setattr(search_module, "DENSE_STEPS", 2)
    monkeypatch.setattr(search_module, "DENSE_MIN_CRASHES", 0)
    docs = [{"status": "OK", "crash_info": {"type": "SIGSEGV", "crashing_thread": 0}, "product": "P1",
             "threads": [{"frames": [{"function": "Common" if n % 4 else "Rare"}, {"function": "main"}]}]}
            for n in range(64)]
    with CrashStore.open(tmp_path) as store:
        store.add_many([NewCrash({"ProductName": "P1"}, processed=d,
                                 submitted_at=(NOW - dt.timedelta(minutes=(n * 37) % 64)).isoformat())
                        for n, d in enumerate(docs)])
        conn = store.db.conn
        for text in ("function:=Common", "thread:any function:~Common", "Common"):
            where, params = search_module.compile_query(text, NOW)
            for sort, offset in (("-date", 0), ("date", 2)):
                plan = search_module.dense_set_page(conn, where, params, sort, offset, 3)
                assert plan is not None and plan[0] == 48, text
                got = search(store, text, sort=sort, offset=offset, limit=3, now=NOW, engine="sql")
                assert [h["crash_id"] for h in got.hits] == [h["crash_id"] for h in search(
                    store, text, sort=sort, offset=offset, limit=3, now=NOW, engine="index").hits]
                ids = {r[0]: r[1] for r in conn.execute("SELECT id, crash_id FROM crashes")}
                assert [ids[i] for i in plan[1]] == [h["crash_id"] for h in got.hits]
        monkeypatch.setattr(search_module, "DENSE_MIN_CRASHES", 65)  # a store smaller than that: the set path
        where, params = search_module.compile_query("Common", NOW)
        assert search_module.dense_set_page(conn, where, params, "-date", 0, 3) is None
