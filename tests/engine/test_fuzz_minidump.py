"""Fuzzing the reader and the stackwalk assembly with hypothesis, seeded from real dumps.

Truncations, byte flips and absurd counts/offsets written into the header, the stream directory and the
streams themselves must give a typed :class:`MinidumpError` or a (possibly partial) result — never another
exception, never a hang. ``regressions/`` holds inputs that once broke the reader.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.minidump import Minidump, MinidumpError
from crashdesk.engine.minidump import extras as X
from crashdesk.engine.stackwalk import process_minidump, read_annotations

DATA = Path(__file__).resolve().parents[1] / "data" / "minidumps"
SEEDS = {
    p.parent.name: p.read_bytes()
    for p in sorted(DATA.glob("*/*.dmp"))
    if p.stat().st_size < 40_000 and not p.parent.name.startswith("rejected")
}
SEED_NAMES = sorted(SEEDS)
ABSURD = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF0, 0x10000, 0x1000_0000]


def _interesting_offsets(raw: bytes) -> list[int]:
    """Where counts and locations live: header, directory entries, the first words of every stream."""
    offsets = [8, 12]
    if len(raw) >= 32:
        count, dir_rva = struct.unpack_from("<II", raw, 8)
        for i in range(min(count, 64)):
            entry = dir_rva + 12 * i
            if entry + 12 <= len(raw):
                offsets += [entry + 4, entry + 8]
                _t, size, rva = struct.unpack_from("<III", raw, entry)
                offsets += [rva + k for k in range(0, min(size, 64), 4)]
    return [o for o in offsets if 0 <= o <= len(raw) - 4]


@st.composite
def mutated_dumps(draw) -> bytes:
    raw = bytearray(SEEDS[draw(st.sampled_from(SEED_NAMES))])
    kind = draw(st.sampled_from(["truncate", "flip", "absurd", "mixed"]))
    if kind in ("absurd", "mixed"):
        spots = _interesting_offsets(bytes(raw))
        for _ in range(draw(st.integers(1, 4))):
            off = draw(st.sampled_from(spots))
            struct.pack_into("<I", raw, off, draw(st.sampled_from(ABSURD)))
    if kind in ("flip", "mixed"):
        for _ in range(draw(st.integers(1, 16))):
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] ^= draw(st.integers(1, 255))
    if kind == "truncate" or (kind == "mixed" and draw(st.booleans())):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return bytes(raw)


def _exercise_reader(data: bytes) -> None:
    try:
        md = Minidump.from_bytes(data)
    except MinidumpError:
        return
    touched = (md.system_info, md.misc_info, md.breakpad_info, md.assertion, md.handles, md.memory_info)
    assert len(touched) == 6
    md.crash_reason(), md.requesting_thread_index(), md.exception_context()
    for t in md.threads or []:
        md.thread_context(t)
    for m in md.modules:
        md.modules.module_at(m.base)
        md.memory.read(m.base, 16)
    X.annotations(md), X.lsb_release(md), X.linux_maps(md), X.soft_errors(md), X.mac_crash_info(md)
    X.linux_auxv(md), X.linux_environ(md), X.proc_limits(md), X.mac_boot_args(md), X.microcode_version(md)


def _exercise_stackwalk(data: bytes) -> None:
    try:
        out = process_minidump(data, None, max_frames=64)
    except MinidumpError:
        return
    json.dumps(out)
    assert out["status"] == "OK"
    assert out["thread_count"] == len(out["threads"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_dumps())
def test_reader_survives_mutations(data: bytes) -> None:
    _exercise_reader(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_dumps())
def test_stackwalk_survives_mutations(data: bytes) -> None:
    _exercise_stackwalk(data)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    _exercise_reader(data)
    _exercise_stackwalk(b"MDMP\x93\xa7\x00\x00" + data)
    try:
        read_annotations(data)
    except MinidumpError:
        pass


@pytest.fixture(scope="module")
def symbol_provider(tmp_path_factory):
    from crashdesk.symbols import build_provider

    sys.path.insert(0, str(DATA.parents[2] / "scripts"))
    from conformance import unpack_xz_store

    store = tmp_path_factory.mktemp("fuzz-symbols")
    unpack_xz_store(DATA / "symbols", store)
    unpack_xz_store(DATA / "symbols-xz", store)
    return build_provider([store], [], None)


SYMBOLIZED_SEEDS = ["linux-amd64-mini", "linux-crashpad-06-plugin-so", "win-x86-fizzbuzz"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_stackwalk_with_symbols_survives_mutations(symbol_provider, data) -> None:
    """CFI / STACK WIN evaluation over hostile stacks: the symbolized path of the unwinder."""
    seed = bytearray(SEEDS[data.draw(st.sampled_from(SYMBOLIZED_SEEDS))])
    for _ in range(data.draw(st.integers(1, 24))):
        pos = data.draw(st.integers(0, len(seed) - 1))
        seed[pos] ^= data.draw(st.integers(1, 255))
    try:
        out = process_minidump(bytes(seed), symbol_provider, max_frames=64)
    except MinidumpError:
        return
    json.dumps(out)


# Fields of the reference's crash analysis CrashDesk does not compute (instruction decoding, bit flips).
ANALYSIS_FIELDS = ("adjusted_address", "instruction", "instruction_pointer_update", "memory_accesses",
                   "possible_bit_flips")  # fmt: skip


@pytest.mark.parametrize("path", sorted((DATA / "regressions").glob("*.dmp")), ids=lambda p: p.name)
def test_regression_matches_the_reference(path: Path) -> None:
    """Each hostile file gives what minidump-stackwalk 0.25.0 gives (``<name>.expected.json``)."""
    expected = json.loads(path.with_suffix(".expected.json").read_text())
    got = process_minidump(path.read_bytes(), None)
    got.pop("notes", None)
    for out in (expected, got):
        for key in ANALYSIS_FIELDS:
            out["crash_info"][key] = None
    assert got == expected


def _regression(name: str) -> dict:
    return process_minidump((DATA / "regressions" / name).read_bytes(), None)


def _reference(case: str) -> dict:
    return json.loads((DATA / case / "expected-nosyms.json").read_text())


def test_regression_absurd_module_count_gives_a_partial_result_with_a_note() -> None:
    out = _regression("absurd-module-count.dmp")
    assert out["modules"] == []
    assert any("module list" in note for note in out["notes"])
    assert out["crash_info"]["type"] == _reference("macos-amd64-crashpad")["crash_info"]["type"]


def test_regression_overlapping_memory_ranges() -> None:
    out = _regression("overlapping-memory-ranges.dmp")
    want = _reference("win-x86-fizzbuzz")["crashing_thread"]["frames"][0]
    assert out["crashing_thread"]["frames"][0]["offset"] == want["offset"]


def test_regression_sizes_past_eof() -> None:
    out = _regression("sizes-past-eof.dmp")
    assert any("past the end of the file" in note for note in out["notes"])
    assert out["crashing_thread"]["frames"][0]["trust"] == "context"


def test_regression_stack_pointer_outside_memory() -> None:
    out = _regression("stack-pointer-outside-memory.dmp")
    want = _reference("linux-crashpad-06-plugin-so")["crashing_thread"]["frames"][0]
    frame0 = out["crashing_thread"]["frames"][0]
    assert frame0["offset"] == want["offset"] and frame0["registers"]["rsp"] == "0x00000000dead0000"


def test_regression_truncated_half() -> None:
    data = (DATA / "regressions" / "truncated-half.dmp").read_bytes()
    try:
        out = process_minidump(data, None)
    except MinidumpError:
        return
    assert out["thread_count"] == _reference("linux-crashpad-05-thread")["thread_count"]
