#!/usr/bin/env python3
"""Differential fuzzing of the unwinder against the reference (a development tool, not a test).

Builds random small minidumps (random CPU/OS, stacks mixing zeros, stack pointers, code addresses and
frame-pointer chains, random FUNC / STACK CFI / STACK WIN records), walks each with
``minidump-stackwalk`` 0.25.0 and with ``crashdesk.engine.unwind``, and prints every frame that differs.

    python tests/data/unwind/synthetic/differential.py PATH/TO/minidump-stackwalk FIRST_SEED COUNT

Cases that differ are kept under $TMPDIR/crashdesk-unwind-diff/case<seed>/ for inspection.
"""

import json
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))
sys.path.insert(0, str(HERE.parents[2] / "engine"))
from _minidump_writer import Module, Thread, write_minidump  # noqa: E402
from _unwind_support import frame_differences, walk_dump  # noqa: E402

ORACLE = ""
WORK = Path(tempfile.gettempdir()) / "crashdesk-unwind-diff"
HEAD = {"x86": "windows x86", "amd64": "Linux x86_64", "arm": "Linux arm", "arm64": "mac arm64"}
OSES = {
    "x86": ["Windows NT", "Linux"],
    "amd64": ["Linux", "Windows NT", "Mac OS X"],
    "arm": ["Linux", "iOS"],
    "arm64": ["Mac OS X", "Linux", "iOS"],
}
REGN = {
    "amd64": ("rip", "rsp", "rbp", "$rsp", "$rbp", "rbx"),
    "x86": ("eip", "esp", "ebp", "$esp", "$ebp", "ebx"),
    "arm64": ("pc", "sp", "fp", "sp", "x29", "x19"),
    "arm": ("pc", "sp", "r11", "sp", "r11", "r4"),
}


def gen(rng, cpu):
    w = 8 if cpu in ("amd64", "arm64") else 4
    appbase = {"amd64": 0x555555554000, "x86": 0x400000, "arm64": 0x100000000, "arm": 0x10000000}[cpu]
    libbase = {"amd64": 0x7F0000000000, "x86": 0x70000000, "arm64": 0x180000000, "arm": 0x40000000}[cpu]
    app = Module("app", appbase, 0x10000, bytes(rng.randrange(256) for _ in range(16)))
    lib = Module("lib", libbase, 0x10000, bytes(rng.randrange(256) for _ in range(16)))
    ipn, spn, fpn, sps, fps, csr = REGN[cpu]
    nf = rng.randint(3, 10)
    funcs = sorted(rng.sample(range(1, 0x40), nf))
    lines = []
    fstarts = []
    for i, f in enumerate(funcs):
        start = f * 0x400
        size = rng.choice([0x100, 0x200, 0x3FF])
        fstarts.append((start, size))
        lines.append(f"FUNC {start:x} {size:x} {rng.choice([0, 4, 8, 12]):x} fn{i}")
        if rng.random() < 0.3:
            lines.append(f"PUBLIC {start + size + 0x10:x} 0 pub{i}")
        r = rng.random()
        if cpu == "x86" and r < 0.25:
            prog = rng.choice(
                [
                    "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
                    "$eip .raSearch ^ = $esp .raSearch 4 + =",
                    "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + = $T1 $esp 16 @ =",
                ]
            )
            lines.append(
                f"STACK WIN 4 {start:x} {size:x} 0 0 {rng.choice([0, 4, 8]):x} {rng.choice([0, 4, 8]):x} {rng.choice([0, 4, 8, 16]):x} 0 1 {prog}"
            )
        elif cpu == "x86" and r < 0.4:
            lines.append(
                f"STACK WIN 0 {start:x} {size:x} 0 0 {rng.choice([0, 4, 8]):x} {rng.choice([0, 4]):x} {rng.choice([0, 4, 8]):x} 0 0 {rng.choice([0, 1])}"
            )
        elif r < 0.75:
            k = rng.choice([1, 2, 3, 4]) * w
            if cpu in ("arm", "arm64") and rng.random() < 0.4:
                ra = "lr" if cpu == "arm" else "x30"
                lines.append(f"STACK CFI INIT {start:x} {size:x} .cfa: {sps} 0 + .ra: {ra}")
            else:
                lines.append(f"STACK CFI INIT {start:x} {size:x} .cfa: {sps} {k} + .ra: .cfa {-w} + ^")
            if rng.random() < 0.6:
                off = rng.randrange(1, 0x40)
                k2 = k + w
                fsave = fpn if cpu != "arm64" else "x29"
                pre = "$" if cpu in ("x86", "amd64") else ""
                lines.append(f"STACK CFI {start + off:x} .cfa: {sps} {k2} + {pre}{fsave}: .cfa {-k2} + ^")
            if rng.random() < 0.3:
                off = rng.randrange(0x40, 0x80)
                lines.append(f"STACK CFI {start + off:x} .cfa: {fps} {2 * w} + .ra: .cfa {-w} + ^")
            if rng.random() < 0.25:
                # an optional register rule that fails (unreadable, undefined or unknown register)
                reg = rng.choice([csr, "r9" if cpu == "arm" else csr, "nosuchreg"])
                pre = "$" if cpu in ("x86", "amd64") else ""
                rule = rng.choice([".cfa 100000 + ^", ".undef", "$nosuchreg", ".cfa 0 /"])
                lines.append(f"STACK CFI {start + rng.randrange(0, 0x20):x} {pre}{reg}: {rule}")
    sym = "\n".join(lines) + "\n"
    lib_sym = None
    if rng.random() < 0.5:
        pubs = sorted(rng.sample(range(0x100, 0x10000, 0x10), 12))
        lib_sym = "".join(f"PUBLIC {a:x} 0 lib_public_{a:x}\n" for a in pubs)
    nwords = rng.randint(8, 300)
    base = {"amd64": 0x7FFD00000000, "x86": 0x00100000, "arm64": 0x16F000000, "arm": 0x7E000000}[cpu]

    def code_addr(mod_app=True):
        if mod_app and rng.random() < 0.8:
            s, z = rng.choice(fstarts)
            return appbase + s + rng.randrange(0, z + 0x20)
        return libbase + rng.randrange(0, 0x10000)

    words = {}
    for i in range(nwords):
        r = rng.random()
        a = base + i * w
        if r < 0.55:
            v = 0
        elif r < 0.75:
            v = base + rng.randrange(0, nwords) * w
        elif r < 0.93:
            v = code_addr()
        elif r < 0.96:
            v = rng.randrange(0, 1 << (8 * w))
        else:
            v = rng.randrange(1, 4096)
        if cpu == "arm64" and rng.random() < 0.05 and v:
            v |= rng.randrange(1, 255) << 48
        words[a] = v & ((1 << (8 * w)) - 1)
    if rng.random() < 0.6:
        # lay out a frame-pointer chain with occasional corruption
        pos = rng.randrange(0, max(1, min(10, nwords - 2)))
        chain_start = base + pos * w
        cur = chain_start
        while True:
            step = rng.randrange(2, 12)
            nxt = cur + step * w
            if nxt + w >= base + nwords * w:
                words[cur] = 0
                break
            words[cur] = nxt if rng.random() > 0.05 else rng.choice([0, nxt - 4 * w, 0x10])
            words[cur + w] = code_addr() if rng.random() > 0.05 else rng.randrange(0, 5000)
            cur = nxt
        fp_start = chain_start
    else:
        fp_start = None
    stack = bytearray(nwords * w)
    for a, v in words.items():
        struct.pack_into("<Q" if w == 8 else "<I", stack, a - base, v)
    regs = {
        ipn: code_addr(),
        spn: base + rng.randrange(0, min(nwords, 20)) * w,
        fpn: fp_start
        if fp_start is not None and rng.random() < 0.8
        else rng.choice([0, base + rng.randrange(0, nwords) * w, 0x10]),
    }
    if cpu in ("arm", "arm64"):
        regs["lr"] = code_addr()
    regs[csr] = rng.choice([0, base + rng.randrange(0, nwords) * w, code_addr()])
    if cpu == "arm":
        regs = {("r11" if k == "r11" else k): v for k, v in regs.items()}
    osn = rng.choice(OSES[cpu])
    syms = {"app": sym}
    if lib_sym is not None:
        syms["lib"] = lib_sym
    return cpu, osn, [app, lib], [Thread(1, regs, base, bytes(stack))], syms


def run(seed, keep=False):
    rng = random.Random(seed)
    cpu = rng.choice(["amd64", "x86", "arm64", "arm"])
    cpu, osn, mods, threads, syms = gen(rng, cpu)
    folder = WORK / f"case{seed}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "dump.dmp").write_bytes(write_minidump(cpu, osn, mods, threads))
    for m in mods:
        if m.name in syms:
            d = folder / "symbols" / m.name / m.debug_id
            d.mkdir(parents=True)
            (d / f"{m.name}.sym").write_text(f"MODULE {HEAD[cpu]} {m.debug_id} {m.name}\n" + syms[m.name])
    out = subprocess.run(
        [ORACLE, "--json", "--symbols-path", "symbols", "dump.dmp"], cwd=folder, capture_output=True
    )
    if out.returncode != 0:
        return cpu, osn, None
    exp = json.loads(out.stdout)
    got = walk_dump(folder / "dump.dmp", folder / "symbols")
    total, equal, diffs = frame_differences(got, exp)
    if not diffs and not keep:
        shutil.rmtree(folder)
    return cpu, osn, diffs


if __name__ == "__main__":
    ORACLE = sys.argv[1]
    start, n = int(sys.argv[2]), int(sys.argv[3])
    bad = 0
    for seed in range(start, start + n):
        cpu, osn, diffs = run(seed)
        if diffs is None:
            print("oracle rejected", seed)
            continue
        if diffs:
            bad += 1
            print("DIFF seed", seed, cpu, osn, diffs[:2])
    print("bad", bad, "of", n)
