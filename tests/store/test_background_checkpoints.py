"""Bulk writes (``CrashStore.add_many``) leave copying the WAL into the database file to a background thread
(``Database.background_checkpoints``): what they commit is the same, is seen by other connections at once, and
reaches the database file without the writer checkpointing."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash
from crashdesk.store.db import AUTOCHECKPOINT_PAGES, BULK_CACHE_KIB, CACHE_KIB, CHECKPOINT_AFTER_CRASHES
from crashdesk.store.errors import DuplicateCrash


def _crashes(n: int, start: int = 0) -> list[NewCrash]:
    return [NewCrash({"ProductName": "Firefox", "Version": f"{130 + k % 3}.0", "URL": f"https://example.com/{k}",
                      "Comments": "x" * (k % 50)}, source="import") for k in range(start, start + n)]


def _in_database_file(path, tmp) -> int:
    """How many crashes the database file itself holds, without its WAL: a copy of the file alone, opened."""
    copy = tmp / "file-alone.sqlite"
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(str(copy))
    try:
        return conn.execute("SELECT count(*) FROM crashes").fetchone()[0]
    finally:
        conn.close()
        copy.unlink()


def test_bulk_commits_are_checkpointed_by_the_background_thread(tmp_path):
    store = CrashStore.open(tmp_path)
    try:
        ids = store.add_many(_crashes(300))
        checkpointer = store.db._checkpointer
        assert checkpointer is not None
        checkpointer.wait()
        assert checkpointer.checkpoints >= 1
        # the writer's own connection checkpoints as usual again after the bulk write
        assert store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == AUTOCHECKPOINT_PAGES
        other = sqlite3.connect(str(store.db.path))
        assert other.execute("SELECT count(*) FROM crashes").fetchone()[0] == 300
        other.close()
        assert _in_database_file(store.db.path, tmp_path) == 300  # copied there by the thread
        assert store.get(ids[-1])["annotations"]["URL"] == "https://example.com/299"
    finally:
        store.close()
    # closing stops the thread; the file holds every crash on its own (no WAL left to read)
    conn = sqlite3.connect(str(tmp_path / "crashdesk.sqlite"))
    assert conn.execute("SELECT count(*) FROM crashes").fetchone()[0] == 300
    conn.close()
    assert not (tmp_path / "crashdesk.sqlite-wal").exists() or (tmp_path / "crashdesk.sqlite-wal").stat().st_size == 0


def test_a_failed_bulk_write_keeps_nothing_and_restores_the_automatic_checkpoint(tmp_path):
    store = CrashStore.open(tmp_path)
    try:
        first = _crashes(20)
        store.add_many(first)
        again = _crashes(5, start=100)
        again[3].crash_id = store.add_many(_crashes(1, start=200))[0]  # a duplicate in the middle
        with pytest.raises(DuplicateCrash):
            store.add_many(again)
        assert store.count() == 21
        assert store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == AUTOCHECKPOINT_PAGES
        assert store.db.conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
        assert not store.db.conn.in_transaction
        store.add_many(_crashes(4, start=300))  # the store goes on as before
        assert store.count() == 25
    finally:
        store.close()


def test_a_stream_of_batches_writes_with_the_bulk_page_cache_then_gives_it_back(tmp_path):
    store = CrashStore.open(tmp_path)
    try:
        conn = store.db.conn
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
        seen = []
        for ids in store.add_batches([_crashes(20, start=k * 20) for k in range(3)]):
            seen.append((len(ids), conn.execute("PRAGMA cache_size").fetchone()[0]))
        assert seen == [(20, -BULK_CACHE_KIB)] * 3
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
        stream = store.add_batches([_crashes(5, start=100), _crashes(5, start=200)])
        next(stream)
        stream.close()  # a stream left early gives the cache back too
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
        assert store.count() == 65
    finally:
        store.close()


def test_many_bulk_writes_keep_the_wal_bounded(tmp_path):
    """The WAL starts over once a background checkpoint has caught up: batch after batch does not grow it."""
    store = CrashStore.open(tmp_path)
    wal = tmp_path / "crashdesk.sqlite-wal"
    try:
        sizes = []
        for n in range(12):
            store.add_many(_crashes(200, start=n * 200))
            store.db._checkpointer.wait()
            sizes.append(wal.stat().st_size)
        assert store.count() == 2400
        assert sizes[-1] <= 1.5 * max(sizes[:4]), sizes
    finally:
        store.close()


def test_small_bulk_writes_share_a_checkpoint(tmp_path):
    """The collector's group commits of a few crashes each: a background checkpoint once enough crashes were
    written since the last one, not one per write."""
    store = CrashStore.open(tmp_path)
    try:
        store.add_many(_crashes(CHECKPOINT_AFTER_CRASHES))
        checkpointer = store.db._checkpointer
        checkpointer.wait()
        assert checkpointer.checkpoints == 1
        groups = 0
        while checkpointer.checkpoints == 1:
            store.add_many(_crashes(4, start=1000 + 4 * groups))
            groups += 1
            checkpointer.wait()
        assert groups == -(-CHECKPOINT_AFTER_CRASHES // 4)
        assert _in_database_file(store.db.path, tmp_path) == CHECKPOINT_AFTER_CRASHES + 4 * groups
    finally:
        store.close()
