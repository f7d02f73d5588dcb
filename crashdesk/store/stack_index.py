"""Every thread's stack of every crash in memory, for the ``stack:`` and every-thread ``function:`` terms on
large stores (issue 27): what :mod:`crashdesk.store.stack_query` answers those terms from, as a mask over crash
rowids, instead of reading and matching each candidate crash's ``crash_stacks.stacks`` row.

Threads repeat: waiting threads and the threads of crashes from the same code have the same function-id stack.
So the stacks are kept once each:

* ``frames`` (``int32``): the distinct stacks' function ids (``function_names.id``, 0 for a frame without one),
  concatenated, each stack top first; ``starts`` (``int64``): where each stack begins (one more entry: the end);
* one entry per thread of every crash: ``t_crash`` (the crash's rowid), ``t_stack`` (its stack's number),
  ``t_roles`` (:data:`crashdesk.model.threads.CRASHING` / ``MAIN`` bits) and ``t_name``
  (``thread_names.id`` or 0).

It is built from ``crash_stacks`` (the same rows the SQL path matches) and brought up to date like the facet
index (:mod:`crashdesk.store.facet_index`): the crashes logged in ``facet_changes`` since the snapshot are read
again (every write of a ``crash_stacks`` row also writes its ``crashes`` row or module links, which the log's
triggers record, in the same transaction). A snapshot is kept between runs next to the database
(``crashdesk.sqlite.stacks``), so a new process patches it instead of reading every crash.
"""

from __future__ import annotations

import array
import itertools
import sqlite3
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from crashdesk.store import facet_index as fx

FORMAT = 3
_CHUNK = 500
_REINDEX_SHARE = 0.05  # frames appended by patches beyond this share: the inverted index is rebuilt
_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent state of the stack index (never mutated once published)."""

    seq: int               # the last facet_changes row it includes
    frames: np.ndarray     # int32: the distinct stacks' function ids, concatenated, each top first
    starts: np.ndarray     # int64: stack k is frames[starts[k]:starts[k + 1]]
    t_crash: np.ndarray    # int32 per thread: the crash's rowid
    t_stack: np.ndarray    # int32 per thread: its stack's number
    t_roles: np.ndarray    # uint8 per thread: CRASHING / MAIN bits
    t_name: np.ndarray     # int32 per thread: thread_names.id, 0 for none
    order: np.ndarray      # int32: the positions of frames[:len(order)] by function id (stable argsort)
    fstarts: np.ndarray    # int64: function f's positions are order[fstarts[f]:fstarts[f + 1]]
    tstarts: np.ndarray    # int64: the threads [0, tstarts[-1]) are in stack order, stack k's are
                           # tstarts[k]:tstarts[k + 1] (those added by patches since come after, unordered)

    @property
    def stacks(self) -> int:
        return len(self.starts) - 1

    def memory_bytes(self) -> int:
        return sum(a.nbytes for a in (self.frames, self.starts, self.t_crash, self.t_stack, self.t_roles,
                                      self.t_name, self.order, self.fstarts, self.tstarts))

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """The positions in ``frames`` of the functions ``ids``, ascending: from the inverted index for the
        frames it covers, a scan of the frames appended since (patches)."""
        ids = ids[ids > 0]
        known = ids[ids < len(self.fstarts) - 1]
        lo, hi = self.fstarts[known], self.fstarts[known + 1]
        found = np.sort(self.order[_ranges(lo, hi - lo)]).astype(np.int64)
        covered = len(self.order)
        if covered < len(self.frames):
            tail = self.frames[covered:]
            lut = np.zeros(max(int(tail.max()), int(ids.max(initial=0))) + 1, dtype=bool)
            lut[ids] = True
            found = np.concatenate([found, np.flatnonzero(lut[tail]) + covered])
        return found

    def threads_of(self, stacks: np.ndarray) -> np.ndarray:
        """The threads (indexes into the ``t_`` arrays) whose stack is one of ``stacks`` (bool per stack)."""
        ordered = int(self.tstarts[-1])
        chosen = np.flatnonzero(stacks[:len(self.tstarts) - 1])
        lo, hi = self.tstarts[chosen], self.tstarts[chosen + 1]
        found = _ranges(lo, hi - lo)
        if ordered < len(self.t_stack):
            found = np.concatenate([found, np.flatnonzero(stacks[self.t_stack[ordered:]]) + ordered])
        return found

    def count(self, ids: np.ndarray) -> int:
        """How many frames (covered by the inverted index) hold one of ``ids``."""
        ids = ids[(ids > 0) & (ids < len(self.fstarts) - 1)]
        return int((self.fstarts[ids + 1] - self.fstarts[ids]).sum())


def _ranges(lo: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indexes lo[k] .. lo[k] + lengths[k] - 1 of every k, concatenated (int32 when they fit: half the
    memory traffic of int64)."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    kind = np.int32 if int(lo.max()) + int(lengths.max()) < 2**31 and total < 2**31 else np.int64
    offsets = (lo - np.cumsum(lengths) + lengths).astype(kind)
    return np.repeat(offsets, lengths) + np.arange(total, dtype=kind)


def stack_ordered(threads: tuple[np.ndarray, ...], stacks: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The thread arrays (crash, stack, roles, name) in stack order, and ``tstarts``."""
    order = np.argsort(threads[1], kind="stable")
    threads = tuple(a[order] for a in threads)
    return threads, _tstarts(threads[1], stacks)


def _tstarts(stack: np.ndarray, stacks: int) -> np.ndarray:
    return np.r_[np.int64(0), np.cumsum(np.bincount(stack, minlength=stacks), dtype=np.int64)]


def inverted(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, fstarts): the positions of ``frames`` grouped by function id, and where each id's begin."""
    order = np.argsort(frames, kind="stable").astype(np.int32)
    counts = np.bincount(frames, minlength=1) if len(frames) else np.zeros(1, np.int64)
    return order, np.r_[np.int64(0), np.cumsum(counts, dtype=np.int64)]


class StackIndex:
    """The stack index of one database; :meth:`snapshot` brings it up to date on a connection. ``file``: where
    a snapshot is kept between runs (None keeps nothing)."""

    def __init__(self, file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._saved_seq = -1
        self.file = file
        self.last_build_seconds: float | None = None
        self._building: threading.Thread | None = None

    @property
    def built(self) -> bool:
        return self._snap is not None

    def snapshot(self, conn: sqlite3.Connection, *, build: bool = True) -> Snapshot:
        """The index as of ``conn``'s current read transaction (the caller holds one open). ``build`` false:
        only from the snapshot in memory or the kept file, patched from the change log; when neither can be,
        :class:`~crashdesk.store.facet_index.IndexUnavailable`. A build runs without the lock (other
        threads keep searching meanwhile)."""
        try:
            (head,) = conn.execute("SELECT coalesce(max(seq), 0) FROM facet_changes").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise fx.IndexUnavailable(str(exc)) from None
            raise
        token = fx._token(conn)
        with self._lock:
            snap = self._snap
            if snap is not None and snap.seq == head:
                return snap
            if snap is not None and snap.seq > head:
                raise fx.IndexUnavailable("the stack index is ahead of this read transaction")
            if snap is None and self.file is not None and token is not None:
                snap = load(self.file, token)
                if snap is not None:
                    self._saved_seq = snap.seq
                    if snap.seq > head:
                        snap = None
            new = None
            if snap is not None:
                changed = fx.changes_since(conn, snap.seq, int(snap.t_crash.max()) + 1 if len(snap.t_crash) else 0)
                if changed is not None:
                    new = snap if snap.seq == head else _patch(conn, snap, changed, head)
            if new is not None:
                return self._publish(new, token)
            if not build:
                raise fx.IndexUnavailable("no stack index to patch (building it was not asked for)")
        start = time.perf_counter()
        new = _build(conn, head)
        with self._lock:
            self.last_build_seconds = time.perf_counter() - start
            if self._snap is not None and self._snap.seq > new.seq:  # a newer one was published meanwhile
                return new
            return self._publish(new, token)

    def _publish(self, new: Snapshot, token: str | None) -> Snapshot:
        self._snap = new
        if self.file is not None and token is not None and new.seq - self._saved_seq > fx.SAVE_AFTER:
            try:
                save(new, self.file, token)
            except OSError:  # a read-only folder or a full disk: the next run builds again
                pass
            self._saved_seq = new.seq
        return new

    def build_in_background(self, path: Path) -> None:
        """Build the index on a thread of its own (its own read-only connection to ``path``), once at a time;
        searches take the SQL path until it is published."""
        with self._lock:
            if self._building is not None and self._building.is_alive():
                return
            self._building = threading.Thread(target=self._background, args=(path,), name="stack-index",
                                              daemon=True)
            self._building.start()

    def _background(self, path: Path) -> None:
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            conn.execute("BEGIN")
            self.snapshot(conn, build=True)
        except (sqlite3.Error, fx.IndexUnavailable, OSError):
            pass  # a store closed or changed under it: the next search asks again
        finally:
            conn.close()


# ------------------------------------------------------------------------------------------------ building


class _Builder:
    """Collects threads and their distinct stacks (a stack is keyed by its ids' JSON text)."""

    def __init__(self, known: int = 0, frames_at: int = 0) -> None:
        # typed arrays, not lists: at a million crashes the lists' int objects took ~1 GB while building
        self.ids: dict[bytes, int] = {}
        self.frames = array.array("i")
        self.lengths = array.array("q")
        self.first = known          # the number the first new stack gets
        self.frames_at = frames_at  # the frames the stacks before it hold
        self.crash = array.array("i")
        self.stack = array.array("i")
        self.roles = array.array("B")
        self.name = array.array("i")

    def add(self, crash: int, blob: bytes | str) -> None:
        raw = blob.encode() if isinstance(blob, str) else blob
        for roles, nid, key, ids in _threads(raw):
            sid = self.ids.get(key)
            if sid is None:
                sid = self.ids[key] = self.first + len(self.lengths)
                if ids is None:
                    ids = orjson.loads(b"[" + key + b"]") if key else []
                self.frames.extend(ids)
                self.lengths.append(len(ids))
            self.crash.append(crash)
            self.stack.append(sid)
            self.roles.append(roles & 0xFF)
            self.name.append(nid)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        frames = np.frombuffer(self.frames, dtype=np.int32).copy() if len(self.frames) else np.zeros(0, np.int32)
        ends = np.cumsum(np.array(self.lengths, dtype=np.int64)) + self.frames_at
        threads = (np.array(self.crash, dtype=np.int32), np.array(self.stack, dtype=np.int32),
                   np.array(self.roles, dtype=np.uint8), np.array(self.name, dtype=np.int32))
        return frames, ends, threads


def _threads(raw: bytes):
    """(roles, thread name id, key, ids or None) per thread of a ``crash_stacks.stacks`` value; orjson's
    compact text is split at "]],[" without parsing it (the key is a thread's ids text, parsed once per
    distinct stack), any other JSON text parsed."""
    if raw.startswith(b"[[") and raw.endswith(b"]]]") and b" " not in raw:
        out = []
        try:
            for piece in raw[1:-1].split(b"]],["):
                roles_text, nid_text, ids_text = piece.strip(b"[]").split(b",", 2)
                out.append((int(roles_text), int(nid_text), ids_text.lstrip(b"["), None))
            return out
        except ValueError:
            pass
    out = []
    for roles, nid, ids in orjson.loads(raw):
        ids = [int(i) for i in ids]
        out.append((int(roles), int(nid), orjson.dumps(ids)[1:-1], ids))
    return out


def _build(conn: sqlite3.Connection, head: int) -> Snapshot:
    builder = _Builder()
    cur = conn.execute("SELECT crash, stacks FROM crash_stacks")
    while True:
        rows = cur.fetchmany(20_000)
        if not rows:
            break
        for crash, blob in rows:
            if blob is not None:
                builder.add(crash, blob)
    frames, ends, threads = builder.arrays()
    threads, tstarts = stack_ordered(threads, len(ends))
    return Snapshot(head, frames, np.r_[np.int64(0), ends], *threads, *inverted(frames), tstarts)


def _patch(conn: sqlite3.Connection, snap: Snapshot, changed: np.ndarray, head: int) -> Snapshot:
    """A new snapshot: ``snap`` with the ``changed`` crashes' threads read again (their new stacks appended;
    stacks no thread uses any more stay until the next build)."""
    keep = ~np.isin(snap.t_crash, changed)
    builder = _Builder(snap.stacks, int(snap.starts[-1]))
    for start in range(0, len(changed), _CHUNK):
        chunk = changed[start:start + _CHUNK].tolist()
        for crash, blob in conn.execute(f"SELECT crash, stacks FROM crash_stacks WHERE crash IN "
                                        f"({','.join('?' * len(chunk))})", chunk):
            if blob is not None:
                builder.add(crash, blob)
    frames, ends, (crash, stack, roles, name) = builder.arrays()
    all_frames = np.concatenate([snap.frames, frames])
    order, fstarts = snap.order, snap.fstarts
    if len(all_frames) - len(order) > _REINDEX_SHARE * len(all_frames):  # the scanned tail grew: index it
        order, fstarts = inverted(all_frames)
    starts = np.concatenate([snap.starts, ends])
    ordered = int(np.count_nonzero(keep[:snap.tstarts[-1]]))  # still in stack order
    threads = (np.concatenate([snap.t_crash[keep], crash]), np.concatenate([snap.t_stack[keep], stack]),
               np.concatenate([snap.t_roles[keep], roles]), np.concatenate([snap.t_name[keep], name]))
    if len(threads[1]) - ordered > _REINDEX_SHARE * len(threads[1]):
        threads, tstarts = stack_ordered(threads, len(starts) - 1)
    else:
        tstarts = _tstarts(threads[1][:ordered], len(starts) - 1)
    return Snapshot(head, all_frames, starts, *threads, order, fstarts, tstarts)


# ------------------------------------------------------------------------------------------------ keeping

_ARRAYS = ("frames", "starts", "t_crash", "t_stack", "t_roles", "t_name", "order", "fstarts", "tstarts")
_DTYPES = {"frames": np.int32, "starts": np.int64, "t_crash": np.int32, "t_stack": np.int32, "t_roles": np.uint8,
           "t_name": np.int32, "order": np.int32, "fstarts": np.int64, "tstarts": np.int64}


def save(snap: Snapshot, file: Path, token: str) -> None:
    """Write ``snap`` to ``file`` (numpy's .npz, replaced atomically)."""
    fx.write_npz(file, {"seq": snap.seq, "token": token, "format": FORMAT},
                 **{name: getattr(snap, name) for name in _ARRAYS})


def load(file: Path, token: str) -> Snapshot | None:
    """The snapshot kept in ``file`` if it is this database's (``token``) and consistent, else None."""
    try:
        with np.load(file, allow_pickle=False) as z:
            meta = orjson.loads(z["meta"].tobytes())
            if meta.get("token") != token or meta.get("format") != FORMAT:
                return None
            arrays = {name: z[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, orjson.JSONDecodeError,
            zipfile.BadZipFile):
        return None  # unreadable: rebuilt from the tables
    if not _consistent(arrays):
        return None
    return Snapshot(int(meta["seq"]), **arrays)


def _consistent(a: dict[str, np.ndarray]) -> bool:
    """Whether a loaded snapshot's parts fit together (a kept file can be cut short or edited)."""
    if any(a[name].dtype != _DTYPES[name] or a[name].ndim != 1 for name in _ARRAYS):
        return False
    starts, threads = a["starts"], len(a["t_crash"])
    if len(starts) < 1 or starts[0] != 0 or starts[-1] != len(a["frames"]) or np.any(np.diff(starts) < 0):
        return False
    if any(len(a[name]) != threads for name in ("t_stack", "t_roles", "t_name")):
        return False
    if threads and (a["t_stack"].min() < 0 or a["t_stack"].max() >= len(starts) - 1 or a["t_crash"].min() < 0):
        return False
    if len(a["frames"]) and a["frames"].min() < 0:
        return False
    order, fstarts = a["order"], a["fstarts"]
    if len(order) > len(a["frames"]) or len(fstarts) < 1 or fstarts[0] != 0 or fstarts[-1] != len(order):
        return False
    if np.any(np.diff(fstarts) < 0) or (len(order) and (order.min() < 0 or order.max() >= len(order))):
        return False
    tstarts = a["tstarts"]
    if len(tstarts) < 1 or len(tstarts) > len(starts) or tstarts[0] != 0 or tstarts[-1] > threads:
        return False
    return not np.any(np.diff(tstarts) < 0)
