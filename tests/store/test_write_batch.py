"""``Database.batch``: several writes in one transaction, each ``write()`` inside a savepoint (issue 24: the
processing service records the results that arrived together with one commit instead of one per crash)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crashdesk.engine.stackwalk import process_minidump
from crashdesk.store import CrashStore
from crashdesk.symbols import build_provider

CASE = Path(__file__).resolve().parents[1] / "data" / "crashes" / "01-null-deref"


def _other_connection(store: CrashStore) -> sqlite3.Connection:
    return sqlite3.connect(str(store.db.path), isolation_level=None)


def _rows(conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT x FROM t_batch ORDER BY x")]


def test_a_failing_write_in_a_batch_undoes_only_itself_and_the_rest_commits_at_the_end(store):
    db = store.db
    with db.write() as conn:
        conn.execute("CREATE TABLE t_batch (x INTEGER)")
    other = _other_connection(store)
    with db.batch():
        with db.write() as conn:
            conn.execute("INSERT INTO t_batch VALUES (1)")
        with pytest.raises(RuntimeError), db.write() as conn:
            conn.execute("INSERT INTO t_batch VALUES (2)")
            raise RuntimeError("this write fails")
        with db.write() as conn:
            conn.execute("INSERT INTO t_batch VALUES (3)")
        assert _rows(db.conn) == [1, 3]
        assert _rows(other) == []  # nothing is visible to another connection before the batch commits
    assert _rows(other) == [1, 3]
    other.close()


def test_an_error_out_of_the_batch_rolls_back_every_write_in_it(store):
    db = store.db
    with db.write() as conn:
        conn.execute("CREATE TABLE t_batch (x INTEGER)")
    with pytest.raises(RuntimeError), db.batch():
        for x in (1, 2):
            with db.write() as conn:
                conn.execute("INSERT INTO t_batch VALUES (?)", (x,))
        raise RuntimeError("the batch fails after its writes")
    assert _rows(db.conn) == []
    assert not db.conn.in_transaction
    with db.write() as conn:  # the connection is usable again, outside any batch
        conn.execute("INSERT INTO t_batch VALUES (4)")
    assert _rows(db.conn) == [4]


def test_ids_cached_by_a_rolled_back_batch_are_forgotten(store):
    """save_processed caches the ids of new function names; when the batch around it is rolled back those rows
    are gone, and a later save must not point at them (the service calls ``forget_cached_ids``)."""
    ann = json.loads((CASE / "annotations.json").read_text())
    crash_id = store.add_crash(ann, {"upload_file_minidump": (CASE / "dump.dmp").read_bytes()}, source="import")
    processed = process_minidump(str(CASE / "dump.dmp"), build_provider([CASE.parent / "symbols"], [], None))
    function = next(f["function"] for f in processed["crashing_thread"]["frames"] if f.get("function"))
    with pytest.raises(RuntimeError), store.db.batch():
        store.save_processed(crash_id, processed)
        raise RuntimeError("the batch fails after the save")
    assert store.db.conn.execute("SELECT count(*) FROM function_names WHERE name = ?", (function,)).fetchone()[0] == 0
    store.forget_cached_ids()
    store.save_processed(crash_id, processed)
    (fid,) = store.db.conn.execute("SELECT id FROM function_names WHERE name = ?", (function,)).fetchone()
    assert store.search(f'function:"{function}"', limit=10).total == 1
    assert fid is not None



def test_name_dictionary_ids_cached_by_a_rolled_back_batch_are_forgotten(store):
    """The same for the dictionaries of frame module names (and thread and file names): the save after the
    rolled-back batch adds its names again, and the crash is found by them."""
    ann = json.loads((CASE / "annotations.json").read_text())
    crash_id = store.add_crash(ann, {"upload_file_minidump": (CASE / "dump.dmp").read_bytes()}, source="import")
    processed = process_minidump(str(CASE / "dump.dmp"), build_provider([CASE.parent / "symbols"], [], None))
    modules = {f["module"] for t in processed["threads"] for f in t["frames"] if f.get("module")}
    assert modules
    with pytest.raises(RuntimeError), store.db.batch():
        store.save_processed(crash_id, processed)
        raise RuntimeError("the batch fails after the save")
    assert store.db.conn.execute("SELECT count(*) FROM frame_modules").fetchone()[0] == 0
    store.forget_cached_ids()
    store.save_processed(crash_id, processed)
    stored = {r[0] for r in store.db.conn.execute("SELECT name FROM frame_modules")}
    assert modules <= stored
    module = sorted(modules)[0]
    assert store.search(f'frame.module:"{module}"', limit=10).total == 1

def test_a_batch_without_savepoints_commits_its_writes_together_at_the_end(store):
    db = store.db
    with db.write() as conn:
        conn.execute("CREATE TABLE t_batch (x INTEGER)")
    other = _other_connection(store)
    with db.batch(savepoints=False):
        for x in (1, 2):
            with db.write() as conn:
                conn.execute("INSERT INTO t_batch VALUES (?)", (x,))
        assert _rows(db.conn) == [1, 2]
        assert _rows(other) == []
    assert _rows(other) == [1, 2]
    other.close()


def test_a_failing_write_in_a_batch_without_savepoints_rolls_back_the_whole_batch_even_when_caught(store):
    """Without savepoints a failed write cannot undo only itself: its half-done changes, and every other write of
    the batch, are rolled back, and the batch says so, even when the caller caught the write's error."""
    from crashdesk.store.errors import StoreError

    db = store.db
    with db.write() as conn:
        conn.execute("CREATE TABLE t_batch (x INTEGER)")
    with pytest.raises(StoreError), db.batch(savepoints=False):
        with db.write() as conn:
            conn.execute("INSERT INTO t_batch VALUES (1)")
        with pytest.raises(RuntimeError), db.write() as conn:
            conn.execute("INSERT INTO t_batch VALUES (2)")
            raise RuntimeError("this write fails half-way")
        with db.write() as conn:
            conn.execute("INSERT INTO t_batch VALUES (3)")
    assert _rows(db.conn) == []
    assert not db.conn.in_transaction
    with db.write() as conn:  # writes are transactions of their own again
        conn.execute("INSERT INTO t_batch VALUES (4)")
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute("INSERT INTO t_batch VALUES (5)")
        raise RuntimeError("a write of its own fails")
    assert _rows(db.conn) == [4]


def test_saved_results_in_a_batch_without_savepoints_are_searchable(store):
    """The full-text rows written without a savepoint per crash are found as when each crash had its own."""
    ann = json.loads((CASE / "annotations.json").read_text())
    dump = (CASE / "dump.dmp").read_bytes()
    ids = [store.add_crash(dict(ann, Nonce=str(n)), {"upload_file_minidump": dump}, source="import") for n in range(3)]
    processed = process_minidump(str(CASE / "dump.dmp"), build_provider([CASE.parent / "symbols"], [], None))
    function = next(f["function"] for f in processed["crashing_thread"]["frames"] if f.get("function"))
    with store.db.batch(savepoints=False):
        for crash_id in ids:
            store.save_processed(crash_id, processed)
    assert store.search(f'function:"{function}"', limit=10).total == len(ids)
    assert all(store.get(crash_id)["state"] == "processed" for crash_id in ids)
