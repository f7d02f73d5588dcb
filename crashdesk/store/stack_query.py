"""``stack:`` terms and the every-thread ``function:`` terms (``thread:any``/``thread:main``/``thread.name:``
scopes) answered from the stack index (:mod:`crashdesk.store.stack_index`) as a mask over crash rowids, for
the facet index's query path (:mod:`crashdesk.store.facet_query`). The result is the SQL path's
(:mod:`crashdesk.store.thread_search`: ``thread_terms`` candidates, then ``crashdesk_stack`` over each
candidate's ``crash_stacks`` row); here the pattern is matched once per distinct stack, with numpy over the
concatenated frames, and the matching stacks' threads in scope give the crashes.

The matching is :func:`crashdesk.model.threads.stack_matches` for every stack at once: the positions of the
first element's functions, then for each next element either the positions right above one (``>>``: the next
frame row towards the top, in the same stack) or any position of that element above the outermost position so
far in the same stack (``>``)."""

from __future__ import annotations

import re
import threading

import numpy as np

from crashdesk.engine.query import And, Node, Not, Or, Term
from crashdesk.model.threads import CRASHING, MAIN
from crashdesk.store import facet_index as fx
from crashdesk.store import stack_index
from crashdesk.store.thread_index import function_id_sql, name_id_sql

_OPS = ("=", "~", "^", "$")
DATE_COLUMN = "submitted_at"  # the date: terms' column
_lock = threading.Lock()
_SEP = "\x00"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def answers(t: Term) -> bool:
    """Whether ``t`` (negation aside) is answered from the stack index: a ``stack:`` term, or a ``function:``
    term scoped to any, the main or named threads (the crashing thread's functions are ``crash_terms``')."""
    if t.annotation_key is not None:
        return False
    if t.field == "stack":
        return t.stack is not None and bool(t.stack.elements)
    if t.field == "function" and t.thread is not None and t.op in _OPS and isinstance(t.value, str):
        return not (t.thread.field == "thread" and t.thread.value == "crashing")
    return False


def anywhere(node: Node) -> bool:
    """Whether a query has a term :func:`answers`."""
    if isinstance(node, And | Or):
        return any(anywhere(item) for item in node.items)
    if isinstance(node, Not):
        return anywhere(node.item)
    return isinstance(node, Term) and answers(node)


def column_mask(conn, size: int, sql: str, params: list) -> np.ndarray:
    """Bool per crash rowid below ``size``: the crashes a condition on one column of ``crashes`` selects (a
    date range, on that column's index), their ids read as one text (SQLite's ``group_concat``, parsed by
    numpy): ~0.1 us a crash instead of ~0.5 us a row through Python."""
    (text,) = conn.execute(f"SELECT group_concat(c.id) FROM crashes c WHERE {sql}", params).fetchone()
    ids = np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, np.int64)
    out = np.zeros(size, dtype=bool)
    out[ids[(ids >= 0) & (ids < size)]] = True
    return out


def index_of(db) -> stack_index.StackIndex:
    """The stack index of an open :class:`~crashdesk.store.db.Database` (one per database, made on first use;
    kept in ``<database>.stacks``)."""
    index = getattr(db, "stack_index", None)
    if index is None:
        with _lock:
            index = getattr(db, "stack_index", None)
            if index is None:
                index = db.stack_index = stack_index.StackIndex(db.path.with_name(db.path.name + ".stacks"))
    return index


class FunctionNames:
    """The ``function_names`` dictionary in memory (names are only ever added), to find the ids a function
    condition selects without SQL: SQLite's ``NOCASE`` and ``LIKE`` fold ASCII letters only, which is what is
    done here; the trigram index (``function_id_sql``'s path for 3 characters or more) folds more, so a name
    with other characters is asked of SQLite with that same SQL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.top = 0                    # the largest id read
        self.ids: list[int] = []
        self.folded: list[str] = []
        self.by_name: dict[str, list[int]] = {}
        self.other = False              # a name with a non-ASCII character or the separator
        self._text: tuple[str, np.ndarray, np.ndarray] | None = None

    def refresh(self, conn) -> None:
        (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM function_names").fetchone()
        with self._lock:
            if top == self.top:
                return
            for i, name in conn.execute("SELECT id, name FROM function_names WHERE id > ? ORDER BY id",
                                        (self.top,)):
                folded = name.translate(_ASCII_LOWER)
                self.ids.append(i)
                self.folded.append(folded)
                self.by_name.setdefault(folded, []).append(i)
                self.other = self.other or not name.isascii() or _SEP in name
                self.top = max(self.top, i)
            self._text = None

    def text(self) -> tuple[str, np.ndarray, np.ndarray]:
        """(every folded name, each after a separator; where each starts; their ids)."""
        with self._lock:
            if self._text is None:
                lengths = np.fromiter((len(n) + 1 for n in self.folded), dtype=np.int64, count=len(self.folded))
                self._text = (_SEP + _SEP.join(self.folded) + _SEP, np.cumsum(lengths) - lengths + 1,
                              np.array(self.ids, dtype=np.int64))
            return self._text

    def matching(self, conn, op: str, value: str) -> np.ndarray:
        """The ids of the names ``op value`` selects (as :func:`function_id_sql`)."""
        self.refresh(conn)
        if _SEP in value or (self.other and op != "=" and len(value) >= 3):
            return _ids(conn, *function_id_sql(op, value))
        needle = value.translate(_ASCII_LOWER)
        if op == "=":
            return np.array(self.by_name.get(needle, []), dtype=np.int64)
        text, starts, ids = self.text()
        pattern = {"~": re.escape(needle), "^": _SEP + re.escape(needle), "$": re.escape(needle) + _SEP}[op]
        at = np.fromiter((m.start() + (op == "^") for m in re.finditer(pattern, text)), dtype=np.int64)
        return np.unique(ids[np.searchsorted(starts, at, side="right") - 1]) if len(at) else at


def names_of(db) -> FunctionNames:
    names = getattr(db, "function_name_lookup", None)
    if names is None:
        with _lock:
            names = getattr(db, "function_name_lookup", None)
            if names is None:
                names = db.function_name_lookup = FunctionNames()
    return names


BACKGROUND_MIN_CRASHES = 10_000  # a store this large builds its stack index on a thread (~40 s at 1M crashes)


def snapshot(db, conn, size: int, build: bool) -> stack_index.Snapshot | None:
    """The stack index of ``db`` as of ``conn``'s read transaction, or None (the search takes the SQL path):
    without ``build``, a store of :data:`BACKGROUND_MIN_CRASHES` rowids or more with nothing kept to patch
    gets it built on a thread for the searches after this one; a smaller store builds it here."""
    index = index_of(db)
    try:
        return index.snapshot(conn, build=build or size < BACKGROUND_MIN_CRASHES)
    except fx.IndexUnavailable:
        if not build and size >= BACKGROUND_MIN_CRASHES and db.path.exists():
            index.build_in_background(db.path)
        return None


def _ids(conn, sql: str, params: list) -> np.ndarray:
    return np.fromiter((r[0] for r in conn.execute(sql, params)), dtype=np.int64)


def _lut(ids: np.ndarray, top: int) -> np.ndarray:
    lut = np.zeros(max(top, int(ids.max()) + 1 if len(ids) else 0), dtype=bool)
    lut[ids[ids > 0]] = True  # 0 is a frame without a function name: no element matches it
    return lut


def matching_stacks(snap: stack_index.Snapshot, elements: list[np.ndarray], direct: tuple[bool, ...]
                    ) -> np.ndarray:
    """Bool per distinct stack: it holds ``elements`` (arrays of function ids) in order, as
    :func:`crashdesk.model.threads.stack_matches`. Only the stacks holding the element with the fewest
    frames are looked at: through the sorted positions of the elements (from the inverted index) when those
    are fewer than about twice the frames of those stacks, else through a copy of those stacks' frames
    (every frame when they are a large part of all)."""
    out = np.zeros(snap.stacks, dtype=bool)
    if not len(snap.frames) or not elements:
        return out
    rarest = min(range(len(elements)), key=lambda k: snap.count(elements[k]))
    where = snap.positions(elements[rarest])
    chosen = _stack_of(snap.starts, where)  # ascending: positions are
    chosen = chosen[np.r_[True, chosen[1:] != chosen[:-1]]] if len(chosen) else chosen
    if len(elements) == 1:  # one function: the stacks holding it
        out[chosen] = True
        return out
    lengths = snap.starts[chosen + 1] - snap.starts[chosen]
    frames_cost = int(lengths.sum())
    walked = [0] + [k for k in range(1, len(elements)) if not direct[k - 1]]
    positions_cost = sum(snap.count(elements[k]) for k in walked if k != rarest)
    if positions_cost <= 2 * frames_cost:
        found = {rarest: where}
        hit = _by_positions(snap, chosen, elements, direct,
                            lambda k: found[k] if k in found else snap.positions(elements[k]))
        out[chosen[hit]] = True
        return out
    if frames_cost * 4 > len(snap.frames):
        return _chain(snap.frames, snap.starts, elements, direct)
    out[chosen[_by_frames(snap, chosen, elements, direct)]] = True
    return out


def _by_frames(snap: stack_index.Snapshot, chosen: np.ndarray, elements: list[np.ndarray],
               direct: tuple[bool, ...]) -> np.ndarray:
    """Bool per ``chosen`` stack: :func:`_chain` over a copy of those stacks' frames."""
    lengths = snap.starts[chosen + 1] - snap.starts[chosen]
    sub_starts = np.r_[np.int64(0), np.cumsum(lengths)]
    frames = snap.frames[stack_index._ranges(snap.starts[chosen], lengths)]
    return _chain(frames, sub_starts, elements, direct)


def _by_positions(snap: stack_index.Snapshot, chosen: np.ndarray, elements: list[np.ndarray],
                  direct: tuple[bool, ...], positions) -> np.ndarray:
    """Bool per ``chosen`` stack (ascending stack numbers): the walk of :func:`_chain` over the elements'
    sorted positions (``positions(k)``) inside those stacks, each end carried with its stack's index in
    ``chosen``; no frame outside them is read."""
    first, past = snap.starts[chosen], snap.starts[chosen + 1]
    where = positions(0)
    lo, hi = np.searchsorted(where, first), np.searchsorted(where, past)
    ends = where[stack_index._ranges(lo, hi - lo)]
    owner = np.repeat(np.arange(len(chosen)), hi - lo)
    for k in range(1, len(elements)):
        if not len(ends):
            break
        if direct[k - 1]:  # the very next row towards the top, in the same stack
            above = ends - 1
            ok = above >= first[owner]
            lut = _lut(elements[k], 1)
            row = snap.frames[above[ok]]
            ok[ok] = (row < len(lut)) & lut[np.minimum(row, len(lut) - 1)]
            ends, owner = above[ok], owner[ok]
        else:  # anywhere nearer the top than the outermost end so far (each stack's last), in the same stack
            last = np.r_[owner[1:] != owner[:-1], True]
            stacks, outermost = owner[last], ends[last]
            where = positions(k)
            lo, hi = np.searchsorted(where, first[stacks]), np.searchsorted(where, outermost)
            hi = np.maximum(hi, lo)
            ends = where[stack_index._ranges(lo, hi - lo)]
            owner = np.repeat(stacks, hi - lo)
    hit = np.zeros(len(chosen), dtype=bool)
    hit[owner] = True
    return hit


def _stack_of(starts: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.searchsorted(starts, positions, side="right") - 1


def _chain(frames: np.ndarray, starts: np.ndarray, elements: list[np.ndarray], direct: tuple[bool, ...]
           ) -> np.ndarray:
    """Bool per stack of ``frames``/``starts``: the element-by-element walk of ``stack_matches`` over every
    stack at once. Positions are indexes into ``frames`` (each stack top first), so "nearer the top" is a
    smaller position within the same stack."""
    stacks = len(starts) - 1
    out = np.zeros(stacks, dtype=bool)
    top = int(frames.max()) + 1 if len(frames) else 1
    luts = [_lut(ids, top) for ids in elements]
    ends = np.flatnonzero(luts[0][frames])
    for k in range(1, len(elements)):
        if not len(ends):
            return out
        sid = _stack_of(starts, ends)
        if direct[k - 1]:  # the very next row towards the top, in the same stack
            above = ends - 1
            above = above[above >= starts[sid]]
            ends = above[luts[k][frames[above]]]
        else:  # anywhere nearer the top than the outermost end so far, in the same stack
            last = np.r_[sid[1:] != sid[:-1], True]  # ends ascend, so each stack's outermost end is its last
            outermost = np.full(stacks, -1, dtype=np.int64)
            outermost[sid[last]] = ends[last]
            found = np.flatnonzero(luts[k][frames])
            ends = found[found < outermost[_stack_of(starts, found)]]
    out[_stack_of(starts, ends)] = True
    return out


def mask(conn, snap: stack_index.Snapshot, size: int, t: Term, names: FunctionNames | None = None) -> np.ndarray:
    """Bool per crash rowid below ``size``: a thread of the crash in ``t``'s scope matches ``t``."""
    if t.field == "stack":
        assert t.stack is not None
        pattern, direct = list(t.stack.elements), t.stack.direct
    else:
        pattern, direct = [(t.op, str(t.value))], ()
    elements = [names.matching(conn, op, text) if names is not None else _ids(conn, *function_id_sql(op, text))
                for op, text in pattern]
    threads = snap.threads_of(matching_stacks(snap, elements, direct))
    scope = t.thread
    if scope is None or (scope.field == "thread" and scope.value == "crashing"):
        threads = threads[(snap.t_roles[threads] & CRASHING) != 0]
    elif scope.field == "thread" and scope.value == "main":
        threads = threads[(snap.t_roles[threads] & MAIN) != 0]
    elif scope.field == "thread.name":
        names = _ids(conn, *name_id_sql("thread_names", scope.op, str(scope.value)))
        tn = snap.t_name[threads]
        threads = threads[_lut(names, int(tn.max(initial=0)) + 1)[tn]]
    crashes = snap.t_crash[threads]
    out = np.zeros(size, dtype=bool)
    out[crashes[crashes < size]] = True
    return out
