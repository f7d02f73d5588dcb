"""Search answers for the grammar's operators and the OS aliases, on a real store (issue 20), and the bounds
at the store: a query at every bound runs in SQLite, one past it is a QueryError (issue 19 #13)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.query import MAX_DEPTH, MAX_TERMS, QueryError, QueryTooLargeError
from crashdesk.store.crashes import SignatureRecord

# (product, the operating system name the processed crash carries, a word in its URL annotation)
CRASHES = [("Firefox", "Windows NT", "alpha"), ("Firefox", "Mac OS X", "beta"), ("Thunderbird", "Linux", "alpha"),
           ("Fenix", "Android", "gamma"), ("Focus", "iOS", "beta"), ("Firefox", "Linux", "gamma")]


@pytest.fixture(scope="module")
def grammar_store(tmp_path_factory, request):
    from crashdesk.store import CrashStore

    folder = request.config.rootpath / "tests" / "data" / "crashes" / "01-null-deref"
    ann0 = json.loads((folder / "annotations.json").read_text())
    dump = (folder / "dump.dmp").read_bytes()
    processed0 = json.loads((folder / "expected.json").read_text())
    store = CrashStore.open(tmp_path_factory.mktemp("grammar-store"))
    ids = {}
    for n, (product, os_name, word) in enumerate(CRASHES):
        ann = dict(ann0, ProductName=product, Version=f"{n + 1}.0", URL=f"https://{word}.example/")
        crash_id = store.add_crash(ann, {"upload_file_minidump": dump}, source="import")
        processed = copy.deepcopy(processed0)
        processed["system_info"]["os"] = os_name
        store.save_processed(crash_id, processed, signature=SignatureRecord(f"sig{n}", profile="test"))
        ids[n] = crash_id
    yield store, ids
    store.close()


def found(store, ids, query) -> set[int]:
    by_id = {v: k for k, v in ids.items()}
    result = store.search(query, limit=100)
    assert result.total == len(result.hits)
    return {by_id[h["crash_id"]] for h in result.hits}


def expected(predicate) -> set[int]:
    return {n for n, c in enumerate(CRASHES) if predicate(*c)}


def test_stored_os_names_are_what_the_crashes_say(grammar_store):
    store, ids = grammar_store
    facet = store.search("", facets=["os"], limit=0).facets["os"]
    assert {b["term"] for b in facet} == {c[1] for c in CRASHES}


@pytest.mark.parametrize(("query", "predicate"), [
    ("NOT product:Firefox", lambda p, o, w: p != "Firefox"),
    ("-product:Firefox", lambda p, o, w: p != "Firefox"),
    ("product:Firefox AND os:Linux", lambda p, o, w: p == "Firefox" and o == "Linux"),
    ("NOT alpha", lambda p, o, w: w != "alpha"),
    ("-alpha", lambda p, o, w: w != "alpha"),
    ("!alpha", lambda p, o, w: w != "alpha"),
    ('NOT "alpha"', lambda p, o, w: w != "alpha"),
    ("NOT (product:Firefox OR os:Linux)", lambda p, o, w: p != "Firefox" and o != "Linux"),
    ("-(product:Firefox alpha)", lambda p, o, w: not (p == "Firefox" and w == "alpha")),
    ("product:Firefox AND NOT beta", lambda p, o, w: p == "Firefox" and w != "beta"),
])
def test_operators_give_the_right_crashes(grammar_store, query, predicate):
    store, ids = grammar_store
    assert found(store, ids, query) == expected(predicate)


@pytest.mark.parametrize(("query", "names"), [
    ("os:Windows", {"Windows NT"}), ("os:windows", {"Windows NT"}), ('os:"Windows NT"', {"Windows NT"}),
    ('os:"Mac OS X"', {"Mac OS X"}), ("os:macOS", {"Mac OS X"}), ("platform:Linux", {"Linux"}),
    ("os:Android", {"Android"}), ("os:iOS", {"iOS"}),
    ("NOT os:Windows", {"Mac OS X", "Linux", "Android", "iOS"}),
    ("os:Windows OR os:macOS", {"Windows NT", "Mac OS X"}),
])
def test_crash_stats_platform_names_are_os_aliases(grammar_store, query, names):
    store, ids = grammar_store
    assert found(store, ids, query) == expected(lambda p, o, w: o in names)


def test_os_alias_in_supersearch_platform(grammar_store):
    from crashdesk.collector import supersearch

    store, ids = grammar_store
    result = supersearch.run(store, {"platform": ["Windows"], "_columns": ["uuid", "platform"]})
    assert [h["platform"] for h in result["hits"]] == ["Windows NT"]


@pytest.mark.parametrize("query", ["AND", "NOT", "product:X)", "version:>=abc", "a or b", "product:(A OR B)"])
def test_ambiguous_queries_are_errors_not_answers(grammar_store, query):
    store, _ = grammar_store
    with pytest.raises(QueryError):
        store.search(query)


# a term of each kind the compiler turns into SQL, the costliest first
KINDS = ["module:libc.so.6@>=1", "function:~main", "ann.URL:~alpha", "signature:~sig", "version:>=1.0",
         "date:>=30d", "alpha", '"beta"', "product:Firefox", "os:Windows", "NOT os:Linux", "-gamma"]


@pytest.mark.parametrize("joiner", [" OR ", " AND ", " "])
def test_a_query_at_the_term_bound_runs(grammar_store, joiner):
    store, _ = grammar_store
    terms = [KINDS[i % len(KINDS)] for i in range(MAX_TERMS)]
    result = store.search(joiner.join(terms), facets=["module", "signature"], limit=5)
    assert result.total >= 0
    with pytest.raises(QueryTooLargeError):
        store.search(joiner.join([*terms, "product:x"]))


def test_a_query_at_the_depth_bound_runs(grammar_store):
    store, ids = grammar_store
    query = "(product:Firefox OR " * MAX_DEPTH + "alpha" + ")" * MAX_DEPTH
    assert found(store, ids, query) == expected(lambda p, o, w: p == "Firefox" or w == "alpha")
    negated = "NOT (" * MAX_DEPTH + "alpha" + ")" * MAX_DEPTH
    assert found(store, ids, negated) == expected(lambda p, o, w: w == "alpha")  # an even number of NOTs


# the costliest shapes per level (found by measuring how deep SQLite's parser gets with each)
LEVELS = ["(", "NOT (", "(a OR ", "NOT (a OR ", "(a ", "(a OR b ", "(a OR NOT ", "a OR (b ", "NOT (a b OR ",
          "-(alpha OR "]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(LEVELS), min_size=MAX_DEPTH, max_size=MAX_DEPTH),
       st.sampled_from(KINDS))
def test_any_nesting_within_the_bound_runs_in_sqlite(grammar_store, levels, inner):
    store, _ = grammar_store
    opened = "".join(levels)
    depth = opened.count("(")
    if depth > MAX_DEPTH:  # a level may open one group; keep exactly MAX_DEPTH
        return
    query = opened + inner + ")" * depth
    if "NOT NOT" in query or "NOT -" in query or "NOT (NOT" in query:
        return
    try:
        result = store.search(query, facets=["module"], limit=5)
    except QueryError as exc:
        assert not isinstance(exc, QueryTooLargeError), (query, exc)
        return
    assert result.total >= len(result.hits)


def test_sqlite_size_limits_become_query_errors(grammar_store, monkeypatch):
    """The safety net behind the bounds: with the depth bound lifted, SQLite's own limit is a QueryError."""
    import crashdesk.engine.query as query_module

    store, _ = grammar_store
    monkeypatch.setattr(query_module, "MAX_DEPTH", 10_000)
    with pytest.raises(QueryTooLargeError, match="too complex"):
        store.search("(a OR " * 200 + "b" + ")" * 200)
