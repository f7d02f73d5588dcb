"""Issue 19 item 11: every numeric field of a ``.sym`` line is range-checked.

The widths are rust-minidump's (breakpad-symbols' parser, which minidump-stackwalk uses): addresses are u64
(at most 16 hex digits), sizes and parameter sizes u32 (at most 8 hex digits), FILE / INLINE_ORIGIN ids and
line numbers decimal u32 (at most 10 digits, value <= 4294967295), the STACK WIN type one hex digit. A line
outside those ranges is a parse error there, so the whole file is ``corrupt``: here too, with the line number
in the note, and never an exception (before the fix: ``OverflowError`` from ``array('Q').append``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crashdesk.cli import main
from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.engine.symfile import load_symbol_file
from crashdesk.symbols.chain import SymbolChain

HEAD = b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 lib.so\nFILE 0 a.c\n"
GOOD_TAIL = b"FUNC 2000 10 0 g\n2000 10 7 0\nPUBLIC 3000 0 p\n"
TWO64 = "1" + "0" * 16           # 2**64 in hex: one digit too many for a u64
TWO64_DEC = str(2**64)

# (what, line) -- each line is the third line of its file
OVERFLOWING = [
    ("FUNC address", f"FUNC {TWO64} 10 0 f"),
    ("FUNC m address", f"FUNC m {TWO64} 10 0 f"),
    ("FUNC size", f"FUNC 1000 {TWO64} 0 f"),
    ("FUNC size over u32", "FUNC 1000 100000000 0 f"),
    ("FUNC parameter size", "FUNC 1000 10 100000000 f"),
    ("PUBLIC address", f"PUBLIC {TWO64} 0 p"),
    ("PUBLIC parameter size", "PUBLIC 1000 100000000 p"),
    ("FILE index", f"FILE {TWO64_DEC} b.c"),
    ("FILE index over u32", "FILE 4294967296 b.c"),
    ("INLINE_ORIGIN id", f"INLINE_ORIGIN {TWO64_DEC} inl"),
    ("STACK CFI INIT address", f"STACK CFI INIT {TWO64} 10 .cfa: $rsp 8 +"),
    ("STACK CFI INIT size", f"STACK CFI INIT 1000 {TWO64} .cfa: $rsp 8 +"),
    ("STACK WIN address", f"STACK WIN 4 {TWO64} 10 0 0 0 0 0 0 1 $eip"),
    ("STACK WIN size", f"STACK WIN 4 1000 {TWO64} 0 0 0 0 0 0 1 $eip"),
    ("STACK WIN 0 size", f"STACK WIN 0 1000 {TWO64} 0 0 0 0 0 0 0 0"),
    ("STACK WIN type", "STACK WIN 14 1000 10 0 0 0 0 0 0 1 $eip"),
]
# lines inside a FUNC / STACK CFI INIT block (the block's first line is line 3)
OVERFLOWING_SUBLINES = [
    ("line record address", f"FUNC 1000 10 0 f\n{TWO64} 4 1 0"),
    ("line record size", "FUNC 1000 10 0 f\n1000 100000000 1 0"),
    ("line record line number", "FUNC 1000 10 0 f\n1000 4 4294967296 0"),
    ("INLINE range address", f"FUNC 1000 10 0 f\nINLINE 0 1 0 0 {TWO64} 4"),
    ("STACK CFI delta address", f"STACK CFI INIT 1000 10 .cfa: $rsp 8 +\nSTACK CFI {TWO64} .cfa: $rsp 16 +"),
]
# the widest values that still fit: never corrupt
FITTING = [
    "FUNC ffffffffffffffff ffffffff ffffffff f",
    "PUBLIC FFFFFFFFFFFFFFFF ffffffff p",
    "FILE 4294967295 b.c",
    "FILE 0000000001 b.c",
    "INLINE_ORIGIN 4294967295 inl",
    "STACK CFI INIT ffffffffffffffff ffffffff .cfa: $rsp 8 +",
    "STACK WIN 4 ffffffffffffffff ffffffff 0 0 0 0 0 ffffffff 1 $eip",
    "FUNC 1000 10 0 f\nffffffffffffffff ffffffff 4294967295 4294967295",
    "FUNC 1000 10 0 f\n1000 4 0000000007 0",
]


def write(tmp_path: Path, line: str) -> Path:
    p = tmp_path / "lib.sym"
    p.write_bytes(HEAD + line.encode() + b"\n" + GOOD_TAIL)
    return p


@pytest.mark.parametrize("index", [False, True], ids=["memory", "index-file"])
@pytest.mark.parametrize(("what", "line"), OVERFLOWING + OVERFLOWING_SUBLINES,
                         ids=[w for w, _ in OVERFLOWING + OVERFLOWING_SUBLINES])
def test_out_of_range_field_makes_the_file_corrupt(tmp_path: Path, what: str, line: str, index: bool) -> None:
    p = write(tmp_path, line)
    bad_line = 3 + line.count("\n")
    with load_symbol_file(p, index_dir=tmp_path / "idx" if index else None) as s:
        assert s.corrupt, what
        assert s.malformed_lines == 1
        assert s.malformed_examples[0].startswith(f"line {bad_line}: "), s.malformed_examples
        # the rest of the file still indexes and answers
        assert s.function_at(0x2004).name == "g"


@pytest.mark.parametrize("line", FITTING)
def test_widest_fitting_values_are_fine(tmp_path: Path, line: str) -> None:
    with load_symbol_file(write(tmp_path, line)) as s:
        assert not s.corrupt, s.malformed_examples


def test_corrupt_file_in_the_cache_is_reported_with_its_line_and_removed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    sym = cache / "symbols" / "lib.so" / "0123456789ABCDEF0123456789ABCDEF0" / "lib.so.sym"
    sym.parent.mkdir(parents=True)
    sym.write_bytes(HEAD + f"FUNC {TWO64} 10 0 f\n".encode() + GOOD_TAIL)
    key = ModuleKey(debug_file="lib.so", debug_id="0123456789ABCDEF0123456789ABCDEF0")
    with SymbolChain(cache_dir=cache) as chain:
        hit = chain.lookup(key)
    assert hit.symbols is None and hit.status == "corrupt"
    assert "line 3" in hit.note and "lib.so.sym" in hit.note
    assert not sym.exists()  # a corrupt file is not kept: the next lookup looks again


DUMPS = Path(__file__).resolve().parents[1] / "data" / "symbols" / "dumps"
STORE = Path(__file__).resolve().parents[1] / "data" / "symbols" / "store"
VIEWER = ("demo-viewer", "72F4E7E2EDA32DCBFDA30896DCB74D930")


def test_stackwalk_cli_reports_the_module_corrupt_instead_of_crashing(tmp_path: Path, capsys) -> None:
    store = tmp_path / "store"
    shutil.copytree(STORE / VIEWER[0], store / VIEWER[0])
    sym = store / VIEWER[0] / VIEWER[1] / "demo-viewer.sym"
    lines = sym.read_bytes().split(b"\n")
    lines.insert(2, f"PUBLIC {TWO64} 0 evil".encode())
    sym.write_bytes(b"\n".join(lines))
    code = main(["stackwalk", str(DUMPS / "linux-crashpad-06-plugin-so.dmp"), "--symbols-path", str(store), "--json",
                 "--data-dir", str(tmp_path / "home")])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    doc = doc.get("result", doc)
    (viewer,) = [m for m in doc["modules"] if m.get("debug_file") == VIEWER[0]]
    assert viewer["corrupt_symbols"] is True and viewer["loaded_symbols"] is True
    assert "Traceback" not in err
