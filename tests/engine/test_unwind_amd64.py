"""amd64 unwinding on synthetic stacks: frame pointers, Windows (no frame pointers), CFI, scanning with its
plausibility checks, inlines, and the stop conditions. Expected values follow from how each stack is built."""

from __future__ import annotations

from _unwind_support import StackBuilder, SyntheticModules, module, symbols_by_name, write_sym

from crashdesk.engine.unwind import frame_json, walk_thread

S = 0x7FFC_0000_0000  # stack base
APP = module("app", 0x400000, 0x10000)
LIBC = module("libc.so.6", 0x7F00_0000_0000, 0x100000)
MODULES = SyntheticModules([APP, LIBC])
NO_SYMBOLS = symbols_by_name({})


def _fp_chain_stack() -> StackBuilder:
    st = StackBuilder(S, 64, 8)
    st.put(S + 0x20, S + 0x40)  # frame record of frame 0's function: saved rbp, return address
    st.put(S + 0x28, 0x402345)
    st.put(S + 0x40, S + 0x80)
    st.put(S + 0x48, LIBC.base + 0x12345)
    st.put(S + 0x80, 0)  # end of the rbp chain
    st.put(S + 0x88, 0x403000)  # still a plausible return address for a scan
    return st


def _json(frames, cpu="amd64"):
    return [frame_json(f, i, cpu, include_registers=False) for i, f in enumerate(frames)]


def test_frame_pointer_chain_then_scan_on_linux() -> None:
    regs = {"rip": 0x401000, "rsp": S, "rbp": S + 0x20}
    frames = walk_thread("amd64", regs, _fp_chain_stack().memory(), MODULES, NO_SYMBOLS, os="Linux")
    got = [(f["trust"], f["offset"], f["module"], f["module_offset"]) for f in _json(frames)]
    assert got == [
        ("context", "0x0000000000401000", "app", "0x0000000000001000"),
        ("frame_pointer", "0x0000000000402344", "app", "0x0000000000002344"),
        ("frame_pointer", "0x00007f0000012344", "libc.so.6", "0x0000000000012344"),
        ("scan", "0x0000000000402fff", "app", "0x0000000000002fff"),
    ]
    assert frames[1].registers == {"rbp": S + 0x40, "rsp": S + 0x30, "rip": 0x402345}
    assert all(f["missing_symbols"] and f["function"] is None for f in _json(frames))


def test_windows_uses_no_frame_pointers() -> None:
    regs = {"rip": 0x401000, "rsp": S, "rbp": S + 0x20}
    frames = walk_thread("amd64", regs, _fp_chain_stack().memory(), MODULES, NO_SYMBOLS, os="Windows NT")
    assert [(f.trust, f.instruction) for f in frames] == [
        ("context", 0x401000),
        ("scan", 0x402345),
        ("scan", LIBC.base + 0x12345),
        ("scan", 0x403000),
    ]
    # the scan recovered rbp from the word below the return address (a standard frame record)
    assert frames[1].registers["rbp"] == S + 0x40


def test_without_stack_memory_only_the_context_frame() -> None:
    frames = walk_thread("amd64", {"rip": 0x401000, "rsp": S}, None, MODULES, NO_SYMBOLS)
    assert [(f.trust, f.instruction) for f in frames] == [("context", 0x401000)]


APP_SYM = """FILE 0 /src/app.c
FUNC 1000 40 0 crash_here
1000 20 10 0
1020 20 11 0
FUNC 2300 50 0 caller_fn
2300 45 20 0
2345 b 21 0
STACK CFI INIT 1000 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI 1004 .cfa: $rsp 16 + $rbp: .cfa -16 + ^
"""


def test_cfi_then_frame_pointer_with_symbols(tmp_path) -> None:
    sym = write_sym(tmp_path, "app", APP_SYM)
    st = StackBuilder(S, 64, 8)
    st.put(S + 0x00, S + 0x40)  # rbp saved by crash_here's prologue
    st.put(S + 0x08, 0x402345)  # return into caller_fn, right after its line-20 call
    st.put(S + 0x40, S + 0x80)
    st.put(S + 0x48, LIBC.base + 0x5000)
    regs = {"rip": 0x401010, "rsp": S, "rbp": 0x1234}
    frames = walk_thread("amd64", regs, st.memory(), MODULES, symbols_by_name({"app": sym}), os="Linux")
    out = _json(frames)
    assert [f["trust"] for f in out] == ["context", "cfi", "frame_pointer"]
    assert (out[0]["function"], out[0]["function_offset"], out[0]["file"], out[0]["line"]) == (
        "crash_here", "0x0000000000000010", "/src/app.c", 10)
    # caller frames are looked up one byte into the call: line 20, not the return address's line 21
    assert (out[1]["function"], out[1]["function_offset"], out[1]["line"], out[1]["offset"]) == (
        "caller_fn", "0x0000000000000044", 20, "0x0000000000402344")
    assert frames[1].registers["rbp"] == S + 0x40 and frames[1].registers["rsp"] == S + 0x10
    assert (out[2]["module"], out[2]["function"], out[2]["missing_symbols"]) == ("libc.so.6", None, True)


def test_cfi_result_that_does_not_advance_ends_the_walk(tmp_path) -> None:
    """A CFI answer is taken without validation; if the stack pointer did not grow the walk stops there,
    even though the frame-pointer chain would have gone on."""
    sym = write_sym(tmp_path, "app", "FUNC 1000 40 0 f\nSTACK CFI INIT 1000 40 .cfa: $rsp .ra: $rbx\n")
    regs = {"rip": 0x401010, "rsp": S, "rbp": S + 0x20, "rbx": 0x402345}
    frames = walk_thread("amd64", regs, _fp_chain_stack().memory(), MODULES, symbols_by_name({"app": sym}))
    assert [f.trust for f in frames] == ["context"]


def test_scan_rejects_implausible_words(tmp_path) -> None:
    sym = write_sym(tmp_path, "app", "FUNC 1000 40 0 crash_here\nFUNC 3000 100 0 real_caller\n")
    st = StackBuilder(S, 64, 8)
    st.put(S + 0x00, 0x402800)  # in app, but in no function
    st.put(S + 0x08, 0x12345)  # in no module
    st.put(S + 0x10, 0x0000_9000_0040_1000)  # non-canonical
    st.put(S + 0x18, 0x403000)  # start of real_caller: the byte before it is in no function
    st.put(S + 0x20, 0x403010)  # inside real_caller
    regs = {"rip": 0x401010, "rsp": S}
    frames = walk_thread("amd64", regs, st.memory(), MODULES, symbols_by_name({"app": sym}), os="Windows NT")
    out = _json(frames)
    assert [(f["trust"], f["offset"], f["function"], f["function_offset"]) for f in out] == [
        ("context", "0x0000000000401010", "crash_here", "0x0000000000000010"),
        ("scan", "0x000000000040300f", "real_caller", "0x000000000000000f"),
    ]


def test_scan_window_is_160_words_after_context_and_40_after_scan() -> None:
    st = StackBuilder(S, 400, 8)
    st.put(S + 150 * 8, 0x402000)  # reachable from the context frame (160-word window)
    st.put(S + 151 * 8 + 45 * 8, 0x403000)  # 45 words above the scanned frame: beyond its 40-word window
    regs = {"rip": 0x401000, "rsp": S}
    frames = walk_thread("amd64", regs, st.memory(), MODULES, NO_SYMBOLS, os="Windows NT")
    assert [(f.trust, f.instruction) for f in frames] == [("context", 0x401000), ("scan", 0x402000)]


def test_return_address_below_4096_ends_the_walk() -> None:
    st = StackBuilder(S, 16, 8)
    st.put(S + 0x20, S + 0x40)
    st.put(S + 0x28, 0x10)
    frames = walk_thread("amd64", {"rip": 0x401000, "rsp": S, "rbp": S + 0x20}, st.memory(), MODULES,
                         NO_SYMBOLS, os="Linux")
    assert len(frames) == 1


def test_frame_limit_bounds_a_long_chain() -> None:
    st = StackBuilder(S, 512, 8)
    for k in range(200):
        st.put(S + 0x10 * k, S + 0x10 * (k + 1))
        st.put(S + 0x10 * k + 8, 0x401000 + k)
    regs = {"rip": 0x401000, "rsp": S, "rbp": S}
    frames = walk_thread("amd64", regs, st.memory(), MODULES, NO_SYMBOLS, os="Linux", max_frames=10)
    assert len(frames) == 10
    assert [f.trust for f in frames[1:]] == ["frame_pointer"] * 9


INLINE_SYM = """FILE 0 /src/outer.c
FILE 1 /src/inner.h
INLINE_ORIGIN 0 middle_fn
INLINE_ORIGIN 1 leaf_fn
FUNC 1000 80 0 outer_fn
INLINE 0 42 0 0 1010 40
INLINE 1 7 1 1 1020 10
1000 10 40 0
1010 10 5 1
1020 10 99 1
1030 50 41 0
"""


def test_inlined_calls_are_reported_innermost_first(tmp_path) -> None:
    sym = write_sym(tmp_path, "app", INLINE_SYM)
    frames = walk_thread("amd64", {"rip": 0x401024, "rsp": S}, None, MODULES, symbols_by_name({"app": sym}))
    out = frame_json(frames[0], 0, "amd64", include_registers=False)
    # the physical frame shows the outermost call site; each inline shows the location inside it
    assert (out["function"], out["file"], out["line"]) == ("outer_fn", "/src/outer.c", 42)
    assert out["inlines"] == [
        {"file": "/src/inner.h", "function": "leaf_fn", "line": 99},
        {"file": "/src/inner.h", "function": "middle_fn", "line": 7},
    ]
    plain = walk_thread("amd64", {"rip": 0x401060, "rsp": S}, None, MODULES, symbols_by_name({"app": sym}))
    plain_json = frame_json(plain[0], 0, "amd64", include_registers=False)
    assert (plain_json["inlines"], plain_json["line"]) == (None, 41)
