"""Exception codes: crash_info.type and address as minidump-stackwalk 0.25.0 prints them, on 2,275 recorded
reference runs (tests/data/crash_reasons, see generate.py there), and the generated tables against the counts
of rust-minidump 0.25.0's enums (scripts/gen_error_tables.py)."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

from crashdesk.engine.minidump import error_tables as T
from crashdesk.engine.minidump import windows_error_names
from crashdesk.engine.minidump.crash_reason import (
    last_error_name,
    table_entries,
    table_name,
    windows_error_text,
)
from crashdesk.engine.stackwalk import process_minidump

DATA = Path(__file__).resolve().parents[1] / "data" / "crash_reasons"


def _load_generator():
    spec = importlib.util.spec_from_file_location("crash_reasons_generate", DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_generator().build

# Variants per enum in rust-minidump v0.25.0 minidump-common/src/errors/{windows,linux}.rs, counted in its
# source (one "NAME = value," line each).
REFERENCE_COUNTS = {
    "EXCEPTION_CODE_WINDOWS": 27, "WIN_ERROR_FACILITY_WINDOWS": 1, "WIN_ERROR_WINDOWS": 2864,
    "NT_STATUS_WINDOWS": 2931, "FAST_FAIL_CODE": 74, "EXCEPTION_CODE_WINDOWS_ACCESS_TYPE": 3,
    "EXCEPTION_CODE_WINDOWS_IN_PAGE_ERROR_TYPE": 3, "EXCEPTION_CODE_LINUX": 32, "EXCEPTION_CODE_LINUX_SICODE": 10,
    "EXCEPTION_CODE_LINUX_SIGILL_KIND": 9, "EXCEPTION_CODE_LINUX_SIGTRAP_KIND": 6,
    "EXCEPTION_CODE_LINUX_SIGFPE_KIND": 8, "EXCEPTION_CODE_LINUX_SIGSEGV_KIND": 4,
    "EXCEPTION_CODE_LINUX_SIGBUS_KIND": 5, "EXCEPTION_CODE_LINUX_SIGSYS_KIND": 2,
    "EXCEPTION_CODE_MAC": 12, "EXCEPTION_CODE_MAC_BAD_ACCESS_KERN_TYPE": 7, "EXCEPTION_CODE_MAC_BAD_ACCESS_ARM_TYPE": 5,
    "EXCEPTION_CODE_MAC_BAD_ACCESS_PPC_TYPE": 3, "EXCEPTION_CODE_MAC_BAD_ACCESS_X86_TYPE": 1,
    "EXCEPTION_CODE_MAC_BAD_INSTRUCTION_ARM_TYPE": 1, "EXCEPTION_CODE_MAC_BAD_INSTRUCTION_PPC_TYPE": 6,
    "EXCEPTION_CODE_MAC_BAD_INSTRUCTION_X86_TYPE": 6, "EXCEPTION_CODE_MAC_ARITHMETIC_ARM_TYPE": 6,
    "EXCEPTION_CODE_MAC_ARITHMETIC_PPC_TYPE": 9, "EXCEPTION_CODE_MAC_ARITHMETIC_X86_TYPE": 8,
    "EXCEPTION_CODE_MAC_SOFTWARE_TYPE": 4, "EXCEPTION_CODE_MAC_BREAKPOINT_ARM_TYPE": 1,
    "EXCEPTION_CODE_MAC_BREAKPOINT_PPC_TYPE": 1, "EXCEPTION_CODE_MAC_BREAKPOINT_X86_TYPE": 2,
    "EXCEPTION_CODE_MAC_RESOURCE_TYPE": 5, "EXCEPTION_CODE_MAC_RESOURCE_CPU_FLAVOR": 2,
    "EXCEPTION_CODE_MAC_RESOURCE_WAKEUPS_FLAVOR": 1, "EXCEPTION_CODE_MAC_RESOURCE_MEMORY_FLAVOR": 1,
    "EXCEPTION_CODE_MAC_RESOURCE_IO_FLAVOR": 2, "EXCEPTION_CODE_MAC_RESOURCE_THREADS_FLAVOR": 1,
    "EXCEPTION_CODE_MAC_GUARD_TYPE": 7, "EXCEPTION_CODE_MAC_GUARD_MACH_PORT_FLAVOR": 27,
    "EXCEPTION_CODE_MAC_GUARD_FD_FLAVOR": 7, "EXCEPTION_CODE_MAC_GUARD_VN_FLAVOR": 7,
    "EXCEPTION_CODE_MAC_GUARD_VIRT_MEMORY_FLAVOR": 1, "EXCEPTION_CODE_MAC_GUARD_REJECTE_SYS_CALL_FLAVOR": 1,
}  # fmt: skip


def test_generated_tables_have_the_reference_counts() -> None:
    assert T.COUNTS == REFERENCE_COUNTS
    for name, count in REFERENCE_COUNTS.items():
        if name in ("WIN_ERROR_WINDOWS", "NT_STATUS_WINDOWS"):
            text = getattr(windows_error_names, name)
            table = table_entries(text)
            assert len(text.strip().splitlines()) == count, name  # a line per variant
        else:
            table = getattr(T, name)
        assert len(table) == count, name  # no two names share a value


def test_recorded_crash_reasons_agree() -> None:
    records = json.loads(gzip.decompress((DATA / "reference_reasons.json.gz").read_bytes()))
    assert len(records) > 2200
    differing = []
    for r in records:
        info = process_minidump(build(r))["crash_info"]
        if (info["type"], info["address"]) != (r["type"], r["crash_address"]):
            differing.append((r["os"], hex(r["code"]), hex(r["flags"]), r["params"], r["type"], info["type"]))
    assert differing == []


def test_unknown_windows_code_prints_like_the_reference() -> None:
    records = json.loads(gzip.decompress((DATA / "reference_reasons.json.gz").read_bytes()))
    unknown = [r for r in records if r["os"] == "Windows NT" and r["type"].startswith("unknown ")]
    assert unknown, "the recorded set has unknown Windows codes"
    for r in unknown:
        assert r["type"] == f"unknown {r['code']:#010x}"
        assert last_error_name(r["code"]) == r["type"]


def test_every_windows_error_name_is_the_references() -> None:
    """Each winerror.h / ntstatus.h value, recorded as an exception code (generate.py), is named as the reference
    names it; values of the exception-code table print that table's name instead, which the other tests check."""
    records = json.loads(gzip.decompress((DATA / "reference_windows_errors.json.gz").read_bytes()))
    recorded = {r["code"] for r in records}
    tables = [table_entries(windows_error_names.WIN_ERROR_WINDOWS), table_entries(windows_error_names.NT_STATUS_WINDOWS)]
    assert recorded == set(tables[0]) | set(tables[1])  # every value of both tables, and nothing else
    differing = [
        (hex(r["code"]), r["type"], windows_error_text(r["code"]))
        for r in records
        if r["code"] not in T.EXCEPTION_CODE_WINDOWS and windows_error_text(r["code"]) != r["type"]
    ]
    assert differing == []
    assert sum(r["code"] not in T.EXCEPTION_CODE_WINDOWS for r in records) > 5700


def test_table_lookup_matches_whole_lines_only() -> None:
    """A value is found only as a whole hex field: 0x1 is not 0x10's or 0x21's line, and a name is never read
    as a value."""
    table = windows_error_names.WIN_ERROR_WINDOWS
    entries = table_entries(table)
    for code, name in entries.items():
        assert table_name(table, code) == name
    for code in range(0x20000):
        assert table_name(table, code) == entries.get(code)
    for code in (0xFFFFFFFF, 0x100000000, 0xC0000005, 0xE0000001):
        assert table_name(table, code) == entries.get(code)
