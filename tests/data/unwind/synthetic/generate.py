#!/usr/bin/env python3
"""Regenerate the synthetic unwinder cases: build small minidumps (one per CPU/OS, one thread per scenario)
and their .sym files, then record the reference's output.

    python tests/data/unwind/synthetic/generate.py PATH/TO/minidump-stackwalk   # 0.25.0

Each case folder gets ``dump.dmp``, ``symbols/<name>/<id>/<name>.sym`` and ``expected.json`` (the
reference, ``--json --pretty --symbols-path symbols``). The scenarios aim at unwinder rules the public
corpus does not exercise: scan windows after CFI frames, STACK WIN FPO/FrameData heuristics, arm and arm64
stack-pointer rules, frame records with pointer-authentication bits, iOS-only arm frame pointers.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "engine"))

from _minidump_writer import Module, Thread, write_minidump  # noqa: E402


def _guid(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:16]


def _words(width: int, size: int, base: int, values: dict[int, int]) -> bytes:
    buf = bytearray(size)
    fmt = "<Q" if width == 8 else "<I"
    for addr, value in values.items():
        struct.pack_into(fmt, buf, addr - base, value)
    return bytes(buf)


def x86_windows():
    app = Module("app", 0x400000, 0x10000, _guid("x86-app"))
    lib = Module("lib", 0x70000000, 0x10000, _guid("x86-lib"))
    sym = """FUNC 1000 100 0 f
FUNC 2000 100 0 g
FUNC 3000 100 0 h
FUNC 4000 100 0 fpo_fn
FUNC 5000 100 0 aligned_fn
STACK WIN 4 1000 100 0 0 0 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =
STACK WIN 0 4000 100 0 0 0 0 4 0 0 0
STACK WIN 4 5000 100 0 0 0 4 8 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + = $T1 $esp 16 @ =
FUNC 6000 100 0 nounwind
FUNC 7000 100 0 wf
STACK WIN 4 7000 100 0 0 0 0 0 0 1 $eip $esp 100000 + ^ = $esp $esp 4 + =
STACK CFI INIT 7000 100 .cfa: $esp 4 + .ra: .cfa 4 - ^
FUNC 8000 100 c callee8
STACK WIN 0 8000 100 0 0 8 0 0 0 0 0
FUNC 9000 100 0 frame9
STACK WIN 4 9000 100 0 0 0 0 4 0 1 $eip .raSearch ^ = $esp .raSearch 4 + =
FUNC a000 100 0 frame_data_without_program
STACK WIN 4 a000 100 0 0 0 0 4 0 0 1
STACK CFI INIT a000 100 .cfa: $esp 12 + .ra: .cfa -4 + ^
FUNC b000 100 0 fpo_with_program
STACK WIN 0 b000 100 0 0 0 0 0 0 1 $eip $esp ^ = $esp $esp 4 + =
STACK CFI INIT b000 100 .cfa: $esp 12 + .ra: .cfa -4 + ^
"""
    threads = []
    # 1: frame 1 comes from STACK WIN; its caller is 100 words up the stack (scan window after CFI)
    b = 0x00100000
    threads.append(Thread(1, {"eip": 0x401010, "esp": b, "ebp": b + 0x10},
                          b, _words(4, 0x400, b, {b + 0x14: 0x402010, b + 0x18 + 100 * 4: 0x403010})))
    # 2: FPO with a leftover return address equal to the context pc
    b = 0x00200000
    threads.append(Thread(2, {"eip": 0x404010, "esp": b, "ebp": 0},
                          b, _words(4, 0x100, b, {b + 4: 0x404010, b + 8: 0x403020})))
    # 3: FrameData program using "@": where .raSearch starts
    b = 0x00300000
    threads.append(Thread(3, {"eip": 0x405010, "esp": b, "ebp": b + 0x40},
                          b, _words(4, 0x100, b, {b + 12: 0x403030, b + 0x44: 0x403040})))
    # 4: ebp unusable, a scan recovers ebp from the word below the return address, then the ebp chain
    b = 0x00400000
    threads.append(Thread(4, {"eip": 0x406010, "esp": b, "ebp": 0x10},
                          b, _words(4, 0x100, b, {b + 8: b + 0x40, b + 0xC: 0x403050, b + 0x44: 0x70001234})))
    # 5: a FrameData program that cannot be evaluated, then STACK CFI for the same address
    b = 0x00500000
    threads.append(Thread(5, {"eip": 0x407010, "esp": b, "ebp": 0},
                          b, _words(4, 0x100, b, {b: 0x403060})))
    # 6: .raSearch = esp + frame9's 4 bytes of locals + the grand-callee's parameter size, which is 8 from
    # callee8's STACK WIN record (its FUNC line says 12): only b+16 is right, the other words are decoys
    b = 0x00600000
    threads.append(Thread(6, {"eip": 0x408010, "esp": b, "ebp": 0},
                          b, _words(4, 0x100, b, {b: 0x409010, b + 4 + 8: 0x403070, b + 4 + 12: 0x403080,
                                                  b + 4: 0x403090})))
    # 7/8: STACK WIN records whose type and has-program flag disagree, each with STACK CFI as well
    b = 0x00700000
    threads.append(Thread(7, {"eip": 0x40A010, "esp": b, "ebp": 0},
                          b, _words(4, 0x100, b, {b + 4: 0x403010, b + 8: 0x402010})))
    b = 0x00800000
    threads.append(Thread(8, {"eip": 0x40B010, "esp": b, "ebp": 0},
                          b, _words(4, 0x100, b, {b: 0x403020, b + 8: 0x402020})))
    return "x86", "Windows NT", [app, lib], threads, {"app": sym}


def amd64_linux():
    app = Module("app", 0x555555554000, 0x10000, _guid("amd64-app"))
    sym = """FUNC 1000 100 0 f
FUNC 2000 100 0 g
FUNC 3000 100 0 h
FUNC 4000 100 0 nocfi
FUNC 5000 100 0 clears_rbx
FUNC 6000 100 0 uses_rbx
STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI INIT 5000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^ $rbx: .undef
STACK CFI INIT 6000 100 .cfa: $rbx 8 + .ra: .cfa -8 + ^
"""
    b = 0x7FFD00000000
    base = app.base
    threads = [Thread(1, {"rip": base + 0x1010, "rsp": b, "rbp": 0},
                      b, _words(8, 0x800, b, {b: base + 0x2010, b + 8 + 100 * 8: base + 0x3010}))]
    # 2: frame pointer rejected (non-canonical return address); the scan keeps rbp as the callee had it
    b = 0x7FFD00100000
    threads.append(Thread(2, {"rip": base + 0x4010, "rsp": b, "rbp": b + 0x100},
                          b, _words(8, 0x400, b, {b + 0x10: base + 0x3020, b + 0x100: b + 0x140,
                                                   b + 0x108: 0x0000900000000000, b + 0x118: base + 0x2020})))
    # 3: a CFI rule that fails clears the callee-saved register it would otherwise forward
    b = 0x7FFD00200000
    threads.append(Thread(3, {"rip": base + 0x5010, "rsp": b, "rbx": b + 0x40, "rbp": 0},
                          b, _words(8, 0x200, b, {b: base + 0x6010, b + 0x40: base + 0x3030,
                                                   b + 0x10: base + 0x2030})))
    return "amd64", "Linux", [app], threads, {"app": sym}


ARM_SYM = """FUNC 1000 100 0 leaf
FUNC 2000 100 0 mid
FUNC 3000 100 0 outer
FUNC 5000 100 0 mid2
FUNC 6000 100 0 nocfi
STACK CFI INIT 1000 100 .cfa: sp 0 + .ra: lr
STACK CFI INIT 2000 100 .cfa: sp 0 + .ra: r4
FUNC 8000 100 0 wide_cfa
STACK CFI INIT 8000 100 .cfa: 0 8 - .ra: lr
"""


def arm_linux():
    lib = Module("libapp.so", 0x10000000, 0x10000, _guid("arm-lib"))
    base = lib.base
    threads = []
    # 1: two CFI steps that leave sp unchanged (after the context frame, then after a CFI frame)
    b = 0x7E000000
    threads.append(Thread(1, {"pc": base + 0x1010, "sp": b, "lr": base + 0x2011, "r4": base + 0x3011},
                          b, _words(4, 0x100, b, {})))
    # 2: after a CFI frame, the caller is 100 words up (scan window after CFI)
    b = 0x7E100000
    threads.append(Thread(2, {"pc": base + 0x1010, "sp": b, "lr": base + 0x5011},
                          b, _words(4, 0x400, b, {b + 100 * 4: base + 0x3011})))
    # 3: plain scan from the context frame; lr/fp are not used off iOS
    b = 0x7E200000
    threads.append(Thread(3, {"pc": base + 0x6010, "sp": b, "r11": b + 0x10, "lr": base + 0x2001},
                          b, _words(4, 0x100, b, {b + 8: base + 0x3011, b + 0x10: 0, b + 0x14: base + 0x5021})))
    # 4: a CFA that does not fit in 32 bits makes the CFI step fail; the stack is scanned instead
    b = 0x7E300000
    threads.append(Thread(4, {"pc": base + 0x8010, "sp": b, "lr": base + 0x2001},
                          b, _words(4, 0x100, b, {b + 4: base + 0x3011})))
    return "arm", "Linux", [lib], threads, {"libapp.so": ARM_SYM}


def x86_linux():
    app = Module("app", 0x08048000, 0x10000, _guid("x86-linux-app"))
    lib = Module("libc.so.6", 0xF7000000, 0x100000, _guid("x86-linux-libc"))
    sym = """FUNC 1000 100 0 f
FUNC 2000 100 0 g
FUNC 3000 100 0 h
STACK CFI INIT 1000 100 .cfa: $esp 4 + .ra: .cfa -4 + ^
STACK CFI 1001 .cfa: $esp 8 + $ebp: .cfa -8 + ^
STACK CFI 1003 .cfa: $ebp 8 +
"""
    base = app.base
    b = 0xFFF00000
    # CFI (ebp-based row), then the recovered ebp chain, then a scan
    threads = [Thread(1, {"eip": base + 0x1010, "esp": b, "ebp": b + 0x18},
                      b, _words(4, 0x200, b, {b + 0x18: b + 0x40, b + 0x1C: base + 0x2010,
                                              b + 0x40: b + 0x60, b + 0x44: lib.base + 0x1234,
                                              b + 0x60: 0, b + 0x64: base + 0x3010}))]
    return "x86", "Linux", [app, lib], threads, {"app": sym}


def arm_ios():
    cpu, _os, mods, threads, syms = arm_linux()
    b = 0x7E300000
    base = mods[0].base
    # 4: iOS frame pointer 0 at the context frame: the walk ends (no scan), though a return address is there
    fp0 = Thread(4, {"pc": base + 0x6010, "sp": b, "r11": 0}, b, _words(4, 0x100, b, {b + 8: base + 0x3011}))
    return cpu, "iOS", mods, threads[2:3] + [fp0], syms


ARM64_SYM = """FUNC 1000 100 0 leaf
FUNC 2000 100 0 mid
FUNC 3000 100 0 outer
FUNC 4000 100 0 far
FUNC 5000 100 0 nocfi
FUNC 7000 200 0 entryrow
STACK CFI INIT 1000 100 .cfa: sp 0 + .ra: x30
STACK CFI INIT 2000 100 .cfa: sp 0 + .ra: x19
STACK CFI INIT 7000 200 .cfa: sp 16 + .ra: .cfa -8 + ^
STACK CFI 7100 .cfa: sp 0 + .ra: x30
FUNC 8000 100 0 cfi_no_fp
STACK CFI INIT 8000 100 .cfa: sp 16 + .ra: .cfa -8 + ^
"""


def arm64_mac():
    app = Module("app", 0x100000000, 0x10000, _guid("arm64-app"))
    base = app.base
    threads = []
    # 1: CFI leaf at the context frame, then a CFI step from a CFI frame, both keeping sp
    b = 0x16F000000
    threads.append(Thread(1, {"pc": base + 0x1010, "sp": b, "lr": base + 0x2014, "x19": base + 0x3014},
                          b, _words(8, 0x100, b, {})))
    # 2: frame records with pointer-authentication bits
    b = 0x16F100000
    threads.append(Thread(2, {"pc": base + 0x5010, "sp": b, "fp": b + 0x10, "lr": 0},
                          b, _words(8, 0x200, b, {b + 0x10: b + 0x30, b + 0x18: (0x2D << 48) | (base + 0x3014),
                                                   b + 0x30: 0, b + 0x38: base + 0x4014})))
    # 3: a frame-pointer frame whose CFI row starts exactly at its call instruction and uses lr
    b = 0x16F200000
    threads.append(Thread(3, {"pc": base + 0x5010, "sp": b, "fp": b + 0x10, "lr": 0},
                          b, _words(8, 0x200, b, {b + 0x10: b + 0x30, b + 0x18: base + 0x7104,
                                                   b + 0x30: 0, b + 0x38: base + 0x4014})))
    # 4: scan window after a CFI frame
    b = 0x16F300000
    threads.append(Thread(4, {"pc": base + 0x1010, "sp": b, "lr": base + 0x5014},
                          b, _words(8, 0x800, b, {b + 100 * 8: base + 0x3014})))
    # 5: fp 0 at the context frame: no frame record, so the stack is scanned
    b = 0x16F400000
    threads.append(Thread(5, {"pc": base + 0x5010, "sp": b, "fp": 0},
                          b, _words(8, 0x400, b, {b + 50 * 8: base + 0x3014})))
    # 6: a CFI-recovered return address carrying pointer-authentication bits
    b = 0x16F500000
    threads.append(Thread(6, {"pc": base + 0x7010, "sp": b, "fp": 0},
                          b, _words(8, 0x100, b, {b + 8: (0x7F << 48) | (base + 0x4014)})))
    # 7: a frame-pointer frame, then a CFI step without an x29 rule: the reference does not carry the frame
    # pointer over (it is recorded as "x29", its callee-saved list says "fp"), so the next step scans
    b = 0x16F600000
    threads.append(Thread(7, {"pc": base + 0x5010, "sp": b, "fp": b + 0x10},
                          b, _words(8, 0x200, b, {b + 0x10: b + 0x40, b + 0x18: base + 0x8014,
                                                   b + 0x28: base + 0x4014, b + 0x40: b + 0x60,
                                                   b + 0x48: base + 0x3014})))
    # 8: frame-pointer unwinding takes the caller's pc from the frame record [fp + 8], not from the callee's
    # lr, even when lr holds a plausible return address (0.25.0)
    b = 0x16F700000
    threads.append(Thread(8, {"pc": base + 0x5010, "sp": b, "fp": b + 0x10, "lr": base + 0x2014},
                          b, _words(8, 0x100, b, {b + 0x10: 0, b + 0x18: base + 0x3014})))
    return "arm64", "Mac OS X", [app], threads, {"app": ARM64_SYM}


SYMBOLS_SYM = """FILE 0 /src/main.c
FILE 1 /src/inline.h
INLINE_ORIGIN 0 known_inline
INLINE_ORIGIN 1 deeper_inline
PUBLIC 500 0 early_public
FUNC 1000 100 0 with_inlines
INLINE 0 10 0 0 1010 40
INLINE 1 20 1 7 1020 20
INLINE 2 30 9 1 1028 8
1000 10 1 0
1010 10 2 1
1020 8 3 1
1028 8 0 1
1030 d0 4 0
FUNC 2000 100 0 unknown_file
2000 100 5 42
PUBLIC 2800 0 gap_public
FUNC 3000 100 0 after_gap
PUBLIC 9000 0 last_public
"""


def amd64_symbols():
    app = Module("app", 0x555555554000, 0x10000, _guid("amd64-symbols"))
    base = app.base
    pcs = [0x1005, 0x1015, 0x1022, 0x102A, 0x1040, 0x2010, 0x2810, 0x900, 0x9010, 0x3000]
    threads = [Thread(i + 1, {"rip": base + pc, "rsp": 0x7FFD00000000 + 0x1000 * i, "rbp": 0},
                      0x7FFD00000000 + 0x1000 * i, bytes(16)) for i, pc in enumerate(pcs)]
    return "amd64", "Linux", [app], threads, {"app": SYMBOLS_SYM}


def amd64_unloaded():
    app = Module("app", 0x555555554000, 0x10000, _guid("amd64-unloaded"))
    gone = [Module("gone.so", 0x7F0000000000, 0x8000), Module("gone.so", 0x7F0000004000, 0x8000),
            Module("other.so", 0x7F0000006000, 0x1000)]
    b = 0x7FFD00000000
    pcs = [0x7F0000006010, 0x7F0000001000, 0x7F0000100000]
    threads = [Thread(i + 1, {"rip": pc, "rsp": b + 0x1000 * i}, b + 0x1000 * i, bytes(16))
               for i, pc in enumerate(pcs)]
    return "amd64", "Linux", [app], threads, {}, gone


CASES = {
    "amd64-unloaded": amd64_unloaded,
    "x86-linux": x86_linux,
    "amd64-symbols": amd64_symbols,
    "x86-windows": x86_windows,
    "amd64-linux": amd64_linux,
    "arm-linux": arm_linux,
    "arm-ios": arm_ios,
    "arm64-mac": arm64_mac,
}

SYM_HEAD = {"x86": "windows x86", "amd64": "Linux x86_64", "arm": "Linux arm", "arm64": "mac arm64"}


def main(oracle: str) -> None:
    for name, build in CASES.items():
        cpu, os_name, modules, threads, syms, *rest = build()
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        (folder / "dump.dmp").write_bytes(write_minidump(cpu, os_name, modules, threads, *rest))
        for m in modules:
            if m.name in syms:
                d = folder / "symbols" / m.name / m.debug_id
                d.mkdir(parents=True, exist_ok=True)
                head = f"MODULE {SYM_HEAD[cpu]} {m.debug_id} {m.name}\n"
                (d / f"{m.name}.sym").write_text(head + syms[m.name])
        out = subprocess.run([oracle, "--json", "--pretty", "--symbols-path", "symbols", "dump.dmp"],
                             cwd=folder, capture_output=True, check=True)
        (folder / "expected.json").write_bytes(out.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
