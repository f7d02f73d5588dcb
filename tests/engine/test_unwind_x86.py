"""x86 unwinding on synthetic stacks: STACK WIN FrameData programs, STACK WIN FPO with the grand-callee's
parameter size, the unvalidated ebp chain and 8-digit hex output."""

from __future__ import annotations

from _unwind_support import StackBuilder, SyntheticModules, module, symbols_by_name, write_sym

from crashdesk.engine.unwind import frame_json, walk_thread

S = 0x0012_0000
APP = module("app.exe", 0x400000, 0x10000)
LIB = module("kernel32.dll", 0x7000_0000, 0x100000)
MODULES = SyntheticModules([APP, LIB])


def _sym(tmp_path, body: str):
    return write_sym(tmp_path, "app.pdb", body, arch="x86", os_name="windows")


def test_stack_win_framedata_program(tmp_path) -> None:
    sym = _sym(tmp_path, (
        "FUNC 1000 100 8 win_func\n"
        "FUNC 2300 100 0 caller\n"
        "STACK WIN 4 1000 100 4 0 8 4 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =\n"
    ))
    st = StackBuilder(S, 64, 4)
    st.put(S + 0x10, S + 0x40)  # saved ebp
    st.put(S + 0x14, 0x402345)  # return address into caller
    st.put(S + 0x40, 0)
    st.put(S + 0x44, LIB.base + 0x1234)
    regs = {"eip": 0x401010, "esp": S, "ebp": S + 0x10, "eflags": 0x246}
    frames = walk_thread("x86", regs, st.memory(), MODULES, symbols_by_name({"app.exe": sym}), os="Windows NT")
    out = [frame_json(f, i, "x86", include_registers=i == 0) for i, f in enumerate(frames)]
    assert [(f["trust"], f["offset"], f["function"]) for f in out] == [
        ("context", "0x00401010", "win_func"),
        ("cfi", "0x00402344", "caller"),
        ("frame_pointer", "0x70001233", None),
    ]
    assert frames[1].registers["esp"] == S + 0x18 and frames[1].registers["ebp"] == S + 0x40
    assert out[0]["registers"]["eflags"] == "0x00000246" and out[0]["registers"]["esp"] == "0x00120000"
    assert "registers" not in out[1]
    assert frames[0].parameter_size == 8  # from the STACK WIN record


def test_stack_win_fpo_uses_the_grand_callee_parameter_size(tmp_path) -> None:
    # callee f2 (FPO, 4 bytes of locals, pops 8 bytes of parameters) called from f3 (FPO, 8 bytes of locals).
    sym = _sym(tmp_path, (
        "FUNC 2000 100 8 f2\n"
        "FUNC 3000 100 0 f3\n"
        "STACK WIN 0 2000 100 0 0 8 0 4 0 0 0\n"
        "STACK WIN 0 3000 100 0 0 c 0 8 0 0 0\n"
    ))
    st = StackBuilder(S, 64, 4)
    st.put(S + 0x04, 0x403056)  # f2: esp + locals(4)
    # f3's frame starts at esp 0x08: 8 bytes of f2's parameters + 8 bytes of locals, then the return address
    st.put(S + 0x08 + 0x10, LIB.base + 0x2000)
    regs = {"eip": 0x402010, "esp": S, "ebp": 0xABCD, "ebx": 0x77}
    frames = walk_thread("x86", regs, st.memory(), MODULES, symbols_by_name({"app.exe": sym}), os="Windows NT")
    assert [(f.trust, f.instruction) for f in frames] == [
        ("context", 0x402010),
        ("cfi", 0x403056),
        ("cfi", LIB.base + 0x2000),
    ]
    assert frames[1].registers["esp"] == S + 0x08
    assert frames[1].registers["ebp"] == 0xABCD and frames[1].registers["ebx"] == 0x77  # carried through
    assert frames[2].registers["esp"] == S + 0x1C


def test_fpo_skips_a_leftover_return_address_on_the_context_frame(tmp_path) -> None:
    sym = _sym(tmp_path, "FUNC 2000 100 0 f2\nSTACK WIN 0 2000 100 0 0 0 0 4 0 0 0\n")
    st = StackBuilder(S, 16, 4)
    st.put(S + 0x04, 0x402010)  # equals the context pc: a return address nobody popped
    st.put(S + 0x08, 0x403000)
    frames = walk_thread("x86", {"eip": 0x402010, "esp": S, "ebp": 0}, st.memory(), MODULES,
                         symbols_by_name({"app.exe": sym}))
    assert [(f.trust, f.instruction) for f in frames] == [("context", 0x402010), ("cfi", 0x403000)]


def test_ebp_chain_is_followed_without_checks_then_scan() -> None:
    st = StackBuilder(S, 64, 4)
    st.put(S + 0x20, S + 0x30)
    st.put(S + 0x24, 0x401500)
    st.put(S + 0x30, 0xFFFF_0000)  # garbage caller ebp: the x86 frame-pointer unwinder does not check it
    st.put(S + 0x34, LIB.base + 0x10)
    st.put(S + 0x38, 0x402000)  # found by scanning once the chain breaks
    frames = walk_thread("x86", {"eip": 0x401000, "esp": S, "ebp": S + 0x20}, st.memory(), MODULES,
                         symbols_by_name({}))
    assert [(f.trust, f.instruction) for f in frames] == [
        ("context", 0x401000),
        ("frame_pointer", 0x401500),
        ("frame_pointer", LIB.base + 0x10),
        ("scan", 0x402000),
    ]
