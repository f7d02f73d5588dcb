"""Every-thread search: each query form against a brute-force evaluation over the processed documents
(tests/store/thread_oracle.py), on generated stores (hypothesis) and on real stackwalker output from the corpus
(tests/data/threads, see PROVENANCE.txt); the v9 migration indexes an existing store's crashes."""

from __future__ import annotations

import gzip
import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.query import BadValueError, QueryError, QuerySyntaxError, parse_query
from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash
from crashdesk.store.schema import SCHEMA_VERSION
from crashdesk.store.search import search
from tests.store import thread_oracle as O

DATA = Path(__file__).resolve().parents[1] / "data" / "threads"

FUNCS = ["Foo::Run", "Bar::RunTask", "WaitForX", "NtWaitForSingleObject", "main", "ProcessNextEvent",
         "A::B<int>::C", "x", "foo::run", None]
NAMES = ["MainThread", "Compositor", "Worker", "", None, "main"]
MODULES = ["xul.dll", "ntdll.dll", "libc.so", None]
TRUSTS = ["context", "cfi", "scan", "frame_pointer", None, "cfi_scan"]


def _version_key(v: str) -> float:
    return float(v)


frame_st = st.fixed_dictionaries({
    "function": st.sampled_from(FUNCS), "module": st.sampled_from(MODULES), "trust": st.sampled_from(TRUSTS),
    "inlines": st.lists(st.fixed_dictionaries({"function": st.sampled_from(FUNCS)}), max_size=2)})
thread_st = st.fixed_dictionaries({"thread_name": st.sampled_from(NAMES),
                                   "frames": st.lists(frame_st, max_size=6)})


@st.composite
def doc_st(draw):
    threads = draw(st.lists(thread_st, min_size=1, max_size=4))
    for t in threads:
        for f in t["frames"]:
            if not f["inlines"]:
                del f["inlines"]
            for key in ("function", "module", "trust"):
                if f[key] is None:
                    del f[key]
        if t["thread_name"] is None:
            del t["thread_name"]
    crashing = draw(st.integers(0, len(threads) - 1))
    modules = [{"filename": m, "version": draw(st.sampled_from(["1.0", "2.0", "3.0"]))}
               for m in MODULES if m and draw(st.booleans())]
    if draw(st.booleans()):  # every field a stackwalker writes (the store's fast path for cached modules)
        for n, m in enumerate(modules):
            m.update(debug_file=m["filename"], debug_id=f"{n:032X}0", code_id="", base_address=f"0x{n:016x}",
                     loaded_symbols=True, missing_symbols=False, corrupt_symbols=False)
    return {"status": "OK", "crash_info": {"type": "SIGSEGV", "crashing_thread": crashing}, "threads": threads,
            "modules": modules, "product": draw(st.sampled_from(["P1", "P2"]))}


scope_st = st.one_of(st.none(), st.tuples(st.just("role"), st.sampled_from(["crashing", "main", "any"]),
                                           st.just("")),
                     st.tuples(st.just("name"), st.sampled_from(["=", "~"]),
                               st.sampled_from(["MainThread", "compositor", "work", "main"])))
needle_st = st.sampled_from(["Run", "wait", "main", "NtWaitForSingleObject", "B<int>", "x", "ProcessNextEvent",
                             "foo::run"])


@st.composite
def atom_st(draw):
    kind = draw(st.sampled_from(["function", "module", "stack", "trust", "frames", "scope", "modver"]))
    scope = draw(scope_st)
    if kind == "function":
        return O.q_function(scope, draw(st.sampled_from(["=", "~", "^", "$"])), draw(needle_st))
    if kind == "module":
        return O.q_frame_module(scope, draw(st.sampled_from(["=", "~"])),
                                draw(st.sampled_from(["xul.dll", "NTDLL.dll", "lib", "so"])))
    if kind == "stack":
        n = draw(st.integers(2, 3))
        elements = [(draw(st.sampled_from(["~", "="])), draw(needle_st)) for _ in range(n)]
        return O.q_stack(scope, elements, [draw(st.booleans()) for _ in range(n - 1)])
    if kind == "trust":
        return O.q_trust(draw(st.sampled_from(["scan", "cfi", "context", "none", "cfi_scan"])),
                         draw(st.one_of(st.none(), st.integers(1, 5))))
    if kind == "frames":
        return O.q_frames(draw(st.sampled_from([">", ">=", "<", "<=", "="])), draw(st.integers(0, 6)))
    if kind == "modver":
        return O.q_frame_module_version(draw(st.sampled_from(["xul.dll", "libc.so"])),
                                        draw(st.sampled_from([">=", "<"])), draw(st.sampled_from(["2.0", "3.0"])),
                                        _version_key)
    text, pred = O.q_scope_alone(scope if scope is not None else ("role", "any", ""))
    # in an OR, so that beside another term it is a term of its own, not that term's thread scope (a scope
    # term in an AND group scopes the stack terms of the group: test_scope_of_a_parenthesised_term)
    return f"({text} OR {text})", pred


@st.composite
def query_st(draw):
    a_text, a = draw(atom_st())
    shape = draw(st.sampled_from(["one", "and", "not", "or", "product"]))
    if shape == "one":
        return a_text, a
    if shape == "product":
        p = draw(st.sampled_from(["P1", "P2"]))
        return f"{a_text} product:{p}", lambda d: a(d) and d["product"] == p
    if shape == "not":
        return f"-({a_text})", lambda d: not a(d)
    b_text, b = draw(atom_st())
    if shape == "and":
        return f"({a_text}) ({b_text})", lambda d: a(d) and b(d)
    return f"({a_text}) OR ({b_text})", lambda d: a(d) or b(d)


def _store(folder: Path, docs: list[dict], *, twice: bool = False) -> tuple[CrashStore, dict[str, dict]]:
    """A store of ``docs``; ``twice``: each stored again by a second transaction, whose index rows are then built
    from the ids the first one cached, before the write lock (``CrashStore._index_rows_from_cache``)."""
    store = CrashStore.open(folder)
    by_id = {}
    for _ in range(2 if twice else 1):
        items = [NewCrash({"ProductName": d["product"]}, processed=d) for d in docs]
        by_id.update(zip(store.add_many(items), docs, strict=True))
    return store, by_id


def _check(store: CrashStore, by_id: dict[str, dict], text: str, pred) -> None:
    result = store.search(text, limit=1000, facets=("thread.function",))
    expected = {cid for cid, doc in by_id.items() if pred(doc)}
    assert {h["crash_id"] for h in result.hits} == expected, text
    assert result.total == len(expected), text
    assert result.facets["thread.function"] == O.facet_list(
        O.thread_function_facet([by_id[c] for c in expected])), text
    # the facet index's path (a store this small uses SQL): each thread term's crash ids from its own SELECT,
    # negations and groups as masks
    indexed = search(store, text, limit=1000, facets=("thread.function",), engine="index")
    assert indexed.to_json() == result.to_json(), text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(doc_st(), min_size=1, max_size=10), queries=st.lists(query_st(), min_size=1, max_size=6))
def test_every_query_form_equals_brute_force(docs, queries):
    with tempfile.TemporaryDirectory() as tmp:
        store, by_id = _store(Path(tmp), docs, twice=True)
        try:
            for text, pred in queries:
                _check(store, by_id, text, pred)
        finally:
            store.close()


def _corpus_docs() -> list[dict]:
    docs = []
    for path in sorted(DATA.glob("*.json.gz")):
        doc = json.loads(gzip.decompress(path.read_bytes()))
        doc["product"] = path.name.split(".")[0]
        docs.append(doc)
    return docs


def _corpus_queries(docs: list[dict]) -> list[tuple[str, object]]:
    """Queries built from the documents' own thread names and functions."""
    out = [O.q_scope_alone(("role", "any", "")), O.q_trust("scan", None), O.q_trust("cfi", 3),
           O.q_frames(">", 10), O.q_frames("<=", 3)]
    for doc in docs:
        crashing = O.crashing_index(doc)
        for n, t in enumerate(doc["threads"]):
            r = [f for f, _ in O.rows(t) if f]
            name = t.get("thread_name")
            if name:
                out.append(O.q_scope_alone(("name", "=", name)))
            if r:
                out.append(O.q_function(("role", "any", ""), "=", r[0]))
                out.append(O.q_function(("role", "main", ""), "~", r[-1][:8]))
                if name:
                    out.append(O.q_function(("name", "=", name), "~", r[0][:10]))
            if len(r) >= 3:
                out.append(O.q_stack(("role", "any", ""), [("=", r[-1]), ("=", r[0])], [False]))
                out.append(O.q_stack(("role", "any", ""), [("=", r[2]), ("=", r[1])], [True]))
                out.append(O.q_stack(None if n == crashing else ("role", "any", ""),
                                     [("~", r[1][:6]), ("~", r[0][-6:])], [True]))
            for _, module in O.rows(t)[:2]:
                if module:
                    out.append(O.q_frame_module(("role", "any", ""), "=", module))
                    out.append(O.q_frame_module(None, "~", module[:4]))
    return out


def test_real_stackwalker_output_equals_brute_force(tmp_path):
    docs = _corpus_docs()
    assert len(docs) == 4 and all(len(d["threads"]) >= 5 for d in docs)
    store, by_id = _store(tmp_path, docs)
    try:
        queries = _corpus_queries(docs)
        assert len(queries) > 60
        matched = 0
        for text, pred in queries:
            _check(store, by_id, text, pred)
            matched += bool(store.search(text, limit=0).total)
        assert matched > len(queries) // 2  # the queries find something, they are not all empty
        # two thread terms without a stack term: each on its own
        assert store.search('thread.name:"overflow thread" thread:crashing', limit=0).total == 1
        with pytest.raises(QuerySyntaxError):  # with one, which thread it looks at would be a guess
            store.search('thread.name:"overflow thread" thread:crashing function:x', limit=0)
    finally:
        store.close()


def test_documented_examples(tmp_path):
    docs = _corpus_docs()
    store, by_id = _store(tmp_path, docs)
    try:
        ids = {doc["product"]: cid for cid, doc in by_id.items()}
        # thread_name_list: the crashing thread is "overflow thread" (index 5), main is "main thread"
        hits = store.search('thread.name:"sleep thread"', limit=10).hits
        assert [h["crash_id"] for h in hits] == [ids["thread_name_list"]]
        assert store.search("thread:main function:~main", limit=10).total >= 1
        deep = store.search("frames:>10", limit=10)
        assert {h["crash_id"] for h in deep.hits} == {cid for cid, d in by_id.items()
                                                      if len(d["threads"][O.crashing_index(d)]["frames"]) > 10}
    finally:
        store.close()


def test_migration_indexes_existing_crashes(tmp_path):
    """A store written before the thread index (its tables dropped, user_version 8) gains the index on open, and
    searches give what a fresh store gives."""
    docs = _corpus_docs()
    store, by_id = _store(tmp_path, docs)
    store.close()
    db = tmp_path / "crashdesk.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript("DROP TRIGGER crash_stacks_ad; DROP TABLE thread_terms; DROP TABLE crash_stacks; "
                       "DROP TABLE thread_names; DROP TABLE frame_modules; DROP TABLE thread_top_counts; "
                       "PRAGMA user_version = 8;")
    conn.close()
    store = CrashStore.open(tmp_path)
    try:
        # v9 indexes the threads, then the crash-time step (v10) runs too
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.db.conn.execute("SELECT count(*) FROM crash_stacks").fetchone()[0] == len(docs)
        for text, pred in _corpus_queries(docs)[:40]:
            _check(store, by_id, text, pred)
    finally:
        store.close()


def test_thread_function_facet_over_the_whole_store(tmp_path):
    """Kept counts (ingest, reprocessing, deletion) equal a brute-force count over the documents."""
    docs = _corpus_docs()
    store, by_id = _store(tmp_path, docs + docs[:2])
    try:
        def check():
            got = store.search("", limit=0, facets=("thread.function",)).facets["thread.function"]
            assert got == O.facet_list(O.thread_function_facet(list(by_id.values())))
        check()
        cid = next(iter(by_id))
        store.save_processed(cid, docs[2])  # reprocessed with another document
        by_id[cid] = docs[2]
        check()
        other = list(by_id)[1]
        store.db.conn.execute("DELETE FROM crashes WHERE crash_id = ?", (other,))
        del by_id[other]
        check()
    finally:
        store.close()


def test_reprocessing_replaces_the_thread_index(tmp_path):
    docs = _corpus_docs()
    store, by_id = _store(tmp_path, docs[:1])
    try:
        cid = next(iter(by_id))
        name = next(t["thread_name"] for t in docs[0]["threads"] if t.get("thread_name"))
        assert store.search(f'thread.name:"{name}"', limit=0).total == 1
        store.save_processed(cid, docs[1])
        assert store.search(f'thread.name:"{name}"', limit=0).total == (
            1 if any(t.get("thread_name") == name for t in docs[1]["threads"]) else 0)
        other = next(t["thread_name"] for t in docs[1]["threads"] if t.get("thread_name"))
        assert store.search(f'thread.name:"{other}"', limit=0).total == 1
    finally:
        store.close()


@pytest.mark.parametrize("query, error, column", [
    ("thread:bogus", BadValueError, 8),
    ('stack:"A >"', BadValueError, 7),
    ('stack:"> B"', BadValueError, 7),
    ("frame.trust:scan@0", BadValueError, 18),
    ("frame.trust:sideways", BadValueError, 13),
    ("frames:>lots", BadValueError, 9),
    ("thread:main thread:any function:x", QuerySyntaxError, 13),
    ("thread.name:>x", QueryError, 13),
])
def test_errors_carry_their_column(query, error, column):
    with pytest.raises(error) as info:
        parse_query(query)
    assert info.value.position + 1 == column


def test_scope_applies_inside_nested_groups_not_outside():
    q = parse_query("(thread:main (function:A OR -function:B)) function:C")
    inner, outer = q.root.items
    assert outer.thread is None
    assert all(t.thread is not None and t.thread.value == "main" for t in inner.items[1].items)


def test_scope_of_a_parenthesised_term():
    """Parentheses around one term make no group: ``(thread:any) (function:X)`` is ``thread:any function:X``."""
    a = parse_query("(thread:any) (function:X)").root.items[1]
    b = parse_query("thread:any function:X").root.items[1]
    assert a.thread is not None and a.thread.value == b.thread.value == "any"
    assert (a.field, a.op, a.value) == (b.field, b.op, b.value)
