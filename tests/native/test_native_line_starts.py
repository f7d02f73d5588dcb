"""Where a source line (or an outermost inlined call) starts, read from a native debug file, is where its
dump_syms 2.3.5 oracle's line record (or INLINE range) starts: the human-readable report measures each frame's
``[file : line + 0x..]`` offset from it, as minidump-stackwalk does.

Found by running ``crashdesk stackwalk`` on the native corpus as a user: with native files every offset read
``+ 0x0``, and a frame with inlined calls (PDB or DWARF) printed ``+ -0xffffee98``: the SymCache gives an inlined
function's start as 0xffffffff.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from native_oracle import DATA, compare_line_starts, oracle_module

from crashdesk.cli import main
from crashdesk.engine.native.symbols import load_native_symbols
from crashdesk.engine.symfile import load_symbol_file

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "tests" / "data" / "minidumps" / "linux-crashpad-06-plugin-so"
STORE = ROOT / "tests" / "data" / "minidumps" / "symbols"


@pytest.mark.parametrize("native, sym, companions, inlines", [
    ("abort/abort.debug", "abort/abort.sym", [], False),
    ("linux-x86_64/linux-x86_64", "linux-x86_64/linux-x86_64.sym", [], False),
    ("macho/overlapping_funcs", "macho/overlapping_funcs.sym", [], False),
    ("elf-o2/clones", "elf-o2/clones.sym", [], False),
    ("mini-windows/crash.pdb", "mini-windows/crash.sym", ["mini-windows/crash.exe"], False),
    ("linux-demo/libdemo_codec.so", "linux-demo/libdemo_codec.so.sym", [], True),
    ("linux-demo/demo-scripting", "linux-demo/demo-scripting.sym", [], True),
])
def test_line_and_inline_starts_are_the_oracles(tmp_path, native, sym, companions, inlines):
    """At the last byte of every oracle line record: the native start is the record's start, or (where
    dump_syms split one source line into adjacent records and the SymCache keeps it whole) the start of
    that run; the outermost inlined call starts where the oracle's INLINE range does."""
    with load_native_symbols(DATA / native, oracle_module(DATA / sym), tmp_path,
                             companions=[DATA / c for c in companions], inlines=inlines) as nat:
        diffs = compare_line_starts(nat, DATA / sym)
    assert diffs["checked"]
    assert diffs["line"] == []
    assert diffs["inline"] == []
    # the merged runs are rare (demo-scripting: 1 of 225 records), not a way around the check
    assert len(diffs["merged"]) <= len(diffs["checked"]) // 100


def test_json_lookups_leave_the_start_for_later(tmp_path):
    """Finding a start asks the SymCache byte by byte, so lookups leave it to ``line_start``: a JSON stackwalk
    (which has no offsets) never pays for it."""
    sym = DATA / "linux-demo/libdemo_codec.so.sym"
    oracle = load_symbol_file(sym)
    with load_native_symbols(DATA / "linux-demo/libdemo_codec.so", oracle_module(sym), tmp_path) as nat:
        inlined = [a for a in range(0x1000, 0x2000) if oracle.inlines_at(a)]
        assert inlined
        a = inlined[-1]
        assert nat.line_at(a).address is None and nat.inlines_at(a)[0].address is None
        assert nat.line_start(a, True) == oracle.inlines_at(a)[0].address
        assert nat.line_start(a, False) == oracle.line_at(a).address
    oracle.close()


def test_report_with_a_native_library_reads_as_with_its_oracle(tmp_path, capsys):
    """The plugin crash (frame 0 inlined into ``codec_decode_frame``): the human-readable report with the
    native ``libdemo_codec.so`` is the report with its oracle ``.sym``, byte for byte (that one is the
    reference's ``expected.txt`` wherever both have the same symbols); frame 1 reads ``+ 0x8``."""
    oracle_store, native_folder = tmp_path / "oracle", tmp_path / "native"
    shutil.copytree(STORE / "demo-viewer", oracle_store / "demo-viewer")
    shutil.copytree(STORE / "libdemo_codec.so", oracle_store / "libdemo_codec.so")
    shutil.copytree(STORE / "demo-viewer", native_folder / "store" / "demo-viewer")
    shutil.copy(DATA / "linux-demo/libdemo_codec.so", native_folder)

    assert main(["stackwalk", str(PLUGIN / "dump.dmp"), str(oracle_store)]) == 0
    with_oracle = capsys.readouterr().out
    assert main(["stackwalk", str(PLUGIN / "dump.dmp"), str(native_folder / "store"), str(native_folder)]) == 0
    with_native = capsys.readouterr().out
    assert with_native == with_oracle
    frame = next(line for line in with_native.splitlines() if "codec_decode_frame" in line)
    expected = next(line for line in (PLUGIN / "expected.txt").read_text().splitlines() if "codec_decode_frame" in line)
    assert frame == expected
    assert "+ -0x" not in with_native
