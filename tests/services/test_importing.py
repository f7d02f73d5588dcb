"""Import and export on a real store: minidumps, Socorro raw/processed crash JSON, fetch-data bundles."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from crashdesk.services.importing import (
    ImportFailed,
    export_crashes,
    import_bundle,
    import_json,
    import_minidump,
    import_path,
    parse_annotations_text,
)
from crashdesk.store.bundles import read_bundle
from crashdesk.store.crashes import SignatureRecord

BUNDLE_ID = "3f2a9c1e-7b4d-4e8a-9c2f-5d1e0b261129"


@pytest.fixture
def crashes(test_data) -> Path:
    return test_data / "crashes"


@pytest.fixture
def socorro(crashes) -> Path:
    return crashes / "socorro"


def _blob_files(store) -> list[Path]:
    return [p for p in store.blobs.root.rglob("*") if p.is_file()]


# ---------------------------------------------------------------------------------------------- minidumps


def test_minidump_without_annotations_uses_the_crashpad_annotations_inside(store, crashes):
    folder = crashes / "01-null-deref"
    form = json.loads((folder / "annotations.json").read_text())
    result = import_minidump(store, folder / "dump.dmp")
    got = store.get(result.crash_id)
    assert (result.state, got["state"], got["source"]) == ("received", "received", "import")
    # the Crashpad handler uploaded the dump's annotations as form fields: every one must agree
    assert got["annotations"] and set(got["annotations"].items()) <= set(form.items())
    assert got["product"] == form["ProductName"] and got["version"] == form["Version"]
    assert store.read_dump(result.crash_id) == (folder / "dump.dmp").read_bytes()


def test_minidump_with_given_annotations_and_duplicate_import(store, crashes):
    dump = crashes / "05-thread" / "dump.dmp"
    ann = {"ProductName": "QA-Build", "Version": "3.1", "URL": "https://example.com/qa"}
    first = import_minidump(store, dump, annotations=ann)
    assert store.get(first.crash_id)["annotations"] == ann
    again = import_minidump(store, dump)
    assert again.duplicate and again.crash_id == first.crash_id
    assert store.count() == 1


def test_sibling_extra_file_and_key_value_annotations(store, crashes, tmp_path):
    dmp = tmp_path / "crash.dmp"
    shutil.copy(crashes / "01-null-deref" / "dump.dmp", dmp)
    (tmp_path / "crash.extra").write_text("ProductName=FromExtra\nVersion=7.0\nNote=a=b\n")
    result = import_path(store, dmp)[0]
    assert store.get(result.crash_id)["annotations"] == {"ProductName": "FromExtra", "Version": "7.0",
                                                         "Note": "a=b"}
    assert parse_annotations_text('{"a": 1}', "x") == {"a": 1}
    with pytest.raises(ImportFailed):
        parse_annotations_text("[1, 2]", "x")


@pytest.mark.parametrize("content", [b"", b"hello, this is text\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
                                     b"MDMP\x93\xa7", b"MDMP\x93\xa7\0\0" + b"\xff" * 24 + b"\0" * 8])
def test_foreign_or_corrupt_dump_names_the_file_and_writes_nothing(store, tmp_path, content):
    bad = tmp_path / "bad.dmp"
    bad.write_bytes(content)
    with pytest.raises(ImportFailed) as info:
        import_path(store, bad)
    assert str(bad) in str(info.value)
    assert store.count() == 0 and _blob_files(store) == []


# ---------------------------------------------------------------------------------------------- Socorro JSON


def test_socorro_raw_crash_json(store, socorro):
    raw = json.loads((socorro / "raw_crash_firefox.json").read_text())
    result = import_json(store, socorro / "raw_crash_firefox.json")
    got = store.get(result.crash_id)
    assert result.crash_id == raw["uuid"] and result.kind == "raw_crash" and got["state"] == "received"
    expected = {k: v for k, v in raw.items() if k not in ("uuid", "submitted_timestamp", "metadata", "version")}
    assert got["annotations"] == expected
    assert got["submitted_at"] == raw["submitted_timestamp"]
    assert (got["product"], got["version"], got["channel"]) == (raw["ProductName"], raw["Version"],
                                                                 raw["ReleaseChannel"])


def test_socorro_processed_then_raw_crash(store, socorro):
    doc = json.loads((socorro / "processed_crash_firefox.json").read_text())
    raw = json.loads((socorro / "raw_crash_firefox.json").read_text())
    first = import_json(store, socorro / "processed_crash_firefox.json")
    got = store.get(first.crash_id)
    # no dump: nothing could reprocess it, so the server's stackwalk output is the processed crash
    assert got["state"] == "processed" and got["processed"] == doc["json_dump"]
    assert got["server_processed"] == doc and got["server_signature"] == doc["signature"]
    assert got["signature"] == doc["signature"]
    assert got["os"] == doc["json_dump"]["system_info"]["os"]
    import_json(store, socorro / "raw_crash_firefox.json")
    got = store.get(first.crash_id)
    assert got["annotations"]["URL"] == raw["URL"] and got["annotations"]["Comments"] == raw["Comments"]
    assert not any("derived" in n for n in got["notes"])
    assert store.search("ann.URL:example.com").total == 1
    assert store.search(f'signature:="{doc["signature"]}"').total == 1
    assert store.count() == 1


def test_json_that_is_not_a_crash_is_refused(store, crashes, tmp_path):
    with pytest.raises(ImportFailed, match="neither a Socorro raw crash nor a processed crash"):
        import_path(store, crashes / "01-null-deref" / "expected.json")  # stackwalk output, not a crash
    broken = tmp_path / "broken.json"
    broken.write_text('{"uuid": "x", ')
    with pytest.raises(ImportFailed, match="broken.json"):
        import_path(store, broken)
    assert store.count() == 0


# ---------------------------------------------------------------------------------------------- bundles


def test_fetch_data_bundle_folder(store, socorro, crashes):
    bundle = socorro / "bundle-01-null-deref"
    doc = json.loads((bundle / "processed_crash" / BUNDLE_ID).read_text())
    raw = json.loads((bundle / "raw_crash" / "20261129" / BUNDLE_ID).read_text())
    (result,) = import_path(store, bundle)
    got = store.get(BUNDLE_ID)
    assert result.crash_id == BUNDLE_ID and result.kind == "bundle"
    assert got["state"] == "received"  # the dump is there: local processing will redo it
    assert store.read_dump(BUNDLE_ID) == (crashes / "01-null-deref" / "dump.dmp").read_bytes()
    assert got["server_processed"] == doc and got["server_signature"] == doc["signature"]
    assert got["annotations"]["ProductName"] == raw["ProductName"]
    assert store.search(f'server_signature:="{doc["signature"]}"').total == 1
    # importing the same bundle again changes nothing
    again = import_bundle(store, bundle)
    assert store.count() == 1 and again[0].crash_id == BUNDLE_ID


@pytest.mark.parametrize("wrapper", ["", "fetched/"])
def test_fetch_data_bundle_zip(store, socorro, tmp_path, wrapper):
    bundle = socorro / "bundle-01-null-deref"
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                zf.write(path, wrapper + path.relative_to(bundle).as_posix())
    (result,) = import_path(store, archive)
    assert result.crash_id == BUNDLE_ID
    assert store.dumps(BUNDLE_ID)["upload_file_minidump"].sha256 == hashlib.sha256(
        (bundle / "upload_file_minidump" / BUNDLE_ID).read_bytes()).hexdigest()


def _copy_bundle(socorro, tmp_path) -> Path:
    dest = tmp_path / "bundle"
    shutil.copytree(socorro / "bundle-01-null-deref", dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


@pytest.mark.parametrize("damage", ["bad-json", "wrong-checksum", "stray-file", "raw-not-object", "bad-zip"])
def test_corrupt_bundles_name_the_file_and_store_nothing(store, socorro, tmp_path, damage):
    bundle = _copy_bundle(socorro, tmp_path)
    if damage == "bad-json":
        target = bundle / "raw_crash" / "20261129" / BUNDLE_ID
        target.write_text(target.read_text()[:-20])
    elif damage == "wrong-checksum":
        target = bundle / "upload_file_minidump" / BUNDLE_ID
        target.write_bytes(target.read_bytes()[:-1] + b"\x01")
    elif damage == "stray-file":
        target = bundle / "processed_crash" / "notes.txt"
        target.write_text("hello")
    elif damage == "raw-not-object":
        target = bundle / "raw_crash" / "20261129" / BUNDLE_ID
        target.write_text("[1, 2, 3]")
    else:
        target = tmp_path / "broken.zip"
        target.write_bytes(b"PK\x03\x04" + b"\0" * 40)
        bundle = target
    with pytest.raises(ImportFailed) as info:
        import_path(store, bundle)
    assert target.name in str(info.value)
    assert store.count() == 0 and _blob_files(store) == []


# ---------------------------------------------------------------------------------------------- export


def _processed_local_crash(store, crashes):
    folder = crashes / "05-thread"
    ann = json.loads((folder / "annotations.json").read_text())
    processed = json.loads((folder / "expected.json").read_text())
    crash_id = store.add_crash(ann, {"upload_file_minidump": (folder / "dump.dmp").read_bytes()}, source="collector")
    store.save_processed(crash_id, processed, signature=SignatureRecord("tile_blit | render_tile", "a | b",
                                                                        ["note 1"], "generic"), notes=["walked"])
    return crash_id, ann, processed


@pytest.mark.parametrize("name", ["out", "out.zip"])
def test_export_writes_the_fetch_data_layout_and_round_trips(store, crashes, tmp_path, name):
    from crashdesk.store import CrashStore

    crash_id, ann, processed = _processed_local_crash(store, crashes)
    dest = tmp_path / name
    assert export_crashes(store, [crash_id], dest) == 1
    if name.endswith(".zip"):
        with zipfile.ZipFile(dest) as zf:
            members = set(zf.namelist())
            raw = json.loads(zf.read(f"raw_crash/20{crash_id[-6:]}/{crash_id}"))
    else:
        members = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
        raw = json.loads((dest / "raw_crash" / f"20{crash_id[-6:]}" / crash_id).read_text())
    assert members == {f"raw_crash/20{crash_id[-6:]}/{crash_id}", f"dump_names/{crash_id}",
                       f"upload_file_minidump/{crash_id}", f"processed_crash/{crash_id}"}
    dump = (crashes / "05-thread" / "dump.dmp").read_bytes()
    assert raw["uuid"] == crash_id and raw["metadata"]["dump_checksums"] == {
        "upload_file_minidump": hashlib.sha256(dump).hexdigest()}
    (entry,) = read_bundle(dest)
    assert entry.processed_crash["json_dump"] == processed
    assert entry.processed_crash["signature"] == "tile_blit | render_tile"
    # a colleague imports it: the same crash, processed, with the same signature and history profile
    other = CrashStore.open(tmp_path / "colleague")
    try:
        (result,) = import_path(other, dest)
        got, mine = other.get(crash_id), store.get(crash_id)
        assert result.state == "processed"
        for key in ("annotations", "processed", "signature", "proto_signature", "signature_profile", "product",
                    "version", "os", "cpu", "reason", "submitted_at", "crashing_thread"):
            assert got[key] == mine[key], key
        assert other.read_dump(crash_id) == dump
        assert got["signature_history"][-1]["notes"] == ["note 1"]
        assert "walked" in got["notes"]
    finally:
        other.close()


def test_export_is_all_or_nothing(store, crashes, tmp_path):
    crash_id, _, _ = _processed_local_crash(store, crashes)
    dest = tmp_path / "bundle.zip"
    from crashdesk.store.errors import CrashNotFound

    with pytest.raises(CrashNotFound):
        export_crashes(store, [crash_id, "00000000-0000-0000-0000-000000261129"], dest)
    assert not dest.exists() and list(tmp_path.iterdir()) == [tmp_path / "crashdesk-home"]
    export_crashes(store, [crash_id], dest)
    with pytest.raises(ImportFailed.__mro__[1]):
        export_crashes(store, [crash_id], dest)  # exists: refused unless overwrite
    assert export_crashes(store, [crash_id], dest, overwrite=True, dumps=False) == 1
    (entry,) = read_bundle(dest)
    assert entry.dumps == {}


def test_a_folder_of_minidumps_is_refused_with_how_to_import_them(store, crashes, tmp_path):
    folder = tmp_path / "dumps"
    folder.mkdir()
    for name in ("01-null-deref", "05-thread"):
        shutil.copy(crashes / name / "dump.dmp", folder / f"{name}.dmp")
    (folder / "notes.txt").write_text("not a dump\n")
    with pytest.raises(ImportFailed, match=r"not a crash bundle .*it holds 2 minidumps: import them by name, "
                                           r"e\.g\. crashdesk import .*dumps/\*\.dmp"):
        import_path(store, folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImportFailed, match=r"not a crash bundle \(no raw_crash/ or processed_crash/ inside\)$"):
        import_path(store, empty)
    assert store.count() == 0
