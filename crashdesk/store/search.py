"""Search over the crash store: the query language (``crashdesk.engine.query``) compiled to SQL, facets in
Crash Stats' shape, sorting and paging.

Public API (used by the UI, the CLI and sync)::

    result = store.search('product:Firefox version:>=120 function:~nsThread', facets=("signature",),
                          sort="-date", offset=0, limit=100)
    result.total, result.hits, result.facets     # facets: {"signature": [{"term": ..., "count": ...}]}
    result.to_json()                             # {"total", "hits", "facets"}

Matching is case-insensitive everywhere except annotation *keys* (``ann.URL`` is not ``ann.url``).
Column fields compare on ``crashes``; ``module``/``module_version``/``debug_id``/``debug_file`` on the
loaded modules (``module:NAME@VERSION`` ties name and version to the same module); ``function``/``file`` on
the crashing thread's frames (their names' dictionaries and the ``f``/``p`` terms of ``crash_terms``);
``ann.KEY`` on the annotation terms (``=``) and ``store.annotation_columns`` (the other conditions); bare words
and phrases on the FTS5 index (signature, frame functions, annotation values; a bare word is a prefix match). On
large stores, totals, first pages and facets of filtered queries come from the facet index
(``crashdesk.store.facet_query``) where it can answer them, with the same results; a search without facets only
when every term is one the index holds (column and module terms: the kept index loaded and patched on a store of
:data:`ROWS_INDEX_MIN_CRASHES` or more, or once a facet search built it).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from crashdesk.engine.query import (
    ANN_KIND,
    ANNOTATION,
    DATE,
    NUMBER,
    ORDERING,
    OS_ALIASES,
    THREAD_FIELDS,
    VERSION,
    And,
    DateValue,
    FullText,
    Node,
    Not,
    Or,
    QueryTooLargeError,
    Term,
    field_kind,
    parse_query,
)
from crashdesk.engine.spikes import BASELINE_DAYS
from crashdesk.errors import UsageError
from crashdesk.model.versions import version_key
from crashdesk.store import annotation_columns, thread_search
from crashdesk.store.terms import annotation_token, match_any, ranked_values

HIT_COLUMNS = ("crash_id", "signature", "server_signature", "proto_signature", "product", "version",
               "build_id", "channel", "os", "os_version", "cpu", "reason", "address", "source", "state",
               "date", "received_at", "processed_at")
_HIT_SQL = {"date": "c.submitted_at"}

# query field -> column of ``crashes``
COLUMNS = {
    "signature": "c.signature", "server_signature": "c.server_signature", "proto_signature": "c.proto_signature",
    "reason": "c.reason", "product": "c.product", "version": "c.version", "os": "c.os",
    "os_version": "c.os_version", "cpu": "c.cpu", "address": "c.address", "build_id": "c.build_id",
    "channel": "c.channel", "source": "c.source", "state": "c.state", "crash_id": "c.crash_id",
    "date": "c.submitted_at", "processed": "c.processed_at",
}
MODULE_COLUMNS = {"module": "m.filename", "module_version": "m.version", "debug_id": "m.debug_id",
                  "debug_file": "m.debug_file"}
# query field -> (name dictionary, its term prefix in crash_terms)
FRAME_COLUMNS = {"function": ("function_names", "f"), "file": ("file_names", "p")}

SORTS = {
    "date": "c.submitted_at", "processed": "c.processed_at", "received": "c.received_at",
    "signature": "c.signature COLLATE NOCASE", "server_signature": "c.server_signature COLLATE NOCASE",
    "product": "c.product COLLATE NOCASE", "version": "c.version_key", "os": "c.os COLLATE NOCASE",
    "cpu": "c.cpu", "build_id": "c.build_id", "channel": "c.channel", "source": "c.source",
    "state": "c.state", "crash_id": "c.crash_id", "reason": "c.reason",
}
COVER_INDEX = "crashes_search_cover"
COVER_COLUMNS = {"submitted_at", "product", "version_key", "version", "os", "cpu", "channel", "source", "state",
                 "signature"}
SCAN_THRESHOLD = 2000  # matches above which set-membership terms are probed during an index walk
# A full-text word that matches a large share of the store is paged by walking the sort index and probing the
# full-text index per crash (~60 us a probe at 100k crashes) instead of copying every match into a temporary
# set (~0.4 us a match): worth it when the walk visits fewer crashes than matches / PROBE_RATIO.
PROBE_RATIO = 150
_FULLTEXT_SET = "c.id IN (SELECT rowid FROM crash_fts WHERE crash_fts MATCH ?)"
_FULLTEXT_PROBE = "EXISTS (SELECT 1 FROM crash_fts f WHERE f.rowid = c.id AND crash_fts MATCH ?)"
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
NOT_NULL_SORTS = {"date", "received", "source", "state", "crash_id"}
FACET_COLUMNS = {
    "signature": "c.signature COLLATE NOCASE", "server_signature": "c.server_signature COLLATE NOCASE",
    "proto_signature": "c.proto_signature", "product": "c.product COLLATE NOCASE", "version": "c.version",
    "os": "c.os COLLATE NOCASE", "os_version": "c.os_version", "cpu": "c.cpu", "channel": "c.channel",
    "source": "c.source", "state": "c.state", "reason": "c.reason", "build_id": "c.build_id",
    "address": "c.address",
}
FACETS = (*FACET_COLUMNS, "module", "module_version", thread_search.FACET, "ann.KEY")


# A store this small counts facets with SQL in well under 100 ms: "auto" builds the facet index (and imports
# numpy) only for facets over a larger one, or uses it once some search built it.
INDEX_MIN_CRASHES = 10_000


# Rows and totals without facets (the crash list's pages) come from the index for queries it answers on its
# own (column and module terms) once it is built, or on a store this large when its kept file can be loaded
# and patched (~0.2 s once at a million crashes; never built for such a search: ~15 s there).
ROWS_INDEX_MIN_CRASHES = 200_000


def rows_from_index(root: Node, now: dt.datetime) -> bool:
    """Whether a search without facets is answered from the index (on a large store, or once it is built):
    only a query the index answers on its own (column and module terms; it has no faster way to a large set
    of crash ids from SQLite than the SQL path's plans), and not one signature equality (the SQL path counts
    and pages it on the signature's own index, a rare one in well under a millisecond)."""
    from crashdesk.store import facet_query  # numpy and the index: only once a search wants them

    if isinstance(root, Term) and root.op == "=" and not root.negate and root.field in ("signature",
                                                                                      "server_signature"):
        return False
    return facet_query.native(root, now)


def _stack_terms(root: Node) -> bool:
    """Whether a query has a term the stack index answers (``stack:``, every-thread ``function:``): from
    :data:`INDEX_MIN_CRASHES` crashes on, the SQL path's per-candidate matching costs more than the index."""
    from crashdesk.store import stack_query  # numpy and the index: only once a search wants them

    return stack_query.anywhere(root)


def _crash_rows(conn) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM crashes").fetchone()[0]


class BadSearchRequest(UsageError):
    """An unknown sort or facet field, or a negative offset/limit."""


@dataclass(slots=True)
class SearchResult:
    """One page of hits, the total number of matches, and the requested facets."""

    total: int
    hits: list[dict[str, Any]] = field(default_factory=list)
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "hits": self.hits, "facets": self.facets}


# ---------------------------------------------------------------------------------------------- compiler


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string_cond(column: str, op: str, value: str) -> tuple[str, list[Any]]:
    if op == "=":
        return f"{column} = ? COLLATE NOCASE", [value]
    pattern = {"~": "%{}%", "^": "{}%", "$": "%{}"}[op].format(_like_escape(value))
    return f"{column} LIKE ? ESCAPE '\\'", [pattern]


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


# the crashes an ann.KEY condition selects (crashdesk.store.annotation_columns), with parameters key, op, value
_ANNOTATION_CRASHES = "(SELECT value FROM json_each(crashdesk_annotation_crashes(?, ?, ?)))"
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class _Compiler:
    def __init__(self, now: dt.datetime, scan: bool = False) -> None:
        self.now = now
        # "+c.id IN (...)" keeps SQLite from looking crashes up by rowid one match at a time (each lookup reads
        # a wide row); with it the planner walks an index in the wanted order and probes the set instead,
        # which is what a large match set needs
        self.cid = "+c.id" if scan else "c.id"
        self.columns: set[str] = set()   # crashes columns the condition reads
        self.selective = False           # an equality on a unique-ish indexed column (signature, crash id)

    def node(self, node: Node, top: bool = False) -> tuple[str, list[Any]]:
        # As few parentheses as SQL's precedence allows: SQLite's parser stack is shallow (about 100
        # entries), and each nested parenthesis costs a few, so nested groups run out of it early.
        if isinstance(node, And | Or):
            parts = [self.node(item) for item in thread_search.without_implied_scopes(node)]
            joiner = " AND " if isinstance(node, And) else " OR "
            sql = joiner.join(p[0] for p in parts)  # an OR inside an AND comes back in parentheses
            return (f"({sql})" if isinstance(node, Or) and not top else sql), [x for p in parts for x in p[1]]
        if isinstance(node, Not):
            sql, params = self.node(node.item, top=True)
            return f"NOT coalesce({sql}, 0)", params  # a missing value is "not that value", as for terms
        if isinstance(node, FullText):
            return self.fulltext(node)
        return self.term(node)

    def fulltext(self, node: FullText) -> tuple[str, list[Any]]:
        text = node.text.replace('"', '""')
        if not re.search(r"\w", node.text):
            return "1", []  # nothing the tokenizer would index (punctuation only): no constraint
        match = f'"{text}"' if node.phrase else f'"{text}"*'
        return f"{self.cid} IN (SELECT rowid FROM crash_fts WHERE crash_fts MATCH ?)", [match]

    def term(self, t: Term) -> tuple[str, list[Any]]:
        if t.annotation_key is not None:
            sql, params = self.annotation(t)
        elif t.field in COLUMNS:
            sql, params = self.column(t)
        elif t.field in MODULE_COLUMNS:
            sql, params = self.module(t)
        elif t.field == "trend":
            sql, params = self.trend(t)
        elif t.field in THREAD_FIELDS or t.thread is not None:
            sql, params = thread_search.compile_term(self, t)
        else:
            sql, params = self.frame(t)
        if t.negate:
            sql = f"NOT coalesce({sql}, 0)"
        return sql, params

    def value_cond(self, column: str, t: Term, kind: str, version_column: str | None = None
                   ) -> tuple[str, list[Any]]:
        """The condition ``column <op> value`` for a string/version/number/date term (not null)."""
        value = t.value
        if kind == DATE:
            assert isinstance(value, DateValue)
            when = value.resolve(self.now)
            if t.op == "=":
                if value.day:
                    return f"({column} >= ? AND {column} < ?)", [_iso(when), _iso(when + dt.timedelta(days=1))]
                if value.age is not None:
                    return f"{column} >= ?", [_iso(when)]
                return f"{column} = ?", [_iso(when)]
            if value.day and t.op in (">", "<="):
                when = when + dt.timedelta(days=1)  # after / up to and including that day
                return f"{column} {'>=' if t.op == '>' else '<'} ?", [_iso(when)]
            return f"{column} {t.op} ?", [_iso(when)]
        assert isinstance(value, str)
        if t.op in ORDERING:
            if kind == VERSION:
                col = version_column or f"version_key({column})"
                return f"({col} {t.op} ? AND {col} != '')", [version_key(value)]
            if kind == NUMBER:
                return f"(CAST({column} AS INTEGER) {t.op} ? AND {column} GLOB '[0-9]*')", [int(value)]
            # annotations: numbers compare as numbers, anything else as text
            if _NUMERIC.match(value.strip()):
                return (f"(CAST({column} AS REAL) {t.op} ? AND trim({column}) GLOB '*[0-9]*')",
                        [float(value)])
            return f"{column} {t.op} ?", [value]
        return _string_cond(column, t.op, value)

    def column(self, t: Term) -> tuple[str, list[Any]]:
        column = COLUMNS[t.field]
        self.columns.add("version_key" if t.field == "version" and t.op in ORDERING else column[2:])
        if t.op == "=" and not t.negate and t.field in ("signature", "server_signature", "crash_id"):
            self.selective = True
        if t.op == "null":
            return f"({column} IS NULL OR {column} = '')", []
        if t.field == "signature" and t.op in ("~", "^", "$") and isinstance(t.value, str) and len(t.value) >= 3:
            # the matching names from the signature dictionary's trigram index, then the signature index
            self.selective = True
            pattern = _string_cond("name", t.op, t.value)[1][0]
            return (f"{column} COLLATE NOCASE IN (SELECT name FROM signature_names WHERE id IN "
                    f"(SELECT rowid FROM signature_names_fts WHERE name LIKE ? ESCAPE '\\'))", [pattern])
        if t.field == "os" and t.op == "=" and isinstance(t.value, str) and t.value.lower() in OS_ALIASES:
            names = OS_ALIASES[t.value.lower()]
            return f"{column} COLLATE NOCASE IN ({', '.join('?' * len(names))})", list(names)
        kind = field_kind(t.field)
        return self.value_cond(column, t, kind, "c.version_key" if t.field == "version" else None)

    def annotation(self, t: Term) -> tuple[str, list[Any]]:
        key = t.annotation_key
        if t.op == "null":
            return f"{self.cid} NOT IN {_ANNOTATION_CRASHES}", [key, "has", ""]
        if t.op == "=" and isinstance(t.value, str):
            # the crashes holding that key/value term (case-insensitive as NOCASE: see store.terms)
            return (f"{self.cid} IN (SELECT rowid FROM crash_terms WHERE crash_terms MATCH ?)",
                    [annotation_token(key or "", t.value)])
        if t.op in ("~", "^", "$") and isinstance(t.value, str):  # SQLite's LIKE, in annotation_columns
            return f"{self.cid} IN {_ANNOTATION_CRASHES}", [key, t.op, t.value]
        if t.op in ORDERING and isinstance(t.value, str) and field_kind(t.field) == ANN_KIND:
            # value_cond's rule: numbers compare as numbers, anything else as text
            kind = "num " if _NUMERIC.match(t.value.strip()) else "text"
            return f"{self.cid} IN {_ANNOTATION_CRASHES}", [key, kind + t.op, t.value]
        # any other condition: its SQL, run by SQLite on the key's distinct values (store.annotation_columns)
        cond, params = self.value_cond("value", t, field_kind(t.field))
        return (f"{self.cid} IN (SELECT value FROM json_each(crashdesk_annotation_crashes(?, 'sql', ?, ?)))",
                [key, orjson.dumps(params).decode(), cond])

    def module(self, t: Term) -> tuple[str, list[Any]]:
        if t.op == "null":
            return f"{self.cid} NOT IN (SELECT crash FROM crash_module_links)", []
        ids_sql, params = self.module_ids(t)
        ids = match_any("m", ids_sql)
        return f"{self.cid} IN (SELECT rowid FROM crash_terms WHERE crash_terms MATCH {ids})", params

    def module_ids(self, t: Term) -> tuple[str, list[Any]]:
        """SQL selecting the ids of the ``modules`` rows a module term names (not ``null``)."""
        column = MODULE_COLUMNS[t.field]
        cond, params = self.value_cond(column, t, field_kind(t.field))
        if t.module_version is not None:
            vop, version = t.module_version
            vterm = Term("module_version", vop, version)
            vcond, vparams = self.value_cond("m.version", vterm, VERSION)
            cond, params = f"{cond} AND {vcond}", [*params, *vparams]
        return f"SELECT m.id FROM modules m WHERE {cond}", params

    def trend(self, t: Term) -> tuple[str, list[Any]]:
        """``trend:spike``: crashes whose signature spikes now over the whole store (the last 24 hours
        against the 7 days before; rule in :mod:`crashdesk.engine.spikes`)."""
        if t.op != "=" or not isinstance(t.value, str) or t.value.lower() != "spike":
            raise BadSearchRequest(f"trend takes one value, spike (trend:spike), not {t.value!r}")
        last, first = self.now - dt.timedelta(days=1), self.now - dt.timedelta(days=BASELINE_DAYS + 1)
        self.selective = True
        return ("c.signature IN (SELECT s.signature FROM crashes s WHERE s.submitted_at >= ? AND "
                "s.submitted_at < ? AND s.signature IS NOT NULL GROUP BY s.signature "
                "HAVING crashdesk_spike(sum(s.submitted_at >= ?), sum(s.submitted_at < ?)))",
                [_iso(first), _iso(self.now), _iso(last), _iso(last)])

    def frame(self, t: Term) -> tuple[str, list[Any]]:
        """``function``/``file`` on the stored frames, through their terms in ``crash_terms`` (``f<id>`` over
        ``function_names``, ``p<id>`` over ``file_names``; see :mod:`crashdesk.store.terms`)."""
        table, prefix = FRAME_COLUMNS[t.field]
        if t.op == "null":  # no stored frame has one: no term of that kind (a prefix query; no other term of
            # crash_terms starts with f or p)
            return f"{self.cid} NOT IN (SELECT rowid FROM crash_terms WHERE crash_terms MATCH '{prefix}*')", []
        value = t.value
        assert isinstance(value, str)
        # resolve the matching names in the name dictionary, then the crashes through their terms
        if t.op == "=":
            names = f"SELECT id FROM {table} WHERE name = ? COLLATE NOCASE"
            params: list[Any] = [value]
        elif len(value) >= 3:
            names = f"SELECT rowid AS id FROM {table}_fts WHERE name LIKE ? ESCAPE '\\'"
            params = [_string_cond("name", t.op, value)[1][0]]
        else:
            cond, params = _string_cond("name", t.op, value)
            names = f"SELECT id FROM {table} WHERE {cond}"
        ids = match_any(prefix, names)
        return f"{self.cid} IN (SELECT rowid FROM crash_terms WHERE crash_terms MATCH {ids})", params


def compile_query(query: str, now: dt.datetime | None = None, *, scan: bool = False) -> tuple[str, list[Any]]:
    """The SQL condition (over ``crashes c``) and its parameters for ``query``; ``"1"`` for the empty query.
    ``scan`` words set-membership terms for large match sets (see :class:`_Compiler`).
    Raises :class:`crashdesk.engine.query.QueryError` (with the position) for a bad query."""
    where, params, _ = _compile(query, now, scan)
    return where, params


def _compile(query: str, now: dt.datetime | None, scan: bool) -> tuple[str, list[Any], _Compiler]:
    return _compile_root(parse_query(query).root, now, scan)


def _compile_root(root: Node | None, now: dt.datetime | None, scan: bool) -> tuple[str, list[Any], _Compiler]:
    compiler = _Compiler(now or dt.datetime.now(dt.UTC), scan)
    if root is None:
        return "1", [], compiler
    where, params = compiler.node(root)
    return where, params, compiler


# ---------------------------------------------------------------------------------------------- running


def _order_by(sort: str | Sequence[str]) -> str:
    keys = [sort] if isinstance(sort, str) else list(sort)
    parts: list[str] = []
    direction = "DESC"
    for key in keys:
        key = key.strip()
        if not key:
            continue
        direction = "DESC" if key.startswith("-") else "ASC"
        name = key.lstrip("-+")
        name = {"uuid": "crash_id", "submitted": "date"}.get(name, name)
        if name not in SORTS:
            raise BadSearchRequest(f"cannot sort by {name!r} (sort fields: {', '.join(sorted(SORTS))})")
        column = SORTS[name]
        # missing values last, as Crash Stats does: SQLite sorts NULL first, so DESC already puts them last
        # (and keeps the index usable); ASC on a nullable column asks for it
        nulls = " NULLS LAST" if direction == "ASC" and name not in NOT_NULL_SORTS else ""
        parts.append(f"{column} {direction}{nulls}")
    parts.append(f"c.id {direction}")
    return ", ".join(parts)


def _single_set(where: str) -> bool:
    """Whether ``c.id IN (...)`` is one term (not ``c.id IN (a) AND c.id IN (b)``)."""
    depth = 0
    for n, ch in enumerate(where):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return n == len(where) - 1
    return False


def _register_functions(conn) -> None:
    conn.create_function("version_key", 1, version_key, deterministic=True)
    conn.execute("SELECT crashdesk_annotation_forget()")  # no ann.KEY answers kept from an earlier search


def fulltext_probe(conn, where: str, params: list[Any], wanted: int) -> tuple[int, str, list[Any]] | None:
    """A plan for a query that is one bare full-text word (a prefix match, ``"word"*``) when the full-text
    vocabulary holds the word as a token and no longer token starting with it (so the exact token matches the
    same crashes) and the token is in so many crashes that walking the sort index and probing the index per
    crash finds the ``wanted`` first ones sooner than copying every match into a set (probing for a token is
    cheap, for a prefix costly). Returns (total, condition, params), or None to build the set."""
    if where != _FULLTEXT_SET or len(params) != 1 or not isinstance(params[0], str):
        return None
    word = params[0].removeprefix('"').removesuffix('"*')
    if params[0] != f'"{word}"*' or not _ASCII_WORD.fullmatch(word):
        return None  # unicode61 folds ASCII letters to lower case only; other words take the general path
    token = word.lower()
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.crash_fts_vocab USING fts5vocab(main, crash_fts, row)")
    terms = conn.execute("SELECT term, doc FROM temp.crash_fts_vocab WHERE term >= ? AND term < ? LIMIT 2",
                         (token, token[:-1] + chr(ord(token[-1]) + 1))).fetchall()
    if len(terms) != 1 or terms[0][0] != token:
        return None
    total = terms[0][1]
    crashes = conn.execute("SELECT max(id) FROM crashes").fetchone()[0] or 0
    if wanted * crashes / max(total, 1) * PROBE_RATIO >= total:
        return None
    return total, _FULLTEXT_PROBE, [f'"{word}"']


_TERMS_SET = re.compile(r"c\.id IN \(SELECT rowid FROM (crash_fts|crash_terms|thread_terms) WHERE \1 MATCH ")
_DATE_ORDER = {"date": "ASC", "+date": "ASC", "submitted": "ASC", "+submitted": "ASC", "-date": "DESC",
               "-submitted": "DESC"}
DENSE_WALK = 4096  # crashes per step of the date walk in dense_set_page
# dense_set_page takes a query whose page is expected within this many steps of the walk (matches spread over
# time): a sparser one pays a rowid-range lookup per step that costs more than building its (smaller) set
DENSE_STEPS = 0.5
# Counting a set that then proves too sparse for the walk is wasted (as costly as building the set for one of a
# few thousand matches): worth it only where the dense sets' gain is large (at 100k crashes +-5 ms either way;
# at a million 80-100 ms saved on the dense ones, up to ~12 ms lost on a sparse one)
DENSE_MIN_CRASHES = 200_000


def dense_set_page(conn, where: str, params: list[Any], sort: str | Sequence[str], offset: int, limit: int
                   ) -> tuple[int, list[int]] | None:
    """(total, the page's crash ids) for a query that is one term of the term indexes (full text, crashing
    thread or every-thread terms) matching so large a share of the store that its first page in date order is
    among the first few thousand crashes of the date index: the total is counted from the index (no copy of
    every match into a set, ~3 times the cost at half a million matches), and the page is the date index
    walked in steps, each step's crashes looked up in the term index by their rowid range. None when the
    query or sort is not of that kind, or the walk runs past its bound (the set is built as before)."""
    keys = [sort] if isinstance(sort, str) else [k for k in sort if k.strip()]
    direction = _DATE_ORDER.get(keys[0].strip()) if len(keys) == 1 else None
    if direction is None or not _TERMS_SET.match(where) or not _single_set(where):
        return None
    inner = where[len("c.id IN ("):-1]
    wanted = offset + limit
    crashes = conn.execute("SELECT coalesce(max(id), 0) FROM crashes").fetchone()[0]
    if crashes < DENSE_MIN_CRASHES or wanted * 8 > crashes:  # a smaller store, a deep page: the set as before
        return None
    total = conn.execute(f"SELECT count(*) FROM ({inner})", params).fetchone()[0]
    bound = 4 * DENSE_WALK
    if total == 0 or wanted * crashes / total > DENSE_STEPS * DENSE_WALK:
        return (0, []) if total == 0 else None
    picked: list[int] = []
    visited = 0
    cur = conn.execute(f"SELECT id FROM crashes INDEXED BY crashes_submitted "
                       f"ORDER BY submitted_at {direction}, id {direction}")
    try:
        while len(picked) < wanted:
            if visited >= bound:
                return None
            ids = [r[0] for r in cur.fetchmany(DENSE_WALK)]
            if not ids:
                break
            visited += len(ids)
            found = {r[0] for r in conn.execute(f"SELECT rowid FROM ({inner}) WHERE rowid BETWEEN ? AND ?",
                                                [*params, min(ids), max(ids)])}
            picked.extend(i for i in ids if i in found)
    finally:
        cur.close()
    return total, picked[offset:wanted]


_ANNOTATION_SET = re.compile(re.escape(f"c.id IN {_ANNOTATION_CRASHES}") + r"\Z")
_ANNOTATION_NOT_SET = re.compile(re.escape(f"NOT coalesce(c.id IN {_ANNOTATION_CRASHES}, 0)") + r"\Z")


# a short ann.KEY list is sorted by looking up each crash's date (~5 us a crash) when the date walk would visit
# more than this many crashes per listed crash (~0.25 us each), or ran past its bound (matches bunched in time)
LOOKUP_RATIO = 20
LOOKUP_MAX = 20_000  # above this many, a list whose walk ran past its bound goes to SQL (its walk is in C)


def annotation_set_page(conn, where: str, params: list[Any], sort: str | Sequence[str], offset: int, limit: int
                        ) -> tuple[int, list[int]] | None:
    """(total, the page's crash ids) for a query that is one ``ann.KEY`` condition answered by
    ``store.annotation_columns`` (an ascending list of crash ids made in Python), or its negation, sorted by date:
    the total is the list's length (negated: the crashes less the list's length; the list holds crashes only: the
    delete trigger of ``crashes`` takes a crash's values away) and the page the date index walked until it holds
    enough of them, instead of copying the list into a temporary table (~20 ms for 100,000 ids) or testing every
    crash against it; a short list whose crashes the walk would meet late has its crashes' dates looked up and
    sorted instead. None for another query or sort, or when neither pays (the function's last answer is kept, so
    the SQL that runs instead does not compute it again)."""
    keys = [sort] if isinstance(sort, str) else [k for k in sort if k.strip()]
    direction = _DATE_ORDER.get(keys[0].strip()) if len(keys) == 1 else None
    negated = direction is not None and _ANNOTATION_NOT_SET.match(where) is not None
    if direction is None or not (negated or _ANNOTATION_SET.match(where)):
        return None
    ids = array("q")
    ids.frombytes(conn.execute("SELECT crashdesk_annotation_ids(?, ?, ?)", params).fetchone()[0])
    wanted = offset + limit
    total = conn.execute("SELECT count(*) FROM crashes").fetchone()[0] - len(ids) if negated else len(ids)
    if total <= wanted:
        return (0, []) if total <= 0 else None
    crashes = conn.execute("SELECT coalesce(max(id), 0) FROM crashes").fetchone()[0]
    expected = wanted * crashes / total  # crashes of the date walk that hold the page, if spread over time

    def looked_up() -> tuple[int, list[int]] | None:
        if negated or total > LOOKUP_MAX:
            return None
        return total, [r[0] for r in conn.execute(
            f"SELECT id FROM crashes WHERE {where[len('c.'):]} ORDER BY submitted_at {direction}, id {direction} "
            f"LIMIT ? OFFSET ?", [*params, limit, offset])]

    if expected > LOOKUP_RATIO * total or expected > max(total, DENSE_WALK):
        return looked_up()
    picked: list[int] = []
    visited = 0
    cur = conn.execute(f"SELECT id FROM crashes INDEXED BY crashes_submitted "
                       f"ORDER BY submitted_at {direction}, id {direction}")
    try:
        while len(picked) < wanted:
            if visited > 4 * expected + DENSE_WALK:
                return looked_up()
            step = [r[0] for r in cur.fetchmany(DENSE_WALK)]
            if not step:
                break
            visited += len(step)
            if not ids:
                picked.extend(step)
            else:
                picked.extend(i for i in step if (ids[min(bisect_left(ids, i), len(ids) - 1)] == i) != negated)
    finally:
        cur.close()
    return total, picked[offset:wanted]


def facet_counts(conn, facet: str, where: str, params: list[Any], size: int = 50, *, use_cover: bool = False
                 ) -> list[dict[str, Any]]:
    """Counts of ``facet`` values over the crashes matching ``where``, biggest first. ``use_cover`` reads the
    crashes through the narrow covering index (for large match sets on columns it holds)."""
    everything = where == "1"
    crash_filter = "" if everything else f"AND {{col}} IN (SELECT c.id FROM crashes c WHERE {where})"
    if facet in FACET_COLUMNS:
        column = FACET_COLUMNS[facet]
        bare = column.split(" ")[0]
        source = "crashes c" + (f" INDEXED BY {COVER_INDEX}" if use_cover and bare[2:] in COVER_COLUMNS else "")
        # min(): a deterministic spelling for a group that ignores case ("Firefox" and "firefox")
        sql = (f"SELECT min({bare}) AS t, count(*) AS n FROM {source} WHERE {where} GROUP BY {column} "
               f"ORDER BY n DESC, t COLLATE BINARY LIMIT ?")
        rows = [(t, n) for t, n in conn.execute(sql, [*params, size + 2]) if t is not None and t != ""][:size]
    elif facet in ("module", "module_version"):
        # count links per module row on the (module, crash) index, then add up the rows that share a file
        # name (or name@version): a crash counts once per module row it loaded
        if everything:
            per_module = conn.execute("SELECT module, crashes FROM module_counts WHERE crashes > 0").fetchall()
        else:
            # each matching crash's module list (a JSON array of ids, each id once), counted here: SQLite's
            # json_each + GROUP BY takes ~0.5 µs per link, 30 s for 60,000 crashes of 150 modules
            counter: Counter[int] = Counter()
            sql = f"SELECT l.modules FROM crash_module_links l WHERE 1 {crash_filter.format(col='l.crash')}"
            for (ids,) in conn.execute(sql, params):
                counter.update(orjson.loads(ids))
            per_module = list(counter.items())
        rows = module_totals(conn, facet, per_module, size)
    elif facet == thread_search.FACET:
        return thread_search.facet(conn, where, params, size)
    elif facet.startswith(ANNOTATION + ".") and len(facet) > len(ANNOTATION) + 1:
        key = facet[len(ANNOTATION) + 1:]
        crash_ids = None if everything else {r[0] for r in conn.execute(
            f"SELECT c.id FROM crashes c WHERE {where}", params)}
        rows = annotation_columns.facet(conn, key, crash_ids, size)
    else:
        raise BadSearchRequest(f"cannot facet on {facet!r} (facets: {', '.join(FACETS)})")
    return [{"term": term, "count": n} for term, n in rows]


def module_totals(conn, facet: str, per_module: list[tuple[int, int]], size: int) -> list[tuple[str, int]]:
    """(term, count) for the ``module``/``module_version`` facet from (modules.id, crashes) pairs: the rows
    that share a file name (or name@version) added up, biggest first."""
    names: dict[int, str] = {}
    ids = [m for m, _ in per_module]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        term = "filename" if facet == "module" else "filename || '@' || version"
        names.update(conn.execute(f"SELECT id, {term} FROM modules WHERE id IN ({','.join('?' * len(chunk))})",
                                  chunk).fetchall())
    totals: dict[str, int] = {}
    for module_id, n in per_module:
        key = names.get(module_id)
        if key is not None:
            totals[key] = totals.get(key, 0) + n
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:size]


_SEP = "\x1e\x1f"  # between values in column_facets_one_pass (record + unit separators)


def column_facets_one_pass(conn, facets: Sequence[str], where: str, params: list[Any], size: int = 50, *,
                           use_cover: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Counts for several column facets (:data:`FACET_COLUMNS`) from one read of the matching crashes, the
    same terms and order as :func:`facet_counts` (a case-insensitive group is named by its smallest
    spelling). SQLite groups by sorting, about 100 ms per facet for 60,000 crashes; here one scan hands each
    column's values over as one string and Python counts them. A facet whose values contain the separator
    (the count comes out wrong) is counted by :func:`facet_counts` instead."""
    bare = [FACET_COLUMNS[f].split(" ")[0] for f in facets]
    cover = use_cover and all(b[2:] in COVER_COLUMNS for b in bare)
    source = "crashes c" + (f" INDEXED BY {COVER_INDEX}" if cover else "")
    parts = [f"group_concat({b}, '{_SEP}'), count({b})" for b in bare]
    row = conn.execute(f"SELECT {', '.join(parts)} FROM {source} WHERE {where}", params).fetchone()
    out: dict[str, list[dict[str, Any]]] = {}
    for n, facet in enumerate(facets):
        joined, expected = row[2 * n], row[2 * n + 1]
        values = joined.split(_SEP) if isinstance(joined, str) else []
        if len(values) != expected:  # a value holding the separator (or not text): let SQLite group them
            out[facet] = facet_counts(conn, facet, where, params, size, use_cover=use_cover)
            continue
        ranked = ranked_values(Counter(values).items(), "NOCASE" in FACET_COLUMNS[facet], size)
        out[facet] = [{"term": term, "count": count} for term, count in ranked]
    return out


def search(store, query: str = "", *, facets: Sequence[str] = (), sort: str | Sequence[str] = "-date",
           offset: int = 0, limit: int = 100, facets_size: int = 50,
           now: dt.datetime | None = None, engine: str = "auto", cancel: Callable[[], bool] | None = None
           ) -> SearchResult:
    """Run ``query`` against ``store`` (a :class:`~crashdesk.store.crashes.CrashStore`).

    ``facets`` names fields to count (:data:`FACETS`; ``ann.KEY`` for any annotation) in Crash Stats' shape;
    ``sort`` is a field with an optional ``-`` for descending (or a list of them); ``offset``/``limit`` page
    (no cap on ``limit``; 0 returns only the total and facets). Raises
    :class:`~crashdesk.engine.query.QueryError` for a bad query and :class:`BadSearchRequest` for a bad
    sort/facet/page.

    ``engine``: ``"auto"`` answers from the facet index (:mod:`crashdesk.store.facet_query`) when facets are
    asked for on a store of :data:`INDEX_MIN_CRASHES` or more (building it on first use) or it is already
    built, else from SQL; ``"sql"`` forces SQL and
    ``"index"`` the index whenever it can answer (benchmarks and tests compare them). ``cancel``: a callable
    polled while the search runs (its SQL is interrupted when it returns true: ``sqlite3.OperationalError``;
    building the index is never interrupted)."""
    if engine not in ("auto", "sql", "index"):
        raise BadSearchRequest(f"unknown search engine {engine!r}")
    try:
        return _search(store, query, facets=facets, sort=sort, offset=offset, limit=limit,
                       facets_size=facets_size, now=now, engine=engine, cancel=cancel)
    except sqlite3.OperationalError as exc:
        # the query language's bounds keep queries inside SQLite's limits; should one still reach them,
        # it is the query's size, said as such, not a crash
        if any(limit_text in str(exc) for limit_text in _SQLITE_SIZE_LIMITS):
            raise QueryTooLargeError(f"the query is too complex for the database ({exc})", query or "", 0) \
                from None
        raise
    finally:
        if cancel is not None:
            store.db.conn.set_progress_handler(None, 0)


_SQLITE_SIZE_LIMITS = ("parser stack overflow", "too large", "too many", "too big", "too complex")


def _search(store, query: str, *, facets: Sequence[str], sort: str | Sequence[str], offset: int, limit: int,
            facets_size: int, now: dt.datetime | None, engine: str = "sql", cancel=None) -> SearchResult:
    if offset < 0 or limit < 0:
        raise BadSearchRequest("offset and limit must not be negative")
    now = now or dt.datetime.now(dt.UTC)
    order = _order_by(sort)
    for facet in facets:
        if facet not in FACET_COLUMNS and facet not in ("module", "module_version", thread_search.FACET) and not (
                facet.startswith(ANNOTATION + ".") and len(facet) > len(ANNOTATION) + 1):
            raise BadSearchRequest(f"cannot facet on {facet!r} (facets: {', '.join(FACETS)})")
    conn = store.db.conn
    _register_functions(conn)
    # The crashes rows are wide (raw annotations and the processed crash live inline), so any plan that reads
    # them per match is slow for large match sets; when every column the query reads is in the narrow
    # covering index, read through it instead (SQLite's planner does not know the rows are wide).
    root = parse_query(query or "").root
    where, params, info = _compile_root(root, now, False)
    use_index = engine == "index"
    if engine == "auto" and facets:
        use_index = getattr(store.db, "facet_index", None) is not None or _crash_rows(conn) >= INDEX_MIN_CRASHES
    elif engine == "auto" and root is not None and (
            getattr(store.db, "facet_index", None) is not None or _crash_rows(conn) >= ROWS_INDEX_MIN_CRASHES
            or (_crash_rows(conn) >= INDEX_MIN_CRASHES and _stack_terms(root))):
        use_index = rows_from_index(root, now)
    if use_index:
        from crashdesk.store import facet_query

        answer = facet_query.search(store, root, facets=facets, sort=sort,
                                    offset=offset, limit=limit, facets_size=facets_size, now=now, where=where,
                                    params=params, build=engine == "index" or bool(facets), cancel=cancel,
                                    load=True)
        if answer is not None:
            indexed, paged = answer
            if paged or not limit:
                return indexed
            paged_result = _search(store, query, facets=(), sort=sort, offset=offset, limit=limit,
                                   facets_size=facets_size, now=now)
            return SearchResult(indexed.total, paged_result.hits, indexed.facets)
    if cancel is not None:  # a stale request's SQL stops (the handler is removed by search())
        conn.set_progress_handler(lambda: 1 if cancel() else 0, 2000)
    sort_columns = {c.split(" ")[0][2:] for c in order.split(", ")} - {"id"}
    cover_ok = where != "1" and info.columns <= COVER_COLUMNS
    cover = f" INDEXED BY {COVER_INDEX}"
    probe = (fulltext_probe(conn, where, params, offset + limit)
             if limit and not facets and cover_ok and sort_columns <= COVER_COLUMNS else None)
    dense = (dense_set_page(conn, where, params, sort, offset, limit)
             or annotation_set_page(conn, where, params, sort, offset, limit)) if limit and not facets and not probe \
        else None
    if dense is not None:
        total, ids = dense
        cols = ", ".join(_HIT_SQL.get(name, f"c.{name}") for name in HIT_COLUMNS)
        cur = conn.execute(f"SELECT {cols} FROM crashes c WHERE c.id IN ({','.join('?' * len(ids))}) "
                           f"ORDER BY {order}", ids)
        return SearchResult(total, [dict(zip(HIT_COLUMNS, row, strict=True)) for row in cur])
    if probe is not None:
        total, where, params = probe
    elif where.startswith("c.id IN (") and where.endswith(")") and _single_set(where):
        # one set-membership term: build the set once (its size is the total), then page and facet on it
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS search_ids (id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.search_ids")
        total = conn.execute(f"INSERT OR IGNORE INTO temp.search_ids (id) {where[len('c.id IN ('):-1]}",
                             params).rowcount
        where, params = "c.id IN (SELECT id FROM temp.search_ids)", []
        info.selective = True
    else:
        source = "crashes c" + (cover if cover_ok and not info.selective else "")
        total = conn.execute(f"SELECT count(*) FROM {source} WHERE {where}", params).fetchone()[0]
    large = total > SCAN_THRESHOLD
    if large and probe is None:
        if where.startswith("c.id IN (SELECT id FROM temp.search_ids)"):
            where = "+" + where
        elif "c.id " in where:
            where, params, _ = _compile_root(root, now, True)
    hits: list[dict[str, Any]] = []
    if limit and total > offset:
        cols = ", ".join(_HIT_SQL.get(name, f"c.{name}") for name in HIT_COLUMNS)
        # pick the page's ids first (from narrow indexes when it pays), then read those rows
        # through the narrow index whenever it can answer: its worst case (a walk over every crash) is bounded
        # and small, unlike reading wide rows per candidate; equality on a signature or id stays on its index
        use = cover_ok and sort_columns <= COVER_COLUMNS and (large or not info.selective)
        source = "crashes c" + (cover if use else "")
        page = f"SELECT c.id FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        cur = conn.execute(f"SELECT {cols} FROM crashes c WHERE c.id IN ({page}) ORDER BY {order}",
                           [*params, limit, offset])
        hits = [dict(zip(HIT_COLUMNS, row, strict=True)) for row in cur]
    wanted = list(dict.fromkeys(facets))
    columns = [f for f in wanted if f in FACET_COLUMNS]
    together = {}
    if where != "1" and len(columns) >= 2:
        together = column_facets_one_pass(conn, columns, where, params, facets_size, use_cover=large and cover_ok)
    result_facets = {f: together[f] if f in together else
                     facet_counts(conn, f, where, params, facets_size, use_cover=large and cover_ok)
                     for f in wanted}
    return SearchResult(total, hits, result_facets)
