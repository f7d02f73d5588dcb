"""Bundle imports store new crashes in batches (``CrashStore.add_batches``): the results, the stored crashes and
what searches find are those of storing the bundle one crash at a time (``importing._store_crash``, the
path JSON files and crashes already stored still take), for a mixed bundle exported by ``export_crashes``;
failures keep the one-at-a-time semantics (the crashes before the failing one stored, its error raised)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from crashdesk.services import importing
from crashdesk.services.importing import DERIVED_NOTE, ImportFailed, bundle_crash, import_bundle
from crashdesk.store import CrashStore
from crashdesk.store.bundles import BundleCrash, read_bundle, write_bundle
from crashdesk.store.crashes import SignatureRecord
from tests.store.test_search_bulk_ingest import _side_rows

CASES = (("01-null-deref", "page_measure_width"), ("05-thread", "tile_blit"))
QUERIES = ("function:~tile", "module:libc.so.6", "page_measure", "ann.ProductName:Raw", "thread:any function:~main",
           "state:processed", "state:received", "source:import", "server_signature:~page", "signature:~tile",
           "ann.Seq:3", "os:linux")


WHEN = {"submitted_timestamp": "2026-11-29T09:00:00+00:00"}


def _case(test_data: Path, name: str) -> tuple[dict, bytes, dict]:
    folder = test_data / "crashes" / name
    return (json.loads((folder / "annotations.json").read_text()), (folder / "dump.dmp").read_bytes(),
            json.loads((folder / "expected.json").read_text()))


def _socorro_doc(crash_id: str, processed: dict, signature: str) -> dict:
    """A Socorro processed crash around a stackwalk (what a sync keeps as ``server_processed``)."""
    return {"uuid": crash_id, "crash_id": crash_id, "signature": f"{signature} | server",
            "proto_signature": "a | b", "product": "Demo", "version": "1.0", "os_name": "Linux",
            "date_processed": "2026-11-29T10:00:00+00:00", "json_dump": processed}


def _fill_source(store: CrashStore, test_data: Path, count: int) -> list[str]:
    """``count`` crashes of four kinds: processed locally (signature history of two, symbol notes, notes),
    raw only, synced with a dump and processed locally, synced without a dump (the server's json_dump)."""
    ids = []
    for n in range(count):
        name, sig = CASES[n % 2]
        ann, dump, processed = _case(test_data, name)
        ann = {**ann, "Seq": str(n)}
        crash_id = f"{n:08x}-0000-4000-8000-000000261129"
        kind = n % 4
        if kind == 0:
            store.add_crash(ann, {"upload_file_minidump": dump}, source="collector", crash_id=crash_id,
                            submitted_at=f"2026-11-{1 + n % 28:02d}T10:00:00.000000+00:00")
            module = processed["modules"][0]
            store.save_processed(crash_id, processed, signature=SignatureRecord(sig, f"{sig} | x", ["n"], "generic"),
                                 notes=["walked"], symbol_notes={(module["debug_file"], module["debug_id"].upper()):
                                                                 "not found on the server"})
            store.record_signature(crash_id, SignatureRecord(f"{sig} v2", None, ["again"], "generic", "run-1"))
        elif kind == 1:
            store.add_crash({"ProductName": "Raw", "Seq": str(n)}, {"upload_file_minidump": dump},
                            source="collector", crash_id=crash_id)
        elif kind == 2:
            store.add_crash(ann, {"upload_file_minidump": dump}, source="server:prod", crash_id=crash_id,
                            server_signature=f"{sig} | server", server_processed=_socorro_doc(crash_id, processed, sig),
                            submitted_at="2026-11-29T10:00:00.000000+00:00")
            store.save_processed(crash_id, processed, signature=SignatureRecord(sig, None, [], "generic"))
        else:
            store.add_crash(ann, source="server:prod", crash_id=crash_id, processed=processed,
                            server_signature=f"{sig} | server", server_processed=_socorro_doc(crash_id, processed, sig))
        ids.append(crash_id)
    return ids


def _without_times(doc: dict) -> dict:
    out = {k: v for k, v in doc.items() if k not in ("received_at", "processed_at")}
    out["signature_history"] = [{k: v for k, v in h.items() if k not in ("created_at", "id")}
                                for h in doc["signature_history"]]
    out["dumps"] = [{k: v for k, v in d.items() if k != "path"} for d in doc["dumps"]]  # each store's folder
    return out


def _same_stores(one: CrashStore, other: CrashStore) -> None:
    ids = sorted(r[0] for r in one.db.conn.execute("SELECT crash_id FROM crashes"))
    assert ids == sorted(r[0] for r in other.db.conn.execute("SELECT crash_id FROM crashes"))
    for crash_id in ids:
        a, b = one.get(crash_id), other.get(crash_id)
        assert _without_times(a) == _without_times(b), crash_id
        # restored histories keep their times
        assert ([h["created_at"] for h in a["signature_history"] if h["profile"] == "generic"]
                == [h["created_at"] for h in b["signature_history"] if h["profile"] == "generic"])
        assert _side_rows(one, crash_id) == _side_rows(other, crash_id)
        for dump in b["dumps"]:
            assert other.blobs.read(dump["sha256"]) == one.blobs.read(dump["sha256"])
    for query in QUERIES:
        hits = [sorted(h["crash_id"] for h in s.search(query, limit=1000).hits) for s in (one, other)]
        assert hits[0] == hits[1], query
        assert hits[0], query  # each query finds something


def _one_at_a_time(store: CrashStore, bundle: Path) -> list:
    return [importing._store_crash(store, crash, where=f"{bundle}:{crash.crash_id}", kind="bundle")
            for crash in read_bundle(bundle)]


def test_a_mixed_bundle_imports_as_one_crash_at_a_time_does(tmp_path, test_data, monkeypatch):
    monkeypatch.setattr(importing, "BATCH", 4)  # several batches in a run of new crashes
    source = CrashStore.open(tmp_path / "source")
    try:
        ids = _fill_source(source, test_data, 22)
        exported = [bundle_crash(source, crash_id) for crash_id in ids]
    finally:
        source.close()
    entries = list(exported)
    # processed crashes without their raw crash (fetch-data without --raw): one exported by CrashDesk, one
    # Socorro's (stored as processed from its json_dump)
    _, _, processed = _case(test_data, "05-thread")
    extra = "0000aaaa-0000-4000-8000-000000261129"
    entries[6] = dataclasses.replace(entries[6], raw_crash=None, dumps={})
    entries.append(BundleCrash(extra, processed_crash=_socorro_doc(extra, processed, "tile_blit")))
    bundle = tmp_path / "bundle"
    write_bundle(entries, bundle)
    # the receiving stores already hold some: the same crashes (duplicates), one as its processed crash alone
    # (the bundle's raw crash replaces its derived annotations), one as its raw crash alone (the bundle's
    # processed crash refreshes its server fields)
    before = [exported[1], exported[2], dataclasses.replace(exported[8], raw_crash=None, dumps={}),
              dataclasses.replace(exported[10], processed_crash=None), exported[17]]
    pre = tmp_path / "pre"
    write_bundle(before, pre)
    old, new = CrashStore.open(tmp_path / "old"), CrashStore.open(tmp_path / "new")
    try:
        for store in (old, new):
            _one_at_a_time(store, pre)
        assert DERIVED_NOTE in new.get(exported[8].crash_id)["notes"]
        expected = _one_at_a_time(old, bundle)
        got = import_bundle(new, bundle)
        assert got == expected
        assert len(got) == 23 and new.count() == 23
        assert [r.crash_id for r in got if r.duplicate] == [exported[1].crash_id, exported[17].crash_id]
        assert {r.state for r in got} == {"received", "processed"}
        assert new.ingest_seconds["draft"] > 0  # the new crashes went through batches
        assert DERIVED_NOTE not in new.get(exported[8].crash_id)["notes"]
        restored = new.get(exported[4].crash_id)
        assert [h["signature"] for h in restored["signature_history"]] == ["page_measure_width", "page_measure_width v2"]
        assert any(m.get("symbol_note") for m in restored["modules"])
        assert new.get(extra)["state"] == "processed" and new.get(extra)["processed"] == processed
        _same_stores(old, new)
    finally:
        old.close()
        new.close()


def test_a_crash_given_twice_behaves_as_one_at_a_time(tmp_path, test_data):
    ann, dump, processed = _case(test_data, "01-null-deref")
    first, second = "0000bbbb-0000-4000-8000-000000261129", "0000cccc-0000-4000-8000-000000261129"
    doc = _socorro_doc(first, processed, "page_measure_width")
    crashes = [BundleCrash(first, processed_crash=doc),  # processed crash first: derived annotations
               BundleCrash(second, raw_crash={**ann, "uuid": second, **WHEN}, dumps={"upload_file_minidump": dump}),
               BundleCrash(first, raw_crash={**ann, "uuid": first, **WHEN}),  # its raw crash: replaces them
               BundleCrash(second, raw_crash={**ann, "uuid": second, **WHEN, "Extra": "x"}),  # a duplicate
               BundleCrash(first, processed_crash={**doc, "signature": "changed"})]  # refreshes the server's
    old, new = CrashStore.open(tmp_path / "old"), CrashStore.open(tmp_path / "new")
    try:
        expected = [importing._store_crash(old, c, where=c.crash_id, kind="bundle") for c in crashes]
        got = importing._store_crashes(new, crashes, where=lambda c: c.crash_id, kind="bundle")
        assert got == expected
        assert [r.duplicate for r in got] == [False, False, False, True, False]
        assert new.get(first)["server_signature"] == "changed"
        assert new.get(first)["annotations"]["ProductName"] == ann["ProductName"]
        assert new.count() == 2
        _same_crashes_only(old, new)
    finally:
        old.close()
        new.close()


@pytest.mark.parametrize("fault", ["hostile-processed", "malformed-block"])
def test_a_crash_that_cannot_be_stored_fails_as_one_at_a_time(tmp_path, test_data, monkeypatch, fault):
    """The crashes before it are stored (those of earlier batches and its own), its error is raised, nothing
    after it is stored."""
    monkeypatch.setattr(importing, "BATCH", 3)
    source = CrashStore.open(tmp_path / "source")
    try:
        ids = _fill_source(source, test_data, 10)
        entries = [bundle_crash(source, crash_id) for crash_id in ids]
    finally:
        source.close()
    victim = entries[4]
    doc = json.loads(json.dumps(victim.processed_crash))
    if fault == "hostile-processed":
        doc["json_dump"]["threads"][0]["frames"][0]["function"] = "HOSTILE"  # made a lone surrogate below
    else:
        doc["crashdesk"] = ["not", "an", "object"]
    entries[4] = dataclasses.replace(victim, processed_crash=doc)
    bundle = tmp_path / "bundle"
    write_bundle(entries, bundle)
    if fault == "hostile-processed":  # valid JSON ("\ud800") that no SQLite text can hold
        target = bundle / "processed_crash" / victim.crash_id
        target.write_text(target.read_text().replace('"HOSTILE"', '"\\ud800"'))
    old, new = CrashStore.open(tmp_path / "old"), CrashStore.open(tmp_path / "new")
    try:
        with pytest.raises(Exception) as want:
            _one_at_a_time(old, bundle)
        with pytest.raises(want.type) as got:
            import_bundle(new, bundle)
        assert str(got.value) == str(want.value)
        if fault == "malformed-block":
            assert got.type is ImportFailed and victim.crash_id in str(got.value)
        stored = sorted(r[0] for r in new.db.conn.execute("SELECT crash_id FROM crashes"))
        assert set(ids[:4]) <= set(stored) and not set(ids[5:]) & set(stored)
        _same_crashes_only(old, new)
        # the rest imports afterwards as it would have
        entries[4] = victim
        write_bundle(entries, bundle, overwrite=True)
        assert import_bundle(new, bundle) == _one_at_a_time(old, bundle)
        _same_stores(old, new)
    finally:
        old.close()
        new.close()


def _same_crashes_only(one: CrashStore, other: CrashStore) -> None:
    """As :func:`_same_stores`, without asking every query to find something (a part of the bundle only)."""
    ids = sorted(r[0] for r in one.db.conn.execute("SELECT crash_id FROM crashes"))
    assert ids == sorted(r[0] for r in other.db.conn.execute("SELECT crash_id FROM crashes"))
    for crash_id in ids:
        assert _without_times(one.get(crash_id)) == _without_times(other.get(crash_id)), crash_id
        assert _side_rows(one, crash_id) == _side_rows(other, crash_id)
