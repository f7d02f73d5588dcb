"""Queries answered from the facet index (:mod:`crashdesk.store.facet_index`): a query as a mask over crash
rowids, its total, its first page of hits and its facets, with the same results as the SQL path of
:mod:`crashdesk.store.search` (which stays the fallback and the tests' second opinion)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from crashdesk.engine.query import And, FullText, Node, Not, Or, Term
from crashdesk.store import facet_index as fx
from crashdesk.store import stack_query, thread_search
from crashdesk.store.search import (
    _HIT_SQL,
    COLUMNS,
    FACET_COLUMNS,
    HIT_COLUMNS,
    MODULE_COLUMNS,
    SearchResult,
    _Compiler,
    _order_by,
    _single_set,
    facet_counts,
    module_totals,
)

MAX_DEPTH = 8            # deeper queries take the SQL path (and its size errors), as before the index
SMALL = 20_000           # matches at most this many: the page is sorted by SQLite over the id set
_WALK = 4096             # ids per step when walking the date index for a page
_DATE_SORTS = {"date": "ASC", "submitted": "ASC", "-date": "DESC", "-submitted": "DESC", "+date": "ASC",
               "+submitted": "ASC"}
_lock = threading.Lock()


def index_of(db) -> fx.FacetIndex:
    """The facet index of an open :class:`~crashdesk.store.db.Database` (one per database, made on first use)."""
    index = getattr(db, "facet_index", None)
    if index is None:
        with _lock:
            index = getattr(db, "facet_index", None)
            if index is None:
                keep = db.path.with_name(db.path.name + ".facets")  # read-only stores load it, never save
                index = db.facet_index = fx.FacetIndex(keep)
    return index


def depth(node: Node | None) -> int:
    if isinstance(node, And | Or):
        return 1 + max((depth(i) for i in node.items), default=0)
    if isinstance(node, Not):
        return 1 + depth(node.item)
    return 0


def native(node: Node | None, now: dt.datetime, dates: bool | None = None) -> bool:
    """Whether every term of a query is answered by the index itself (a column it holds a dictionary of, a
    loaded module, a stack term from the stack index): no term asks SQLite for a set of crash ids, which for a
    large set costs more than the SQL path's own plan (full text, annotations, other thread terms, dates).
    ``dates``: whether date terms count (None: when the query has a stack term, whose SQL plan is slower than
    reading the ids of a date range, see :func:`stack_query.column_mask`)."""
    if node is None:
        return False
    if dates is None:
        dates = stack_query.anywhere(node)
    if isinstance(node, And | Or):
        return all(native(item, now, dates) for item in thread_search.without_implied_scopes(node))
    if isinstance(node, Not):
        return native(node.item, now, dates)
    if isinstance(node, Term) and stack_query.answers(node):  # from the stack index
        return True
    if not isinstance(node, Term) or node.annotation_key is not None:
        return False
    if node.field in MODULE_COLUMNS:
        return True
    if node.field not in COLUMNS:
        return False
    sub = _Compiler(now)
    sub.column(fx.without_negation(node))
    return len(sub.columns) == 1 and (next(iter(sub.columns)) in fx.FIELDS or (
        dates and sub.columns == {stack_query.DATE_COLUMN}))


class _Masks:
    """Evaluates a parsed query to a boolean mask over the snapshot's rowids."""

    def __init__(self, conn: sqlite3.Connection, snap: fx.Snapshot, now: dt.datetime, stacks=None,
                 function_names=None) -> None:
        self.conn, self.snap, self.now = conn, snap, now
        self.compiler = _Compiler(now)
        self.stacks, self.function_names = stacks, function_names  # the stack index's snapshot, or None

    def node(self, node: Node) -> np.ndarray:
        snap = self.snap
        if isinstance(node, And | Or):
            items = thread_search.without_implied_scopes(node)
            mask = self.node(items[0])
            for item in items[1:]:
                other = self.node(item)
                mask = (mask & other) if isinstance(node, And) else (mask | other)
            return mask
        if isinstance(node, Not):
            return ~self.node(node.item) & snap.present
        if isinstance(node, FullText):
            sql, params = self.compiler.fulltext(node)
            return snap.present.copy() if sql == "1" else self.sql_ids(sql, params)
        assert isinstance(node, Term)
        return self.term(node)

    def sql_ids(self, sql: str, params: list[Any]) -> np.ndarray:
        # one set-membership condition: its own SELECT gives the ids (the mask drops any that are no crash);
        # going through "crashes c" looked each id up in the wide crashes table, ~10 times slower
        for prefix, negated in (("c.id IN (", False), ("c.id NOT IN (", True)):
            if sql.startswith(prefix) and _single_set(sql):
                mask = fx.ids_mask(self.snap, (r[0] for r in self.conn.execute(sql[len(prefix):-1], params)))
                return (~mask & self.snap.present) if negated else mask
        return fx.ids_mask(self.snap, (r[0] for r in self.conn.execute(f"SELECT c.id FROM crashes c WHERE {sql}",
                                                                        params)))

    def term(self, t: Term) -> np.ndarray:
        snap = self.snap
        if t.negate:  # NOT coalesce(term, 0): every crash the term is not true for
            return ~self.term(fx.without_negation(t)) & snap.present
        if t.annotation_key is None and t.field in COLUMNS:
            sub = _Compiler(self.now)
            sql, params = sub.column(t)
            if len(sub.columns) == 1 and (column := next(iter(sub.columns))) in fx.FIELDS:
                table = fx.dictionary_table(self.conn, snap, column)
                codes = [r[0] for r in self.conn.execute(f"SELECT c.code FROM {table} c WHERE {sql}", params)]
                return fx.codes_mask(snap, column, codes)
            if sub.columns == {stack_query.DATE_COLUMN}:
                return stack_query.column_mask(self.conn, snap.size, sql, params) & snap.present
            return self.sql_ids(sql, params)
        if t.annotation_key is None and t.field in MODULE_COLUMNS:
            if t.op == "null":
                return snap.present & ~snap.has_links
            sql, params = self.compiler.module_ids(t)
            return fx.modules_mask(snap, (r[0] for r in self.conn.execute(sql, params)))
        if self.stacks is not None and stack_query.answers(t):
            return stack_query.mask(self.conn, self.stacks, snap.size, t, self.function_names) & snap.present
        sql, params = self.compiler.term(t)
        return self.sql_ids(sql, params)


def search(store, root: Node | None, *, facets: Sequence[str], sort: str | Sequence[str], offset: int, limit: int,
           facets_size: int, now: dt.datetime, where: str, params: list[Any], build: bool,
           cancel=None, load: bool = False) -> tuple[SearchResult, bool] | None:
    """The search answered from the facet index and whether it holds the page (False: a large match set in
    an order the index cannot walk, the SQL path pages it), or None when the index cannot answer (none built
    and ``build`` false, unless ``load`` and the kept snapshot can be brought up to date from the change log; a
    store without the change log, a query nested too deep)."""
    if depth(root) > MAX_DEPTH:
        return None
    index = index_of(store.db)
    if not build and not load and not index.built:
        return None
    conn = store.db.conn
    if conn.in_transaction:  # inside a write: its uncommitted changes must not reach the shared index
        return None
    conn.execute("BEGIN")  # one read snapshot for the index refresh, the masks and the page
    try:
        try:
            snap = index.snapshot(conn, build=build)
        except fx.IndexUnavailable:
            return None
        if cancel is not None:  # from here on a stale request may stop (the build above always finishes)
            conn.set_progress_handler(lambda: 1 if cancel() else 0, 2000)
        try:
            everything = root is None
            stacks = None
            if not everything and stack_query.anywhere(root):
                stacks = stack_query.snapshot(store.db, conn, snap.size, build)
                if stacks is None:  # nothing kept to patch on a large store: built meanwhile, SQL answers
                    return None
            mask = snap.present.copy() if everything else _Masks(conn, snap, now, stacks,
                                                                 stack_query.names_of(store.db)).node(root)
            total = int(np.count_nonzero(mask))
            hits: list[dict[str, Any]] | None = []
            if limit and total > offset:
                page = _page(conn, snap, mask, total, sort, offset, limit)
                if page is None:  # a large match set in an order the index has no walk for: SQL pages it
                    hits = None
                else:
                    hits = page
            out: dict[str, list[dict[str, Any]]] = {}
            for facet in dict.fromkeys(facets):
                if cancel is not None and cancel():
                    raise sqlite3.OperationalError("interrupted")
                out[facet] = _facet(conn, snap, None if everything else mask, facet, facets_size, where, params)
        finally:
            if cancel is not None:
                conn.set_progress_handler(None, 0)
        return SearchResult(total, hits or [], out), hits is not None
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _facet(conn, snap: fx.Snapshot, mask: np.ndarray | None, facet: str, size: int, where: str,
           params: list[Any]) -> list[dict[str, Any]]:
    if facet in FACET_COLUMNS and facet in fx.FIELDS and fx.all_text(snap, facet):
        rows = fx.column_counts(snap, facet, mask, "NOCASE" in FACET_COLUMNS[facet], size)
    elif facet in ("module", "module_version"):
        rows = module_totals(conn, facet, fx.module_counts(snap, mask), size)
    else:
        return facet_counts(conn, facet, where, params, size)
    return [{"term": term, "count": n} for term, n in rows]


def _page(conn, snap: fx.Snapshot, mask: np.ndarray, total: int, sort: str | Sequence[str], offset: int,
          limit: int) -> list[dict[str, Any]] | None:
    order = _order_by(sort)
    wanted = offset + limit
    keys = [sort] if isinstance(sort, str) else [k for k in sort if k.strip()]
    direction = _DATE_SORTS.get(keys[0].strip()) if len(keys) == 1 else None
    # walking the date index costs ~0.3 us a crash and visits about wanted * crashes / total of them when the
    # matches are spread over time; an id set costs ~3 us a match (inserting it, then reading each match's
    # row to sort). Matches bunched in time (an old version) make the walk longer: it stops at a bound and
    # the id set takes over.
    ids_page = None
    expected = wanted * snap.size / total
    if direction is not None and expected <= 10 * total:
        ids_page = _walk(conn, snap, mask, direction, offset, wanted, bound=int(8 * expected) + 8 * _WALK)
    if ids_page is not None:
        if not ids_page:
            return []
        where, args = f"c.id IN ({','.join('?' * len(ids_page))})", ids_page
    elif total <= SMALL:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS search_ids (id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.search_ids")
        conn.executemany("INSERT INTO temp.search_ids (id) VALUES (?)",
                         ((i,) for i in np.flatnonzero(mask).tolist()))
        where, args = "c.id IN (SELECT c.id FROM crashes c WHERE c.id IN (SELECT id FROM temp.search_ids) " \
                      f"ORDER BY {order} LIMIT ? OFFSET ?)", [limit, offset]
    else:
        return None
    cols = ", ".join(_HIT_SQL.get(name, f"c.{name}") for name in HIT_COLUMNS)
    cur = conn.execute(f"SELECT {cols} FROM crashes c WHERE {where} ORDER BY {order}", args)
    return [dict(zip(HIT_COLUMNS, row, strict=True)) for row in cur]


def _walk(conn, snap: fx.Snapshot, mask: np.ndarray, direction: str, offset: int, wanted: int, bound: int
          ) -> list[int] | None:
    """The ids ``offset:wanted`` of the masked crashes in (submitted_at, id) order, from the date index; None
    when more than ``bound`` crashes were visited without finding them."""
    cur = conn.execute(f"SELECT id FROM crashes INDEXED BY crashes_submitted "
                       f"ORDER BY submitted_at {direction}, id {direction}")
    picked: list[int] = []
    visited = 0
    try:
        while len(picked) < wanted:
            if visited > bound:
                return None
            rows = cur.fetchmany(_WALK)
            if not rows:
                break
            visited += len(rows)
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            ids = ids[ids < snap.size]
            picked.extend(ids[mask[ids]].tolist())
    finally:
        cur.close()
    return picked[offset:wanted]
