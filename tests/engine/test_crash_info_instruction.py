"""crash_info's instruction fields (instruction, memory_accesses, instruction_pointer_update, adjusted_address,
possible_bit_flips, crash_inconsistencies) against minidump-stackwalk 0.25.0.

Expected values are the reference's own output: ``tests/data/crash_info/reference_cases.json.gz`` (recorded
reference runs on one-instruction dumps, see PROVENANCE.md there), the local corpus copies in
``tests/data/minidumps``/``tests/data/unwind`` and, when present, every document of ``../shared/corpus``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
import struct
from collections import Counter
from pathlib import Path

import pytest

from crashdesk.engine.crash_info.x86_decode import DecodeError, decode
from crashdesk.engine.stackwalk import process_minidump
from tests.engine._crash_dump_writer import CrashCase, write_crash_dump

DATA = Path(__file__).resolve().parents[1] / "data" / "crash_info"


def _load_generator():
    spec = importlib.util.spec_from_file_location("crash_info_generate", DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_generator().build

FIELDS = ("instruction", "memory_accesses", "instruction_pointer_update", "adjusted_address",
          "possible_bit_flips", "crash_inconsistencies")  # fmt: skip

# Encodings yaxpeax-x86 (the reference's decoder) decodes wrongly or not at all; capstone's reading is kept.
_WRONG_REGISTER = "yaxpeax prints a wrong register (VEX.vvvv / ModRM.rm decoding)"
KNOWN_DIFFERENCES = {
    "c44249f7d2": _WRONG_REGISTER + ": shlx",
    "c462fbf64500": _WRONG_REGISTER + ": mulx",
    "c462fbf6a520000000": _WRONG_REGISTER + ": mulx",
    "c44293f6e5": _WRONG_REGISTER + ": mulx",
    "c4637bf0e51b": _WRONG_REGISTER + ": rorx",
    "c4c14172f21e": _WRONG_REGISTER + ": vpslld with an immediate",
    "c4c12972d202": _WRONG_REGISTER + ": vpsrld with an immediate",
    "c4638122fe01": _WRONG_REGISTER + ": vpinsrq",
    "66480f3a22c001": _WRONG_REGISTER + ": pinsrq",
    "660f3a22c001": _WRONG_REGISTER + ": pinsrd",
    "66480f3a16eb01": "pextrq: yaxpeax swaps and misnames the operands",
    "66480f3a164c242001": "pextrq: yaxpeax swaps the operands",
    "c5f9d607": "vmovq store: yaxpeax prints it as a load",
    "c4e2f9a9150cc50300": "vfmadd213sd: yaxpeax names it vfmadd231sd",
    "c4e2f9a95118": "vfmadd213sd: yaxpeax names it vfmadd231sd",
    "62f1b54873d734": "EVEX vpsrlq zmm with an immediate: yaxpeax cannot decode it",
    "62f1ad4873f60c": "EVEX vpsllq zmm with an immediate: yaxpeax cannot decode it",
}


def _cases() -> list[dict]:
    return json.loads(gzip.decompress((DATA / "reference_cases.json.gz").read_bytes()))


CASES = _cases()


def _ours(case: dict) -> dict:
    got = process_minidump(build(case))["crash_info"]
    return {k: got[k] for k in FIELDS}


def _expected(case: dict) -> dict:
    return {k: case["expected"].get(k) for k in FIELDS}


def test_recorded_reference_cases_agree() -> None:
    differing = Counter()
    for case in CASES:
        if _ours(case) != _expected(case):
            differing[case["code"]] += 1
    assert set(differing) == set(KNOWN_DIFFERENCES), {c: n for c, n in differing.items()}
    assert len(CASES) > 3500
    agree = len(CASES) - sum(differing.values())
    assert agree >= 3546, f"{agree}/{len(CASES)}"  # measured: 3546/3597


def test_recorded_cases_cover_every_heuristic() -> None:
    """The recorded set exercises each field the reference prints, so the agreement above means something."""
    seen = Counter()
    for case in CASES:
        e = case["expected"]
        seen["instruction"] += "instruction" in e
        seen["ip_update"] += "instruction_pointer_update" in e
        seen["guard_page"] += any(a.get("is_likely_guard_page") for a in e.get("memory_accesses") or [])
        seen["underivable"] += any("access_type" not in a for a in e.get("memory_accesses") or [])
        for kind in ("null-pointer", "non-canonical"):
            seen[kind] += (e.get("adjusted_address") or {}).get("kind") == kind
        for flip in e.get("possible_bit_flips") or []:
            seen["bit_flip"] += 1
            seen["poison"] += flip["details"]["poison_registers"]
            seen["nearby"] += flip["details"]["nearby_registers"] > 0
            seen["flip_from_register"] += flip["source_register"] is not None
            seen["flip_non_canonical"] += flip["details"]["was_non_canonical"]
        for item in e.get("crash_inconsistencies") or []:
            seen[item] += 1
    wanted = ("instruction", "ip_update", "guard_page", "underivable", "null-pointer", "non-canonical", "bit_flip",
              "poison", "nearby", "flip_from_register", "flip_non_canonical", "int_div_by_zero_not_possible",
              "priv_instruction_crash_without_priv_instruction", "crashing_access_not_found_in_memory_accesses",
              "access_violation_when_access_allowed", "non_canonical_address_falsely_reported")  # fmt: skip
    assert {k: seen[k] for k in wanted if not seen[k]} == {}


LOCAL = [
    Path(__file__).resolve().parents[1] / "data" / p
    for p in ("minidumps/linux-amd64-mini", "unwind/write_av_non_canonical", "unwind/null_read_av",
              "unwind/linux_divide_by_zero", "unwind/chromiumos-abort", "unwind/plugin-so", "unwind/arm64-macos",
              "unwind/mini-windows")
]  # fmt: skip


@pytest.mark.parametrize("folder", LOCAL, ids=lambda p: p.name)
def test_local_corpus_copies_match_reference(folder: Path) -> None:
    dump = next(p for p in sorted(folder.iterdir()) if p.suffix == ".dmp")
    expected_file = folder / "expected-nosyms.json"
    if not expected_file.exists():
        expected_file = folder / "expected.json"
    expected = json.loads(expected_file.read_text())["crash_info"]
    assert process_minidump(dump)["crash_info"] == expected


def test_full_corpus_crash_info_equal(shared_corpus: Path) -> None:
    equal, differing = 0, []
    for expected_file in sorted(shared_corpus.rglob("expected*.json")):
        dumps = sorted(expected_file.parent.glob("*.dmp"))
        if not dumps:
            continue
        expected = json.loads(expected_file.read_text())["crash_info"]
        got = process_minidump(dumps[0])["crash_info"]  # crash_info does not depend on symbols
        if got == expected:
            equal += 1
        else:
            differing.append(str(expected_file.relative_to(shared_corpus)))
    assert differing == []
    assert equal >= 100


# -- hostile and partial input -------------------------------------------------------------------------------


REGS = {"rip": 0x555500001000, "rsp": 0x7FFF00000080, "rax": 0}


def _crash_info(code: bytes, **kw) -> dict:
    case = CrashCase(code=code, regs=kw.pop("regs", REGS), exception=kw.pop("exception", (11, 1, 0, ())),
                     stack_base=0x7FFF00000000, **kw)  # fmt: skip
    return process_minidump(write_crash_dump(case))["crash_info"]


def test_truncated_instruction_at_the_end_of_captured_memory_gives_no_instruction() -> None:
    # mov dword [rax], 0x1 needs 6 bytes; the dump holds 3 (the reference: "byte slice contained truncated
    # instruction", nothing printed). The decoder never reads past the region.
    info = _crash_info(bytes.fromhex("c70001"))
    assert info["instruction"] is None and info["memory_accesses"] is None
    assert info["type"] == "SIGSEGV / SEGV_MAPERR"


def test_instruction_pointer_outside_captured_memory_gives_no_instruction() -> None:
    regs = dict(REGS, rip=0x1234)
    case = CrashCase(code=b"\x90", regs=regs, exception=(11, 1, 0, ()), stack_base=0x7FFF00000000)
    data = bytearray(write_crash_dump(case))
    # move the code region away from rip: patch its base in the memory list
    needle = struct.pack("<Q", 0x1234)
    at = data.rfind(needle)
    data[at : at + 8] = struct.pack("<Q", 0x9999000)
    info = process_minidump(bytes(data))["crash_info"]
    assert info["instruction"] is None and info["adjusted_address"] is None


def test_random_bytes_at_the_instruction_pointer_never_raise() -> None:
    rng = random.Random(21)
    for _ in range(300):
        code = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
        regs = {
            name: rng.choice([0, 1 << 63, rng.getrandbits(64)])
            for name in ("rax", "rbx", "rcx", "rsi", "rdi")
        }
        regs |= {"rip": 0x555500001000, "rsp": rng.choice([0, 0x7FFF00000080, (1 << 64) - 8])}
        info = _crash_info(code, regs=regs)
        assert info["instruction"] is None or isinstance(info["instruction"], str)
        for access in info["memory_accesses"] or []:
            assert access["address"].startswith("0x") and len(access["address"]) == 18


def test_decoder_reads_at_most_fifteen_bytes() -> None:
    with pytest.raises(DecodeError):
        decode(b"\x66" * 15 + b"\x90" * 10, 0)  # 15 prefixes + opcode: longer than 15 bytes, invalid
    assert decode(b"\x90" * 40, 0).text == "nop"
