"""The facet index against brute force: random stores written through the real ``CrashStore`` (a temp SQLite
file), random queries over column and module terms with AND/OR/NOT, and the totals, facet counts and first
pages the index answers compared with counts computed here in Python from the crashes as they were written
(and with the SQL path). Then crashes are deleted, reprocessed, re-signed and re-annotated, and the same
index (patched from the change log, not rebuilt) must still agree."""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.query import OS_ALIASES, parse_query
from crashdesk.model.versions import version_key
from crashdesk.store import CrashStore, facet_query
from crashdesk.store.crashes import SignatureRecord
from crashdesk.store.facet_query import index_of
from crashdesk.store.search import search

PRODUCTS = ["Firefox", "firefox", "FIREFOX", "Thunderbird", "", None]
VERSIONS = ["1.0", "1.10", "1.2", "2.0b1", "10.0", "", None]
OSES = ["Linux", "linux", "Windows NT", "Mac OS X", "Plan9", None]
SIGNATURES = ["OOM | small", "oom | small", "js::GC", "mozalloc_abort", "Ärger", "ärger", "a_b%c"]
REASONS = ["SIGSEGV", "SIGABRT", "EXCEPTION_ACCESS_VIOLATION", None]
MODULES = [("xul.dll", "1.0"), ("xul.dll", "2.0"), ("XUL.dll", "1.0"), ("libc.so.6", "2.31"), ("ntdll.dll", "10.0")]
FACETS = ("signature", "product", "version", "os", "reason", "module")
FOLDED = {"signature", "product", "os"}  # NOCASE facets (crashdesk.store.search.FACET_COLUMNS)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@dataclass
class Crash:
    product: str | None
    version: str | None
    os: str | None
    signature: str
    reason: str | None
    modules: list[tuple[str, str]] = field(default_factory=list)
    crash_id: str = ""
    day: int = 0


crashes_st = st.builds(
    Crash, st.sampled_from(PRODUCTS), st.sampled_from(VERSIONS), st.sampled_from(OSES), st.sampled_from(SIGNATURES),
    st.sampled_from(REASONS), st.lists(st.sampled_from(MODULES), unique=True, max_size=4),
    st.just(""), st.integers(0, 30))


# ---------------------------------------------------------------------------------------------- brute force

def fold(text: str) -> str:  # SQLite's NOCASE and LIKE fold ASCII letters only
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def empty(value: str | None) -> bool:
    return value is None or value == ""


def text_match(op: str, value: str, x: str | None) -> bool:
    if empty(x):
        return False
    a, b = fold(x), fold(value)
    return {"=": a == b, "~": b in a, "^": a.startswith(b), "$": a.endswith(b)}[op]


ORDER = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Q:
    """A query node: ("term", field, op, value, negated) / ("not", q) / ("and"|"or", items)."""

    kind: str
    parts: tuple

    def text(self) -> str:
        if self.kind == "term":
            name, op, value, negated = self.parts
            bang = "!" if negated else ""
            shown = "__null__" if op == "null" else f'{op}"{value}"'
            return f"{name}:{bang}{shown}"
        if self.kind == "not":
            return f"NOT ({self.parts[0].text()})"
        joiner = " AND " if self.kind == "and" else " OR "
        return "(" + joiner.join(q.text() for q in self.parts) + ")"

    def matches(self, c: Crash) -> bool:
        if self.kind == "not":
            return not self.parts[0].matches(c)
        if self.kind == "and":
            return all(q.matches(c) for q in self.parts)
        if self.kind == "or":
            return any(q.matches(c) for q in self.parts)
        name, op, value, negated = self.parts
        return term_true(name, op, value, c) != negated


def term_true(name: str, op: str, value: str, c: Crash) -> bool:
    if name == "module":
        if op == "null":
            return not c.modules
        return any(text_match(op, value, filename) for filename, _ in c.modules)
    x = getattr(c, name)
    if op == "null":
        return empty(x)
    if name == "version" and op in ORDER:
        return not empty(x) and version_key(x) != "" and ORDER[op](version_key(x), version_key(value))
    if name == "os" and op == "=" and value.lower() in OS_ALIASES:
        return not empty(x) and fold(x) in {fold(n) for n in OS_ALIASES[value.lower()]}
    return text_match(op, value, x)


def expected_facet(name: str, matched: list[Crash]) -> list[dict]:
    if name == "module":
        totals: dict[str, int] = {}
        for c in matched:
            for filename, _ in c.modules:
                totals[filename] = totals.get(filename, 0) + 1
        return [{"term": t, "count": n} for t, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
    groups: dict[str, list] = {}
    for c in matched:
        x = getattr(c, name)
        if empty(x):
            continue
        key = fold(x) if name in FOLDED else x
        group = groups.setdefault(key, [x, 0])
        group[0] = min(group[0], x)
        group[1] += 1
    return [{"term": t, "count": n} for t, n in sorted(groups.values(), key=lambda g: (-g[1], g[0]))]


# ---------------------------------------------------------------------------------------------- queries

values = {"product": ["Firefox", "fire", "FOX", "Thunder"], "os": ["linux", "Windows", "Mac", "plan9", "ows"],
          "signature": ["oom", "OOM | small", "GC", "ärger", "Ä", "_b%", "abort"],
          "reason": ["SIG", "sigsegv", "ACCESS"], "version": ["1.0", "1.2", "1", "2.0b1"],
          "module": ["xul.dll", "XUL", "libc", ".dll", "ntdll.dll"]}

term_st = st.one_of(
    st.tuples(st.sampled_from(sorted(values)), st.sampled_from(["=", "~", "^", "$", "null"]), st.booleans())
    .flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.sampled_from(values[t[0]]), st.just(t[2]))),
    st.tuples(st.just("version"), st.sampled_from(sorted(ORDER)), st.sampled_from(["1.0", "1.2", "1.10", "2"]),
              st.booleans()),
).map(lambda parts: Q("term", parts))

query_st = st.recursive(
    term_st,
    lambda inner: st.one_of(inner.map(lambda q: Q("not", (q,))),
                            st.lists(inner, min_size=2, max_size=3).map(lambda qs: Q("and", tuple(qs))),
                            st.lists(inner, min_size=2, max_size=3).map(lambda qs: Q("or", tuple(qs)))),
    max_leaves=5)


# ---------------------------------------------------------------------------------------------- the store

def processed_for(c: Crash) -> dict:
    return {"system_info": {"os": c.os} if c.os is not None else {},
            "crash_info": {"type": c.reason} if c.reason is not None else {},
            "modules": [{"filename": f, "debug_file": f, "debug_id": f"{n:032X}0", "version": v,
                         "base_addr": hex(0x10000 * (n + 1))}
                        for n, (f, v) in enumerate(c.modules)]}


def annotations_for(c: Crash) -> dict:
    ann = {}
    if c.product is not None:
        ann["ProductName"] = c.product
    if c.version is not None:
        ann["Version"] = c.version
    return ann


def write(store: CrashStore, c: Crash) -> None:
    c.crash_id = store.add_crash(annotations_for(c), {}, source="import",
                                 submitted_at=(NOW - dt.timedelta(days=c.day)).isoformat())
    store.save_processed(c.crash_id, processed_for(c), signature=SignatureRecord(c.signature))


def stored(store: CrashStore, c: Crash) -> Crash:
    """The crash as the store holds it ("" and missing values may come back as either: they mean the same to
    every term and facet)."""
    row = store.db.conn.execute("SELECT product, version, os, reason, signature FROM crashes WHERE crash_id = ?",
                                (c.crash_id,)).fetchone()
    assert [empty(v) for v in row[:4]] == [empty(c.product), empty(c.version), empty(c.os), empty(c.reason)]
    assert row[4] == c.signature
    return c


def check(store: CrashStore, crashes: list[Crash], queries: list[Q]) -> None:
    for q in [None, *queries]:
        text = "" if q is None else q.text()
        matched = [c for c in crashes if q is None or q.matches(c)]
        got = search(store, text, facets=FACETS, limit=10, now=NOW, engine="index")
        assert got.total == len(matched), text
        for name in FACETS:
            assert got.facets[name] == expected_facet(name, matched), (text, name)
        newest = sorted(matched, key=lambda c: (c.day, ), reverse=False)
        assert {h["crash_id"] for h in got.hits} <= {c.crash_id for c in matched}
        assert len(got.hits) == min(10, len(matched))
        # the page is the newest matches, the same as the SQL path picks
        sql = search(store, text, facets=FACETS, limit=10, now=NOW, engine="sql")
        assert [h["crash_id"] for h in got.hits] == [h["crash_id"] for h in sql.hits], text
        assert sql.total == got.total and sql.facets == got.facets, text
        if newest:
            assert got.hits[0]["date"] == max(h["date"] for h in sql.hits)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crashes=st.lists(crashes_st, max_size=12), queries=st.lists(query_st, min_size=1, max_size=4),
       changes=st.lists(st.tuples(st.sampled_from(["delete", "reprocess", "resign", "reannotate", "add"]),
                                  st.integers(0, 100), crashes_st), max_size=6))
def test_index_counts_equal_brute_force_before_and_after_changes(crashes, queries, changes):
    with tempfile.TemporaryDirectory() as tmp, CrashStore.open(Path(tmp)) as store:
        for c in crashes:
            write(store, c)
        crashes = [stored(store, c) for c in crashes]
        check(store, crashes, queries)
        assert index_of(store.db).built
        for action, pick, other in changes:
            if action == "add" or not crashes:
                write(store, other)
                crashes.append(other)
                continue
            c = crashes[pick % len(crashes)]
            if action == "delete":
                with store.db.write() as conn:  # as a deletion would (the store has no API for it yet): the
                    # side tables cascade, and search_text's trigger takes the crash out of the full-text indexes
                    conn.execute("DELETE FROM crashes WHERE crash_id = ?", (c.crash_id,))
                crashes.remove(c)
            elif action == "reprocess":  # new os, reason and modules from processing again
                c.os, c.reason, c.modules = other.os or c.os, other.reason, other.modules
                store.save_processed(c.crash_id, processed_for(c), signature=SignatureRecord(c.signature))
            elif action == "resign":  # a signature regeneration
                c.signature = other.signature
                store.record_signatures([(c.crash_id, SignatureRecord(c.signature, run_id="r1"))])
            else:  # the raw crash arriving later: product and version from the new annotations
                c.product, c.version = other.product, other.version
                store.replace_annotations(c.crash_id, annotations_for(c))
        crashes = [stored(store, c) for c in crashes]
        check(store, crashes, queries)


def test_a_reader_too_far_behind_the_change_log_rebuilds(tmp_path, monkeypatch):
    """When the log was trimmed past a snapshot's position the index reads the tables again."""
    with CrashStore.open(tmp_path) as store:
        made = [Crash("Firefox", "1.0", "Linux", "sig", "SIGSEGV", [MODULES[0]]) for _ in range(3)]
        for c in made:
            write(store, c)
        assert search(store, "product:firefox", facets=["module"], engine="index").total == 3
        with store.db.write() as conn:  # what the trim trigger does once 200,000 newer changes are logged
            write_more = Crash("Thunderbird", "2.0", "Linux", "sig2", None, [MODULES[3]])
        write(store, write_more)
        with store.db.write() as conn:
            conn.execute("DELETE FROM facet_changes WHERE seq < (SELECT max(seq) FROM facet_changes)")
        result = search(store, "", facets=["product", "module"], engine="index")
        assert result.total == 4
        assert result.facets["product"] == [{"term": "Firefox", "count": 3}, {"term": "Thunderbird", "count": 1}]
        assert result.facets["module"] == [{"term": "xul.dll", "count": 3}, {"term": "libc.so.6", "count": 1}]


def test_a_store_from_before_the_change_log_gains_it_on_open(tmp_path):
    """Migration: a store at the previous schema version (no change log) opens, and the index answers."""
    import sqlite3

    from crashdesk.store.schema import MIGRATIONS, SCHEMA_VERSION

    with CrashStore.open(tmp_path) as store:
        write(store, Crash("Firefox", "1.0", "Linux", "sig", "SIGSEGV", [MODULES[0]]))
    conn = sqlite3.connect(tmp_path / "crashdesk.sqlite")
    triggers = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'facet_%'")]
    assert len(triggers) == 7
    conn.executescript("".join(f"DROP TRIGGER {name}; " for name in triggers) + "DROP TABLE facet_changes;")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    conn.commit()
    conn.close()
    with CrashStore.open(tmp_path) as store:
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert search(store, "os:linux", facets=["module"], engine="index").facets["module"] == [
            {"term": "xul.dll", "count": 1}]
        write(store, Crash("Firefox", "1.0", "Linux", "sig", "SIGSEGV", [MODULES[3]]))
        assert search(store, "os:linux", facets=["module"], engine="index").total == 2


def test_cancel_interrupts_the_index_path(tmp_path):
    """A stale request stops: the cancel callable is polled by SQLite and between facets."""
    import sqlite3

    with CrashStore.open(tmp_path) as store:
        for n in range(5):
            write(store, Crash("Firefox", f"1.{n}", "Linux", f"sig{n}", "SIGSEGV", [MODULES[n % 5]]))
        search(store, "", facets=["product"], engine="index")  # built
        calls = itertools.count()
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            search(store, "product:firefox signature:~sig", facets=FACETS, engine="index",
                   cancel=lambda: next(calls) >= 0)
        # the connection still works afterwards, without the handler
        assert search(store, "product:firefox", facets=["os"], engine="index").total == 5


FIELD_VALUES = {"signature": ["oom", "OOM | small", "js"], "server_signature": ["srv", "SRV-b"],
                "product": ["firefox", "Fire", "fox"], "os": ["linux", "Win", "X"], "os_version": ["10.0", "6."],
                "cpu": ["amd64", "AMD", "arm"], "channel": ["nightly", "beta", "t"], "source": ["import", "imp"],
                "state": ["processed", "failed", "d"], "reason": ["SIGSEGV", "sig", "ACCESS"],
                "build_id": ["3", "2026"]}
FIELD_TERMS = [
    # every column the index keeps a dictionary of, with each operator ...
    *(f'{f}:{op}"{v}"' for f, vs in FIELD_VALUES.items() for v in vs for op in ("", "=", "~", "^", "$", "!~", "!=")),
    *(f"{f}:__null__" for f in FIELD_VALUES), *(f"{f}:!__null__" for f in FIELD_VALUES),
    "version:>=1.2", "version:<1.10", "version:!>=2", "version:^1.", "build_id:>2", "build_id:<=2026",
    "os:Windows", "os:linux", "os:mac",
    # ... and the terms answered by SQL inside the index path
    "address:__null__", "date:>=10d", "date:<5d", "processed:__null__", "module_version:>=2", "debug_file:xul.dll",
    "debug_id:__null__", "module:xul.dll@>=2", "module:!~dll", "function:~main", "ann.Version:1.0",
    "ann.ProductName:__null__", "oom", '"small"', "-oom", "trend:spike", "crash_id:__null__",
]


def test_every_field_term_answers_as_the_sql_path(tmp_path):
    """Each query field (dictionary-answered or SQL-answered inside the index path), alone, negated and in
    groups: the same total, page and facets as the SQL path."""
    with CrashStore.open(tmp_path) as store:
        for n, (p, v, o, s, r) in enumerate(itertools.product(PRODUCTS[:4], VERSIONS[:4], OSES[:3], SIGNATURES[:2],
                                                              REASONS[:2])):
            if n % 3 == 0:
                write(store, Crash(p, v, o, s, r, MODULES[n % 5:n % 5 + 2], day=n % 20))
        with store.db.write() as conn:  # a few columns nothing above sets
            conn.execute("UPDATE crashes SET cpu = 'amd64', channel = 'nightly', build_id = '3', "
                         "os_version = '10.0.1', server_signature = 'SRV-a' WHERE id % 2 = 0")
            conn.execute("UPDATE crashes SET cpu = 'ARM64', channel = 'beta', build_id = '20260101', "
                         "os_version = '6.8', server_signature = 'srv-B' WHERE id % 3 = 0")
            conn.execute("UPDATE crashes SET state = 'failed' WHERE id % 5 = 0")
        queries = [*FIELD_TERMS, *(f"NOT {t}" for t in FIELD_TERMS[::3]),
                   *(f"({a} OR {b}) {c}" for a, b, c in zip(FIELD_TERMS[:-9], FIELD_TERMS[5:-4], FIELD_TERMS[9:], strict=True))]
        for query in queries:
            for sort in ("-date", "date", "product"):
                sql = search(store, query, facets=FACETS, limit=7, offset=1, sort=sort, now=NOW, engine="sql")
                got = search(store, query, facets=FACETS, limit=7, offset=1, sort=sort, now=NOW, engine="index")
                assert got.to_json() == sql.to_json(), (query, sort)


def test_a_search_inside_a_write_transaction_leaves_the_shared_index_alone(tmp_path):
    """Changes not committed yet (and maybe rolled back) never reach the index other threads read."""
    with CrashStore.open(tmp_path) as store:
        write(store, Crash("Firefox", "1.0", "Linux", "sig", "SIGSEGV", [MODULES[0]]))
        assert search(store, "", facets=["product"], engine="index").total == 1
        with pytest.raises(RuntimeError), store.db.write() as conn:
            conn.execute("UPDATE crashes SET product = 'Thunderbird'")
            inside = search(store, "", facets=["product"], engine="index")  # SQL answers inside the write
            assert inside.facets["product"] == [{"term": "Thunderbird", "count": 1}]
            raise RuntimeError("roll back")
        write(store, Crash("Fenix", "1.0", "Linux", "sig", "SIGSEGV", [MODULES[0]]))  # the log moves on
        assert search(store, "", facets=["product"], engine="index").facets["product"] == [
            {"term": "Fenix", "count": 1}, {"term": "Firefox", "count": 1}]


def test_matches_bunched_in_time_are_paged_by_the_id_set_once_the_date_walk_runs_long(tmp_path, monkeypatch):
    """The oldest crashes match: the walk from the newest gives up at its bound and the id set pages them,
    with the SQL path's page; spread matches are found by the walk."""
    import crashdesk.store.facet_query as facet_query

    with CrashStore.open(tmp_path) as store:
        for n in range(200):
            write(store, Crash("Thunderbird" if n >= 180 else "Firefox", "1.0", "Linux", "sig", None, day=n))
        walks: list = []
        real = facet_query._walk

        def recorded(*args, **kw):
            walks.append(real(*args, **kw))
            return walks[-1]

        monkeypatch.setattr(facet_query, "_walk", recorded)
        monkeypatch.setattr(facet_query, "_WALK", 1)  # a bound of 8 * expected + 8 crashes visited
        for query, sort in (("product:thunderbird", "-date"), ("product:thunderbird", "date"), ("", "-date")):
            walks.clear()
            got = search(store, query, limit=2, sort=sort, engine="index")
            assert got.to_json() == search(store, query, limit=2, sort=sort, engine="sql").to_json()
            assert len(walks) == 1
            assert (walks[0] is None) == (query != "" and sort == "-date")  # from the newest: too far


def _tamper_codes(path: Path) -> None:
    """Rewrite the kept file with one code column pointing past its dictionary (an edited file)."""
    import io

    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    arrays["codes_product"] = arrays["codes_product"] + np.int32(1000)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("damage", ["truncated", "garbage", "codes out of range", "empty",
                                    *(f"bytes flipped {seed}" for seed in range(8))])
def test_a_damaged_kept_index_file_is_rebuilt(tmp_path, monkeypatch, damage):
    """The snapshot kept beside the database is a file anyone can edit or a crash can cut short: a damaged one
    is never used (no exception, no wrong counts); the index is rebuilt from the tables."""
    import random

    from crashdesk.store import facet_index

    monkeypatch.setattr(facet_index, "SAVE_AFTER", 0)
    made = [Crash("Firefox", "1.0", "Linux", "sig", "SIGSEGV", [MODULES[0]]),
            Crash("Thunderbird", "2.0", "Windows NT", "sig2", None, [MODULES[3]]),
            Crash("Firefox", "1.1", "Linux", "sig", "SIGABRT", [MODULES[0], MODULES[3]])]
    with CrashStore.open(tmp_path) as store:
        for c in made:
            write(store, c)
        expected = search(store, "os:linux", facets=["product", "module"], engine="sql").facets
        assert search(store, "os:linux", facets=["product", "module"], engine="index").facets == expected
    kept = tmp_path / "crashdesk.sqlite.facets"
    assert kept.is_file()
    data = kept.read_bytes()
    rng = random.Random(damage)
    if damage == "truncated":
        kept.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        kept.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    elif damage.startswith("bytes flipped"):
        flipped = bytearray(data)
        for _ in range(64):
            flipped[rng.randrange(len(flipped))] ^= 0xFF
        kept.write_bytes(bytes(flipped))
    elif damage == "codes out of range":
        _tamper_codes(kept)
    else:
        kept.write_bytes(b"")
    with CrashStore.open(tmp_path) as store:
        result = search(store, "os:linux", facets=["product", "module"], engine="index")
        assert result.total == 2
        assert result.facets == expected


ROWS_QUERIES = [*FIELD_TERMS, "product:firefox -oom", "(os:linux OR ann.Version:1.0) !product:thunder",
                "module:xul.dll date:>=10d", "NOT (signature:~oom OR function:~main)"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(crashes=st.lists(crashes_st, min_size=1, max_size=12), queries=st.lists(query_st, min_size=1, max_size=4),
       fixed=st.lists(st.sampled_from(ROWS_QUERIES), max_size=4), extra=st.lists(crashes_st, max_size=3))
def test_rows_only_searches_of_a_large_store_answer_as_the_sql_path(monkeypatch, crashes, queries, fixed, extra):
    """Pages and totals without facets on a store past ROWS_INDEX_MIN_CRASHES (lowered here): a query of column
    and module terms is answered from the kept index, loaded and patched from the change log (never built
    for it); any other query by the SQL path; both with the SQL path's answer, in every sort and page."""
    from crashdesk.store import facet_index
    from crashdesk.store import search as search_module

    monkeypatch.setattr(search_module, "ROWS_INDEX_MIN_CRASHES", 0)
    monkeypatch.setattr(facet_index, "SAVE_AFTER", 0)
    texts = [q.text() for q in queries] + fixed
    with tempfile.TemporaryDirectory() as tmp:
        with CrashStore.open(Path(tmp)) as store:
            for c in crashes:
                write(store, c)
            assert search(store, "", facets=["product"], engine="index").total == len(crashes)  # built, kept
        with CrashStore.open(Path(tmp)) as store:
            for c in extra:  # changes after the kept snapshot: the log patches it
                write(store, c)
            for text in texts:
                for sort, offset in (("-date", 0), ("date", 1), ("product", 0)):
                    got = search(store, text, limit=5, offset=offset, sort=sort, now=NOW)
                    sql = search(store, text, limit=5, offset=offset, sort=sort, now=NOW, engine="sql")
                    assert got.to_json() == sql.to_json(), (text, sort)
            native = [t for t in texts if search_module.rows_from_index(parse_query(t).root, NOW)]
            assert index_of(store.db).built == bool(native)
        with CrashStore.open(Path(tmp)) as store:  # nothing kept: such a search never builds the index
            (Path(tmp) / "crashdesk.sqlite.facets").unlink()
            for text in texts:
                assert search(store, text, limit=5, now=NOW).to_json() == \
                    search(store, text, limit=5, now=NOW, engine="sql").to_json()
            assert not index_of(store.db).built


def test_native_queries():
    """Which queries the index answers on its own (the rows-only choice): column and module terms, stack terms
    and every-thread function terms (the stack index), and dates beside those."""
    for text in ("product:firefox", "os:!linux (version:>=1.2 OR module:xul.dll)", "NOT signature:~oom",
                 "module:__null__", "reason:__null__", "debug_id:abc", "build_id:>2", 'stack:"a > b"',
                 'thread:any stack:"a >> b" date:>=7d product:firefox'):
        assert facet_query.native(parse_query(text).root, NOW), text
    for text in ("", "date:>=7d", "oom", "product:firefox ann.Version:1", "function:~main", "thread:any",
                 "crash_id:abc", "trend:spike", 'stack:"a > b" oom', "address:__null__", "processed:__null__"):
        assert not facet_query.native(parse_query(text).root, NOW), text
