"""The crash store on a real SQLite file: raw crashes, processed results, the queue, signatures."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from crashdesk.store import CrashNotFound, CrashStore
from crashdesk.store.crashes import SignatureRecord
from crashdesk.store.errors import DuplicateCrash, StoreError
from crashdesk.store.schema import SCHEMA_VERSION


def _case(test_data, name):
    folder = test_data / "crashes" / name
    return (json.loads((folder / "annotations.json").read_text()), (folder / "dump.dmp").read_bytes(),
            json.loads((folder / "expected.json").read_text()))


def test_raw_crash_roundtrip_keeps_annotations_and_dump_verbatim(store, test_data):
    ann, dump, _ = _case(test_data, "01-null-deref")
    crash_id = store.add_crash(ann, {"upload_file_minidump": dump}, source="collector")
    got = store.get(crash_id)
    assert got["annotations"] == ann
    assert got["state"] == "received"
    assert got["product"] == ann["ProductName"] and got["version"] == ann["Version"]
    assert store.read_dump(crash_id) == dump
    assert got["processed"] is None


def test_processed_crash_fills_columns_frames_and_modules_from_the_document(store, test_data):
    ann, dump, processed = _case(test_data, "05-thread")
    crash_id = store.add_crash(ann, {"upload_file_minidump": dump}, source="import")
    store.save_processed(crash_id, processed, signature=SignatureRecord("sig-a", "a | b", ["note"], "generic"))
    got = store.get(crash_id)
    assert got["state"] == "processed"
    assert got["reason"] == processed["crash_info"]["type"]
    assert got["crashing_thread"] == processed["crash_info"]["crashing_thread"]
    assert got["os"] == processed["system_info"]["os"] and got["cpu"] == processed["system_info"]["cpu_arch"]
    assert got["processed"] == processed
    assert {m["filename"] for m in got["modules"]} == {m["filename"] for m in processed["modules"]}
    thread = processed["threads"][processed["crash_info"]["crashing_thread"]]
    for frame in thread["frames"]:  # the crashing thread's frames are searchable by function and source file
        for fld in ("function", "file"):
            if frame.get(fld):
                assert [h["crash_id"] for h in store.search(f'{fld}:="{frame[fld]}"').hits] == [crash_id]
    assert got["signature"] == "sig-a" and got["signature_history"][-1]["profile"] == "generic"


def test_queue_claims_each_crash_once_and_releases_on_restart(store, test_data):
    ann, dump, _ = _case(test_data, "01-null-deref")
    ids = [store.add_crash(ann, {"upload_file_minidump": dump}, source="import") for _ in range(5)]
    first = store.claim("w1", limit=3)
    second = store.claim("w2", limit=3)
    assert set(first).isdisjoint(second) and set(first) | set(second) == set(ids)
    assert store.claim("w3") == []
    assert store.release_claims("w1") == 3
    assert sorted(store.claim("w3", limit=10)) == sorted(first)


def test_duplicate_ids_are_refused_or_ignored_as_asked(store):
    crash_id = store.add_crash({"ProductName": "X"}, source="server:team")
    with pytest.raises(DuplicateCrash):
        store.add_crash({"ProductName": "X"}, source="server:team", crash_id=crash_id)
    assert store.add_crash({}, source="server:team", crash_id=crash_id, if_exists="ignore") == crash_id
    assert store.count() == 1


def test_undo_of_a_signature_run_restores_the_previous_signature(store):
    crash_id = store.add_crash({"ProductName": "X"}, source="server:cs", server_signature="server-sig")
    store.record_signature(crash_id, SignatureRecord("local-1", profile="mozilla"))
    store.record_signatures([(crash_id, SignatureRecord("local-2", profile="edited", run_id="run-1"))])
    assert store.get(crash_id)["signature"] == "local-2"
    assert store.undo_signature_run("run-1") == 1
    assert store.get(crash_id)["signature"] == "local-1"


def test_missing_crash_and_foreign_database_are_typed_errors(tmp_path, store):
    with pytest.raises(CrashNotFound):
        store.get("00000000-0000-0000-0000-000000000000")
    bogus = tmp_path / "not-a-db"
    bogus.mkdir()
    (bogus / "crashdesk.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        CrashStore.open(bogus)


def test_schema_version_is_recorded(store):
    assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _writer(data_dir: str, n: int, out) -> None:
    s = CrashStore.open(data_dir)
    ids = [s.add_crash({"ProductName": "P", "i": str(i)}, source="collector") for i in range(n)]
    out.put(ids)
    s.close()


def test_concurrent_writers_in_processes_lose_nothing(data_dir):
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(data_dir), 40, out)) for _ in range(4)]
    for p in procs:
        p.start()
    ids = [i for _ in procs for i in out.get(timeout=120)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    s = CrashStore.open(data_dir)
    assert s.count() == len(ids) == 160
    conn = sqlite3.connect(data_dir / "crashdesk.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    s.close()


def test_new_databases_get_16k_pages_and_older_ones_keep_theirs(tmp_path, monkeypatch):
    from crashdesk.store import db as db_module

    with CrashStore.open(tmp_path / "new") as store:
        assert store.db.conn.execute("PRAGMA page_size").fetchone()[0] == db_module.PAGE_SIZE == 16384
    monkeypatch.setattr(db_module, "PAGE_SIZE", 4096)  # a store created before 16 KiB pages
    with CrashStore.open(tmp_path / "old") as store:
        first = store.add_crash({"ProductName": "Old"}, source="import")
    monkeypatch.undo()
    with CrashStore.open(tmp_path / "old") as store:
        assert store.db.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        second = store.add_crash({"ProductName": "New"}, source="import")
        assert {h["crash_id"] for h in store.search("").hits} == {first, second}


def test_bulk_ingest_reports_where_its_time_went(store, test_data):
    processed = json.loads((test_data / "crashes" / "01-null-deref" / "expected.json").read_text())
    from crashdesk.store.crashes import NewCrash

    store.add_many([NewCrash({"ProductName": "Demo", "Seq": str(n)}, processed=processed) for n in range(20)])
    assert set(store.ingest_seconds) == {"draft", "rows", "inserts", "commit"}
    assert all(seconds > 0 for seconds in store.ingest_seconds.values())


def test_bulk_ingest_builds_its_rows_with_collection_paused(store, test_data):
    import collections.abc
    import gc

    from crashdesk.store.crashes import NewCrash

    class Recording(collections.abc.Mapping):
        """Annotations that note whether automatic collection was on while the store read them."""

        seen: list[bool] = []

        def __init__(self, data):
            self.data = data

        def __getitem__(self, key):
            return self.data[key]

        def __iter__(self):
            return iter(self.data)

        def __len__(self):
            return len(self.data)

        def items(self):
            Recording.seen.append(gc.isenabled())
            return self.data.items()

    processed = json.loads((test_data / "crashes" / "05-thread" / "expected.json").read_text())
    was = gc.isenabled()
    gc.enable()
    try:
        store.add_many([NewCrash(Recording({"ProductName": "Demo", "Seq": str(n)}), processed=processed)
                        for n in range(3)])
        assert Recording.seen and not any(Recording.seen)
        assert gc.isenabled()  # on again afterwards
    finally:
        if not was:
            gc.disable()
