"""Making an accepted submission durable before it is answered.

1. Each spooled dump is fsynced and renamed to its content address in the store's blob folder (the folders
   on the way are fsynced too), in the request's own thread, so dumps of concurrent requests sync in parallel.
2. The raw crash goes to :class:`GroupCommitter`: one writer thread takes every crash waiting at that moment
   and records them in one SQLite transaction (``synchronous=FULL``, WAL), so one fsync covers the group.
   A request waits until the commit that holds its crash has returned; only then is it answered.
   Requests announce themselves when they start (:meth:`GroupCommitter.arriving`); while some are still
   being read, the writer waits a few milliseconds (:data:`GATHER_SECONDS` at most) for them to join the
   group: a transaction costs the store about as much CPU for one crash as for several, so groups of
   several crashes under load save more CPU than the wait costs in latency. A lone request is never held.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.collector.errors import CollectorError
from crashdesk.collector.parsing import SpooledDump
from crashdesk.store.blobs import fsync_dir
from crashdesk.store.crashes import CrashStore, DumpRef

#: the most crashes one transaction takes
MAX_GROUP = 256
#: how long the writer waits for announced requests to join a group (seconds)
GATHER_SECONDS = 0.01


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_dumps(store: CrashStore, dumps: Mapping[str, SpooledDump]) -> dict[str, DumpRef]:
    """Move spooled dumps to their content addresses durably; return the store references."""
    refs: dict[str, DumpRef] = {}
    synced: set[Path] = set()
    for name, dump in dumps.items():
        target = store.blobs.path(dump.sha256)
        try:
            stored_size = os.stat(target).st_size
        except FileNotFoundError:
            stored_size = None
        if stored_size == dump.size:
            os.unlink(dump.path)  # the same bytes are already stored (content addressing)
        else:
            _fsync_file(dump.path)
            if not target.parent.exists():
                # a new folder is an entry in its parent; the parent, if new too, one in the root
                created = [target.parent] + ([target.parent.parent] if not target.parent.parent.exists() else [])
                target.parent.mkdir(parents=True, exist_ok=True)
                for folder in [f.parent for f in created]:
                    if folder not in synced:
                        fsync_dir(folder)
                        synced.add(folder)
            os.replace(dump.path, target)
            if target.parent not in synced:
                fsync_dir(target.parent)
                synced.add(target.parent)
        refs[name] = DumpRef(dump.sha256, dump.size)
    return refs


@dataclass
class _Pending:
    item: dict[str, Any]
    notify: bool = True
    done: threading.Event = field(default_factory=threading.Event)
    crash_id: str | None = None
    error: BaseException | None = None


class Arrival:
    """A request the committer expects a crash from (see :meth:`GroupCommitter.arriving`)."""

    def __init__(self, committer: GroupCommitter) -> None:
        self._committer = committer
        self._open = True

    def settle(self) -> None:
        """The request has handed its crash over, or will not (refused, failed); idempotent."""
        if self._open:
            self._open = False
            self._committer._settle()

    def __enter__(self) -> Arrival:
        return self

    def __exit__(self, *exc: object) -> None:
        self.settle()


class GroupCommitter:
    """One writer thread recording raw crashes in groups; :meth:`commit` blocks until durable."""

    def __init__(self, store: CrashStore, on_committed: Callable[[list[str]], None] | None = None,
                 gather_seconds: float = GATHER_SECONDS) -> None:
        self.store = store
        self.on_committed = on_committed
        self.gather_seconds = gather_seconds
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._arriving = 0
        self._arriving_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="collector-commit", daemon=True)
        self._stopped = False
        self.groups = 0
        self.committed = 0
        self._thread.start()

    def arriving(self) -> Arrival:
        """Announce a request that may soon :meth:`commit` a crash; settle it (or pass it to :meth:`commit`)
        when it does or when it will not. Use as a context manager around the request's handling."""
        with self._arriving_lock:
            self._arriving += 1
        return Arrival(self)

    def _settle(self) -> None:
        with self._arriving_lock:
            self._arriving -= 1

    def commit(self, item: Mapping[str, Any], *, notify: bool = True, timeout: float = 120.0,
               arrival: Arrival | None = None) -> str:
        """Record one raw crash (``CrashStore.add_crash`` arguments); return its id once it is on disk.
        ``notify``: hand it to ``on_committed`` afterwards (False for deferred crashes). ``arrival``: this
        request's announcement, settled as the crash is queued."""
        if self._stopped:
            raise CollectorError("the collector is stopping")
        pending = _Pending(dict(item), notify)
        self._queue.put(pending)
        if arrival is not None:
            arrival.settle()
        if not pending.done.wait(timeout):
            raise CollectorError("the crash store did not commit in time")
        if pending.error is not None:
            raise pending.error
        assert pending.crash_id is not None
        return pending.crash_id

    def close(self) -> None:
        """Finish what is queued, then stop the writer thread."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(None)
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            deadline = time.monotonic() + self.gather_seconds
            while len(group) < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    # requests still being read will bring their crashes soon: wait a little for them
                    left = deadline - time.monotonic()
                    if self._arriving <= 0 or left <= 0:
                        break
                    try:
                        nxt = self._queue.get(timeout=min(left, 0.001))
                    except queue.Empty:
                        continue
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
            self._write(group)
            if stop:
                return

    def _write(self, group: list[_Pending]) -> None:
        add_many = getattr(self.store, "add_many", None)
        if add_many is not None and len(group) > 1:
            from crashdesk.store.crashes import NewCrash

            try:
                ids = add_many([NewCrash(**p.item) for p in group])
                for p, cid in zip(group, ids, strict=True):
                    p.crash_id = cid
            except BaseException:
                pass  # all or nothing: nothing was stored; record one by one below to isolate the culprit
        for p in group:
            if p.crash_id is not None:
                continue
            try:
                p.crash_id = self.store.add_crash(**p.item)
            except BaseException as exc:  # reported to that request as a storage failure (500)
                p.error = exc
        self.groups += 1
        done = [p.crash_id for p in group if p.crash_id is not None]
        self.committed += len(done)
        # the processor hears of a crash before its client has the answer (the hook must not block)
        to_notify = [p.crash_id for p in group if p.crash_id is not None and p.notify]
        if to_notify and self.on_committed is not None:
            try:
                self.on_committed(to_notify)
            except Exception:
                pass
        for p in group:
            p.done.set()
