"""Attack: debug file names in a minidump that would lead a symbol lookup outside the symbol folder, or to names
Windows treats specially, run through a real ``crashdesk stackwalk`` process.

The names checked by :mod:`crashdesk.symbols.layout` come from the dump (the CodeView record's PDB name), so a
hostile dump chooses them. For each hostile name a bait ``.sym`` file sits exactly where a naive
``<symbols>/<debug_file>/<DEBUG_ID>/<sym_file>`` join would look (one of them outside the symbol folder); none may
be read. A module with a plain name in the same dump proves lookups work, and nothing may be written outside the
symbol cache."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

from tests.engine._minidump_writer import Module, Thread, write_minidump

# hostile debug file names (the CodeView PDB name, NUL-terminated in the dump, so no NUL here)
HOSTILE = [
    "..",  # the leaf of a path ending in a parent reference: the join climbs out of the symbol folder
    "C:bait.pdb",  # a drive-relative path on Windows
    "bait\x01.pdb",  # a control character
    "con.pdb",  # a reserved Windows device name
    "bait.pdb ",  # a trailing space (Windows drops it: another file than the one named)
    "b" * 300 + ".pdb",  # longer than any path component
]
GOOD = "good.pdb"
BASE = 0x10000000
SIZE = 0x10000


def _sym_name(debug_file: str) -> str:
    return debug_file[:-4] + ".sym" if debug_file.lower().endswith(".pdb") else debug_file + ".sym"


def _write_sym(path: Path, module: Module, function: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"MODULE windows x86_64 {module.debug_id} {module.name}\nFUNC 0 {SIZE:x} 0 {function}\n")


def _tree(root: Path, skip: Path) -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(root):
        if Path(folder) == skip:
            dirs[:] = []
            continue
        found.update(os.path.join(folder, f) for f in files)
    return found


def test_hostile_debug_file_names_never_reach_a_file(tmp_path: Path) -> None:
    names = [GOOD, *HOSTILE]
    modules = [Module(name, BASE + i * SIZE, SIZE, guid=bytes([i + 1]) * 16) for i, name in enumerate(names)]
    stack_base = 0x7FFF00000000
    threads = [Thread(i + 1, {"rip": m.base + 0x40, "rsp": stack_base + i * 0x100, "rbp": 0},
                      stack_base + i * 0x100, struct.pack("<QQ", 0, 0)) for i, m in enumerate(modules)]
    dump = tmp_path / "hostile.dmp"
    dump.write_bytes(write_minidump("amd64", "Windows NT", modules, threads))

    symbols = tmp_path / "symbols"
    cache = tmp_path / "cache"
    for i, m in enumerate(modules):
        function = "GOOD_FUNCTION" if m.name == GOOD else f"BAIT_FUNCTION_{i}"
        try:
            _write_sym(symbols / m.name / m.debug_id / _sym_name(m.name), m, function)
        except OSError:
            continue  # a name this file system refuses (the 300-character one) cannot be baited here
    before = _tree(tmp_path, cache)

    proc = subprocess.run(
        [sys.executable, "-m", "crashdesk", "stackwalk", "--json", "--symbols-path", str(symbols),
         "--symbols-cache", str(cache), str(dump)],
        capture_output=True, text=True, timeout=120)

    assert proc.returncode == 0, proc.stderr
    assert "BAIT_FUNCTION" not in proc.stdout
    doc = json.loads(proc.stdout)
    tops = [thread["frames"][0] for thread in doc["threads"]]
    assert len(tops) == len(modules)
    by_base = {m.base: m for m in modules}
    for frame in tops:
        module = by_base[int(frame["offset"], 16) - int(frame["module_offset"], 16)]
        if module.name == GOOD:
            assert frame.get("function") == "GOOD_FUNCTION"  # the lookup itself works
        else:
            assert frame.get("function") is None, module.name
    # the bait outside the symbol folder exists, and was not read (checked above); nothing new outside the cache
    assert (tmp_path / modules[1].debug_id / _sym_name("..")).exists()
    assert _tree(tmp_path, cache) == before
