"""The facet index: what a filtered query's facets and first page are counted from, instead of reading every
matching crash's row.

* Single-valued columns of ``crashes`` (:data:`FIELDS`): a dictionary of the distinct values per column and
  one ``int32`` code per crash (a numpy array indexed by the crash's rowid).
* Module links: one roaring bitmap of crash rowids per ``modules`` row (``pyroaring``).

A query becomes a boolean mask over rowids: a term on an indexed column runs the query compiler's own SQL
condition over that column's *dictionary* (so case folding, ``LIKE`` patterns, version ordering and null
handling are SQLite's, exactly as on the rows) and maps the matching codes to crashes; a module term unions
the bitmaps of the ``modules`` rows its condition selects; any other term (full text, stacks, annotations,
dates...) asks SQLite for its crash ids. AND/OR/NOT are mask algebra: the SQL ``NOT coalesce(x, 0)`` is "not
true", so three-valued logic never reaches a mask. Facets are ``bincount`` over the mask's codes and bitmap
intersection counts; the total is the mask's count.

The index lives in memory, one per open :class:`~crashdesk.store.db.Database` (shared by its threads as
immutable snapshots). It is exact at every query: the schema's triggers append each changed crash's rowid to
``facet_changes`` in the writing transaction, and a query first re-reads the crashes logged since its
snapshot (in the same read transaction it then searches in). The log keeps the last
:data:`LOG_KEEP` changes; a snapshot older than that is rebuilt from the tables.
"""

from __future__ import annotations

import array
import io
import itertools
import os
import sqlite3
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pyroaring import BitMap

from crashdesk.store.terms import ranked_values

# crashes columns with a dictionary (the facet panel's columns and the usual filter terms); "version_key"
# answers version ordering terms (version:>=1.4), "version" equality and patterns
FIELDS = ("signature", "server_signature", "product", "version", "version_key", "os", "os_version", "cpu",
          "channel", "source", "state", "reason", "build_id")
LOG_KEEP = 200_000  # facet_changes rows kept (the migration's trim trigger)
_CHUNK = 500        # ids per "id IN (...)" read
_REBUILD_SHARE = 0.25  # more changed crashes than this share of the store: rebuild instead of patching
SAVE_AFTER = 20_000    # changes since the kept snapshot file before it is written again
_counter = itertools.count(1)


class IndexUnavailable(Exception):
    """The store has no change log (a database this code did not migrate): search falls back to SQL."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent state of the index (never mutated once published)."""

    seq: int                              # the last facet_changes row it includes
    generation: int                       # changes when dictionaries are renumbered (a rebuild)
    present: np.ndarray                   # bool per rowid: a crash with that rowid exists
    codes: dict[str, np.ndarray]          # field -> int32 code per rowid (0 for absent rows)
    values: dict[str, list[Any]]          # field -> code -> value (code 0 is NULL)
    lookup: dict[str, dict[Any, int]]     # field -> value -> code
    modules: dict[int, BitMap]            # modules.id -> rowids of crashes that loaded it
    has_links: np.ndarray                 # bool per rowid: the crash has a crash_module_links row

    @property
    def size(self) -> int:
        return len(self.present)

    def memory_bytes(self) -> int:
        arrays = self.present.nbytes + self.has_links.nbytes + sum(a.nbytes for a in self.codes.values())
        bitmaps = sum(len(bm.serialize()) for bm in self.modules.values())
        return arrays + bitmaps


def _modules_of(text: str | bytes | None) -> list[int]:
    """A crash_module_links.modules value as module ids."""
    return orjson.loads(text) if text else []


def _bitmap(ids: np.ndarray) -> BitMap:
    return BitMap(array.array("I", ids.astype(np.uint32, copy=False).tobytes()))


def mask_bitmap(mask: np.ndarray) -> BitMap:
    return _bitmap(np.flatnonzero(mask))


def bitmap_ids(bm: BitMap) -> np.ndarray:
    return np.frombuffer(bm.to_array(), dtype=np.uint32) if len(bm) else np.zeros(0, np.uint32)


class FacetIndex:
    """The in-memory facet index of one database; :meth:`snapshot` brings it up to date on a connection.

    ``file``: where a snapshot is kept between runs (next to the database), so a new process patches it from
    the change log instead of reading every crash (15 s at a million crashes); None keeps nothing."""

    def __init__(self, file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._saved_seq = -1
        self.file = file
        self.last_build_seconds: float | None = None
        self._needs_build = False  # a snapshot(build=False) found nothing to load or patch

    @property
    def built(self) -> bool:
        return self._snap is not None

    def snapshot(self, conn: sqlite3.Connection, *, build: bool = True) -> Snapshot:
        """The index as of ``conn``'s current read transaction (the caller holds one open). ``build`` false:
        only from the snapshot in memory or the kept file, patched from the change log; when neither can be
        (none kept, or older than the log), :class:`IndexUnavailable` instead of reading every crash."""
        try:
            (head,) = conn.execute("SELECT coalesce(max(seq), 0) FROM facet_changes").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise IndexUnavailable(str(exc)) from None
            raise
        with self._lock:
            snap = self._snap
            if snap is not None and snap.seq == head:
                return snap
            if snap is not None and snap.seq > head:
                # another thread published a newer state than this transaction sees: SQL answers this one
                raise IndexUnavailable("the index is ahead of this read transaction")
            if snap is None and not build and self._needs_build:
                raise IndexUnavailable("no snapshot to patch (building it was not asked for)")
            token = _token(conn)
            if snap is None and self.file is not None and token is not None:
                snap = load(self.file, token)
                if snap is not None:
                    self._saved_seq = snap.seq
                    if snap.seq > head:
                        snap = None
            new = None
            if snap is not None:
                changed = changes_since(conn, snap.seq, snap.size)
                if changed is not None:
                    new = snap if snap.seq == head else _patch(conn, snap, changed, head)
            if new is None:
                if not build:  # nothing kept that the log can bring up to date: not tried again until built
                    self._needs_build = True
                    raise IndexUnavailable("no snapshot to patch (building it was not asked for)")
                start = time.perf_counter()
                new = _build(conn, head)
                self.last_build_seconds = time.perf_counter() - start
            self._snap = new
            if self.file is not None and token is not None and new.seq - self._saved_seq > SAVE_AFTER:
                try:
                    save(new, self.file, token)
                    self._saved_seq = new.seq
                except OSError:  # a read-only folder or a full disk: the next run builds again
                    self._saved_seq = new.seq
            return new


def changes_since(conn, seq: int, size: int) -> np.ndarray | None:
    """The crashes the change log names after ``seq`` (sorted, each once), to patch a snapshot taken at ``seq``
    of a store of ``size`` crashes; None when it is to be built again instead: the log was trimmed past ``seq``,
    or more than ``_REBUILD_SHARE`` of the crashes changed. (The facet index and the stack index.)"""
    (first,) = conn.execute("SELECT coalesce(min(seq), 0) FROM facet_changes").fetchone()
    if first > seq + 1:
        return None
    changed = np.unique(np.fromiter(
        (r[0] for r in conn.execute("SELECT crash FROM facet_changes WHERE seq > ?", (seq,))), dtype=np.int64))
    return changed if len(changed) <= max(1000, _REBUILD_SHARE * size) else None


# ------------------------------------------------------------------------------------------------ building

_COLUMNS_SQL = ", ".join(FIELDS)


def _grow(arr: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=arr.dtype)
    out[:len(arr)] = arr
    return out


def _build(conn: sqlite3.Connection, head: int) -> Snapshot:
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM crashes").fetchone()
    size = top + 1
    present = np.zeros(size, dtype=bool)
    codes = {f: np.zeros(size, dtype=np.int32) for f in FIELDS}
    values: dict[str, list[Any]] = {f: [None] for f in FIELDS}
    lookup: dict[str, dict[Any, int]] = {f: {None: 0} for f in FIELDS}
    cur = conn.execute(f"SELECT id, {_COLUMNS_SQL} FROM crashes")
    while True:
        rows = cur.fetchmany(20_000)
        if not rows:
            break
        columns = list(zip(*rows, strict=True))
        ids = np.fromiter(columns[0], dtype=np.int64, count=len(rows))
        present[ids] = True
        for n, f in enumerate(FIELDS, 1):
            codes[f][ids] = _encode(columns[n], values[f], lookup[f])
    modules: dict[int, BitMap] = {}
    has_links = np.zeros(size, dtype=bool)
    cur = conn.execute("SELECT crash, modules FROM crash_module_links")
    while True:
        rows = cur.fetchmany(20_000)
        if not rows:
            break
        _add_links(rows, modules, has_links)
    return Snapshot(head, next(_counter), present, codes, values, lookup, modules, has_links)


def _encode(column: Iterable[Any], values: list[Any], lookup: dict[Any, int]) -> np.ndarray:
    get = lookup.get
    out = []
    for v in column:
        code = get(v)
        if code is None:
            code = lookup[v] = len(values)
            values.append(v)
        out.append(code)
    return np.array(out, dtype=np.int32)


def _add_links(rows: list[tuple[int, Any]], modules: dict[int, BitMap], has_links: np.ndarray,
               copied: set[int] | None = None) -> None:
    """Add (crash, modules JSON) rows to the per-module bitmaps (copying a bitmap first when ``copied`` is
    given and it is not in it yet: a patched snapshot must not change the bitmaps of the one it came from)."""
    crash_ids: list[int] = []
    module_ids: list[int] = []
    for crash, text in rows:
        has_links[crash] = True
        mods = _modules_of(text)
        crash_ids.extend([crash] * len(mods))
        module_ids.extend(mods)
    if not module_ids:
        return
    mods_arr = np.array(module_ids, dtype=np.int64)
    crashes_arr = np.array(crash_ids, dtype=np.int64)
    order = np.argsort(mods_arr, kind="stable")
    mods_arr, crashes_arr = mods_arr[order], crashes_arr[order]
    starts = np.flatnonzero(np.r_[True, mods_arr[1:] != mods_arr[:-1]])
    ends = np.r_[starts[1:], len(mods_arr)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        mid = int(mods_arr[a])
        bm = modules.get(mid)
        if bm is None:
            modules[mid] = _bitmap(crashes_arr[a:b])
            if copied is not None:
                copied.add(mid)
        else:
            if copied is not None and mid not in copied:
                bm = modules[mid] = bm.copy()
                copied.add(mid)
            bm.update(_bitmap(crashes_arr[a:b]))


def _chunks(ids: np.ndarray) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK].tolist()


def _patch(conn: sqlite3.Connection, snap: Snapshot, changed: np.ndarray, head: int) -> Snapshot:
    """A new snapshot: ``snap`` with the ``changed`` crashes read again."""
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM crashes").fetchone()
    size = max(snap.size, top + 1, int(changed.max()) + 1 if len(changed) else 0)
    present = _grow(snap.present, size)
    has_links = _grow(snap.has_links, size)
    codes = {f: _grow(a, size) for f, a in snap.codes.items()}
    values = {f: list(v) for f, v in snap.values.items()}
    lookup = {f: dict(v) for f, v in snap.lookup.items()}
    present[changed] = False
    has_links[changed] = False
    for f in FIELDS:
        codes[f][changed] = 0
    for chunk in _chunks(changed):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT id, {_COLUMNS_SQL} FROM crashes WHERE id IN ({marks})", chunk).fetchall()
        if rows:
            columns = list(zip(*rows, strict=True))
            ids = np.fromiter(columns[0], dtype=np.int64, count=len(rows))
            present[ids] = True
            for n, f in enumerate(FIELDS, 1):
                codes[f][ids] = _encode(columns[n], values[f], lookup[f])
    gone = _bitmap(changed)
    modules: dict[int, BitMap] = {}
    copied: set[int] = set()
    for mid, bm in snap.modules.items():
        if bm.isdisjoint(gone):
            modules[mid] = bm
        else:
            modules[mid] = bm - gone
            copied.add(mid)
    for chunk in _chunks(changed):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT crash, modules FROM crash_module_links WHERE crash IN ({marks})",
                            chunk).fetchall()
        _add_links(rows, modules, has_links, copied)
    return Snapshot(head, snap.generation, present, codes, values, lookup, modules, has_links)


# ------------------------------------------------------------------------------------------------ keeping


def _token(conn: sqlite3.Connection) -> str | None:
    """The database's facet-index id (set by the migration): a kept snapshot belongs to that database only."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'facet_index_id'").fetchone()
    return row[0] if row else None


def save(snap: Snapshot, file: Path, token: str) -> None:
    """Write ``snap`` to ``file`` (numpy's .npz, replaced atomically)."""
    try:
        values = orjson.dumps(snap.values)
    except TypeError:  # a value JSON cannot hold (a blob in a text column): not kept
        return
    mids = sorted(snap.modules)
    blobs = [snap.modules[m].serialize() for m in mids]
    offsets = np.cumsum([0, *map(len, blobs)], dtype=np.int64)
    arrays = {f"codes_{f}": a for f, a in snap.codes.items()}
    write_npz(file, {"seq": snap.seq, "token": token, "fields": list(FIELDS)},
              values=np.frombuffer(values, np.uint8), present=snap.present, has_links=snap.has_links,
              module_ids=np.array(mids, dtype=np.int64), module_offsets=offsets,
              module_blob=np.frombuffer(b"".join(blobs), np.uint8), **arrays)


def write_npz(file: Path, meta: dict, **arrays: np.ndarray) -> None:
    """``arrays`` and ``meta`` (as JSON bytes, member ``meta``) in numpy's .npz at ``file``, replaced atomically
    through a temporary file of this process (the facet index's and the stack index's kept files)."""
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(orjson.dumps(meta), np.uint8), **arrays)
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getbuffer())
    os.replace(tmp, file)


def load(file: Path, token: str) -> Snapshot | None:
    """The snapshot kept in ``file`` if it is this database's (``token``) and readable, else None."""
    try:
        with np.load(file, allow_pickle=False) as z:
            meta = orjson.loads(z["meta"].tobytes())
            if meta.get("token") != token or meta.get("fields") != list(FIELDS):
                return None
            values = orjson.loads(z["values"].tobytes())
            codes = {f: z[f"codes_{f}"] for f in FIELDS}
            present, has_links = z["present"], z["has_links"]
            offsets, blob = z["module_offsets"], z["module_blob"].tobytes()
            modules = {int(m): BitMap.deserialize(blob[offsets[n]:offsets[n + 1]])
                       for n, m in enumerate(z["module_ids"].tolist())}
    except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile):
        return None  # unreadable (cut short, not an .npz, damaged members): rebuilt from the tables
    if not _consistent(present, has_links, codes, values, modules):
        return None  # a damaged or edited file: rebuilt from the tables
    lookup = {f: {v: n for n, v in enumerate(vs)} for f, vs in values.items()}
    return Snapshot(int(meta["seq"]), next(_counter), present, codes, values, lookup, modules, has_links)


def _consistent(present: np.ndarray, has_links: np.ndarray, codes: dict[str, np.ndarray],
                values: Any, modules: dict[int, BitMap]) -> bool:
    """Whether a loaded snapshot's parts fit together: one entry per rowid everywhere, every code inside its
    dictionary, every module bitmap inside the rowid range (a kept file can be truncated or edited)."""
    size = len(present)
    if present.dtype != np.bool_ or has_links.dtype != np.bool_ or len(has_links) != size:
        return False
    if not isinstance(values, dict) or set(values) != set(FIELDS):
        return False
    for field, column in codes.items():
        if column.dtype != np.int32 or len(column) != size or not isinstance(values[field], list):
            return False
        if size and (int(column.min()) < 0 or int(column.max()) >= len(values[field])):
            return False
    return all(not bm or bm.max() < size for bm in modules.values())


# ------------------------------------------------------------------------------------------------ queries


def dictionary_table(conn: sqlite3.Connection, snap: Snapshot, field: str) -> str:
    """The temp table holding ``field``'s dictionary on ``conn`` (code, value in a column named ``field``),
    brought up to ``snap``'s dictionary; its sync state lives in the temp schema itself, so it is per
    connection and can never be mistaken for another's."""
    assert field in FIELDS
    table = f"temp.facet_dict_{field}"
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS facet_dicts_synced "
                 "(field TEXT PRIMARY KEY, generation INTEGER NOT NULL, n INTEGER NOT NULL)")
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS facet_dict_{field} (code INTEGER PRIMARY KEY, {field} TEXT)")
    row = conn.execute("SELECT generation, n FROM temp.facet_dicts_synced WHERE field = ?", (field,)).fetchone()
    values = snap.values[field]
    have = 0
    if row is not None and row[0] == snap.generation and row[1] <= len(values):
        have = row[1]
    elif row is not None:
        conn.execute(f"DELETE FROM {table}")
    if have < len(values):
        conn.executemany(f"INSERT INTO {table} (code, {field}) VALUES (?, ?)",
                         zip(range(have, len(values)), values[have:], strict=True))
        conn.execute("INSERT OR REPLACE INTO temp.facet_dicts_synced (field, generation, n) VALUES (?, ?, ?)",
                     (field, snap.generation, len(values)))
    return table


def codes_mask(snap: Snapshot, field: str, codes: Iterable[int]) -> np.ndarray:
    """The crashes whose ``field`` has one of ``codes``."""
    lut = np.zeros(len(snap.values[field]), dtype=bool)
    lut[np.fromiter(codes, dtype=np.int64)] = True
    return lut[snap.codes[field]] & snap.present


def ids_mask(snap: Snapshot, ids: Iterable[int]) -> np.ndarray:
    mask = np.zeros(snap.size, dtype=bool)
    arr = np.fromiter(ids, dtype=np.int64)
    arr = arr[(arr >= 0) & (arr < snap.size)]
    mask[arr] = True
    return mask & snap.present


def modules_mask(snap: Snapshot, module_ids: Iterable[int]) -> np.ndarray:
    bms = [snap.modules[m] for m in module_ids if m in snap.modules]
    mask = np.zeros(snap.size, dtype=bool)
    if bms:
        mask[bitmap_ids(BitMap.union(*bms) if len(bms) > 1 else bms[0])] = True
    return mask & snap.present


def column_counts(snap: Snapshot, field: str, mask: np.ndarray | None, fold: bool, size: int
                  ) -> list[tuple[Any, int]]:
    """(term, count) for ``field`` over the masked crashes, biggest first: NULL and "" left out, a
    case-insensitive (``fold``: SQLite's NOCASE, ASCII only) group named by its smallest spelling."""
    codes = snap.codes[field] if mask is None else snap.codes[field][mask & snap.present]
    if mask is None:
        codes = codes[snap.present]
    counts = np.bincount(codes, minlength=len(snap.values[field]))
    values = snap.values[field]
    return ranked_values(((values[code], int(counts[code])) for code in np.flatnonzero(counts).tolist()), fold, size)


def all_text(snap: Snapshot, field: str) -> bool:
    """Whether every value of ``field`` is text or NULL (else the SQL path counts it)."""
    return all(v is None or isinstance(v, str) for v in snap.values[field])


def module_counts(snap: Snapshot, mask: np.ndarray | None) -> list[tuple[int, int]]:
    """(modules.id, crashes) over the masked crashes (a crash counts once per module row it loaded)."""
    if mask is None:
        return [(mid, len(bm)) for mid, bm in snap.modules.items() if len(bm)]
    selected = mask_bitmap(mask & snap.present)
    out = []
    for mid, bm in snap.modules.items():
        n = bm.intersection_cardinality(selected)
        if n:
            out.append((mid, n))
    return out


def without_negation(term: Any) -> Any:
    return replace(term, negate=False)
