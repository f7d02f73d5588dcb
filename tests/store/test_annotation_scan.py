"""``ann.KEY`` contains / starts with / ends with over a key's whole column (``store.annotation_scan``), checked
against SQLite's own ``LIKE`` (the SQL the ``annotations`` table answered with) on the same values: random chunks
of values with NUL, non-ASCII letters, ``LIKE``'s wildcards and escape, quotes, control characters and case
variants, chunks with and without nulls, and chunks not written the way orjson writes them."""

from __future__ import annotations

import random
import sqlite3
import zlib

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.store import annotation_columns, annotation_scan, codec, search
from crashdesk.store.crashes import NewCrash
from crashdesk.store.schema import _V_SLIM
from crashdesk.store.search import _string_cond

# characters where LIKE, JSON and the byte search could disagree: the escaped ones (a quote, a backslash, control
# characters) put a chunk on the value-by-value path, so half the chunks are drawn without them
PLAIN = list("abkBAK.,[]:") + ["null", "NULL", "%", "_", "é", "É", "ß", "ẞ", "İ", "ı", "😀", "\u2028", " "]
ESCAPED = ['"', "\\", "\x00", "\n", "\x01"]
VALUE = st.lists(st.sampled_from(PLAIN + ESCAPED), max_size=8).map("".join)
PLAIN_VALUE = st.lists(st.sampled_from(PLAIN), max_size=8).map("".join)
CHUNK = st.one_of(*(st.lists(st.one_of(st.none(), values), min_size=1, max_size=12) for values in (VALUE, PLAIN_VALUE)))


def _conn() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(_V_SLIM.split("DROP VIEW")[0])  # the annotation_columns table as the schema makes it
    conn.execute("CREATE TABLE vals (key TEXT, crash INTEGER, value TEXT NOT NULL, PRIMARY KEY (key, crash))")
    conn.create_function("crashdesk_annotation_unset", 2, annotation_columns.unset, deterministic=True)
    return conn


def _put(conn, chunks: list[tuple[int, list[str | None]]], key: str = "K", blob=None) -> None:
    """Chunks (first crash row id, values) as rows of ``annotation_columns``, their values also one row each in
    ``vals`` (the oracle's table). Null elements at either end are kept: a deleted crash leaves them."""
    for first, values in chunks:
        conn.execute("INSERT INTO annotation_columns VALUES (?, ?, ?, ?)",
                     (key, first, first + len(values) - 1, (blob or annotation_columns.encode)(values)))
        conn.executemany("INSERT INTO vals VALUES (?, ?, ?)",
                         [(key, first + i, v) for i, v in enumerate(values) if v is not None])


def _like(conn, op: str, needle: str) -> list[int]:
    """SQLite's answer: the old ``annotations`` SQL (``search._string_cond``) over key K's values."""
    cond, params = _string_cond("value", op, needle)
    return [r[0] for r in conn.execute(f"SELECT crash FROM vals WHERE key = 'K' AND {cond} ORDER BY crash", params)]


def _laid_out(chunks: list[list[str | None]], gaps: list[int]) -> list[tuple[int, list[str | None]]]:
    out, first = [], 1
    for values, gap in zip(chunks, gaps, strict=False):
        out.append((first, values))
        first += len(values) + gap
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(CHUNK, min_size=1, max_size=6), gaps=st.lists(st.integers(0, 3), min_size=6, max_size=6),
       needle=VALUE, pick=st.integers(0, 10**6), swap=st.booleans())
def test_like_over_the_column_is_what_sqlite_like_answers(chunks, gaps, needle, pick, swap):
    conn = _conn()
    _put(conn, _laid_out(chunks, gaps))
    present = [v for values in chunks for v in values if v]
    if present and pick % 3:  # mostly a piece of a stored value, so that something matches
        value = present[pick % len(present)]
        start = pick % len(value)
        needle = value[start:start + 1 + pick % 5]
    if swap:
        needle = needle.swapcase()
    cache = annotation_scan.ColumnCache()
    present = [r[0] for r in conn.execute("SELECT crash FROM vals WHERE key = 'K' ORDER BY crash")]
    assert annotation_columns.matching(conn, "K", "has", "", columns=cache) == present
    for op in ("~", "^", "$"):
        expected = _like(conn, op, needle)
        assert annotation_columns.matching(conn, "K", op, needle) == expected, (op, needle)
        assert annotation_columns.matching(conn, "K", op, needle, columns=cache) == expected, (op, needle)


@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.lists(st.one_of(st.none(), st.text(st.characters(codec="utf-8"), max_size=6)),
                                min_size=1, max_size=10), min_size=1, max_size=5), needle=st.text(max_size=3))
def test_like_with_any_characters(chunks, needle):
    conn = _conn()
    _put(conn, _laid_out(chunks, [1] * len(chunks)))
    for op in ("~", "^", "$"):
        assert annotation_columns.matching(conn, "K", op, needle) == _like(conn, op, needle), (op, needle)


NUMBERISH = st.one_of(st.integers(0, 10**17).map(str), st.lists(st.sampled_from(
    list("0123456789 +-.eExa") + ["\x00", '"', "é"]), max_size=6).map("".join))
NUMBER_CHUNK = st.lists(st.one_of(st.none(), NUMBERISH), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(NUMBER_CHUNK, min_size=1, max_size=5), gaps=st.lists(st.integers(0, 3), min_size=5,
                                                                            max_size=5),
       bound=st.one_of(st.integers(-5, 10**16).map(str), st.sampled_from(["1e3", "0.5", "-1.5", "12.0"])))
def test_numeric_orderings_over_the_column_are_what_sqlite_answers(chunks, gaps, bound):
    """``ann.KEY:>N`` (and >=, <, <=) read over the whole column: plain digit strings compared in numpy, any
    other value by SQLite; the same crashes as the old SQL (``search._Compiler.value_cond``) selects."""
    conn = _conn()
    _put(conn, _laid_out(chunks, gaps))
    cache = annotation_scan.ColumnCache()
    for op in (">", ">=", "<", "<="):
        condition = f"(CAST(value AS REAL) {op} ? AND trim(value) GLOB '*[0-9]*')"
        expected = [r[0] for r in conn.execute(
            f"SELECT crash FROM vals WHERE key = 'K' AND {condition} ORDER BY crash", [float(bound)])]
        assert annotation_columns.matching(conn, "K", f"num {op}", bound, columns=cache) == expected, (op, bound)
        assert annotation_columns.matching(conn, "K", f"num {op}", bound) == expected, (op, bound)


def test_a_large_clean_column_is_read_without_decoding_each_value():
    """Chunks without a backslash are searched in their JSON text (no chunk goes to orjson), with and without
    nulls; one escaped value sends only its own chunk to the value-by-value test."""
    conn = _conn()
    chunks = [(1 + 100 * n, [None if (i * 7 + n) % 5 == 0 and n % 2 else f"https://Host{i % 13}.example/?id={i}"
                             for i in range(100)]) for n in range(30)]
    chunks[7][1][3] = 'say "hi" at host3'
    _put(conn, chunks)
    column = annotation_scan.Column(conn.execute("SELECT first, last, vals FROM annotation_columns ORDER BY first")
                                    .fetchall())
    assert [first for first, _ in column.decoded] == [chunks[7][0]]
    for op, needle in [("~", "host3"), ("^", "HTTPS://host1"), ("$", "id=99"), ("~", '"hi"'), ("~", "ll,"),
                       ("~", "null"), ("^", ""), ("~", "=1")]:
        assert annotation_columns.matching(conn, "K", op, needle) == _like(conn, op, needle), (op, needle)


def test_chunks_not_written_by_orjson_are_read_value_by_value():
    """A chunk with spaces between its elements is decoded with orjson and tested value by value; a zlib blob (how
    documents were packed before v8) is decompressed on its own and read like the others; the answers stay the
    same."""
    conn = _conn()
    _put(conn, [(1, ["alpha", None, "beta"])], blob=lambda v: codec.compress(orjson.dumps(v).replace(b",", b", ")))
    _put(conn, [(10, ["gamma", "alphabet"])], blob=lambda v: zlib.compress(orjson.dumps(v)))
    _put(conn, [(20, ["alpine", None])])
    column = annotation_scan.Column(conn.execute("SELECT first, last, vals FROM annotation_columns ORDER BY first")
                                    .fetchall())
    assert [first for first, _ in column.decoded] == [1]
    assert annotation_columns.matching(conn, "K", "^", "AL") == [1, 11, 20]
    for op, needle in [("~", "al"), ("^", "be"), ("$", "a")]:
        assert annotation_columns.matching(conn, "K", op, needle) == _like(conn, op, needle), (op, needle)


def test_a_corrupt_chunk_is_a_corrupt_document():
    conn = _conn()
    _put(conn, [(1, ["alpha", "beta"] * 50)])
    _put(conn, [(200, ["alpha"] * 100)], blob=lambda v: annotation_columns.encode(v)[:-9])  # truncated frame
    with pytest.raises(codec.CorruptDocument):
        annotation_columns.matching(conn, "K", "~", "al")


def test_the_cache_sees_every_write_and_keeps_its_bound():
    conn = _conn()
    _put(conn, [(1, ["red", "green"]), (3, ["blue"])])
    cache = annotation_scan.ColumnCache()
    assert annotation_columns.matching(conn, "K", "~", "e", columns=cache) == [1, 2, 3]
    annotation_columns.write(conn, {"K": {2: "GRAY", 4: "teal", 5: None}})
    assert annotation_columns.matching(conn, "K", "~", "e", columns=cache) == [1, 3, 4]
    # as the delete trigger of crashes does
    conn.execute("UPDATE annotation_columns SET vals = crashdesk_annotation_unset(vals, 0) WHERE first = 1")
    assert annotation_columns.matching(conn, "K", "~", "e", columns=cache) == [3, 4]
    _put(conn, [(1, ["e" * 1000])], key="Big")
    big = annotation_scan.Column(conn.execute("SELECT first, last, vals FROM annotation_columns WHERE key = 'Big'")
                                 .fetchall())
    small = annotation_scan.ColumnCache(limit=big.nbytes + 1)
    assert annotation_columns.matching(conn, "Big", "~", "ee", columns=small) == [1]
    assert list(small.columns) == ["Big"]
    assert annotation_columns.matching(conn, "K", "~", "e", columns=small) == [3, 4]
    assert list(small.columns) == ["K"]  # the least recent goes
    assert sum(c.nbytes for _, c in small.columns.values()) <= small.limit


def test_a_column_built_on_an_older_one_answers_as_one_built_anew():
    """New crashes rewrite a key's last chunks: the cache keeps the column's unchanged front and decodes the rest
    (``Column(rows, base)``); after random writes (appended, rewritten, removed and escaped chunks, nulls) it
    answers as SQLite's LIKE and the numeric ordering over the same values."""
    rng = random.Random(11)
    conn = _conn()
    pool = ["Alpha", "beta", "gAmma", "12", "7", "delta\\x", 'q"uote', "", "nullable", "x\x00y"]
    chunks = {1 + 10 * n: [rng.choice(pool + [None]) for _ in range(10)] for n in range(8)}

    def store_chunks():
        conn.execute("DELETE FROM annotation_columns")
        conn.execute("DELETE FROM vals")
        _put(conn, sorted(chunks.items()))

    store_chunks()
    cache = annotation_scan.ColumnCache()
    for _ in range(40):
        change = rng.randrange(4)
        last = max(chunks)
        if change == 0:
            chunks[last + 10] = [rng.choice(pool + [None]) for _ in range(rng.randrange(1, 10))]
        elif change == 1:
            chunks[last] = [rng.choice(pool + [None]) for _ in range(rng.randrange(1, 10))]
        elif change == 2 and len(chunks) > 1:
            del chunks[last]
        else:
            middle = rng.choice(sorted(chunks))
            chunks[middle] = [rng.choice(pool) for _ in range(len(chunks[middle]))]
        store_chunks()
        for op, needle in [("~", "a"), ("^", "AL"), ("$", "a"), ("~", "null")]:
            got = annotation_columns.matching(conn, "K", op, needle, columns=cache)
            assert got == _like(conn, op, needle) == annotation_columns.matching(conn, "K", op, needle)
        expected = [r[0] for r in conn.execute(
            "SELECT crash FROM vals WHERE key = 'K' AND (CAST(value AS REAL) > ? AND trim(value) GLOB '*[0-9]*') "
            "ORDER BY crash", [8.0])]
        assert annotation_columns.matching(conn, "K", "num >", "8", columns=cache) == expected


def test_pages_of_an_annotation_search_in_date_order(store):
    """A search of one ``ann.KEY`` condition (or its negation) sorted by date pages by walking the date index over
    the condition's crashes (``search.annotation_set_page``): every page is the slice of all the matches ordered by
    date, then id, as SQL orders them (crashes sharing a date included), and the total is the number of matches;
    also after crashes were deleted (their values go with them) and their row ids used again."""
    rng = random.Random(3)

    def crashes(n: int, count: int) -> list[NewCrash]:
        return [NewCrash({"URL": f"https://{rng.choice(['Bank', 'shop', 'news'])}.example/?id={k}"},
                         submitted_at=f"2026-11-{1 + rng.randrange(20):02d}T10:00:{rng.randrange(3):02d}+00:00")
                for k in range(n, n + count)]

    store.add_many(crashes(0, 400))
    _check_pages(store)
    ids = [r[0] for r in store.db.conn.execute("SELECT crash_id FROM crashes ORDER BY id")]
    with store.db.write() as conn:
        conn.executemany("DELETE FROM crashes WHERE crash_id = ?", [(cid,) for cid in ids[-5:] + ids[100:130]])
    _check_pages(store)
    store.add_many(crashes(400, 3))  # the last row ids used again
    _check_pages(store)


def test_pages_of_a_short_annotation_list_bunched_in_time(store, monkeypatch):
    """A short list whose crashes the date walk meets late (all among the oldest) is paged by looking up its
    crashes' dates: the same pages."""
    monkeypatch.setattr(search, "DENSE_WALK", 8)  # a store of 400 crashes walked 8 at a time: the bound is hit
    store.add_many([NewCrash({"URL": f"https://{'bank' if n < 60 else 'shop'}.example/?id={n}"},
                             submitted_at=f"2026-11-{1 + n // 20:02d}T10:00:{n % 3:02d}+00:00")
                    for n in range(400)])
    _check_pages(store, walked=False)


def _check_pages(store, walked: bool = True) -> None:
    oracle = sqlite3.connect(":memory:")
    oracle.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, crash_id TEXT, submitted_at TEXT, value TEXT)")
    oracle.executemany("INSERT INTO c VALUES (?, ?, ?, ?)", [
        (rowid, cid, when, store.annotations(cid)["URL"])
        for rowid, cid, when in store.db.conn.execute("SELECT id, crash_id, submitted_at FROM crashes")])
    queries = [("ann.URL:~bank", "~", "bank"), ("ann.URL:^HTTPS://shop", "^", "https://shop"), ("ann.URL:$7", "$", "7"),
               ("!ann.URL:~bank", "~", "bank"), ("!ann.URL:$7", "$", "7")]
    for query, op, needle in queries if walked else queries[:1]:
        cond, params = _string_cond("value", op, needle)
        negated = query.startswith("!")
        if negated:
            cond = f"NOT ({cond})"
        for direction, sort in (("DESC", "-date"), ("ASC", "date")):
            ordered = [r[0] for r in oracle.execute(
                f"SELECT crash_id FROM c WHERE {cond} ORDER BY submitted_at {direction}, id {direction}", params)]
            assert len(ordered) > 20 if walked else len(ordered) == 60
            for offset, limit in ((0, 5), (7, 9), (len(ordered) - 3, 10)):
                result = store.search(query, sort=sort, offset=offset, limit=limit)
                assert result.total == len(ordered), query
                assert [h["crash_id"] for h in result.hits] == ordered[offset:offset + limit], (query, sort, offset)
        # the first pages come from the walk, or the lookup (the last one, past the matches, from the set in SQL)
        where = f"c.id IN {search._ANNOTATION_CRASHES}"
        page = search.annotation_set_page(store.db.conn, f"NOT coalesce({where}, 0)" if negated else where,
                                          ["URL", op, needle], "-date", 7, 9)
        assert page is not None and page[0] == len(ordered)
