"""``crashdesk stackwalk --dump``'s printer (engine/minidump/dump_printer.py) against the reference.

The expected texts in tests/data/dump_printer/ are minidump-stackwalk 0.25.0's own ``--dump`` / ``--dump --brief``
output for every distinct dump under tests/data (recorded by scripts/record_dump_expected.py, see PROVENANCE.md
there). Hostile inputs (the reader's regression dumps, hypothesis mutations, hand-built attacks) must give text
or a typed MinidumpError, never another exception or a hang.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.minidump import Minidump, MinidumpError
from crashdesk.engine.minidump.dump_printer import DumpTooLargeError, render_dump

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
EXPECTED = DATA / "dump_printer"
MANIFEST = json.loads((EXPECTED / "manifest.json").read_text(encoding="utf-8"))
REGRESSIONS = sorted((DATA / "minidumps" / "regressions").glob("*.dmp"))


def _render(raw: bytes, brief: bool = False) -> str:
    return render_dump(Minidump.from_bytes(raw), brief=brief)


@pytest.mark.parametrize(
    "case", MANIFEST["cases"], ids=lambda c: c["dump"] + (" --brief" if c["brief"] else "")
)
def test_same_bytes_as_reference(case) -> None:
    raw = (DATA / case["dump"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == case["sha256"], (
        "the dump changed since the outputs were recorded"
    )
    assert case["exit_code"] == 0
    expected = gzip.decompress((EXPECTED / case["expected"]).read_bytes()).decode("utf-8")
    got = _render(raw, case["brief"])
    if got != expected:  # show the first differing line, not two 100 kB strings
        for n, (a, b) in enumerate(zip(got.splitlines(), expected.splitlines(), strict=False)):
            assert a == b, f"line {n + 1}"
    assert got == expected


def test_manifest_covers_the_regressions_and_every_stream_family() -> None:
    dumps = {c["dump"] for c in MANIFEST["cases"]}
    assert {f"minidumps/regressions/{p.name}" for p in REGRESSIONS} <= dumps
    texts = "".join(
        gzip.decompress((EXPECTED / c["expected"]).read_bytes()).decode() for c in MANIFEST["cases"]
    )
    for section in ("CONTEXT_X86", "CONTEXT_AMD64", "CONTEXT_ARM\n", "CONTEXT_ARM64", "MINIDUMP_MODULE",
                    "MINIDUMP_UNLOADED_MODULE", "MINIDUMP_MEMORY_DESCRIPTOR", "MINIDUMP_EXCEPTION", "MINIDUMP_MISC_INFO",
                    "MINIDUMP_BREAKPAD_INFO", "MDRawCrashpadInfo", "MINIDUMP_MAC_CRASH_INFO", "Stream LinuxMaps:",
                    "MinidumpThreadNames", "CONTEXT_MIPS", "CONTEXT_ARM64_OLD", "MINIDUMP_HANDLE_DESCRIPTOR",
                    "MINIDUMP_MEMORY_INFO", "MDAssertion", "mac_boot_args", "MinidumpMemory64List"):  # fmt: skip
        assert section in texts, section


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
@pytest.mark.parametrize("brief", [False, True])
def test_regression_dumps_print(path: Path, brief: bool) -> None:
    text = _render(path.read_bytes(), brief)
    assert text.startswith("MDRawHeader\n")


SEEDS = [p.read_bytes() for p in REGRESSIONS] + [(DATA / "stackwalk_cli" / "test.dmp").read_bytes()]


@st.composite
def _mutated(draw) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    count, dir_rva = struct.unpack_from("<II", raw, 8)
    spots = [8, 12] + [dir_rva + 12 * i + k for i in range(min(count, 32)) for k in (4, 8)]
    for _ in range(draw(st.integers(0, 4))):
        off = draw(st.sampled_from([s for s in spots if s + 4 <= len(raw)]))
        struct.pack_into("<I", raw, off, draw(st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000, 64])))
    for _ in range(draw(st.integers(0, 24))):
        raw[draw(st.integers(0, len(raw) - 1))] ^= draw(st.integers(1, 255))
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return bytes(raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(), st.booleans())
def test_mutated_dumps_give_text_or_a_typed_error(raw: bytes, brief: bool) -> None:
    try:
        text = _render(raw, brief)
    except MinidumpError:
        return
    assert text.startswith("MDRawHeader\n")


def _dump(streams: list[tuple[int, bytes]], tail: bytes = b"") -> bytes:
    """A minidump with ``streams`` after the directory and ``tail`` after them (RVAs into it are the caller's)."""
    header_size, dir_size = 32, 12 * len(streams)
    body, directory = b"", b""
    for stype, data in streams:
        directory += struct.pack("<III", stype, len(data), header_size + dir_size + len(body))
        body += data
    header = struct.pack("<IIIIIIQ", 0x504D444D, 0xA793, len(streams), header_size, 0, 0, 0)
    return header + directory + body + tail


def test_many_descriptors_of_one_region_stop_at_the_output_budget() -> None:
    # 40 000 descriptors all naming one 8 KiB region: the reference would print ~1.6 GB of hexdump.
    count, region = 40_000, 8192
    list_size = 4 + 16 * count
    region_rva = 32 + 12 + list_size
    memlist = struct.pack("<I", count) + struct.pack("<QII", 0x1000, region, region_rva) * count
    raw = _dump([(5, memlist)], b"\xcc" * region)
    with pytest.raises(DumpTooLargeError):
        _render(raw)
    assert "region_count = 40000" in _render(raw, brief=True)  # --brief prints no memory: no budget needed


def test_overlapping_regions_do_not_make_stack_lookups_quadratic() -> None:
    # 60 000 distinct one-byte regions and 2 000 threads whose stacks are looked up in them: finishes (the
    # lookups are O(log n)); each thread's stack is the region at its address (the reference prints the same
    # bytes for this dump: an empty "Stack" block, 1 byte holding no 8-byte word).
    n_regions, n_threads = 60_000, 2_000
    data_rva = 32 + 24 + 4 + 16 * n_regions + 4 + 48 * n_threads
    memlist = struct.pack("<I", n_regions) + b"".join(
        struct.pack("<QII", 0x10000 + i, 1, data_rva) for i in range(n_regions)
    )
    threads = struct.pack("<I", n_threads) + b"".join(
        struct.pack("<IIIIQQIIII", i, 0, 0, 0, 0, 0x10000 + i, 0, 0, 0, 0) for i in range(n_threads)
    )
    text = _render(_dump([(5, memlist), (3, threads)], b"\x41"))
    assert text.count("Stack\n") == n_threads and "No stack" not in text
    assert "thread[1999]" in text


def test_handle_object_info_loop_terminates() -> None:
    # A v2 handle descriptor whose object-information chain points at itself.
    header = struct.pack("<III", 12, 40, 1)
    info_rva = 32 + 12 + 12 + 40
    desc = struct.pack("<QIIIIIIII", 4, 0, 0, 0, 0, 1, 1, info_rva, 0)
    raw = _dump([(12, header + desc)], struct.pack("<III", info_rva, 1, 12))
    text = _render(raw)
    assert text.count("(object_info)") == 1
    assert "MiniThreadInformation1" in text


def test_cli_dump_of_a_non_minidump_is_one_line_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dmp"
    bad.write_bytes(b"not a minidump at all")
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", "--dump", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_cli_dump_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    dump = DATA / "stackwalk_cli" / "test.dmp"
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", "--dump", "--brief", "--output-file",
                           str(out), str(dump)], cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and proc.stdout == ""
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    case = next(c for c in MANIFEST["cases"] if c["sha256"] == digest and c["brief"])
    assert out.read_bytes() == gzip.decompress((EXPECTED / case["expected"]).read_bytes())
