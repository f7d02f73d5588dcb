"""Issue 29: an imported dump is dated by when it crashed (its CrashTime annotation, else the minidump header's
time stamp), never by the import, which stays its received time; stores written before are corrected by their
migration. Expected times come from the engine's minidump reader (a different parser than the one dating the
crash) and from the annotation written here."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

from crashdesk.engine.minidump import Minidump
from crashdesk.services.importing import import_minidump
from crashdesk.store import CrashStore
from crashdesk.store.schema import _V_CRASH_TIME, MIGRATIONS, SCHEMA_VERSION

DATA = Path(__file__).resolve().parents[1] / "data"
DUMP = DATA / "crashes" / "01-null-deref" / "dump.dmp"
CRASH_TIME = 1795900000  # 2026-11-28T21:46:40Z, before the dump header's time


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="microseconds")


def _header_time(path: Path) -> int:
    dump = Minidump.from_bytes(path.read_bytes())
    try:
        return dump.time_date_stamp
    finally:
        dump.close()


def test_imported_dump_is_dated_by_its_header_and_received_at_import(store, tmp_path):
    before = dt.datetime.now(dt.UTC)
    result = import_minidump(store, DUMP)
    row = store.get(result.crash_id)
    assert row["submitted_at"] == _iso(_header_time(DUMP))
    received = dt.datetime.fromisoformat(row["received_at"])
    assert received >= before.replace(microsecond=0) - dt.timedelta(seconds=1)  # the import is "received"
    assert row["submitted_at"] != row["received_at"]


def test_crash_time_annotation_wins_over_the_header(store, tmp_path):
    dump = tmp_path / "crash.dmp"
    shutil.copy(DUMP, dump)
    dump.with_suffix(".extra").write_text(f'{{"ProductName": "Demo", "CrashTime": "{CRASH_TIME}"}}')
    result = import_minidump(store, dump)
    assert store.get(result.crash_id)["submitted_at"] == _iso(CRASH_TIME)


def test_garbage_crash_time_falls_back_to_the_header(store, tmp_path):
    dump = tmp_path / "crash.dmp"
    shutil.copy(DUMP, dump)
    dump.with_suffix(".extra").write_text('{"ProductName": "Demo", "CrashTime": "99999999999999"}')
    result = import_minidump(store, dump)
    assert store.get(result.crash_id)["submitted_at"] == _iso(_header_time(DUMP))


def test_migration_redates_crashes_dated_by_their_import(tmp_path):
    home = tmp_path / "home"
    with CrashStore.open(home) as store:
        data = DUMP.read_bytes()
        # as the previous version stored them: no submitted_at, so the import time twice
        by_header = store.add_crash({"ProductName": "A"}, {"upload_file_minidump": data}, source="import")
        by_annotation = store.add_crash({"ProductName": "B", "CrashTime": str(CRASH_TIME)},
                                        {"upload_file_minidump": data}, source="import")
        no_time = store.add_crash({"ProductName": "C"}, {}, source="import")
        collected = store.add_crash({"ProductName": "D"}, {"upload_file_minidump": data}, source="collector")
        before = {cid: store.get(cid) for cid in (by_header, by_annotation, no_time, collected)}
    assert all(r["submitted_at"] == r["received_at"] for r in before.values())
    conn = sqlite3.connect(home / "crashdesk.sqlite")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_V_CRASH_TIME)}")  # the version before this migration
    conn.commit()
    conn.close()
    with CrashStore.open(home) as store:
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        after = {cid: store.get(cid) for cid in before}
    assert after[by_header]["submitted_at"] == _iso(_header_time(DUMP))
    assert after[by_annotation]["submitted_at"] == _iso(CRASH_TIME)
    assert after[no_time]["submitted_at"] == before[no_time]["submitted_at"]  # nothing better known: kept
    assert after[collected]["submitted_at"] == before[collected]["submitted_at"]  # a submission time: kept
    for cid in before:
        assert after[cid]["received_at"] == before[cid]["received_at"]


def test_migration_survives_a_missing_or_foreign_dump_file(tmp_path):
    home = tmp_path / "home"
    with CrashStore.open(home) as store:
        cid = store.add_crash({"ProductName": "A"}, {"upload_file_minidump": DUMP.read_bytes()}, source="import")
        row = store.get(cid)
    blobs = [p for p in (home / "dumps").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    blobs[0].write_bytes(b"not a minidump at all, 32 bytes+")
    conn = sqlite3.connect(home / "crashdesk.sqlite")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_V_CRASH_TIME)}")
    conn.commit()
    conn.close()
    with CrashStore.open(home) as store:
        assert store.get(cid)["submitted_at"] == row["submitted_at"]
