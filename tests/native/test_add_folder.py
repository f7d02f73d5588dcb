"""``crashdesk symbols add-folder DIR``: scan once, re-walk the stored crashes whose modules lacked symbols,
report signature changes. The expected new signatures are what the same crashes get from the dump_syms .sym
oracles in a store-layout folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from native_oracle import DATA

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "unwind" / "mini-windows" / "mini.dmp"
ABORT_DMP = DATA / "abort" / "abort.20180103.145440.12345.20827.dmp"


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crashdesk", *args, "--data-dir", str(home)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def _signatures(home: Path) -> dict[str, str]:
    out = cli(home, "search", "", "--json")
    assert out.returncode == 0, out.stderr
    return {h["crash_id"]: h["signature"] for h in json.loads(out.stdout)["hits"]}


def _store_with_crashes(home: Path, *sym_paths: Path) -> dict[str, str]:
    assert cli(home, "import", str(ABORT_DMP), str(MINI), str(DATA / "linux-x86_64/linux-x86_64.dmp")).returncode == 0
    args = ["process"] + [a for p in sym_paths for a in ("--symbols-path", str(p))]
    assert cli(home, *args).returncode == 0
    return _signatures(home)


def test_add_folder_rewalks_and_reports_signature_changes(tmp_path):
    oracle = tmp_path / "oracle"  # store layout, the reference symbols
    for rel, (name, did) in {"abort/abort.sym": ("abort", "A48688D4AA70B4CAE2B86443818FBC970"),
                             "mini-windows/crash.sym": ("crash.pdb", "3249D99D0C4049318610F4E4FB0B69361")}.items():
        dest = oracle / name / did / Path(rel).name
        dest.parent.mkdir(parents=True)
        shutil.copy(DATA / rel, dest)
    expected = _store_with_crashes(tmp_path / "ref", oracle)
    before = _store_with_crashes(tmp_path / "home")

    build = tmp_path / "build"
    (build / "bin").mkdir(parents=True)
    shutil.copy(DATA / "abort/abort.debug", build / "bin" / "abort.debug")
    shutil.copy(DATA / "mini-windows/crash.pdb", build / "crash.pdb")
    shutil.copy(DATA / "mini-windows/crash.exe", build / "bin" / "crash.exe")
    (build / "README.txt").write_text("build output\n")
    out = cli(tmp_path / "home", "symbols", "add-folder", str(build), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    after = _signatures(tmp_path / "home")

    # abort and linux-x86_64: as with the oracle .sym files. mini-windows: the PDB also says that the crash
    # happened in code inlined into main ("main" in the oracle, which has no INLINE records); the signature
    # starts at the innermost inlined function, which symbolic itself names at that address.
    from symbolic.debuginfo import Archive

    symcache = next(Archive.open(str(DATA / "mini-windows/crash.pdb")).iter_objects()).make_symcache()
    frame0 = json.loads((DATA / "mini-windows/expected.json").read_text())["crashing_thread"]["frames"][0]
    innermost = symcache.lookup(int(frame0["module_offset"], 16))[0].symbol
    inlined = innermost.replace("`anonymous namespace'", "(anonymous namespace)").split("(")
    inlined = "(".join(inlined[:2]) if innermost.startswith("`") else inlined[0]
    assert sorted(after.values()) == sorted([*(v for v in expected.values() if v != "main"), inlined])
    assert "main" in expected.values()
    changed = {cid for cid in before if before[cid] != after[cid]}
    assert changed and len(report["crashes"]) == 2
    assert report["scan"]["objects"] == 3 and report["scan"]["skipped"] == 1 and report["ids"] == 2
    got_changes = {(c["old"], c["new"]): c["crashes"] for c in report["signature_changes"]}
    assert got_changes == {(before[cid], after[cid]): 1 for cid in changed}
    assert {g["crash_id"] for g in report["gained_symbols"]} == set(report["crashes"])
    assert sorted(m for g in report["gained_symbols"] for m in g["modules"]) == ["abort", "crash.pdb"]

    again = cli(tmp_path / "home", "symbols", "add-folder", str(build), "--json")
    second = json.loads(again.stdout)
    assert second["scan"]["from_disk"] and second["crashes"] == []  # nothing left to gain

    shutil.copy(DATA / "linux-x86_64/linux-x86_64", build / "bin" / "later")  # a re-scan picks up a new file
    third = json.loads(cli(tmp_path / "home", "symbols", "add-folder", str(build), "--json").stdout)
    assert third["scan"]["identified"] == 1 and len(third["crashes"]) == 1
    human = cli(tmp_path / "home", "symbols", "add-folder", str(build))
    assert human.returncode == 0 and "0 crashes re-walked" in human.stdout


def test_add_folder_bad_usage(tmp_path):
    out = cli(tmp_path / "home", "symbols", "add-folder", str(tmp_path / "nope"))
    assert out.returncode == 2 and "no such folder" in out.stderr and "Traceback" not in out.stderr


def _sym_folder(root: Path, sym: Path) -> Path:
    """``root`` in store layout holding ``sym`` (named by its MODULE line)."""
    _, _os, _arch, debug_id, name = sym.read_text().splitlines()[0].split(" ", 4)
    dest = root / name / debug_id / f"{Path(name).stem}.sym"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sym, dest)
    return root


def _libc_sym(folder: Path) -> Path:
    """A .sym for the abort dump's libc (its MODULE line as the dump names the module; two functions covering
    the libc frames of the crashing thread), which the crash lacks symbols for."""
    folder.mkdir(parents=True)
    sym = folder / "libc-2.23.so.sym"
    sym.write_text("MODULE Linux x86_64 7721BF3B839511A1FEC5743F28D42F6E0 libc-2.23.so\n"
                   "FUNC 20700 100 0 __libc_start_main\nFUNC 33d80 100 0 raise\n")
    return sym


def test_add_folder_rewalks_with_the_settings_sources_and_saves_the_folder(tmp_path):
    """The re-walk is processing: the folders in Settings stay in use (here the program's .sym), so only what
    the new folder adds changes; the folder joins Settings for later processing."""
    settings_syms = _sym_folder(tmp_path / "settings", DATA / "abort/abort.sym")
    build = _sym_folder(tmp_path / "build", _libc_sym(tmp_path / "made"))
    ref = tmp_path / "ref"  # both folders from the start: what the crash should end with
    assert cli(ref, "import", str(ABORT_DMP)).returncode == 0
    assert cli(ref, "process", "--symbols-path", str(settings_syms), "--symbols-path", str(build)).returncode == 0
    (expected,) = _signatures(ref).values()

    home = tmp_path / "home"
    assert cli(home, "import", str(ABORT_DMP)).returncode == 0
    assert cli(home, "config", "--add-symbols-path", str(settings_syms)).returncode == 0
    assert cli(home, "process").returncode == 0
    before = _signatures(home)
    assert list(before.values()) != [expected]  # libc lacked symbols
    out = cli(home, "symbols", "add-folder", str(build), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["crashes"] == list(before) and report["gained_symbols"][0]["modules"] == ["libc-2.23.so"]
    assert list(_signatures(home).values()) == [expected]
    saved = json.loads(cli(home, "config", "--json").stdout)
    assert saved["paths"] == [str(settings_syms), str(build)]
    assert "added to the symbol folders" in out.stderr
    # --no-save leaves Settings as they are
    other = tmp_path / "other"
    other.mkdir()
    assert cli(home, "symbols", "add-folder", str(other), "--no-save").returncode == 0
    assert json.loads(cli(home, "config", "--json").stdout)["paths"] == [str(settings_syms), str(build)]


def test_add_folder_with_debug_info_rewalks_crashes_whose_symbols_had_no_lines(tmp_path):
    """A program first symbolicated from its symbol table alone (no source lines), then a folder with its debug
    file added: the crashes are re-walked and their frames get source lines; adding it again re-walks nothing."""
    if shutil.which("objcopy") is None:
        pytest.skip("binutils' objcopy makes the symbol-table-only copy of the program")
    stripped = tmp_path / "system" / "abort"
    stripped.parent.mkdir()
    subprocess.run(["objcopy", "--strip-debug", str(DATA / "abort/abort.debug"), str(stripped)], check=True)
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(DATA / "abort/abort.debug", build / "abort.debug")

    home = tmp_path / "home"
    assert cli(home, "import", str(ABORT_DMP)).returncode == 0
    assert cli(home, "config", "--add-symbols-path", str(stripped.parent)).returncode == 0
    assert cli(home, "process").returncode == 0
    (crash_id,) = _signatures(home)

    def main_frame() -> dict:
        shown = json.loads(cli(home, "show", crash_id, "--json").stdout)
        frames = shown["processed"]["threads"][shown["crashing_thread"]]["frames"]
        return next(f for f in frames if f.get("module") == "abort" and f.get("function") == "main")

    assert "line" not in main_frame() or main_frame()["line"] is None  # the symbol table has no lines
    out = cli(home, "symbols", "add-folder", str(build), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [(m["filename"], m["reason"]) for m in report["modules"]] == [("abort", "no_lines")]
    assert report["crashes"] == [crash_id]
    assert report["gained_lines"] == [{"crash_id": crash_id, "modules": ["abort"]}]
    # the line the dump_syms oracle gives for that frame
    oracle = json.loads((DATA / "abort/expected.json").read_text())
    want = next(f for t in oracle["threads"] for f in t["frames"] if f.get("function") == "main")
    assert (main_frame()["file"], main_frame()["line"]) == (want["file"], want["line"])
    again = json.loads(cli(home, "symbols", "add-folder", str(build), "--json").stdout)
    assert again["crashes"] == []
