"""Native debug files read with symbolic answer as their dump_syms 2.3.5 oracle .sym does, at every FUNC,
PUBLIC and line-record address of the oracle (functions, lines, inlines, CFI)."""

from __future__ import annotations

import cxxfilt
import pytest
from native_oracle import DATA, compare_lookups, oracle_module

from crashdesk.engine.native import DebugIdMismatch, NativeFileError, identify
from crashdesk.engine.native.symbols import load_native_symbols
from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.engine.symfile import load_symbol_file


@pytest.mark.parametrize("native, sym, companions, inlines", [
    ("abort/abort.debug", "abort/abort.sym", [], False),
    ("linux-x86_64/linux-x86_64", "linux-x86_64/linux-x86_64.sym", [], False),
    ("macho/overlapping_funcs", "macho/overlapping_funcs.sym", [], False),
    ("elf-o2/clones", "elf-o2/clones.sym", [], False),
    ("linux-demo/libdemo_codec.so", "linux-demo/libdemo_codec.so.sym", [], True),
])
def test_every_oracle_address_agrees(tmp_path, native, sym, companions, inlines):
    module = oracle_module(DATA / sym)
    with load_native_symbols(DATA / native, module, tmp_path, companions=[DATA / c for c in companions],
                             inlines=inlines) as nat:
        diffs = compare_lookups(nat, DATA / sym)
    assert diffs["checked"]
    assert diffs["function"] == [] and diffs["line"] == [] and diffs["inlines"] == [] and diffs["cfi"] == []


def test_gcc_clone_suffixes_are_not_in_names(tmp_path):
    """clones.c at -O2: the symbol table says fill.constprop.0; the oracle (DWARF) and so we say fill."""
    module = oracle_module(DATA / "elf-o2/clones.sym")
    oracle = (DATA / "elf-o2/clones.sym").read_text()
    with load_native_symbols(DATA / "elf-o2/clones", module, tmp_path) as nat:
        names = {nat.function_at(int(line.split()[1], 16)).name
                 for line in oracle.splitlines() if line.startswith("FUNC ")}
    assert "fill" in names and "scale_amount" in names and "sum_scaled" in names
    assert not any(".constprop" in n or ".isra" in n or ".cold" in n for n in names)


def test_demo_scripting_differs_only_where_dump_syms_left_a_name_mangled(tmp_path):
    """C++ with inlines: functions, lines and CFI agree everywhere; where inline names differ, the oracle kept
    the mangled name (its demangler gave up) and ours is what c++filt makes of that very name."""
    module = oracle_module(DATA / "linux-demo/demo-scripting.sym")
    with load_native_symbols(DATA / "linux-demo/demo-scripting", module, tmp_path) as nat:
        diffs = compare_lookups(nat, DATA / "linux-demo/demo-scripting.sym")
    assert diffs["function"] == [] and diffs["line"] == [] and diffs["cfi"] == []
    assert len(diffs["checked"]) == 234
    for _addr, want, got in diffs["inlines"]:
        assert len(want) == len(got)
        for (wn, wf, wl), (gn, gf, gl) in zip(want, got, strict=True):
            assert (wf, wl) == (gf, gl)
            if wn != gn:
                assert wn.startswith("_Z")
                assert cxxfilt.demangle(wn).endswith(gn.split("(")[0].split("::")[-1] + gn[gn.index("("):])


def test_pdb_lookups_agree_but_for_folded_functions(tmp_path):
    """crash.pdb + crash.exe: every function, line and STACK WIN rule agrees except at addresses where the
    linker folded identical functions (several names, one address: dump_syms and symbolic pick different
    ones)."""
    module = oracle_module(DATA / "mini-windows/crash.sym")
    with load_native_symbols(DATA / "mini-windows/crash.pdb", module, tmp_path,
                             companions=[DATA / "mini-windows/crash.exe"], inlines=False) as nat:
        diffs = compare_lookups(nat, DATA / "mini-windows/crash.sym")
        folded_starts = set()
        for _a, want, got in diffs["function"]:
            if want[0] == "<unknown in crash.pdb>":  # dump_syms names a nameless PDB public so; we the one below
                assert got == ("memcpy", want[1] - 1)
                continue
            assert want[1] == got[1]  # same start address, another name for the folded code
            folded_starts.add(got[1])
        # lines differ only inside those functions (each name's own line table)
        assert {nat.function_at(a).address for a, *_ in diffs["line"]} == folded_starts
        assert diffs["cfi"] == [] and diffs["inlines"] == []
        assert len(diffs["function"]) <= 6 and len(diffs["checked"]) == 773
        win = nat.stack_win_at(0x1000)
    assert win is not None and win.type == 4


def test_identify_reports_ids_kinds_and_contents():
    (abort,) = identify(DATA / "abort/abort.debug")
    assert (abort.kind, abort.debug_id, abort.code_id, abort.arch) == (
        "elf", "A48688D4AA70B4CAE2B86443818FBC970", "D48886A470AACAB4E2B86443818FBC97E19CFCB5", "x86_64")
    assert abort.has_debug_info and abort.has_symbols and abort.has_unwind
    (pdb,) = identify(DATA / "mini-windows/crash.pdb")
    assert (pdb.kind, pdb.debug_id, pdb.arch) == ("pdb", "3249D99D0C4049318610F4E4FB0B69361", "x86")
    (exe,) = identify(DATA / "mini-windows/crash.exe")
    assert (exe.kind, exe.code_id, exe.debug_id) == ("pe", "5AB380779000", pdb.debug_id)
    fat = identify(DATA / "macho/Example")
    assert [(o.kind, o.arch, o.debug_id) for o in fat] == [
        ("macho", "x86_64", "3B4566E4491B3DCF94F5AE51F624DD870"), ("macho", "arm64", "2556F1515A403847BE6CE2C1B5BE4DF80")]


@pytest.mark.parametrize("sym", ["Example-x86_64.sym", "Example-arm64.sym"])
def test_fat_macho_slice_is_picked_by_debug_id(tmp_path, sym):
    module = oracle_module(DATA / "macho" / sym)
    with load_native_symbols(DATA / "macho/Example", module, tmp_path) as nat:
        assert nat.arch == load_symbol_file(DATA / "macho" / sym).arch


def test_file_of_another_debug_id_is_refused(tmp_path):
    module = ModuleKey("abort", "A48688D4AA70B4CAE2B86443818FBC971")  # age differs
    with pytest.raises(DebugIdMismatch) as info:
        load_native_symbols(DATA / "abort/abort.debug", module, tmp_path)
    assert info.value.found == "A48688D4AA70B4CAE2B86443818FBC970"
    assert not any((tmp_path / "native").glob("*/meta.json"))


def test_breakpad_files_are_identified_and_other_files_refused(tmp_path):
    (sym,) = identify(DATA / "abort/abort.sym")
    assert (sym.kind, sym.debug_id, sym.code_id, sym.arch) == (
        "breakpad", "A48688D4AA70B4CAE2B86443818FBC970", "D48886A470AACAB4E2B86443818FBC97E19CFCB5", "x86_64")
    assert sym.has_symbols and sym.has_unwind and sym.has_debug_info
    with pytest.raises(NativeFileError):
        identify(DATA / "README.md")
    empty = tmp_path / "x.sym"
    empty.write_bytes(b"MODULE nonsense\n")
    with pytest.raises(NativeFileError):
        identify(empty)
