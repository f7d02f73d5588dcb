"""Symbol folders' top-level names held briefly (issue 24): a module without symbols costs set lookups instead
of a ``stat`` per folder. The listing may only ever say "certainly absent": every lookup must record the same
attempts and find the same files as probing the disk every time, a ``.sym`` dropped into a folder is found
once the listing expires (or the misses are forgotten), and odd folders (symbolic links, files, names that
differ in case, folders too large to list) fall back to the disk."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from crashdesk.engine.stackwalk import process_minidump
from crashdesk.symbols.chain import SymbolChain
from crashdesk.symbols.folder_names import LISTING_TTL, FolderNames

CASE = "01-null-deref"


def _dump(test_data: Path) -> str:
    return str(test_data / "crashes" / CASE / "dump.dmp")


def _expected_top(test_data: Path) -> str:
    expected = json.loads((test_data / "crashes" / CASE / "expected.json").read_text())
    return expected["crashing_thread"]["frames"][0]["function"]


def _top(chain: SymbolChain, test_data: Path) -> str | None:
    return process_minidump(_dump(test_data), chain)["crashing_thread"]["frames"][0].get("function")


def _disk_only(chain: SymbolChain) -> SymbolChain:
    chain._names = FolderNames(max_names=0)  # no folder is ever held: every lookup probes the disk
    return chain



def _folders(tmp_path: Path, test_data: Path) -> list[Path]:
    """A store with the dump's symbols, an empty folder, a missing one, a file, and a symbolic link to the
    store."""
    store = tmp_path / "store"
    shutil.copytree(test_data / "crashes" / "symbols", store)
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "linked").symlink_to(store, target_is_directory=True)
    return [tmp_path / "empty", tmp_path / "missing", tmp_path / "a-file", tmp_path / "linked", store]


def test_lookups_record_the_same_attempts_as_probing_the_disk(tmp_path, test_data):
    folders = _folders(tmp_path, test_data)
    with SymbolChain(folders, cache_dir=tmp_path / "cache") as listed, \
            _disk_only(SymbolChain(folders, cache_dir=tmp_path / "cache")) as probed:
        got, want = process_minidump(_dump(test_data), listed), process_minidump(_dump(test_data), probed)
        assert listed.lookups() == probed.lookups()
        assert got == want
        lookups = listed.lookups()
    assert got["crashing_thread"]["frames"][0]["function"] == _expected_top(test_data)
    missing = [r for r in lookups.values() if r["status"] == "missing"]
    assert missing and any(r["status"] == "loaded" for r in lookups.values())
    # each missing module was looked for in every folder and in the cache, paths spelled as pathlib does
    (key, record), = [(k, r) for k, r in lookups.items() if r["status"] == "missing"][:1]
    places = {a["source"]: a.get("path") for a in record["attempts"]}
    for f in folders:
        assert f"folder {f}" in places
    assert places["cache"] == str(tmp_path / "cache" / "symbols" / key[0] / key[1] / (key[0] + ".sym"))


def test_paths_of_a_relative_folder_are_spelled_as_pathlib_does(tmp_path, test_data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    roots = [Path("."), Path("sub/"), Path("./sub/../sub")]
    with SymbolChain(roots) as listed, _disk_only(SymbolChain(roots)) as probed:
        process_minidump(_dump(test_data), listed)
        process_minidump(_dump(test_data), probed)
        assert listed.lookups() == probed.lookups()
        record = next(iter(listed.lookups().values()))
        assert listed._names.may_hold(".", "nothing.pdb") is False  # the listing was used
    rel = record["attempts"][0]["path"]
    assert not rel.startswith(("./", "/")) and Path(rel).parts[0] != "."


def test_a_sym_dropped_in_is_found_after_the_misses_are_forgotten(tmp_path, test_data, clock):
    symbols = tmp_path / "symbols"
    symbols.mkdir()
    with SymbolChain([symbols]) as chain:
        assert _top(chain, test_data) is None
        shutil.copytree(test_data / "crashes" / "symbols" / "demo-viewer", symbols / "demo-viewer")
        assert _top(chain, test_data) is None  # the same moment: the miss is remembered
        chain.forget_misses()  # what the worker does after MISS_TTL or on reprocessing
        assert _top(chain, test_data) == _expected_top(test_data)


def test_a_module_first_looked_up_after_its_sym_was_dropped_in_waits_at_most_the_ttl(tmp_path, test_data, clock):
    symbols = tmp_path / "symbols"
    symbols.mkdir()
    with SymbolChain([symbols]) as chain:
        assert chain.lookups() == {}  # nothing looked up yet
        assert chain._names.may_hold(str(symbols), "demo-viewer") is False  # listed now (empty)
        shutil.copytree(test_data / "crashes" / "symbols" / "demo-viewer", symbols / "demo-viewer")
        assert chain._names.may_hold(str(symbols), "demo-viewer") is False  # the listing holds
        clock.now += LISTING_TTL
        assert _top(chain, test_data) == _expected_top(test_data)


def test_the_cache_listing_is_not_trusted_by_a_chain_with_servers(tmp_path):
    cache = tmp_path / "cache"
    with SymbolChain([], ["http://127.0.0.1:9/"], cache) as chain:
        assert chain.cache_may_hold("anything.pdb")
    with SymbolChain([], [], cache) as chain:
        assert not chain.cache_may_hold("anything.pdb")  # no cache folder yet: nothing there


def test_names_differing_in_case_or_not_ascii_are_looked_up_on_disk(tmp_path):
    (tmp_path / "XUL.PDB").mkdir()
    (tmp_path / "caf\u00e9.pdb").mkdir()
    (tmp_path / "\u212a.pdb").mkdir()  # the Kelvin sign, "k" to a case-insensitive file system
    names = FolderNames()
    folder = str(tmp_path)
    assert names.may_hold(folder, "xul.pdb") and names.may_hold(folder, "XUL.PDB")
    assert names.may_hold(folder, "CAF\u00c9.pdb")  # not ASCII: never answered from the listing
    assert names.may_hold(folder, "k.pdb") and names.may_hold(folder, "K.pdb")
    assert not names.may_hold(folder, "ntdll.pdb")


def test_a_folder_too_large_to_hold_is_probed_on_disk(tmp_path):
    for i in range(6):
        (tmp_path / f"m{i}.pdb").mkdir()
    names = FolderNames(max_names=5)
    assert names.may_hold(str(tmp_path), "absent.pdb")  # not held: the caller stats
    assert names.is_dir(str(tmp_path))
    assert not FolderNames(max_names=6).may_hold(str(tmp_path), "absent.pdb")


def test_files_missing_folders_and_links(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mod.pdb").symlink_to(tmp_path / "nowhere")  # a dangling link is still a name
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "link").symlink_to(tmp_path / "d", target_is_directory=True)
    names = FolderNames()
    assert not names.is_dir(str(tmp_path / "f")) and not names.may_hold(str(tmp_path / "f"), "mod.pdb")
    assert not names.is_dir(str(tmp_path / "gone")) and not names.may_hold(str(tmp_path / "gone"), "mod.pdb")
    assert not names.is_dir(str(tmp_path / "dangling"))
    assert names.is_dir(str(tmp_path / "link")) and names.may_hold(str(tmp_path / "link"), "mod.pdb")
    assert names.may_hold(str(tmp_path / "d"), "mod.pdb") and not names.may_hold(str(tmp_path / "d"), "..")
    assert names.is_dir(str(tmp_path / "d")) == os.path.isdir(tmp_path / "d")
    assert not names.is_dir("bad\0path") and names.may_hold("bad\0path", "x")  # cannot list: ask the disk
