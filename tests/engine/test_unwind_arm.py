"""arm64 and 32-bit arm unwinding on synthetic stacks: frame records with pointer-authentication bits, CFI
with bare register names, the leaf-frame stack-pointer allowance, iOS-only arm frame pointers, and the
caller-offset adjustments (4 on arm64, 2 on arm)."""

from __future__ import annotations

from _unwind_support import StackBuilder, SyntheticModules, module, symbols_by_name, write_sym

from crashdesk.engine.unwind import frame_json, walk_thread

S64 = 0x16F0_0000
APP64 = module("app", 0x1_0000_0000, 0x10000)
MODULES64 = SyntheticModules([APP64])

S32 = 0xBE00_0000
APP32 = module("libapp.so", 0x1000_0000, 0x10000)
MODULES32 = SyntheticModules([APP32])


def test_arm64_frame_records_with_pointer_authentication() -> None:
    st = StackBuilder(S64, 64, 8)
    st.put(S64 + 0x10, S64 + 0x30)  # frame record: caller fp, return address (signed)
    st.put(S64 + 0x18, 0x002D_0001_0000_2344)
    st.put(S64 + 0x30, 0)
    st.put(S64 + 0x38, 0x1_0000_3000)
    regs = {"pc": 0x1_0000_1000, "sp": S64, "fp": S64 + 0x10, "lr": 0x1_0000_2344}
    frames = walk_thread("arm64", regs, st.memory(), MODULES64, symbols_by_name({}), os="Mac OS X")
    out = [frame_json(f, i, "arm64", include_registers=False) for i, f in enumerate(frames)]
    assert [(f["trust"], f["offset"], f["module_offset"]) for f in out] == [
        ("context", "0x0000000100001000", "0x0000000000001000"),
        ("frame_pointer", "0x0000000100002340", "0x0000000000002340"),
        ("frame_pointer", "0x0000000100002ffc", "0x0000000000002ffc"),
    ]


ARM64_SYM = """FUNC 1000 40 0 leaf
FUNC 2300 100 0 middle
FUNC 3400 100 0 outer
STACK CFI INIT 1000 40 .cfa: sp 0 + .ra: x30
STACK CFI INIT 2300 100 .cfa: x29 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^
"""


def test_arm64_cfi_with_bare_register_names_and_a_leaf_frame(tmp_path) -> None:
    sym = write_sym(tmp_path, "app", ARM64_SYM, arch="arm64", os_name="mac")
    st = StackBuilder(S64, 64, 8)
    st.put(S64 + 0x20, 0)  # middle's frame record at its fp
    st.put(S64 + 0x28, 0x1_0000_3458)
    regs = {"pc": 0x1_0000_1010, "sp": S64, "fp": S64 + 0x20, "lr": 0x1_0000_2348}
    frames = walk_thread("arm64", regs, st.memory(), MODULES64, symbols_by_name({"app": sym}), os="iOS")
    out = [frame_json(f, i, "arm64", include_registers=False) for i, f in enumerate(frames)]
    # frame 1 keeps the same sp (a leaf returning through lr) — allowed right after the context frame
    assert [(f["trust"], f["function"], f["function_offset"]) for f in out] == [
        ("context", "leaf", "0x0000000000000010"),
        ("cfi", "middle", "0x0000000000000044"),
        ("cfi", "outer", "0x0000000000000054"),
    ]
    assert frames[1].registers["sp"] == S64
    assert frames[2].registers["sp"] == S64 + 0x30 and frames[2].registers["fp"] == 0


def test_arm64_frame_record_loop_ends_the_walk() -> None:
    """A frame record pointing at itself yields the same pc at the same sp: the walk stops instead of
    repeating the frame."""
    st = StackBuilder(S64, 64, 8)
    st.put(S64 + 0x10, S64 + 0x10)
    st.put(S64 + 0x18, 0x1_0000_2000)
    regs = {"pc": 0x1_0000_1000, "sp": S64, "fp": S64 + 0x10}
    frames = walk_thread("arm64", regs, st.memory(), MODULES64, symbols_by_name({}))
    assert [(f.trust, f.instruction) for f in frames] == [("context", 0x1_0000_1000),
                                                          ("frame_pointer", 0x1_0000_2000)]


def test_arm_scans_on_linux_and_uses_frame_pointers_on_ios() -> None:
    st = StackBuilder(S32, 32, 4)
    st.put(S32 + 0x08, 0x1000_2345)
    st.put(S32 + 0x10, 0)  # frame record: caller fp, return address
    st.put(S32 + 0x14, 0x1000_3001)
    regs = {"pc": 0x1000_1000, "sp": S32, "r11": S32 + 0x10, "lr": 0x1000_9999}
    linux = walk_thread("arm", regs, st.memory(), MODULES32, symbols_by_name({}), os="Linux")
    out = [frame_json(f, i, "arm", include_registers=False) for i, f in enumerate(linux)]
    assert [(f["trust"], f["offset"]) for f in out][:2] == [("context", "0x10001000"), ("scan", "0x10002343")]
    ios = walk_thread("arm", regs, st.memory(), MODULES32, symbols_by_name({}), os="iOS")
    assert [(f.trust, f.instruction) for f in ios][:2] == [("context", 0x1000_1000), ("frame_pointer", 0x1000_3001)]
    assert ios[1].registers["sp"] == S32 + 0x18


def test_arm_cfi_with_r_register_names(tmp_path) -> None:
    sym = write_sym(tmp_path, "libapp.so", (
        "FUNC 1000 40 0 f\nFUNC 2000 40 0 g\n"
        "STACK CFI INIT 1000 40 .cfa: sp 8 + .ra: .cfa -4 + ^ r7: .cfa -8 + ^\n"
    ), arch="arm", os_name="Linux")
    st = StackBuilder(S32, 16, 4)
    st.put(S32 + 0x00, 0x1234_5678)  # saved r7
    st.put(S32 + 0x04, 0x1000_2011)  # return address (thumb bit set)
    regs = {"pc": 0x1000_1010, "sp": S32, "r7": 1, "r4": 44}
    frames = walk_thread("arm", regs, st.memory(), MODULES32, symbols_by_name({"libapp.so": sym}))
    assert [(f.trust, f.function) for f in frames][:2] == [("context", "f"), ("cfi", "g")]
    assert frames[1].registers["r7"] == 0x1234_5678 and frames[1].registers["r4"] == 44
    assert frame_json(frames[1], 1, "arm", include_registers=False)["function_offset"] == "0x0000000f"


def test_arm64_pointer_authentication_mask_covers_high_modules() -> None:
    """A module above the 47-bit line widens the mask so its addresses survive stripping."""
    high = module("high", 1 << 47, 0x10000)
    st = StackBuilder(S64, 16, 8)
    st.put(S64 + 0x10, 0)
    st.put(S64 + 0x18, 0x00AB_8000_0000_2344)  # signed return address into "high"
    regs = {"pc": (1 << 47) + 0x1000, "sp": S64, "fp": S64 + 0x10}
    frames = walk_thread("arm64", regs, st.memory(), SyntheticModules([APP64, high]), symbols_by_name({}))
    assert [(f.trust, f.instruction) for f in frames][:2] == [("context", (1 << 47) + 0x1000),
                                                              ("frame_pointer", 0x8000_0000_2344)]
