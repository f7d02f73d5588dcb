"""Every crash's annotation values by key, in column chunks (``annotation_columns``, issue 27).

A row holds one key's values for a run of consecutive crash row ids ``first``..``last``: ``vals`` is a compressed
JSON array whose element ``i`` is the stored value (``store.terms.annotation_value_text``) of crash ``first + i``,
or null when that crash has no such annotation. Chunks of one key never overlap and hold at most :data:`CAP`
crashes; a bulk write of 500 crashes writes one row per key (and rewrites the key's previous chunk when it joins
it: :func:`write`), where the ``annotations`` table this replaces took one B-tree row per (key, crash): 1.39 KB a
crash with ``benchmarks/bench_store.py``'s 40 annotations, against 0.19 KB here, and ~0.04 ms a crash to write.

What reads them: ``ann.KEY`` searches other than ``=`` (which ``crash_terms``' annotation terms answer), through
the SQL function ``crashdesk_annotation_crashes(key, op, value)`` (:func:`register`), the ``ann.KEY`` facet
(:func:`facet`) and Top Crashers' per-crash values (:func:`values_for`). The matching keeps the SQL it replaces:
``~``/``^``/``$`` are SQLite's ``LIKE`` (ASCII letters without case, the value read up to a NUL character), the
orderings are ``search._Compiler.value_cond``'s SQL (plain digit strings and text compared here, where Python
gives the same answer; other values by SQLite itself on the key's distinct values), and ``null`` is "no value
for that key". Every condition reads the key's whole column: ``~``/``^``/``$`` through ``annotation_scan`` (the
JSON texts searched with numpy, the decoded column kept per connection), the others value by value (~25 ms for a
key of 100,000 crashes). The raw annotations (``crashes.raw``) stay the place to read a crash's own.
"""

from __future__ import annotations

import operator
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from crashdesk.store import codec

CAP = 1024  # crashes a chunk holds at most

_SELECT_BACK = ("SELECT first, last, vals FROM annotation_columns WHERE key = ? AND first <= ? "
                "ORDER BY first DESC")


def decode(blob: bytes) -> list[str | None]:
    return orjson.loads(codec.decompress(blob))


def encode(values: list[str | None]) -> bytes:
    return codec.compress(orjson.dumps(values))


def write(conn, changes: Mapping[str, Mapping[int, str | None]]) -> None:
    """Set values: ``changes`` maps a key to {crash row id: stored value, or None to take the crash's value
    away}. The key's chunks that overlap the changed crashes are merged with the changes, and so is each chunk
    that ends just before them while it is not full (spans fewer than :data:`CAP` crashes) and no longer than
    what is merged so far (so crashes written a few at a time grow chunks by doubling: each value is rewritten
    about log2(CAP) times, not once per write); the result is written again as chunks of at most :data:`CAP`
    crashes. A full chunk ends the merging: without that, once a merge passed CAP crashes every full chunk before
    it joined too, and bulk ingest re-read and rewrote about half of each key's column per batch."""
    for key, values in changes.items():
        if not values:
            continue
        lo, hi = min(values), max(values)
        start, end = lo, hi
        old = []
        for first, last, blob in conn.execute(_SELECT_BACK, (key, hi)):
            if last >= lo or (last == start - 1 and last - first + 1 < CAP and last - first + 1 <= end - start + 1):
                old.append((first, last, blob))
                start, end = min(start, first), max(end, last)
            else:
                break
        merged: list[str | None] = [None] * (end - start + 1)
        for first, _last, blob in old:
            chunk = decode(blob)
            merged[first - start:first - start + len(chunk)] = chunk
        for crash, value in values.items():
            merged[crash - start] = value
        if old:
            conn.executemany("DELETE FROM annotation_columns WHERE key = ? AND first = ?",
                             [(key, first) for first, _, _ in old])
        rows = []
        for at in range(0, len(merged), CAP):
            piece = merged[at:at + CAP]
            head = next((i for i, v in enumerate(piece) if v is not None), None)
            if head is None:
                continue
            tail = len(piece) - next(i for i, v in enumerate(reversed(piece)) if v is not None)
            rows.append((key, start + at + head, start + at + tail - 1, encode(piece[head:tail])))
        conn.executemany("INSERT INTO annotation_columns (key, first, last, vals) VALUES (?,?,?,?)", rows)


def by_key(crashes: Iterable[tuple[int, Iterable[tuple[str, str]]]]) -> dict[str, dict[int, str]]:
    """:func:`write`'s ``changes`` for new crashes: (row id, (key, stored value) pairs) each."""
    out: dict[str, dict[int, str]] = {}
    for rowid, pairs in crashes:
        for key, value in pairs:
            column = out.get(key)
            if column is None:
                column = out[key] = {}
            column[rowid] = value
    return out


def _chunks(conn, key: str):
    for first, blob in conn.execute("SELECT first, vals FROM annotation_columns WHERE key = ? ORDER BY first",
                                    (key,)):
        yield first, decode(blob)


def crashes_with(conn, key: str, test: Callable[[str], Any] | None = None) -> list[int]:
    """Row ids of the crashes with a value for ``key`` (that ``test`` accepts), ascending."""
    out: list[int] = []
    for first, values in _chunks(conn, key):
        if test is None:
            out.extend(first + i for i, v in enumerate(values) if v is not None)
        else:
            out.extend(first + i for i, v in enumerate(values) if v is not None and test(v))
    return out


def _like_matches(conn, key: str, op: str, value: str, columns=None) -> Sequence[int]:
    """The crashes whose ``key`` value is SQLite's ``LIKE`` for ``~`` (contains), ``^`` (starts with) or ``$``
    (ends with) the literal ``value`` (a list, or a numpy array of int64): ASCII letters match either case, nothing else is folded, and SQLite reads a
    text up to its first NUL (values and needle are cut there). The key's whole column is searched at once
    (``store.annotation_scan``; ``columns``: an ``annotation_scan.ColumnCache`` to take it from)."""
    from crashdesk.store import annotation_scan  # numpy: only these searches

    needle = annotation_scan.like_needle(value)
    if "\x00" in value:  # the pattern is read up to the NUL too: '%' + the needle (~, $) or the needle alone (^)
        if op == "^":
            return crashes_with(conn, key, annotation_scan.like_test("=", needle))
        op = "$"
    if not needle:  # LIKE '%' holds for every value
        return crashes_with(conn, key)
    if columns is None:
        column = annotation_scan.Column(conn.execute(
            "SELECT first, last, vals FROM annotation_columns WHERE key = ? ORDER BY first", (key,)).fetchall())
    else:
        column = columns.get(conn, key)
    return column.like(op, needle)


def matching(conn, key: str, op: str, value: str, condition: str = "", columns=None) -> list[int]:
    """Row ids of the crashes whose ``key`` value meets ``op value``: ``has`` (any value), ``~``, ``^``, ``$``,
    ``num >``/``text >`` (and ``>=``, ``<``, ``<=``: see :func:`_ordered`), or ``sql`` (``condition``, SQL over a
    column ``value`` with its parameter ``value``, run by SQLite on the key's distinct values). ``columns``: an
    ``annotation_scan.ColumnCache`` for ``has``, ``~``/``^``/``$`` and ``num`` orderings."""
    ids = _matching(conn, key, op, value, condition, columns)
    return ids if isinstance(ids, list) else ids.tolist()


def _matching(conn, key: str, op: str, value: str, condition: str = "", columns=None) -> Sequence[int]:
    if op == "has":
        return crashes_with(conn, key) if columns is None else columns.get(conn, key).present()
    if op in ("~", "^", "$"):
        return _like_matches(conn, key, op, value, columns)
    if op[:4] in ("num ", "text") and op[4:].strip() in _COMPARE:
        return _ordered(conn, key, op[:4].strip(), op[4:].strip(), value, columns)
    if op != "sql":
        raise ValueError(f"unknown annotation condition {op!r}")
    chunks = list(_chunks(conn, key))
    return _by_sql(conn, chunks, condition, orjson.loads(value), {v for _, vs in chunks for v in vs if v is not None})


_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_PLAIN_INTEGER = re.compile(r"[0-9]{1,15}\Z")  # float() and SQLite's CAST read these alike, exactly


def _ordered(conn, key: str, kind: str, op: str, value: str, columns=None) -> Sequence[int]:
    """``key``'s values ordered against ``value`` as the search compiler's SQL orders annotations: ``num``
    ``(CAST(value AS REAL) op ? AND trim(value) GLOB '*[0-9]*')`` with ``float(value)``, ``text`` ``value op ?``
    (BINARY: code point order, as Python compares). Plain digit strings are compared here (``num`` with
    ``columns``, an ``annotation_scan.ColumnCache``: over the whole column at once); any other value of a numeric
    comparison by SQLite itself."""
    compare = _COMPARE[op]
    if kind == "num" and columns is not None:
        condition = f"(CAST(value AS REAL) {op} ? AND trim(value) GLOB '*[0-9]*')"
        return columns.get(conn, key).ordered(
            op, float(value), _PLAIN_INTEGER, lambda rest: _accepted_by_sql(conn, condition, [float(value)], rest))
    chunks = list(_chunks(conn, key))
    distinct = {v for _, values in chunks for v in values if v is not None}
    if kind == "text":
        accepted = {v for v in distinct if compare(v, value)}
    else:
        bound = float(value)
        plain = {v for v in distinct if _PLAIN_INTEGER.match(v)}
        accepted = {v for v in plain if compare(float(v), bound)}
        rest = distinct - plain
        if rest:
            condition = f"(CAST(value AS REAL) {op} ? AND trim(value) GLOB '*[0-9]*')"
            accepted.update(_accepted_by_sql(conn, condition, [bound], rest))
    return [first + i for first, values in chunks for i, v in enumerate(values) if v is not None and v in accepted]


def _by_sql(conn, chunks, condition: str, params: list, distinct: set[str]) -> list[int]:
    if not distinct:
        return []
    accepted = _accepted_by_sql(conn, condition, params, distinct)
    return [first + i for first, values in chunks for i, v in enumerate(values) if v is not None and v in accepted]


def _accepted_by_sql(conn, condition: str, params: list, distinct: set[str]) -> set[str]:
    """The values of ``distinct`` SQLite's ``condition`` (over a column ``value``) holds for."""
    # json_each reads a string up to a NUL character: those values are bound one by one, as the column held them
    plain = sorted(v for v in distinct if "\x00" not in v)
    accepted = {plain[r[0]] for r in conn.execute(f"SELECT key FROM json_each(?) WHERE {condition}",
                                                  [orjson.dumps(plain).decode(), *params])}
    accepted.update(v for v in distinct if "\x00" in v and conn.execute(
        f"SELECT 1 FROM (SELECT ? AS value) WHERE {condition}", [v, *params]).fetchone())
    return accepted


def register(conn) -> None:
    """``crashdesk_annotation_crashes(key, op, value[, condition])``: a JSON array of :func:`matching`'s row ids
    (the search compiler's ``IN (SELECT value FROM json_each(...))``); ``crashdesk_annotation_ids(key, op,
    value)``: the same ids packed as native 64-bit integers (``array('q')``: ``search.annotation_set_page``);
    ``crashdesk_annotation_forget()``: drops those answers (a new search); ``crashdesk_annotation_unset(vals,
    i)``: a chunk without its element ``i`` (the delete trigger of ``crashes``)."""
    # a search asks twice (total, then the page): its answers, while unchanged. Each search starts without them
    # (``crashdesk_annotation_forget``, from ``search._register_functions``), so a repeated search does its work.
    cache: dict[tuple, tuple] = {}
    columns = _ColumnCacheSlot()  # the decoded columns of recently searched keys (created on first use)

    def answer(key: str, op: str, value: str, condition: str = "") -> Sequence[int]:
        state = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        args = (key, op, value, condition)
        found = cache.get(args)
        if found is not None and found[0] == state:
            return found[1]
        ids = _matching(conn, key, op, value, condition,
                        columns.get() if op in ("~", "^", "$", "has") or op.startswith("num ") else None)
        if len(cache) >= 16:
            cache.clear()
        cache[args] = (state, ids)
        return ids

    def crashes(key: str, op: str, value: str, condition: str = "") -> str:
        return orjson.dumps(answer(key, op, value, condition), option=orjson.OPT_SERIALIZE_NUMPY).decode()

    def packed(key: str, op: str, value: str) -> bytes:
        ids = answer(key, op, value)
        return ids.tobytes() if not isinstance(ids, list) else array("q", ids).tobytes()

    conn.create_function("crashdesk_annotation_crashes", 3, crashes)
    conn.create_function("crashdesk_annotation_crashes", 4, crashes)
    conn.create_function("crashdesk_annotation_ids", 3, packed)
    conn.create_function("crashdesk_annotation_forget", 0, cache.clear)
    conn.create_function("crashdesk_annotation_unset", 2, unset, deterministic=True)


class _ColumnCacheSlot:
    """A connection's ``annotation_scan.ColumnCache``, made when a search first needs it (it imports numpy)."""

    def __init__(self) -> None:
        self.cache = None

    def get(self):
        if self.cache is None:
            from crashdesk.store import annotation_scan  # numpy: only ann.KEY contains/starts/ends searches

            self.cache = annotation_scan.ColumnCache()
        return self.cache


def unset(blob: bytes, index: int) -> bytes:
    values = decode(blob)
    if 0 <= index < len(values):
        values[index] = None
    return encode(values)


def facet(conn, key: str, crash_ids: set[int] | None, size: int) -> list[tuple[str, int]]:
    """(value, crashes) of ``key`` among ``crash_ids`` (None: every crash), most first, then by value (the
    ``GROUP BY value ORDER BY n DESC, value`` of the SQL it replaces)."""
    counts: Counter[str] = Counter()
    for first, values in _chunks(conn, key):
        if crash_ids is None:
            counts.update(v for v in values if v is not None)
        else:
            counts.update(v for i, v in enumerate(values) if v is not None and first + i in crash_ids)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]


def has_key(conn, key: str) -> bool:
    return conn.execute("SELECT 1 FROM annotation_columns WHERE key = ? LIMIT 1", (key,)).fetchone() is not None


def values_for(conn, key: str, crash_ids: Iterable[int] | None = None) -> dict[int, str]:
    """{crash row id: value} of ``key``, for ``crash_ids`` (None: every crash with one)."""
    if crash_ids is None:
        return {first + i: v for first, values in _chunks(conn, key) for i, v in enumerate(values) if v is not None}
    out: dict[int, str] = {}
    first = last = -1
    values: list[str | None] = []
    for crash in sorted(crash_ids):
        if not first <= crash <= last:
            row = conn.execute("SELECT first, last, vals FROM annotation_columns WHERE key = ? AND first <= ? "
                               "ORDER BY first DESC LIMIT 1", (key, crash)).fetchone()
            if row is None or row[1] < crash:
                continue
            first, last, values = row[0], row[1], decode(row[2])
        v = values[crash - first]
        if v is not None:
            out[crash] = v
    return out


def crash_values(conn, crash: int) -> list[tuple[str, str]]:
    """(key, value) of one crash, by key (reads every key's chunk that covers it: for tests and tools)."""
    out = []
    for key, first, blob in conn.execute("SELECT key, first, vals FROM annotation_columns WHERE first <= ? AND "
                                         "last >= ? ORDER BY key", (crash, crash)):
        value = decode(blob)[crash - first]
        if value is not None:
            out.append((key, value))
    return out
