"""Frame JSON details (hex widths, registers, unloaded modules) and the unwinder on hostile input: random
stacks, absurd registers, memory that raises, unsupported CPUs."""

from __future__ import annotations

import pytest
from _unwind_support import (
    StackBuilder,
    SyntheticMemory,
    SyntheticModules,
    module,
    symbols_by_name,
    write_sym,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.unwind import StackFrame, UnsupportedCpu, frame_json, walk_thread
from crashdesk.errors import CrashDeskError

APP = module("app", 0x400000, 0x10000)
OLD = module("old.dll", 0x500000, 0x1000)
MODULES = SyntheticModules([APP], unloaded=[OLD, module("old.dll", 0x500800, 0x1000)])

FRAME_KEYS = {
    "file", "frame", "function", "function_offset", "inlines", "line", "missing_symbols", "module",
    "module_offset", "offset", "trust", "unloaded_modules",
}


def test_frame_outside_modules_lists_overlapping_unloaded_modules() -> None:
    frames = walk_thread("x86", {"eip": 0x500900, "esp": 0x1000}, None, MODULES, symbols_by_name({}))
    out = frame_json(frames[0], 0, "x86", include_registers=True)
    assert set(out) == FRAME_KEYS | {"registers"}
    assert out["module"] is None and out["module_offset"] is None and out["missing_symbols"] is True
    assert out["unloaded_modules"] == [{"module": "/opt/app/old.dll", "offsets": ["0x00000100", "0x00000900"]}]
    assert out["registers"] == {"eip": "0x00500900", "esp": "0x00001000"}
    inside = walk_thread("x86", {"eip": 0x400010, "esp": 0x1000}, None, MODULES, symbols_by_name({}))
    assert frame_json(inside[0], 0, "x86", include_registers=False)["unloaded_modules"] is None


def test_hex_widths_follow_the_cpu() -> None:
    frame = StackFrame(instruction=0x401235, trust="scan", registers={}, module=APP, offset=0x401234)
    assert frame_json(frame, 3, "x86", include_registers=False)["offset"] == "0x00401234"
    assert frame_json(frame, 3, "amd64", include_registers=False)["module_offset"] == "0x0000000000001234"
    assert set(frame_json(frame, 3, "arm64", include_registers=False)) == FRAME_KEYS


def test_register_aliases_are_normalised() -> None:
    frames = walk_thread("arm", {"pc": 0x400000, "r13": 0x8000, "r11": 0x9000, "r12": 7}, None, MODULES,
                         symbols_by_name({}))
    assert frames[0].registers == {"r12": 7, "fp": 0x9000, "sp": 0x8000, "pc": 0x400000}


def test_unsupported_cpu_is_a_typed_error() -> None:
    with pytest.raises(UnsupportedCpu) as info:
        walk_thread("mips", {"pc": 1}, None, MODULES, symbols_by_name({}))
    assert isinstance(info.value, CrashDeskError)


class RaisingMemory:
    def read(self, address: int, size: int):
        raise ValueError("bad region")

    def read_uint(self, address: int, size: int):
        raise ValueError("bad region")


def test_memory_errors_end_the_walk_quietly() -> None:
    frames = walk_thread("amd64", {"rip": 0x400010, "rsp": 0x7000, "rbp": 0x7010}, RaisingMemory(), MODULES,
                         symbols_by_name({}))
    assert [f.trust for f in frames] == ["context"]


def test_absurd_registers_do_not_break_the_walk() -> None:
    mem = SyntheticMemory(0xFFFF_FFFF_FFFF_FFF0, b"\xff" * 16)
    for regs in ({"rip": 2**64 - 1, "rsp": 2**64 - 8, "rbp": 2**64 - 1}, {"rip": 0, "rsp": 0, "rbp": 0}):
        frames = walk_thread("amd64", regs, mem, MODULES, symbols_by_name({}), os="Linux")
        assert frames[0].trust == "context"
    frames = walk_thread("x86", {"eip": 2**40, "esp": -5, "ebp": "junk"}, mem, MODULES, symbols_by_name({}))
    assert len(frames) == 1


HOSTILE_SYM = """FUNC 0 10000 0 everything
STACK CFI INIT 0 10000 .cfa: $rsp 8 + .ra: .cfa -8 + ^ $rbp: .cfa 0 / $rbx: .undef
STACK CFI 100 .cfa: $rsp 16 @ .ra: $rsp ^ ^ ^
STACK CFI 200 .cfa: .ra: junk
STACK WIN 4 0 10000 0 0 0 0 0 0 1 $eip $esp ^ = $esp $esp 4 + = $ebp =
"""


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cpu=st.sampled_from(["amd64", "x86", "arm64", "arm"]),
    words=st.lists(st.sampled_from([0, 1, 0x400000, 0x400123, 0x40FFFF, 0x7000, 0x7008, 0x7040, 2**32 - 1,
                                    2**63, 0x1_0000_0000]), min_size=0, max_size=96),
    pc=st.sampled_from([0, 0x400010, 0x400150, 0x400250, 0x123]),
    sp_offset=st.integers(min_value=-16, max_value=800),
    fp_offset=st.integers(min_value=-16, max_value=800),
    with_symbols=st.booleans(),
)
def test_random_stacks_terminate_with_progress(tmp_path, cpu, words, pc, sp_offset, fp_offset,
                                               with_symbols) -> None:
    width = 8 if cpu in ("amd64", "arm64") else 4
    base = 0x7000
    builder = StackBuilder(base, len(words), width)
    mask = (1 << (8 * width)) - 1
    for i, w in enumerate(words):
        builder.put(base + i * width, w & mask)
    names = {"amd64": ("rip", "rsp", "rbp"), "x86": ("eip", "esp", "ebp"), "arm64": ("pc", "sp", "fp"),
             "arm": ("pc", "sp", "fp")}[cpu]
    regs = {names[0]: pc, names[1]: base + sp_offset, names[2]: base + fp_offset}
    table = {}
    if with_symbols:
        sym_dir = tmp_path / cpu
        sym_dir.mkdir(exist_ok=True)
        table["app"] = write_sym(sym_dir, "app", HOSTILE_SYM)
    frames = walk_thread(cpu, regs, builder.memory(), SyntheticModules([APP]), symbols_by_name(table),
                         os="Linux", max_frames=64)
    assert 1 <= len(frames) <= 64
    assert frames[0].trust == "context"
    assert all(f.trust in ("cfi", "frame_pointer", "scan") for f in frames[1:])
    sp_name = names[1]
    sps = [f.registers.get(sp_name) for f in frames[1:]]
    assert all(s is not None for s in sps)
    if cpu in ("amd64", "x86"):
        assert sps == sorted(set(sps))  # strictly increasing
    for i, f in enumerate(frames):
        frame_json(f, i, cpu, include_registers=i == 0)
