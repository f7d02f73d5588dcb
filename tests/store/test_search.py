"""Search on a real store: every query's hits are checked against a plain-Python filter over the same inputs.

The store is filled from the two real crashes in tests/data/crashes (their annotations, dumps and reference
processed crashes), with product/version/URL/module-version/date varied per copy so the filters can tell
crashes apart.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.query import QueryError, UnknownFieldError
from crashdesk.model.versions import version_key
from crashdesk.store.crashes import SignatureRecord
from crashdesk.store.search import BadSearchRequest, SearchResult

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PRODUCTS = ["Firefox", "Thunderbird", "firefox", "Fenix"]
VERSIONS = ["99.0", "120.0", "120.0.1", "121.0b3", "9.5"]
URLS = ["https://example.com/a", "https://mozilla.org/", None]


@dataclass
class Made:
    crash_id: str
    product: str
    version: str
    url: str | None
    codec_version: str
    submitted: dt.datetime
    case: str
    signature: str
    functions: list[str]
    modules: list[str]
    processed: bool


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request):
    from crashdesk.store import CrashStore

    test_data = request.config.rootpath / "tests" / "data" / "crashes"
    cases = {}
    for name in ("01-null-deref", "05-thread"):
        folder = test_data / name
        cases[name] = (json.loads((folder / "annotations.json").read_text()), (folder / "dump.dmp").read_bytes(),
                       json.loads((folder / "expected.json").read_text()))
    store = CrashStore.open(tmp_path_factory.mktemp("search-store"))
    made: list[Made] = []
    for i in range(20):
        case = "01-null-deref" if i % 2 == 0 else "05-thread"
        ann, dump, processed = copy.deepcopy(cases[case])
        ann["ProductName"] = PRODUCTS[i % len(PRODUCTS)]
        ann["Version"] = VERSIONS[i % len(VERSIONS)]
        url = URLS[i % len(URLS)]
        if url:
            ann["URL"] = url
        ann["Counter"] = str(i)
        codec_version = f"{1 + i % 3}.{i % 2}"
        for module in processed["modules"]:
            if module["filename"] == "libdemo_codec.so":
                module["version"] = codec_version
        submitted = NOW - dt.timedelta(days=i)
        crash_id = store.add_crash(ann, {"upload_file_minidump": dump}, source="import" if i % 3 else "collector",
                                   submitted_at=submitted.isoformat(timespec="microseconds"))
        thread = processed["threads"][processed["crash_info"]["crashing_thread"]]
        functions = [f.get("function") for f in thread["frames"] if f.get("function")]
        signature = f"{functions[0]} | {functions[1]}" if i % 4 else f"OOM | small | {functions[0]}"
        done = i < 16
        if done:
            store.save_processed(crash_id, processed, signature=SignatureRecord(signature, profile="test"))
        made.append(Made(crash_id, ann["ProductName"], ann["Version"], url, codec_version, submitted, case,
                         signature if done else None, functions if done else [],
                         [m["filename"] for m in processed["modules"]] if done else [], done))
    yield store, made
    store.close()


def ids(result: SearchResult) -> set[str]:
    return {h["crash_id"] for h in result.hits}


def check(corpus, query, predicate):
    store, made = corpus
    result = store.search(query, limit=1000)
    expected = {m.crash_id for m in made if predicate(m)}
    assert expected, f"test data gives no match for {query!r}"
    assert ids(result) == expected, query
    assert result.total == len(expected)
    return result


def test_empty_query_matches_everything_newest_first(corpus):
    store, made = corpus
    result = store.search("", limit=1000)
    assert result.total == len(made)
    assert [h["crash_id"] for h in result.hits] == [m.crash_id for m in sorted(made, key=lambda m: m.submitted,
                                                                                reverse=True)]


def test_keyword_default_is_exact_case_insensitive(corpus):
    check(corpus, "product:FIREFOX", lambda m: m.product.lower() == "firefox")
    store, _ = corpus
    assert store.search("product:Fire").total == 0


def test_text_default_is_contains(corpus):
    check(corpus, "signature:oom", lambda m: m.signature is not None and "oom" in m.signature.lower())
    check(corpus, "signature:blit", lambda m: m.signature is not None and "blit" in m.signature)


def test_string_operators(corpus):
    check(corpus, "signature:^OOM", lambda m: bool(m.signature) and m.signature.startswith("OOM"))
    check(corpus, "signature:$render_tile", lambda m: bool(m.signature) and m.signature.endswith("render_tile"))
    check(corpus, 'signature:="tile_blit | render_tile"', lambda m: m.signature == "tile_blit | render_tile")
    check(corpus, "product:~fox", lambda m: "fox" in m.product.lower())
    check(corpus, "product:!~fox", lambda m: "fox" not in m.product.lower())
    check(corpus, "!product:Firefox", lambda m: m.product.lower() != "firefox")


def test_like_wildcards_in_values_are_literal(corpus):
    store, _ = corpus
    assert store.search("signature:~%").total == 0
    assert store.search("signature:~_").total == sum(1 for m in corpus[1] if m.signature and "_" in m.signature)


def test_versions_compare_as_versions(corpus):
    check(corpus, "version:>=120", lambda m: version_key(m.version) >= version_key("120"))
    check(corpus, "version:>99.0", lambda m: m.version in ("120.0", "120.0.1", "121.0b3"))
    check(corpus, "version:<121", lambda m: m.version in ("99.0", "120.0", "120.0.1", "9.5"))
    check(corpus, "version:<121.0", lambda m: m.version in ("99.0", "120.0", "120.0.1", "9.5", "121.0b3"))
    check(corpus, "version:^120", lambda m: m.version.startswith("120"))


def test_dates_relative_and_absolute(corpus):
    check(corpus, "date:>=7d", lambda m: m.submitted > NOW - dt.timedelta(days=7))
    check(corpus, "date:<7d", lambda m: m.submitted <= NOW - dt.timedelta(days=7))
    day = (NOW - dt.timedelta(days=3)).date().isoformat()
    check(corpus, f"date:{day}", lambda m: m.submitted.date().isoformat() == day)
    check(corpus, f"date:<={day}", lambda m: m.submitted.date().isoformat() <= day)
    check(corpus, f"date:>{day}", lambda m: m.submitted.date().isoformat() > day)
    noon = dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")
    check(corpus, f"date:<{day}T12:00:00Z", lambda m: m.submitted < noon)
    check(corpus, f"date:>={day}T12:00:00+01:00", lambda m: m.submitted >= noon - dt.timedelta(hours=1))


def test_source_and_state(corpus):
    store, made = corpus
    check(corpus, "source:collector", lambda m: made.index(m) % 3 == 0)
    check(corpus, "state:received", lambda m: not m.processed)
    check(corpus, "processed:__null__", lambda m: not m.processed)


def test_function_contains_exact_and_short(corpus):
    check(corpus, "function:tile", lambda m: any("tile" in f for f in m.functions))
    check(corpus, "function:=MAIN", lambda m: any(f.lower() == "main" for f in m.functions))
    check(corpus, "function:^render", lambda m: any(f.startswith("render") for f in m.functions))
    check(corpus, "function:~_m", lambda m: any("_m" in f for f in m.functions))
    check(corpus, "function:!~tile", lambda m: not any("tile" in f for f in m.functions))


def test_modules_by_name_and_version_on_the_same_module(corpus):
    check(corpus, "module:LIBC.so.6", lambda m: "libc.so.6" in m.modules)
    check(corpus, "module:libdemo_codec.so@2.1", lambda m: m.processed and m.codec_version == "2.1")
    check(corpus, "module:libdemo_codec.so@>=2", lambda m: m.processed and m.codec_version >= "2")
    # another module has version 0.0.0.0, so a same-module match differs from two independent terms
    store, _ = corpus
    assert store.search("module:libc.so.6@2.1").total == 0
    check(corpus, "module:libc.so.6 module_version:2.1", lambda m: m.processed and m.codec_version == "2.1")


def test_annotations(corpus):
    check(corpus, "ann.URL:example.com", lambda m: m.url is not None and "example.com" in m.url)
    check(corpus, "ann.URL:__null__", lambda m: m.url is None)
    check(corpus, "ann.Counter:>=15", lambda m: corpus[1].index(m) >= 15)
    check(corpus, "ann.Counter:<3", lambda m: corpus[1].index(m) < 3)


def test_full_text_over_signature_functions_and_annotation_values(corpus):
    check(corpus, "viewer_open", lambda m: any(f.startswith("viewer_open") for f in m.functions))
    check(corpus, "mozilla", lambda m: m.url is not None and "mozilla" in m.url)
    check(corpus, '"OOM | small"', lambda m: bool(m.signature) and "OOM | small" in m.signature)
    store, _ = corpus
    # FTS5 syntax in user input is taken literally: a result or a QueryError, never an SQLite error
    for text in ["AND", "NOT", "NEAR(a b)", "a OR b", "x*", "^start", "*", "-", "a'b", "col:x", '"a" "b"',
                 "signature:\"", "{a b}", "a + b", "tile_blit:"]:
        try:
            store.search(text)
        except QueryError:
            pass
    assert store.search("tile_blit*").total == store.search("tile_blit").total > 0


def test_and_or_and_groups(corpus):
    check(corpus, "product:Thunderbird version:99.0 OR product:Fenix",
          lambda m: (m.product == "Thunderbird" and m.version == "99.0") or m.product == "Fenix")
    check(corpus, "(product:Thunderbird OR product:Fenix) source:import",
          lambda m: m.product in ("Thunderbird", "Fenix") and corpus[1].index(m) % 3 != 0)


def test_paging_and_sorting(corpus):
    store, made = corpus
    pages = [store.search("", sort="date", offset=o, limit=7) for o in (0, 7, 14)]
    got = [h["crash_id"] for p in pages for h in p.hits]
    assert got == [m.crash_id for m in sorted(made, key=lambda m: m.submitted)]
    assert all(p.total == len(made) for p in pages)
    by_version = store.search("", sort="-version", limit=1000).hits
    keys = [version_key(h["version"]) for h in by_version]
    assert keys == sorted(keys, reverse=True)
    assert store.search("", offset=100).hits == []


def test_facets_in_crash_stats_shape(corpus):
    store, made = corpus
    result = store.search("source:import", facets=["product", "version", "module", "signature", "ann.URL"],
                          limit=0)
    chosen = [m for i, m in enumerate(made) if i % 3 != 0]
    assert result.hits == [] and result.total == len(chosen)
    products = Counter(m.product.lower() for m in chosen)
    assert {b["term"].lower(): b["count"] for b in result.facets["product"]} == dict(products)
    assert {b["term"]: b["count"] for b in result.facets["version"]} == dict(Counter(m.version for m in chosen))
    modules = Counter(name for m in chosen for name in set(m.modules))
    assert {b["term"]: b["count"] for b in result.facets["module"]} == dict(modules)
    sigs = Counter(m.signature for m in chosen if m.signature)
    assert {b["term"]: b["count"] for b in result.facets["signature"]} == dict(sigs)
    assert {b["term"]: b["count"] for b in result.facets["ann.URL"]} == dict(Counter(m.url for m in chosen
                                                                                    if m.url))
    counts = [b["count"] for b in result.facets["version"]]
    assert counts == sorted(counts, reverse=True)
    assert set(result.to_json()) == {"total", "hits", "facets"}


def test_bad_queries_and_requests_are_typed_errors(corpus):
    store, _ = corpus
    with pytest.raises(UnknownFieldError) as info:
        store.search("product:x colour:red")
    assert info.value.position == 10
    with pytest.raises(QueryError):
        store.search('signature:"x')
    with pytest.raises(BadSearchRequest):
        store.search("", sort="-colour")
    with pytest.raises(BadSearchRequest):
        store.search("", facets=["colour"])
    with pytest.raises(BadSearchRequest):
        store.search("", offset=-1)


def test_large_match_set_plan_gives_the_same_answers(corpus, monkeypatch):
    """Above SCAN_THRESHOLD matches the compiler words membership terms for an index walk; same results."""
    import crashdesk.store.search as search_module

    store, _ = corpus
    queries = ["function:tile", "module:libc.so.6", "ann.URL:example.com", "viewer_open", "!module:libc.so.6",
               "ann.URL:__null__ OR function:~main", "source:import function:~render", "",
               "product:firefox", "(product:Thunderbird OR product:Fenix) source:import", "version:>=120 date:>=9d",
               "signature:~tile", 'signature:="tile_blit | render_tile"', "state:processed !product:fenix"]
    before = {q: store.search(q, facets=["product", "module", "version", "signature"], limit=1000, sort="-date")
              for q in queries}
    monkeypatch.setattr(search_module, "SCAN_THRESHOLD", 0)
    for q in queries:
        after = store.search(q, facets=["product", "module", "version", "signature"], limit=1000, sort="-date")
        assert after.to_json() == before[q].to_json(), q
        assert after.total == len(after.hits)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["signature:", "function:", "module:", "ann.URL:", "date:", "version:", "x", "_",
                                 "*", "-", '"', "(", ")", " ", "OR", "AND", "NOT", "NEAR", "!", "~", "^", "$",
                                 ">=", "<", "=", "@", "'", ";", "%", "\\", "é", "—", "7d", "120", "tile",
                                 "__null__", ":"]), max_size=12).map("".join))
def test_any_query_returns_or_raises_a_query_error_never_an_sqlite_error(corpus, text):
    store, _ = corpus
    try:
        result = store.search(text, facets=["module", "signature"], limit=5)
    except QueryError:
        return
    assert result.total >= len(result.hits)


def test_a_common_full_text_word_is_paged_by_probing_with_the_same_answers(corpus, monkeypatch):
    """A bare word that is a whole token in many crashes is paged by walking the sort index and probing the
    full-text index per crash instead of building the set of matches; the answers are the set plan's. A word
    that longer tokens start with (a prefix match) keeps the set plan."""
    import crashdesk.store.search as search_module

    store, made = corpus
    real = search_module.fulltext_probe

    def sql(query, **kw):  # the SQL path's plans (the facet index answers them once built)
        return search_module.search(store, query, engine="sql", **kw)

    plans: list = []

    def recorded(*args):
        plans.append(real(*args))
        return plans[-1]

    monkeypatch.setattr(search_module, "fulltext_probe", recorded)
    requests = [("firefox", "-date", 0, 100), ("Firefox", "-date", 3, 4), ("firefox", "product", 0, 5),
                ("firefox", "-signature", 2, 50), ("fire", "-date", 0, 100), ("firefox", "reason", 0, 100)]
    expected = {}
    monkeypatch.setattr(search_module, "PROBE_RATIO", 10**12)  # never worth it: the set plan
    for word, sort, offset, limit in requests:
        expected[word, sort, offset] = sql(word, sort=sort, offset=offset, limit=limit).to_json()
    assert not any(plans)
    plans.clear()
    monkeypatch.setattr(search_module, "PROBE_RATIO", 0)  # always worth it (20 crashes are too few to pay)
    for word, sort, offset, limit in requests:
        assert sql(word, sort=sort, offset=offset, limit=limit).to_json() == expected[word, sort, offset]
    # probed: the whole token, sorted on the narrow index; not "fire" (starts "firefox") nor a sort on reason
    assert [p is not None for p in plans] == [True, True, True, True, False]
    firefox = {m.crash_id for m in made if m.product.lower() == "firefox"}
    assert firefox and firefox <= {h["crash_id"] for h in sql("firefox", limit=100).hits}
    assert plans[0][0] == sql("firefox", limit=100).total >= len(firefox)
