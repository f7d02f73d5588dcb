"""The minidump reader on real dumps: header and directory, modules, system info, crash reason, memory,
Crashpad annotations, typed errors. Expected values come from the reference outputs next to each dump."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from crashdesk.engine.minidump import (
    CorruptMinidumpError,
    Minidump,
    MinidumpError,
    NotAMinidumpError,
    TruncatedMinidumpError,
    extras,
)
from crashdesk.engine.minidump.sysinfo import cpu_description, os_version
from crashdesk.engine.stackwalk import read_annotations
from crashdesk.errors import CrashDeskError

DATA = Path(__file__).resolve().parents[1] / "data" / "minidumps"


def _dump(case: str) -> Path:
    return next((DATA / case).glob("*.dmp"))


def _expected(case: str) -> dict:
    return json.loads((DATA / case / "expected-nosyms.json").read_text())


CASES = ["win-x86-fizzbuzz", "win-x86-minidump2", "linux-amd64-mini", "macos-amd64-crashpad",
         "linux-crashpad-06-plugin-so", "linux-crashpad-05-thread", "arm-linux", "arm64-macos"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_modules_match_reference(case: str) -> None:
    expected = _expected(case)
    with Minidump.open(_dump(case)) as md:
        width = md.pointer_width
        got = [
            {
                "filename": m.filename,
                "code_id": m.code_id,
                "debug_file": m.debug_file,
                "debug_id": m.debug_id,
                "version": m.version,
                "base_addr": f"0x{m.base:0{2 * width}x}",
                "end_addr": f"0x{m.base + m.size:0{2 * width}x}",
            }
            for m in md.modules
        ]
    want = [{k: m[k] for k in got[0]} for m in expected["modules"]] if got else expected["modules"]
    assert got == want


@pytest.mark.parametrize("case", CASES)
def test_system_info_and_crash_reason(case: str) -> None:
    expected = _expected(case)
    with Minidump.open(_dump(case)) as md:
        si = md.system_info
        assert si is not None
        assert si.os == expected["system_info"]["os"]
        assert si.cpu_arch == expected["system_info"]["cpu_arch"]
        assert os_version(si) == expected["system_info"]["os_ver"]
        assert cpu_description(si) == expected["system_info"]["cpu_info"]
        assert si.number_of_processors == expected["system_info"]["cpu_count"]
        reason = md.crash_reason()
        ci = expected["crash_info"]
        if ci["type"] is None:
            assert reason is None
        else:
            assert reason.type == ci["type"]
            assert f"0x{reason.address:0{2 * md.pointer_width}x}" == ci["address"]
            assert md.requesting_thread_index() == ci["crashing_thread"]
        assert len(md.threads) == expected["thread_count"]


def test_thread_names_and_crashing_thread() -> None:
    expected = _expected("linux-crashpad-05-thread")
    with Minidump.open(_dump("linux-crashpad-05-thread")) as md:
        names = [md.thread_names.get(t.thread_id) for t in md.threads]
        assert names == [t["thread_name"] for t in expected["threads"]]
        assert md.requesting_thread_index() == 5


def test_memory_reader_reads_the_crashing_stack() -> None:
    with Minidump.open(_dump("linux-crashpad-06-plugin-so")) as md:
        ctx = md.exception_context()
        assert ctx is not None and ctx.cpu == "amd64"
        sp = ctx.registers["rsp"]
        word = md.memory.read_uint(sp, 8)
        assert word is not None
        assert md.memory.read(sp, 8) == struct.pack("<Q", word)
        assert md.memory.read(0, 8) is None
        assert md.memory.read_uint(0xFFFF_FFFF_FFFF_FFF0, 8) is None
        region = md.memory.region_at(sp)
        assert md.memory.read(region.end - 4, 8) is None  # straddles the end of the region


def test_module_map_lookups() -> None:
    expected = _expected("linux-crashpad-06-plugin-so")
    frame0 = expected["crashing_thread"]["frames"][0]
    with Minidump.open(_dump("linux-crashpad-06-plugin-so")) as md:
        hit = md.modules.module_at(int(frame0["offset"], 16))
        assert hit is not None and hit.filename == frame0["module"]
        assert md.modules.module_at(0x10) is None
        assert md.modules.unloaded_at(0x10) == []


def test_crashpad_annotations_match_the_upload_form() -> None:
    form = json.loads((DATA / "linux-crashpad-06-plugin-so" / "annotations.json").read_text())
    assert read_annotations(_dump("linux-crashpad-06-plugin-so")) == form


def test_linux_streams() -> None:
    expected = json.loads((DATA / "linux-amd64-mini" / "expected-nosyms.json").read_text())
    with Minidump.open(_dump("linux-amd64-mini")) as md:
        assert extras.lsb_release(md) == expected["lsb_release"]
        assert len(extras.linux_maps(md)) == expected["linux_memory_map_count"]
        assert extras.soft_errors(md) == expected["soft_errors"]
        assert extras.linux_proc_status(md)["Pid"] == str(expected["pid"])
        assert extras.linux_cmdline(md)
        assert isinstance(extras.linux_environ(md), dict)
        assert extras.linux_auxv(md)
        names = {e.name for e in md.streams}
        assert {"LinuxMaps", "LinuxProcStatus", "LinuxLsbRelease"} <= names


def test_unknown_streams_are_listed_not_fatal() -> None:
    raw = bytearray(_dump("win-x86-fizzbuzz").read_bytes())
    count, dir_rva = struct.unpack_from("<II", raw, 8)
    # Turn the first stream's type into an unknown vendor type.
    first_type = struct.unpack_from("<I", raw, dir_rva)[0]
    struct.pack_into("<I", raw, dir_rva, 0x7777_0001)
    md = Minidump.from_bytes(bytes(raw))
    assert [e.type for e in md.unknown_streams] == [0x7777_0001]
    assert first_type != 0x7777_0001


def test_rejected_dumps_raise_typed_errors() -> None:
    from crashdesk.engine.stackwalk import process_minidump

    for case in ("rejected-invalid-range", "rejected-invalid-record-count"):
        with pytest.raises(MinidumpError) as info:
            process_minidump(_dump(case), None)
        reference = (DATA / case / "expected-error.txt").read_text()
        assert "MissingThreadList" in reference and "MissingThreadList" in str(info.value)


def test_not_a_minidump(tmp_path: Path) -> None:
    empty = tmp_path / "empty.dmp"
    empty.write_bytes(b"")
    with pytest.raises(NotAMinidumpError):
        Minidump.open(empty)
    text = tmp_path / "text.dmp"
    text.write_text("hello, this is not a minidump at all, just text\n")
    with pytest.raises(NotAMinidumpError):
        Minidump.open(text)
    with pytest.raises(MinidumpError):
        Minidump.open(tmp_path / "missing.dmp")
    assert issubclass(MinidumpError, CrashDeskError)


def test_truncated_and_absurd_counts() -> None:
    raw = _dump("win-x86-fizzbuzz").read_bytes()
    with pytest.raises(TruncatedMinidumpError):
        Minidump.from_bytes(raw[:20])
    absurd = bytearray(raw)
    struct.pack_into("<I", absurd, 8, 0xFFFF_FFFF)  # stream count
    with pytest.raises(CorruptMinidumpError):
        Minidump.from_bytes(bytes(absurd))
    # An absurd thread count inside an intact directory: the thread list becomes unreadable, with a note.
    md = Minidump.from_bytes(raw)
    entry = md.stream(3)
    bad = bytearray(raw)
    struct.pack_into("<I", bad, entry.rva, 0x7FFF_FFFF)
    md = Minidump.from_bytes(bytes(bad))
    assert md.threads is None
    assert any("thread list" in n for n in md.notes)
