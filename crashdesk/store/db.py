"""Connections: one per thread, WAL mode, a long busy timeout, and write transactions that retry instead of
surfacing "database is locked"."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crashdesk.engine.spikes import is_spike
from crashdesk.store import annotation_columns, codec, thread_index
from crashdesk.store.errors import StoreError
from crashdesk.store.schema import SCHEMA_VERSION, migrate

if TYPE_CHECKING:  # sqlite_utils pulls in numpy (~0.7 s): imported on first use of Database.utils only
    import sqlite_utils

BUSY_TIMEOUT_MS = 30_000
# New databases use 16 KiB pages: a crash's rows (its ~10 KB compressed processed crash, frames, annotations,
# full-text segments) span fewer pages, which made bulk ingest ~10% faster than with 4 KiB pages
# (benchmarks/bench_store.py). A database keeps the page size it was created with.
PAGE_SIZE = 16384
#: SQLite's default: a commit that leaves more WAL pages than this checkpoints them into the database file
AUTOCHECKPOINT_PAGES = 1000
#: during a bulk write (:meth:`Database.background_checkpoints`) the writer's own commits checkpoint only past
#: this much WAL (a safety net when the background checkpoint falls behind)
BULK_WAL_BYTES = 256 << 20
#: crashes written by bulk writes between two background checkpoints (at 1M crashes ~6 WAL pages each, so about
#: SQLite's automatic checkpoint interval; the collector's small group commits do not each bring a checkpoint)
CHECKPOINT_AFTER_CRASHES = 100
#: each connection's page cache (KiB)
CACHE_KIB = 64 << 10
#: the writer's page cache during a bulk write (:meth:`Database.background_checkpoints`): a batch of 500 crashes at
#: 1M dirties ~45 MB of pages (one leaf page a crash in each randomly keyed index, full-text segments); in a
#: 64 MiB cache SQLite spilled some of them to the WAL before the commit and read them back, so each crash wrote
#: ~250 KiB and read ~220 KiB, against ~190 and ~125 with this cache (measured, benchmarks/bench_store.py --add)
BULK_CACHE_KIB = 256 << 10


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes. A WAL database needs its ``-shm`` file, which a read-only folder cannot
    get when the last writer removed it on close; then the file is opened as immutable (nothing can change it
    while the folder stays read-only)."""
    if not path.is_file():
        raise StoreError(f"no CrashDesk database at {path} (the folder is read-only, so none can be created)")
    for mode in ("mode=ro", "immutable=1"):
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            error = exc
            continue
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.create_function("crashdesk_spike", 2, is_spike, deterministic=True)  # the trend:spike query term
        thread_index.register(conn)
        conn.create_function("crashdesk_text", 1, codec.text, deterministic=True)  # (schema triggers)
        annotation_columns.register(conn)
        return conn
    raise StoreError(f"cannot open the database {path} read-only: {error}")


def _while_locked(conn: sqlite3.Connection, sql: str, *, delay: float, cap: float) -> None:
    """Run ``sql`` on ``conn``, again and again (jittered, doubling pauses from ``delay`` up to ``cap``) while
    SQLite answers that another connection holds the file; :class:`StoreError` after 2 minutes."""
    deadline = time.monotonic() + 120
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise StoreError("the database stayed locked by another process for 2 minutes") from exc
            time.sleep(delay + random.random() * delay)
            delay = min(delay * 2, cap)


def connect(path: Path) -> sqlite3.Connection:
    new = not path.exists() or path.stat().st_size == 0
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from exc
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if new:  # before WAL mode writes the first page
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    # retried: when several processes open a new store at once, SQLite answers "database is locked" at once,
    # without the busy handler, to each one that asks while another switches the file to WAL (seen in CI: one
    # of four writer processes started together failed to open the store)
    _while_locked(conn, "PRAGMA journal_mode = WAL", delay=0.005, cap=0.25)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    conn.create_function("crashdesk_spike", 2, is_spike, deterministic=True)  # the trend:spike query term
    thread_index.register(conn)
    # compressed text back as text: the delete trigger of crash_stacks reads a crash's thread terms with it
    conn.create_function("crashdesk_text", 1, codec.text, deterministic=True)
    annotation_columns.register(conn)  # ann.KEY searches; the delete trigger of crashes
    return conn


class _Checkpointer:
    """A thread with its own connection that copies the WAL into the database file (a passive checkpoint) when
    asked, while the writer goes on with its next batch. A checkpoint waits for no lock and blocks no writer:
    it copies what is committed when it starts, and the WAL starts over at the first commit after one that
    caught up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid = os.getpid()
        self._changed = threading.Condition()
        self._asked = 0  # requests so far
        self._served = 0  # requests a finished checkpoint covered
        self._stop = False
        self.checkpoints = 0  # passive checkpoints run (tests)
        self._thread = threading.Thread(target=self._run, name="crashdesk-checkpoint", daemon=True)
        self._thread.start()

    def request(self) -> None:
        with self._changed:
            self._asked += 1
            self._changed.notify_all()

    def wait(self) -> None:
        """Until a checkpoint started after every request so far has finished."""
        with self._changed:
            asked = self._asked
            self._changed.wait_for(lambda: self._served >= asked or not self._thread.is_alive())

    def stop(self) -> None:
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        self._thread.join()

    def _run(self) -> None:
        conn = None
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._stop or self._asked > self._served)
                    if self._stop:
                        return
                    asked = self._asked
                try:
                    if conn is None:
                        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
                        conn.execute("PRAGMA wal_autocheckpoint = 0")
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error:
                    pass  # busy or gone: the writer's own commits checkpoint past BULK_WAL_BYTES
                with self._changed:
                    self._served = asked
                    self._changed.notify_all()
        finally:
            with self._changed:
                self._changed.notify_all()
            if conn is not None:
                conn.close()


class Database:
    """Thread-local connections to one SQLite file, migrated on first open."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._by_thread: dict[int, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._checkpointer: _Checkpointer | None = None
        self._bulk_crashes = 0  # written by bulk writes since the last background checkpoint
        try:
            if read_only:
                (version,) = self.conn.execute("PRAGMA user_version").fetchone()
                if version != SCHEMA_VERSION:
                    raise StoreError(f"{self.path} has schema version {version} and this CrashDesk needs "
                                     f"{SCHEMA_VERSION}; the folder is read-only, so it cannot be upgraded")
            else:
                migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a CrashDesk database: {exc}") from exc

    @property
    def conn(self) -> sqlite3.Connection:
        # keyed by thread id, not threading.local: PySide drops a pool thread's Python thread state after
        # each job, so thread-local data (and with it a warm connection and its page cache) was lost per job:
        # every background job opened a new connection, ~130 ms cold on a 100k-crash store, and the old ones
        # piled up. A thread id is only reused once its thread has ended, so a connection is never shared.
        ident = threading.get_ident()
        conn = self._by_thread.get(ident)
        if conn is None:
            conn = connect_read_only(self.path) if self.read_only else connect(self.path)
            with self._lock:
                self._by_thread[ident] = conn
                self._all.append(conn)
        return conn

    @property
    def utils(self) -> sqlite_utils.Database:
        """sqlite-utils over this thread's connection (introspection, ad-hoc inserts)."""
        db = getattr(self._local, "utils", None)
        if db is None:
            import sqlite_utils

            db = sqlite_utils.Database(self.conn)
            self._local.utils = db
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``) that retries when another writer holds the lock. Inside
        :meth:`batch` it is a savepoint instead: a failing write undoes only itself (with ``savepoints=False``
        it joins the batch's transaction, and a failing write makes the whole batch roll back)."""
        conn = self.conn
        if conn.in_transaction and getattr(self._local, "joined", False):
            try:
                yield conn
            except BaseException:
                self._local.broken = True
                raise
            return
        if conn.in_transaction:
            conn.execute("SAVEPOINT write")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO write")
                conn.execute("RELEASE write")
                raise
            conn.execute("RELEASE write")
            return
        self.begin(conn)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @staticmethod
    def begin(conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE`` on ``conn``, retrying while another writer holds the lock (2 minutes at most)."""
        _while_locked(conn, "BEGIN IMMEDIATE", delay=0.01, cap=0.5)

    @staticmethod
    def commit_later(conn: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Any]]] = ()
                     ) -> Callable[[], None]:
        """Start committing ``conn``'s open transaction on another thread, after running ``statements`` (SQL,
        parameters) in it there (SQLite writes the WAL, merges full-text segments and syncs without the GIL, and
        so runs any single statement), and return a function that waits for it: it returns once the transaction
        is on disk, or rolls it back and raises what a statement or the commit raised. Until then nothing else
        may use ``conn``."""
        outcome: list[BaseException] = []

        def commit() -> None:
            try:
                for sql, params in statements:
                    conn.execute(sql, params)
                conn.execute("COMMIT")
            except BaseException as exc:  # handed to the waiter
                outcome.append(exc)

        thread = threading.Thread(target=commit, name="crashdesk-commit", daemon=True)
        thread.start()

        def wait() -> None:
            thread.join()
            if outcome:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise outcome[0]

        return wait

    @contextmanager
    def batch(self, *, savepoints: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction for several writes (each :meth:`write` inside becomes a savepoint), committed at the
        end: one commit instead of one per write. Whatever raises out of the block rolls all of it back.

        ``savepoints=False``: the writes inside join the transaction as they are, for a caller that lets any
        failure roll back the whole batch anyway (the processing service): a savepoint per write makes every
        full-text (FTS5) table flush its pending terms to new segments at each one, about a tenth of the
        service's recording time. A write that fails rolls back the whole batch even when the caller catches
        its error (:class:`StoreError` at the end of the block)."""
        if not savepoints and not self.conn.in_transaction:
            with self.write() as conn:
                self._local.joined, self._local.broken = True, False
                try:
                    yield conn
                finally:
                    self._local.joined = False
                if self._local.broken:
                    raise StoreError("a write in the batch failed: none of the batch was kept")
            return
        with self.write() as conn:
            yield conn

    @contextmanager
    def derived_writes(self) -> Iterator[None]:
        """Within the block, commits from this thread do not wait for an fsync (WAL with ``synchronous =
        NORMAL``), for results that are computed again when lost: a power cut may drop the last ones, never
        corrupts the file, and never touches what another connection committed (received crashes stay
        ``FULL``). The processing service records results this way: a crash whose result did not reach the
        disk is still claimed by a service that no longer runs and goes back to the queue."""
        conn = self.conn
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        except BaseException:
            # a write cut short between its BEGIN and its COMMIT or ROLLBACK (Ctrl-C lands where it lands) leaves
            # its transaction open, and the pragma below cannot run inside one: nothing of it was committed
            if conn.in_transaction:
                conn.rollback()
            raise
        finally:
            conn.execute("PRAGMA synchronous = FULL")

    @contextmanager
    def background_checkpoints(self, crashes: int) -> Iterator[None]:
        """Around bulk writes (:meth:`CrashStore.add_many`): their commits leave the WAL to a background thread
        to copy into the database file, instead of doing it themselves (SQLite's automatic checkpoint: at 1M
        crashes a batch of 500 leaves ~45 MB of WAL, and copying and syncing it took a third of the commit).
        ``crashes``: how many the block writes; once bulk writes have written :data:`CHECKPOINT_AFTER_CRASHES`
        since the last one, a passive checkpoint is asked for after the block. The writer's own commits still
        checkpoint past :data:`BULK_WAL_BYTES` of WAL, and the writer's page cache is :data:`BULK_CACHE_KIB` for the
        block. What is committed, and when, is unchanged."""
        conn = self.conn
        if self._checkpointer is None or self._checkpointer.pid != os.getpid():
            self._checkpointer = _Checkpointer(self.path)
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        conn.execute(f"PRAGMA wal_autocheckpoint = {max(AUTOCHECKPOINT_PAGES, BULK_WAL_BYTES // page_size)}")
        conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # SQLite frees the pages past it
            conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
            self.bulk_written(crashes)

    def bulk_written(self, crashes: int) -> None:
        """Count ``crashes`` written by bulk commits inside :meth:`background_checkpoints`; past
        :data:`CHECKPOINT_AFTER_CRASHES` since the last one, ask the background thread for a checkpoint."""
        self._bulk_crashes += crashes
        if self._bulk_crashes >= CHECKPOINT_AFTER_CRASHES and self._checkpointer is not None:
            self._bulk_crashes = 0
            self._checkpointer.request()

    def close(self) -> None:
        """Close this thread's connection; let go of the others. Another thread's connection may be in the middle
        of a statement (SQLite runs it without the GIL; Qt pool threads are not even known to ``threading``), and
        closing it under that thread crashes the process. So it is interrupted and released: a connection no
        thread holds is closed at once by its last reference going away, one in use when that thread lets go."""
        if self._checkpointer is not None:
            if self._checkpointer.pid == os.getpid():
                self._checkpointer.stop()
            self._checkpointer = None
        me = threading.get_ident()
        with self._lock:
            mine = self._by_thread.pop(me, None)
            others = list(self._by_thread.values())
            self._all.clear()
            self._by_thread.clear()
        for conn in others:
            try:
                conn.interrupt()
            except sqlite3.Error:
                pass
        del others
        if mine is not None:
            try:
                mine.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()
