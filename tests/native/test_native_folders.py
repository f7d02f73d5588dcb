"""Build folders in the supplier chain: store-layout .sym files first, native files by id, the folder index
kept on disk and checked cheaply, re-scans picking up changes; without symbolic a one-line note."""

from __future__ import annotations

import os
import shutil

from native_oracle import DATA

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols import build_provider
from crashdesk.symbols.folder_index import FolderIndex

ABORT = ModuleKey("abort", "A48688D4AA70B4CAE2B86443818FBC970")
X64 = ModuleKey("linux-x86_64", "3B285CE327C387C262DB788BF5A4078B0")


def test_store_layout_sym_keeps_priority_over_native(tmp_path):
    root = tmp_path / "b"
    (root / "abort" / ABORT.debug_id).mkdir(parents=True)
    shutil.copy(DATA / "abort/abort.sym", root / "abort" / ABORT.debug_id / "abort.sym")
    shutil.copy(DATA / "abort/abort.debug", root / "abort.debug")
    with build_provider([root], [], tmp_path / "cache") as provider:
        hit = provider.lookup(ABORT)
    assert hit.status == "loaded" and not hit.extra.get("native")
    assert hit.extra["path"].endswith("abort.sym")


def test_index_is_kept_and_rescanned_only_when_the_folder_changes(tmp_path):
    root = tmp_path / "b"
    (root / "sub").mkdir(parents=True)
    shutil.copy(DATA / "abort/abort.debug", root / "sub" / "abort.debug")
    (root / "notes.txt").write_text("not an object file\n" * 10)
    store = tmp_path / "cache" / "folder-index"
    first = FolderIndex(root, store)
    s1 = first.load_or_scan()
    assert (s1.from_disk, s1.identified, s1.skipped) == (False, 1, 1)
    assert [e.path for e in first.find(ABORT.debug_id)] == ["sub/abort.debug"]
    s2 = FolderIndex(root, store).load_or_scan()  # a new process: the stored index is valid
    assert s2.from_disk and s2.identified == 0
    shutil.copy(DATA / "linux-x86_64/linux-x86_64", root / "sub" / "prog")  # a new file
    third = FolderIndex(root, store)
    s3 = third.load_or_scan()
    assert not s3.from_disk and (s3.identified, s3.reused, s3.skipped) == (1, 1, 1)  # only the new file was read
    assert [e.path for e in third.find(X64.debug_id)] == ["sub/prog"]
    os.truncate(root / "sub" / "prog", 100)  # a changed file: re-read, now unusable
    fourth = FolderIndex(root, store)
    s4 = fourth.load_or_scan()
    assert not s4.from_disk and fourth.find(X64.debug_id) == [] and s4.errors


def test_chain_uses_the_kept_index_across_chains(tmp_path):
    root = tmp_path / "b"
    root.mkdir()
    shutil.copy(DATA / "abort/abort.debug", root / "abort.debug")
    with build_provider([root], [], tmp_path / "cache") as provider:
        first = provider.lookup(ABORT)
        assert provider.folder_index(root).stats.from_disk is False
    with build_provider([root], [], tmp_path / "cache") as provider:
        second = provider.lookup(ABORT)
        assert provider.folder_index(root).stats.from_disk is True
    assert first.extra["conversion"] == "built" and second.extra["conversion"] == "reused"


def test_without_symbolic_sym_files_work_and_the_note_says_why(tmp_path, monkeypatch):
    import crashdesk.symbols.chain as chain
    import crashdesk.symbols.folder_index as folder_index

    monkeypatch.setattr(chain, "native_support", lambda: False)
    monkeypatch.setattr(folder_index, "native_support", lambda: False)
    root = tmp_path / "b"
    (root / "flat").mkdir(parents=True)
    shutil.copy(DATA / "abort/abort.debug", root / "abort.debug")
    shutil.copy(DATA / "linux-x86_64/linux-x86_64.sym", root / "flat" / "whatever.sym")  # not store layout
    with build_provider([root], [], None) as provider:
        miss = provider.lookup(ABORT)
        sym = provider.lookup(X64)
    assert miss.symbols is None
    assert any(a["result"] == "unsupported" and "'symbolic'" in a["note"] for a in miss.extra["attempts"])
    assert sym.status == "loaded" and sym.extra["path"].endswith("whatever.sym")


def test_cli_says_in_one_line_that_native_files_need_symbolic(monkeypatch, capsys):
    import crashdesk.engine.native as native
    from crashdesk.cli.common import note_native_support

    monkeypatch.setattr(native, "native_support", lambda: False)
    note_native_support(["/some/folder"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'symbolic'" in err and ".sym files still work" in err
    monkeypatch.setattr(native, "native_support", lambda: True)
    note_native_support(["/some/folder"])
    note_native_support([])
    assert capsys.readouterr().err == ""


def test_relocatable_objects_are_skipped_on_their_header(tmp_path):
    """A build folder is full of .o files (ELF, no build id): skipped on the first bytes, not opened."""
    root = tmp_path / "b"
    root.mkdir()
    obj = bytearray((DATA / "abort/abort.debug").read_bytes())
    obj[16:18] = (1).to_bytes(2, "little")  # e_type = ET_REL
    (root / "main.o").write_bytes(obj)
    shutil.copy(DATA / "abort/abort.debug", root / "abort.debug")
    idx = FolderIndex(root, None)
    stats = idx.load_or_scan()
    assert (stats.identified, stats.skipped, stats.errors) == (1, 1, [])
    assert [e.path for e in idx.find(ABORT.debug_id)] == ["abort.debug"]


def test_scans_at_once_leave_one_whole_index_and_no_temporary_files(tmp_path):
    """Two workers scan the same folders at once on a first pass: each writes through its own temporary
    file, so the kept index is always one scan's whole file."""
    import threading

    root = tmp_path / "b"
    (root / "sub").mkdir(parents=True)
    shutil.copy(DATA / "abort/abort.debug", root / "sub" / "abort.debug")
    for n in range(40):
        (root / f"notes{n}.txt").write_text("not an object file\n" * 10)
    store = tmp_path / "cache" / "folder-index"
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            for _ in range(5):
                FolderIndex(root, store)._scan(None, None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(p.name for p in store.iterdir() if p.suffix == ".part") == []
    kept = FolderIndex(root, store)
    stats = kept.load_or_scan()
    assert stats.from_disk and [e.path for e in kept.find(ABORT.debug_id)] == ["sub/abort.debug"]
