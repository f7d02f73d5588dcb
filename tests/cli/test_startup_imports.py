"""Start-up cost, checked without a clock: the modules a command imports, compared with an allow-list.

Each case runs the real ``crashdesk`` command in a fresh interpreter through a tiny launcher that records which
modules were imported beyond the ones the interpreter had already loaded (``sys.modules`` before and at exit).
What may appear (ARCHITECTURE.md, "Imports and start-up"):

* CrashDesk's own modules: exactly the allow-list of the case (a new module on a command's path is a decision:
  add it here, or import it where it is used);
* other modules: the standard library, minus the heavy parts no start-up path needs (logging, networking,
  SQLite, subprocesses, ctypes...), plus the third-party packages the case names (none so far).

A module turning up outside its list fails with its name, so the change that slowed start-up is found at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMPS = ROOT / "tests" / "data" / "minidumps"
DUMP = DUMPS / "linux-crashpad-05-thread" / "dump.dmp"

# Run with -S: the development machine's start-up hooks (.pth files of editable installs, ~80 modules such as
# shutil, tempfile, pathlib) would otherwise be loaded before the count starts and hide those modules; the
# site-packages folders are put on the path as an installed environment has them.
LAUNCHER = """
import atexit, site, sys
sys.path.extend(site.getsitepackages())
_out = sys.argv[1]
_before = set(sys.modules)
def _record():
    with open(_out, "w") as f:
        f.write("\\n".join(sorted(set(sys.modules) - _before)))
atexit.register(_record)
sys.argv = ["crashdesk", *sys.argv[2:]]
from crashdesk.cli import entry  # as the console script runs it (runpy would import importlib.util itself)
entry()
"""

# Standard-library packages no start-up path below may import (each costs milliseconds or more, and says a
# service-level dependency leaked into the command line's path).
HEAVY_STDLIB = {"asyncio", "concurrent", "ctypes", "email", "http", "logging", "multiprocessing", "socket",
                "sqlite3", "ssl", "subprocess", "uuid", "xml", "zipfile", "urllib.request", "platform"}
# Standard-library modules the stackwalker's path does without (the engine's classes are records, not
# dataclasses: ARCHITECTURE.md); other paths name them in their case.
SLOW_TO_IMPORT = {"dataclasses", "inspect"}
# Standard-library modules a stackwalk does without, index builds included (ARCHITECTURE.md): `shutil` (it imports
# bz2 and lzma; argparse's formatter asks it for the terminal's width, cli._help_width does not), `tempfile` (random,
# weakref; the cache's downloads, a server's negative cache and eviction import them where they run; an index's
# temporary file is made without it).
# `typing` (~3 ms): the engine's records are collections.namedtuple, its protocols plain classes, and
# `if TYPE_CHECKING:` reads a module's own `TYPE_CHECKING = False`.
# `threading` (~0.7 ms): the symbol chain's locks are `_thread.allocate_lock()` (what threading.Lock is).
STACKWALK_NEVER = {"shutil", "tempfile", "random", "bz2", "lzma", "typing", "threading"}
# `pathlib` (with fnmatch, ntpath, urllib.parse, ipaddress: ~4 ms) with or without symbols: the reader opens the
# path it is given, the output files are plain open() calls, the symbol chain, its cache and the .sym index spell
# their paths with os.path (pathlib only where a download or a native conversion runs).
STACKWALK_NEVER |= {"pathlib", "fnmatch", "ntpath", "urllib", "urllib.parse", "ipaddress"}
# `importlib.util` (with contextlib, ~1 ms): whether `symbolic` is installed is asked of sys.meta_path's finders
# (native_support); only the decoder, which needs capstone's spec to find its library, imports it.
NOT_DECODING_NEVER = {"importlib.util"}
# Third-party packages named by the issue: none of them on these paths.
NEVER = {"httpx", "sqlite_utils", "pygments", "keyring", "platformdirs", "capstone", "symbolic", "cxxfilt",
         "cpp_demangle", "PySide6", "zstandard", "waitress", "shiboken6"}

CLI = {"crashdesk", "crashdesk.cli", "crashdesk.errors"}
# Every stackwalk: the reader, the walk, the JSON. Only the unwinder of the dump's CPU is added (UNWINDER), the
# crash_info fields only for a dump with an exception (CRASH_INFO), the amd64 decoder only when the dump holds
# the faulting instruction's bytes (DECODER).
ENGINE_WALK = {
    "crashdesk.cli.cmd_stackwalk",
    "crashdesk.engine",
    "crashdesk.engine.record_class",
    "crashdesk.engine.stackwalk",
    "crashdesk.engine.symbols_api",
    *(f"crashdesk.engine.minidump{m}" for m in ("", "._io", ".constants", ".context", ".crash_reason",
                                                ".error_tables", ".errors", ".extras", ".memory", ".modules",
                                                ".reader", ".records", ".sysinfo")),
    *(f"crashdesk.engine.unwind{m}" for m in ("", ".api", ".cfi", ".chain", ".context", ".cpu", ".frame_json",
                                              ".postfix", ".symbolize", ".walker")),
}
UNWINDER = {cpu: {f"crashdesk.engine.unwind.{cpu}"} for cpu in ("amd64", "x86", "arm64", "arm")}
CRASH_INFO = {f"crashdesk.engine.crash_info{m}" for m in ("", ".heuristics", ".memory_info")}
DECODER = {f"crashdesk.engine.crash_info.{m}" for m in ("amd64_access", "x86_decode", "capstone_lib")}
# A symbol folder whose .sym files are indexed already: the supplier chain, the index, the cache; native debug
# files are only looked up (crashdesk.engine.native without its converter and symbolic; symbols.layout says
# which native file a module wants, and the native fetcher, symbols.native_fetch and remote_native, stays out while
# the module has no folder in the cache). No scanner, no build lock, no hashlib.
SYMBOL_FOLDER = {
    "crashdesk.cli.common", "crashdesk.config", "crashdesk.config.paths",
    *(f"crashdesk.engine.native{m}" for m in ("", ".errors", ".identify", ".ids")),
    *(f"crashdesk.engine.symfile{m}" for m in ("", ".errors", ".indexfile", ".module_info", ".symbolfile")),
    *(f"crashdesk.symbols{m}" for m in ("", ".cache", ".chain", ".folder_names", ".layout",
                                        ".negcache", ".options")),
}
# The first run over a symbol folder also builds the indexes.
INDEX_BUILD = {"crashdesk.engine.build_lock", "crashdesk.engine.symfile.scan"}
# A module without a .sym file in the folders: its native debug files are looked for in the folders' index (a dump
# whose modules all have .sym files, as the shared corpus's, does without it).
BUILD_FOLDERS = {"crashdesk.symbols.folder_index"}

# Searching a store: SQLite and the store's document codec, not the signature engine, HTTP or the keyring.
SEARCH = {
    "crashdesk.cli.cmd_search", "crashdesk.cli.common", "crashdesk.config", "crashdesk.config.paths",
    "crashdesk.engine", "crashdesk.engine.query", "crashdesk.gc_pause",
    "crashdesk.model.crash_time",  # this run creates the store: its migrations date imported dumps
    "crashdesk.engine.spikes",  # the trend:spike rule, a small module (math only) the store's connections register
    *(f"crashdesk.model{m}" for m in ("", ".crash_id", ".summary", ".threads", ".versions")),
    *(f"crashdesk.store{m}" for m in ("", ".annotation_columns", ".blobs", ".codec", ".crashes", ".db",
                                      ".dictionaries", ".errors", ".schema", ".search", ".search_text",
                                      ".split_document", ".terms", ".thread_index", ".thread_search")),
}

LINUX_SYMBOLS = ["--symbols-path", str(DUMPS / "symbols"), "--symbols-cache", "{cache}", str(DUMP)]
AMD64_WALK = CLI | ENGINE_WALK | UNWINDER["amd64"] | CRASH_INFO

# name -> (arguments, CrashDesk modules allowed, other packages allowed beyond the standard library's light part,
# CrashDesk modules the run must have imported: the path the case is about was really taken)
CASES = {
    # --version also names the collector and the Python it runs on (model.build_info: `platform`)
    "version": (["--version"], CLI | {"crashdesk.model", "crashdesk.model.build_info"}, {"platform"}, set()),
    "stackwalk-help": (["stackwalk", "--help"], CLI | {"crashdesk.cli.cmd_stackwalk"}, set(), set()),
    # amd64, a crash whose code bytes the dump does not hold: nothing to decode, no other CPU's unwinder
    "stackwalk-dump": (["stackwalk", "--json", str(DUMP)], AMD64_WALK, set(), {"crashdesk.engine.unwind.amd64"}),
    # a symbol cache alone is no symbol source (as the reference): no symbol chain
    "stackwalk-dump-cache-only": (["stackwalk", "--json", "--symbols-cache", "{cache}", str(DUMP)], AMD64_WALK, set(),
                                  {"crashdesk.engine.unwind.amd64"}),
    # the faulting instruction is in the dump: the decoder (capstone's C library through ctypes)
    "stackwalk-dump-decoded": (["stackwalk", "--json", str(DUMPS / "linux-amd64-mini" / "linux-mini.dmp")],
                               AMD64_WALK | DECODER, {"ctypes"}, DECODER),
    "stackwalk-x86": (["stackwalk", "--json", str(DUMPS / "win-x86-fizzbuzz" / "fizzbuzz_no_heap.dmp")],
                      CLI | ENGINE_WALK | UNWINDER["x86"] | CRASH_INFO, set(), UNWINDER["x86"] | CRASH_INFO),
    # no exception stream: no crash_info at all (and no stack memory: the walk ends at the context frame)
    "stackwalk-arm64": (["stackwalk", "--json", str(DUMPS / "arm64-macos" / "arm64-macos.dmp")],
                        CLI | ENGINE_WALK | UNWINDER["arm64"], set(), {"crashdesk.engine.unwind.walker"}),
    # (the test data's symbol folder has .sym files for some of this dump's modules only: BUILD_FOLDERS)
    "stackwalk-dump-symbols": (["stackwalk", "--json", *LINUX_SYMBOLS],
                               AMD64_WALK | SYMBOL_FOLDER | BUILD_FOLDERS | INDEX_BUILD, set(), INDEX_BUILD),
    # the same command again: the indexes are built, the scanner stays out
    "stackwalk-dump-symbols-indexed": (["stackwalk", "--json", *LINUX_SYMBOLS], AMD64_WALK | SYMBOL_FOLDER | BUILD_FOLDERS,
                                       set(), {"crashdesk.engine.symfile.indexfile"}),
    "search": (["search", "--data-dir", "{data}"], CLI | SEARCH,
               {"sqlite3", "orjson", "zstandard", "uuid", "platform", "dataclasses", "inspect"},  # uuid: crash ids
               {"crashdesk.store.search"}),
}
WARM_FIRST = {"stackwalk-dump-symbols-indexed"}  # run once, unrecorded, before the recorded run


def imported_by(argv: list[str], tmp_path: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    out = tmp_path / "modules.txt"
    argv = [a.replace("{cache}", str(tmp_path / "cache")).replace("{data}", str(tmp_path / "data")) for a in argv]
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(out), *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    return set(out.read_text().split()), proc


def outside_allow_list(modules: set[str], allowed_own: set[str], allowed_other: set[str] = frozenset(),
                       never: set[str] = frozenset()):
    """The modules that break the rules above (and the modules ``never`` names), each with the rule it breaks."""
    bad = []
    for name in sorted(modules):
        top = name.split(".")[0]
        if name in never:
            bad.append(f"{name}: never imported on this path")
        elif top == "crashdesk":
            if name not in allowed_own:
                bad.append(f"{name}: a CrashDesk module not on this path's allow-list")
        elif top in allowed_other:
            continue
        elif top in NEVER or top in HEAVY_STDLIB or name in HEAVY_STDLIB or top in SLOW_TO_IMPORT:
            bad.append(f"{name}: never imported on this path")
        elif top.lstrip("_") not in sys.stdlib_module_names and top not in sys.stdlib_module_names \
                and not top.startswith("_sysconfigdata_"):  # the interpreter's generated build settings
            bad.append(f"{name}: third-party module not allowed on this path")
    return bad


@pytest.mark.parametrize("case", sorted(CASES))
def test_command_imports_only_its_allow_list(case, tmp_path):
    argv, allowed, other, required = CASES[case]
    if case in WARM_FIRST:
        imported_by(argv, tmp_path)
    modules, proc = imported_by(argv, tmp_path)
    assert proc.returncode == 0, proc.stderr
    never = set()
    if case.startswith("stackwalk"):
        never = STACKWALK_NEVER if "decoded" in case else STACKWALK_NEVER | NOT_DECODING_NEVER
    assert outside_allow_list(modules, allowed, other, never) == []
    # the run did what it says (the list is not empty because the command failed early)
    assert required <= modules, sorted(required - modules)
    if case == "version":
        assert proc.stdout.startswith("crashdesk ")
    elif case == "stackwalk-help":
        assert "--symbols-path" in proc.stdout
    elif case == "search":
        assert "0 crashes" in proc.stdout + proc.stderr
    else:
        dump = Path(argv[-1])
        result = json.loads(proc.stdout)
        expected = json.loads((dump.parent / ("expected.json" if "symbols" in case else "expected-nosyms.json"))
                              .read_text())
        assert result["crash_info"] == expected["crash_info"]
        frame = result["crashing_thread"]["frames"][0] if "crashing_thread" in result else result["threads"][0]["frames"][0]
        expected_frame = (expected.get("crashing_thread") or expected["threads"][0])["frames"][0]
        assert frame["function"] == expected_frame["function"] and frame["offset"] == expected_frame["offset"]
        assert "crashdesk.engine.stackwalk" in modules


def test_rules_catch_a_heavy_import():
    """The check itself: each kind of unwanted module is reported (so an empty list above means something)."""
    found = outside_allow_list({"crashdesk.store.db", "logging", "httpx._client", "numpy", "json", "dataclasses",
                                "shutil"}, CLI, never=STACKWALK_NEVER)
    assert [line.split(":")[0] for line in found] == ["crashdesk.store.db", "dataclasses", "httpx._client", "logging",
                                                      "numpy", "shutil"]


def test_shared_corpus_dump_stays_on_the_list(shared_corpus, tmp_path):
    """A stackwalk of a full corpus dump with its real symbol store (linux-crashpad/01-null-deref): every module
    has a .sym file there, so the native debug files' side (symbols.folder_index, native_fetch) stays out."""
    case = shared_corpus / "linux-crashpad"
    argv = ["stackwalk", "--json", "--symbols-path", str(case / "symbols"), "--symbols-cache", "{cache}",
            str(case / "01-null-deref" / "dump.dmp")]
    imported_by(argv, tmp_path)  # builds the indexes (the first run's modules: INDEX_BUILD)
    modules, proc = imported_by(argv, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert outside_allow_list(modules, AMD64_WALK | SYMBOL_FOLDER, never=STACKWALK_NEVER) == []
    expected = json.loads((case / "01-null-deref" / "expected.json").read_text())
    got = json.loads(proc.stdout)
    assert [f.get("function") for f in got["crashing_thread"]["frames"]] == \
        [f.get("function") for f in expected["crashing_thread"]["frames"]]


def test_a_stackwalk_builds_two_parsers():
    """Reading a stackwalk's command line builds the root parser and the stackwalk one, no third (a shared parent
    parser for the common options was one more parser and two message-catalogue searches on every run)."""
    import argparse

    from crashdesk.cli import build_parser

    built = []

    def watch(frame, event, _arg):  # every ArgumentParser.__init__ entered, with the prog it was given
        if event == "call" and frame.f_code is argparse.ArgumentParser.__init__.__code__:
            built.append(frame.f_locals.get("prog"))

    sys.setprofile(watch)
    try:
        parser = build_parser("stackwalk")
    finally:
        sys.setprofile(None)
    assert sorted(built, key=str) == ["crashdesk", "crashdesk stackwalk"]
    args = parser.parse_args(["stackwalk", "--data-dir", "D", "--json", "x.dmp"])
    assert (args.data_dir, args.json, args.paths) == ("D", True, ["x.dmp"])
