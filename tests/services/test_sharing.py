"""Sharing crashes: exports redact by the policy, the preview's counts are what is written, planted secrets
never leave (grepped in the decompressed bundle), reproduction packets re-open offline with the same frames,
signature and notes, bundles keep signature history and symbol notes, hostile packets are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from crashdesk.model.redaction import RedactionPolicy
from crashdesk.services.importing import ImportFailed, import_path
from crashdesk.services.sharing import (
    ExportCancelled,
    ExportOptions,
    export,
    load_policy,
    prepare_export,
    save_policy,
)
from crashdesk.store import CrashStore
from crashdesk.store.bundles import read_bundle

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests/data/crashes/01-null-deref/dump.dmp"
SYMS = ROOT / "tests/data/crashes/symbols"
SECRETS = {
    "Email": "alice.secret@example.com",
    "URL": "https://intranet.example/private?token=zz9",
    "Comments": "my password is hunter2",
    "e-MAIL": "bob@example.org",                     # odd spelling of a protected name
    "\u0415mail": "cyrillic@example.net",            # Cyrillic E look-alike
    "Ｅｍａｉｌ": "fullwidth@example.net",             # fullwidth letters
    "E\u200bmail": "zerowidth@example.net",          # zero-width space inside the name
    "UserPassword": "pa55w0rd-SECRET",
    "Notes": "free text: the customer Carol said hi",
    "ServerAddress": "10.20.30.40",
    "BuildPath": "/home/secretuser/src/app",
    "Nested": json.dumps({"outer": {"Email": "nested@example.com", "path": "C:\\Users\\secretuser\\x"}}),
    "Huge": "Q" * 70_000 + "hugesecret",
}
KEPT = {"ProductName": "CrashFactoryDemo", "Version": "1.4.2", "ReleaseChannel": "nightly"}
NEEDLES = ["alice.secret", "intranet.example", "hunter2", "bob@example", "cyrillic@", "fullwidth@", "zerowidth@",
           "pa55w0rd", "Carol", "10.20.30.40", "secretuser", "nested@example", "hugesecret"]


def _process(data_dir: Path, *extra: str) -> None:
    env = {**os.environ, "CRASHDESK_HOME": str(data_dir)}
    run = subprocess.run([sys.executable, "-m", "crashdesk", "process", "--workers", "1", *extra],
                         capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.fixture()
def sender(tmp_path):
    """A data folder with the real Crashpad crash, hostile annotations, processed with its symbols."""
    data_dir = tmp_path / "sender"
    with CrashStore.open(data_dir) as store:
        (result,) = import_path(store, DUMP, annotations={**KEPT, **SECRETS})
    _process(data_dir, "--symbols-path", str(SYMS))
    return data_dir, result.crash_id


def _bundle_text(path: Path) -> bytes:
    """Every byte of a zip bundle, decompressed (and UTF-16 decoded copies are searched separately)."""
    with zipfile.ZipFile(path) as zf:
        return b"\n".join(zf.read(n) for n in zf.namelist())


def _contains(blob: bytes, needle: str) -> bool:
    return needle.encode() in blob or needle.encode("utf-16-le") in blob or \
        json.dumps(needle)[1:-1].encode() in blob


def test_planted_secrets_never_leave_and_the_preview_counts_what_is_written(sender, tmp_path):
    data_dir, crash_id = sender
    with CrashStore.open(data_dir) as store:
        stored = store.get(crash_id)
        assert all(stored["annotations"][k] == v for k, v in SECRETS.items())   # the secrets are really there
        raw_dump = store.read_dump(crash_id)
        out = tmp_path / "out.zip"
        preview = export(store, [crash_id], out, ExportOptions(symbol_paths=[SYMS])).to_json()
    blob = _bundle_text(out)
    for needle in NEEDLES:
        assert not _contains(blob, needle), needle
    # the preview's per-field actions are what the bundle holds
    (crash,) = read_bundle(out)
    raw = crash.raw_crash
    written = Counter()
    for name, original in stored["annotations"].items():
        if name not in raw:
            written[(name, "remove")] += 1
        elif raw[name] == original:
            written[(name, "keep")] += 1
        elif raw[name] == "[redacted]":
            written[(name, "mask")] += 1
        else:
            written[(name, "scrub")] += 1
    previewed = Counter({(name, action): n for name, c in preview["annotations"].items()
                         for action, n in c.items() if action in ("keep", "scrub", "mask", "remove") and n})
    assert previewed == written
    assert preview["annotations"]["Email"]["action"] == "remove"
    assert preview["annotations"]["Notes"]["action"] == "mask"
    assert preview["annotations"]["Huge"]["action"] == "remove"
    assert {k: raw[k] for k in KEPT} == KEPT
    assert raw["BuildPath"] == "/home/xxxxxxxxxx/src/app" and raw["ServerAddress"] == "[ip]"
    assert preview["dumps"] == {"included_scrubbed": 1}
    assert preview["memory"]["bytes_zeroed"] > 0
    assert {"ThreadListStream", "ModuleListStream", "ExceptionStream", "CrashpadInfoStream"} <= \
        set(preview["streams_kept"])
    # the dump that left is scrubbed, and the sha256 in the raw crash is the scrubbed one's
    assert crash.dumps["upload_file_minidump"] != raw_dump
    assert preview["memory"]["bytes_zeroed"] + preview["memory"]["bytes_kept"] > 0


def test_dumps_left_out_or_unscrubbed_by_policy(sender, tmp_path):
    data_dir, crash_id = sender
    with CrashStore.open(data_dir) as store:
        raw_dump = store.read_dump(crash_id)
        none = export(store, [crash_id], tmp_path / "a.zip", ExportOptions(policy=RedactionPolicy(
            include_dumps=False)))
        whole = export(store, [crash_id], tmp_path / "b.zip", ExportOptions(policy=RedactionPolicy(
            scrub_dumps=False)))
    assert none.to_json()["dumps"] == {"left_out_by_policy": 1}
    assert read_bundle(tmp_path / "a.zip")[0].dumps == {}
    assert whole.to_json()["dumps"] == {"included_unscrubbed": 1}
    assert read_bundle(tmp_path / "b.zip")[0].dumps["upload_file_minidump"] == raw_dump


def test_policy_edits_apply_and_are_stored_in_the_data_folder(sender, tmp_path):
    data_dir, crash_id = sender
    policy = load_policy(data_dir)
    assert policy.action_for("ReleaseChannel")[0] == "keep"
    policy.set_rule("ReleaseChannel", "remove")
    policy.set_rule("Notes", "keep")
    policy.set_rule("Email", "keep")     # a user may decide to share it: exports only
    save_policy(data_dir, policy)
    again = load_policy(data_dir)
    with CrashStore.open(data_dir) as store:
        export(store, [crash_id], tmp_path / "p.zip", ExportOptions(policy=again))
    raw = read_bundle(tmp_path / "p.zip")[0].raw_crash
    assert "ReleaseChannel" not in raw
    assert raw["Notes"] == SECRETS["Notes"] and raw["Email"] == SECRETS["Email"]
    # the read API's protection is untouched by the export policy
    from crashdesk.model.protected_fields import annotation_is_protected
    assert annotation_is_protected("Email")


def test_reproduction_packet_reopens_offline_with_the_same_frames_signature_and_notes(sender, tmp_path):
    data_dir, crash_id = sender
    with CrashStore.open(data_dir) as store:
        before = store.get(crash_id)
        preview = export(store, [crash_id], tmp_path / "packet.zip",
                         ExportOptions(packet=True, symbol_paths=[SYMS])).to_json()
    assert preview["packet"]["symbol_files"] >= 1
    with zipfile.ZipFile(tmp_path / "packet.zip") as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("crashdesk/PACKET.json"))
    assert "crashdesk/symbols/demo-viewer/72F4E7E2EDA32DCBFDA30896DCB74D930/demo-viewer.sym" in names
    assert manifest["crashes"][crash_id]["signature"] == before["signature"]
    # a fresh machine: new data folder, no symbol sources configured, no network
    receiver = tmp_path / "receiver"
    env = {**os.environ, "CRASHDESK_HOME": str(receiver)}
    run = subprocess.run([sys.executable, "-m", "crashdesk", "import", str(tmp_path / "packet.zip"), "--json"],
                         capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    with CrashStore.open(receiver) as store:
        opened = store.get(crash_id)
    assert opened["signature"] == before["signature"]
    assert opened["processed"]["threads"] == before["processed"]["threads"]
    assert opened["signature_history"][-1]["signature"] == before["signature_history"][-1]["signature"]
    assert opened["notes"] == before["notes"]
    # reprocess there, offline: the scrubbed dump with the packet's symbols gives the sender's processed crash
    _process(receiver, "--reprocess", "--all")
    with CrashStore.open(receiver) as store:
        again = store.get(crash_id)
    assert again["signature"] == before["signature"]
    # where the symbols were found and which sources were configured differ on purpose between the two machines
    strip = lambda doc: {k: v for k, v in doc.items() if k not in ("symbol_lookups", "symbol_sources")}  # noqa: E731
    assert json.dumps(strip(again["processed"]), sort_keys=True) == json.dumps(strip(before["processed"]),
                                                                                sort_keys=True)


def test_bundles_keep_signature_history_and_symbol_notes(tmp_path):
    from crashdesk.store.crashes import SignatureRecord

    src = tmp_path / "src"
    with CrashStore.open(src) as store:
        (r,) = import_path(store, DUMP, annotations=KEPT)
        store.save_processed(r.crash_id, {"threads": [], "modules": [
            {"filename": "demo-viewer", "debug_file": "demo-viewer", "debug_id": "72F4E7E2EDA32DCBFDA30896DCB74D930",
             "code_id": "x", "base_addr": "0x1000", "end_addr": "0x2000", "missing_symbols": True}]},
            signature=SignatureRecord("first_sig", None, [], "generic"),
            symbol_notes={("demo-viewer", "72F4E7E2EDA32DCBFDA30896DCB74D930"): "symbols corrupt: bad line 3"})
        store.record_signature(r.crash_id, SignatureRecord("second_sig", None, ["n"], "generic"))
        history = store.get(r.crash_id)["signature_history"]
        export(store, [r.crash_id], tmp_path / "b.zip", ExportOptions())
    assert [h["signature"] for h in history] == ["first_sig", "second_sig"]
    with CrashStore.open(tmp_path / "dst") as store:
        import_path(store, tmp_path / "b.zip")
        got = store.get(r.crash_id)
    assert [(h["signature"], h["active"], h["created_at"]) for h in got["signature_history"]] == \
        [(h["signature"], h["active"], h["created_at"]) for h in history]
    assert got["signature"] == "second_sig"
    assert [m["symbol_note"] for m in got["modules"]] == ["symbols corrupt: bad line 3"]


def test_cancel_writes_nothing(sender, tmp_path):
    data_dir, crash_id = sender
    with CrashStore.open(data_dir) as store:
        with pytest.raises(ExportCancelled):
            prepare_export(store, [crash_id], ExportOptions(), cancel=lambda: True)
        with pytest.raises(ExportCancelled):
            export(store, [crash_id], tmp_path / "c.zip", ExportOptions(), cancel=iter([False, True]).__next__)
    assert not (tmp_path / "c.zip").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".c.zip")]


@pytest.mark.parametrize("member", ["crashdesk/symbols/../../evil/1/x.sym", "crashdesk/symbols/a/NOTHEX/a.sym",
                                    "crashdesk/symbols/a\\b/00AA/x.sym"])
def test_hostile_packet_paths_are_refused(tmp_path, member):
    good = tmp_path / "good.zip"
    with CrashStore.open(tmp_path / "s") as store:
        (r,) = import_path(store, DUMP, annotations=KEPT)
        export(store, [r.crash_id], good, ExportOptions())
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for n in zin.namelist():
            zout.writestr(n, zin.read(n))
        zout.writestr(member, "MODULE Linux x86_64 00AA x\n")
    cache = tmp_path / "cache"
    with CrashStore.open(tmp_path / "r") as store, pytest.raises(ImportFailed):
        import_path(store, bad, symbols_dir=cache)
    assert not (tmp_path / "evil").exists() and not cache.exists()


def test_symlinked_packet_files_are_refused(tmp_path):
    folder = tmp_path / "bundle"
    with CrashStore.open(tmp_path / "s") as store:
        (r,) = import_path(store, DUMP, annotations=KEPT)
        export(store, [r.crash_id], folder, ExportOptions())
    secret = tmp_path / "outside.txt"
    secret.write_text("MODULE Linux x86_64 00AA x\nprivate")
    target = folder / "crashdesk/symbols/x/00AA"
    target.mkdir(parents=True)
    (target / "x.sym").symlink_to(secret)
    with CrashStore.open(tmp_path / "r") as store, pytest.raises(ImportFailed, match="symbolic link"):
        import_path(store, folder, symbols_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_secrets_planted_in_dumps_are_not_in_the_exported_zip(tmp_path):
    """Heap, annotation inside the dump, environment, a path under a home folder, dead stack: exported through
    the real store and zip, decompressed and grepped (UTF-8 and UTF-16)."""
    from planted_dumps import plant_crashpad, plant_environment, plant_heap

    store_dir = tmp_path / "s"
    planted = [plant_crashpad(), plant_environment(), plant_heap()]
    with CrashStore.open(store_dir) as store:
        ids = []
        for n, (data, _secrets) in enumerate(planted):
            path = tmp_path / f"planted{n}.dmp"
            path.write_bytes(data)
            (r,) = import_path(store, path, annotations={"ProductName": "Planted"})
            assert store.read_dump(r.crash_id) == data
            ids.append(r.crash_id)
        preview = export(store, ids, tmp_path / "out.zip", ExportOptions()).to_json()
    blob = _bundle_text(tmp_path / "out.zip")
    for _data, secrets in planted:
        for what, secret in secrets.items():
            assert secret.encode() in _data or secret.encode("utf-16-le") in _data
            assert not _contains(blob, secret), what
    assert preview["dumps"] == {"included_scrubbed": 3}
    assert preview["dump_annotations"]["EMail!"] == {"remove": 1}
    assert preview["streams_zeroed"] == {"LinuxEnviron": 1, "LinuxCmdLine": 1}
    # importing the exported dump alone does not bring the annotation back
    (crash,) = [c for c in read_bundle(tmp_path / "out.zip") if c.crash_id == ids[0]]
    alone = tmp_path / "alone.dmp"
    alone.write_bytes(crash.dumps["upload_file_minidump"])
    with CrashStore.open(tmp_path / "other") as other:
        (r,) = import_path(other, alone)
        got = other.get(r.crash_id)["annotations"]
    assert "EMail!" not in got and got["ProductName"] == "CrashFactoryDemo"


def test_packet_symbol_files_lose_home_folder_names_and_still_reproduce(tmp_path):
    """Symbols built under a home folder name it in their FILE records: the packet masks the name (same
    length), the exported processed crash masks it the same way, and the receiver's offline reprocessing
    with the packet's files gives exactly the exported frames."""
    import shutil

    syms = tmp_path / "syms"
    shutil.copytree(SYMS, syms)
    for sym in syms.rglob("*.sym"):
        sym.write_text(sym.read_text().replace("/build/crashfactory-demo/", "/home/secretuser/demo/"))
    sender = tmp_path / "sender"
    with CrashStore.open(sender) as store:
        (r,) = import_path(store, DUMP, annotations=KEPT)
    _process(sender, "--symbols-path", str(syms))
    with CrashStore.open(sender) as store:
        before = store.get(r.crash_id)
        assert any("/home/secretuser/" in str(f.get("file")) for t in before["processed"]["threads"]
                   for f in t["frames"])
        export(store, [r.crash_id], tmp_path / "p.zip", ExportOptions(packet=True, symbol_paths=[syms]))
    assert not _contains(_bundle_text(tmp_path / "p.zip"), "secretuser")
    (crash,) = read_bundle(tmp_path / "p.zip")
    exported = crash.processed_crash["json_dump"]
    receiver = tmp_path / "receiver"
    env = {**os.environ, "CRASHDESK_HOME": str(receiver)}
    run = subprocess.run([sys.executable, "-m", "crashdesk", "import", str(tmp_path / "p.zip")],
                         capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    _process(receiver, "--reprocess", "--all")
    with CrashStore.open(receiver) as store:
        again = store.get(r.crash_id)
    assert again["processed"]["threads"] == exported["threads"]
    assert any("/home/xxxxxxxxxx/demo/" in str(f.get("file")) for t in again["processed"]["threads"]
               for f in t["frames"])
    assert again["signature"] == before["signature"]


def test_oversized_packet_members_are_refused_before_anything_is_written(tmp_path, monkeypatch):
    """The packet's size bounds (per file, in all) hold: a member over the bound fails the import whole."""
    from crashdesk.store import bundles

    good = tmp_path / "good.zip"
    with CrashStore.open(tmp_path / "s") as store:
        (r,) = import_path(store, DUMP, annotations=KEPT)
        export(store, [r.crash_id], good, ExportOptions())
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for n in zin.namelist():
            zout.writestr(n, zin.read(n))
        zout.writestr("crashdesk/symbols/x/00AA/x.sym", "MODULE Linux x86_64 00AA x\n" + "0" * 50_000)
    monkeypatch.setattr(bundles, "MAX_PACKET_FILE", 10_000)
    with CrashStore.open(tmp_path / "r") as store:
        with pytest.raises(ImportFailed, match="too large"):
            import_path(store, bad, symbols_dir=tmp_path / "cache")
        assert store.count() == 0
    assert not (tmp_path / "cache").exists()
