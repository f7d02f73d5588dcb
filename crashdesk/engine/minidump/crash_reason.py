"""Crash reason and crash address strings, spelled as ``minidump-stackwalk`` spells them.

Windows exception codes (access violations split by read/write/exec, fast-fail codes of
``EXCEPTION_STACK_BUFFER_OVERRUN``), Linux signals with their ``si_code``, macOS ``EXC_*`` with codes; and
Windows error codes (an exception code outside the reference's list, a thread's ``GetLastError`` value as read
from its TEB) by their winerror.h / ntstatus.h names.
"""

from __future__ import annotations

from crashdesk.engine.minidump import error_tables as T
from crashdesk.engine.record_class import Record


class CrashReason(Record, frozen=True, slots=True):
    """What the exception stream says, formatted for ``crash_info``."""

    type: str
    address: int


# -- Windows error codes -------------------------------------------------------------------------------------

def table_name(table: str, code: int) -> str | None:
    """The name of ``code`` in one of ``windows_error_names``' tables (a line ``<value in hex> <NAME>`` each), or
    None."""
    key = f"\n{code:x} "
    start = table.find(key)
    if start < 0:
        return None
    start += len(key)
    return table[start : table.index("\n", start)]


def table_entries(table: str) -> dict[int, str]:
    """Every value of one of ``windows_error_names``' tables with its name, in the table's order."""
    pairs = (line.split(" ") for line in table.splitlines() if line)
    return {int(value, 16): name for value, name in pairs}


def windows_error_text(code: int) -> str:
    """A Windows error code as the reference names it: winerror.h, else ntstatus.h, else a winerror.h code
    under a known facility (``FACILITY_VISUALCPP / ERROR_MOD_NOT_FOUND``), else ``unknown 0x...``."""
    from crashdesk.engine.minidump.windows_error_names import (  # 5,800 names
        NT_STATUS_WINDOWS,
        WIN_ERROR_WINDOWS,
    )

    name = table_name(WIN_ERROR_WINDOWS, code) or table_name(NT_STATUS_WINDOWS, code)
    if name is not None:
        return name
    if code & 0xF0000000:
        facility = T.WIN_ERROR_FACILITY_WINDOWS.get((code & 0x0FFF0000) >> 16)
        error = table_name(WIN_ERROR_WINDOWS, code & 0xFFFF)
        if facility is not None and error is not None:
            return f"{facility} / {error}"
    return f"unknown {code:#010x}"


def last_error_name(code: int) -> str:
    """A thread's last error value as the reference prints it."""
    return windows_error_text(code)


# -- crash reasons -------------------------------------------------------------------------------------------

_WINDOWS_SPECIAL = {"OUT_OF_MEMORY": "Out of Memory", "UNHANDLED_CPP_EXCEPTION": "Unhandled C++ Exception",
                    "SIMULATED": "Simulated Exception"}  # fmt: skip


def _windows(code: int, params: list[int], address: int) -> CrashReason:
    """As the reference: an exception code of its list, else a winerror.h / ntstatus.h name (with refinements
    for access violations, in-page errors and fast-fail stack buffer overruns), else ``unknown 0x...``."""
    name = T.EXCEPTION_CODE_WINDOWS.get(code)
    if name is None:
        text = windows_error_text(code)
        if text == "STATUS_STACK_BUFFER_OVERRUN" and params:  # a __fastfail(): its code is the first parameter
            fast = params[0] & 0xFFFFFFFF
            text = "EXCEPTION_STACK_BUFFER_OVERRUN / " + T.FAST_FAIL_CODE.get(fast, f"{fast:#010x}")
        return CrashReason(text, address)
    if name in ("EXCEPTION_ACCESS_VIOLATION", "EXCEPTION_IN_PAGE_ERROR") and len(params) >= 2:
        address = params[1]
    if name == "EXCEPTION_ACCESS_VIOLATION" and params:
        kind = T.EXCEPTION_CODE_WINDOWS_ACCESS_TYPE.get(params[0])
        if kind is not None:
            return CrashReason(f"EXCEPTION_ACCESS_VIOLATION_{kind}", address)
    if name == "EXCEPTION_IN_PAGE_ERROR" and len(params) >= 3:
        kind = T.EXCEPTION_CODE_WINDOWS_IN_PAGE_ERROR_TYPE.get(params[0])
        if kind is not None:
            from crashdesk.engine.minidump.windows_error_names import NT_STATUS_WINDOWS  # a big table

            status = params[2] & 0xFFFFFFFF
            status_name = table_name(NT_STATUS_WINDOWS, status) or f"{status:#010x}"
            return CrashReason(f"EXCEPTION_IN_PAGE_ERROR_{kind} / {status_name}", address)
    return CrashReason(_WINDOWS_SPECIAL.get(name, name), address)


_LINUX_KINDS = {
    "SIGILL": T.EXCEPTION_CODE_LINUX_SIGILL_KIND,
    "SIGTRAP": T.EXCEPTION_CODE_LINUX_SIGTRAP_KIND,
    "SIGFPE": T.EXCEPTION_CODE_LINUX_SIGFPE_KIND,
    "SIGSEGV": T.EXCEPTION_CODE_LINUX_SIGSEGV_KIND,
    "SIGBUS": T.EXCEPTION_CODE_LINUX_SIGBUS_KIND,
    "SIGSYS": T.EXCEPTION_CODE_LINUX_SIGSYS_KIND,
}


def _linux(code: int, flags: int, address: int) -> CrashReason:
    signal = T.EXCEPTION_CODE_LINUX.get(code)
    if signal is None:
        return CrashReason(f"unknown {code:#010x} / {flags:#010x}", address)
    kind = _LINUX_KINDS.get(signal, {}).get(flags)
    if kind is not None:
        return CrashReason(f"{signal} / {kind}", address)
    si_code = T.EXCEPTION_CODE_LINUX_SICODE.get(flags - (1 << 32) if flags & 0x80000000 else flags)
    if si_code == "SI_USER":
        return CrashReason(signal, address)
    return CrashReason(f"{signal} / {si_code or f'{flags:#010x}'}", address)


_MAC_REFINE = {  # exception -> CPU family -> code table
    "EXC_BAD_ACCESS": {"arm64": T.EXCEPTION_CODE_MAC_BAD_ACCESS_ARM_TYPE, "ppc": T.EXCEPTION_CODE_MAC_BAD_ACCESS_PPC_TYPE,
                       "x86": T.EXCEPTION_CODE_MAC_BAD_ACCESS_X86_TYPE},
    "EXC_BAD_INSTRUCTION": {"arm64": T.EXCEPTION_CODE_MAC_BAD_INSTRUCTION_ARM_TYPE,
                            "ppc": T.EXCEPTION_CODE_MAC_BAD_INSTRUCTION_PPC_TYPE,
                            "x86": T.EXCEPTION_CODE_MAC_BAD_INSTRUCTION_X86_TYPE},
    "EXC_ARITHMETIC": {"arm64": T.EXCEPTION_CODE_MAC_ARITHMETIC_ARM_TYPE, "ppc": T.EXCEPTION_CODE_MAC_ARITHMETIC_PPC_TYPE,
                       "x86": T.EXCEPTION_CODE_MAC_ARITHMETIC_X86_TYPE},
    "EXC_BREAKPOINT": {"arm64": T.EXCEPTION_CODE_MAC_BREAKPOINT_ARM_TYPE, "ppc": T.EXCEPTION_CODE_MAC_BREAKPOINT_PPC_TYPE,
                       "x86": T.EXCEPTION_CODE_MAC_BREAKPOINT_X86_TYPE},
}  # fmt: skip
_MAC_FAMILY = {"arm64": "arm64", "ppc": "ppc", "x86": "x86", "amd64": "x86"}


def _hex16(value: int) -> str:
    return f"{value:#018x}"


def _mac_resource(kind: str, code: int, subcode: int) -> str:
    flavor = (code >> 58) & 0x7
    head = f"EXC_RESOURCE / {kind} / "
    raw = f"{_hex16(code)} / {_hex16(subcode)}"
    if kind == "RESOURCE_TYPE_CPU":
        name = T.EXCEPTION_CODE_MAC_RESOURCE_CPU_FLAVOR.get(flavor)
        if name is None:
            return head + raw
        return head + (f"{name} interval: {(code >> 7) & 0x1FFFFFF}s CPU limit: {code & 0x7}% "
                       f"CPU consumed: {subcode & 0x7}%")  # fmt: skip
    if kind == "RESOURCE_TYPE_WAKEUPS":
        name = T.EXCEPTION_CODE_MAC_RESOURCE_WAKEUPS_FLAVOR.get(flavor)
        if name is None:
            return head + raw
        return head + (f"{name} interval: {(code >> 20) & 0xFFFFF}s wakeups permitted: {code & 0xFFF} "
                       f"wakeups observed: {subcode & 0xFFF}")  # fmt: skip
    if kind == "RESOURCE_TYPE_MEMORY":
        name = T.EXCEPTION_CODE_MAC_RESOURCE_MEMORY_FLAVOR.get(flavor)
        return head + (f"{name} high watermark limit: {code & 0x1FFF}MiB" if name else raw)
    if kind == "RESOURCE_TYPE_IO":
        name = T.EXCEPTION_CODE_MAC_RESOURCE_IO_FLAVOR.get(flavor)
        if name is None:
            return head + raw
        return head + (f"{name} interval: {(code >> 15) & 0x1FFFF}s I/O limit: {code & 0x7FFF}% "
                       f"I/O observed: {subcode & 0x7FFF}%")  # fmt: skip
    name = T.EXCEPTION_CODE_MAC_RESOURCE_THREADS_FLAVOR.get(flavor)  # RESOURCE_TYPE_THREADS
    return head + (f"{name} high watermark limit: {code & 0x7FFF}" if name else raw)


def _mac_guard(kind: str, code: int, subcode: int) -> str:
    flavor = (code >> 32) & 0x1FFFFFFF
    head = f"EXC_GUARD / {kind}"
    raw = f" / {_hex16(code)} / {_hex16(subcode)}"
    if kind == "GUARD_TYPE_NONE":
        return head
    if kind == "GUARD_TYPE_USER":
        return head + f"/ namespace: {code & 0xFFFFFFFF} guard identifier: {subcode}"
    if kind == "GUARD_TYPE_MACH_PORT":
        name = T.EXCEPTION_CODE_MAC_GUARD_MACH_PORT_FLAVOR.get(flavor)
        if name is None:
            return head + raw
        text = f" / {name} port name: {code & 0xFFFFFFF}"
        return head + text + (f" subcode: {subcode}" if subcode else "")
    if kind == "GUARD_TYPE_FD":
        name = T.EXCEPTION_CODE_MAC_GUARD_FD_FLAVOR.get(flavor)
        return head + (f" / {name} file descriptor: {code & 0xFFFFFFF} guard identifier: {subcode}" if name else raw)
    if kind == "GUARD_TYPE_VN":
        name = T.EXCEPTION_CODE_MAC_GUARD_VN_FLAVOR.get(flavor)
        return head + (f" / {name} pid: {code & 0xFFFFFFF} guard identifier: {subcode}" if name else raw)
    if kind == "GUARD_TYPE_VIRT_MEMORY":
        name = T.EXCEPTION_CODE_MAC_GUARD_VIRT_MEMORY_FLAVOR.get(flavor)
        return head + (f" / {name} offset: {subcode}" if name else raw)
    name = T.EXCEPTION_CODE_MAC_GUARD_REJECTE_SYS_CALL_FLAVOR.get(flavor)  # GUARD_TYPE_REJECTED_SC
    return head + (f" / {name} syscall: {subcode}" if name else raw)


def _mac(code: int, flags: int, address: int, cpu: str, raw_params: list[int]) -> CrashReason:
    """As the reference: the Mach exception, refined by its code for the CPU family (kernel return codes first
    for EXC_BAD_ACCESS); EXC_RESOURCE and EXC_GUARD decoded from the first two exception parameters."""
    name = T.EXCEPTION_CODE_MAC.get(code)
    if name is None:
        return CrashReason(f"unknown {code:#010x} / {flags:#010x}", address)
    family = _MAC_FAMILY.get(cpu)
    sub = None
    if name == "EXC_BAD_ACCESS":
        sub = T.EXCEPTION_CODE_MAC_BAD_ACCESS_KERN_TYPE.get(flags)
    if sub is None and name in _MAC_REFINE and family is not None:
        sub = _MAC_REFINE[name][family].get(flags)
    if name == "EXC_SOFTWARE":
        sub = T.EXCEPTION_CODE_MAC_SOFTWARE_TYPE.get(flags)
    info = list(raw_params) + [0] * (3 - len(raw_params))
    if name == "EXC_RESOURCE":
        kind = T.EXCEPTION_CODE_MAC_RESOURCE_TYPE.get((flags >> 29) & 0x7)
        if kind is not None:
            return CrashReason(_mac_resource(kind, info[1], info[2]), address)
    if name == "EXC_GUARD":
        kind = T.EXCEPTION_CODE_MAC_GUARD_TYPE.get((flags >> 29) & 0x7)
        if kind is not None:
            return CrashReason(_mac_guard(kind, info[1], info[2]), address)
    if sub is not None:
        return CrashReason(f"{name} / {sub}", address)
    if name == "SIMULATED":
        return CrashReason("Simulated Exception", address)
    return CrashReason(f"{name} / {flags:#010x}", address)


def crash_reason(
    os_name: str | None,
    cpu: str,
    code: int,
    flags: int,
    address: int,
    params: list[int],
    raw_params: list[int] | None = None,
) -> CrashReason:
    """The ``crash_info.type``/``address`` pair for an exception record on ``os_name``. ``params`` are the
    record's parameters (``number_parameters`` of them); ``raw_params`` all 15 slots, whatever that count."""
    if os_name == "Windows NT":
        return _windows(code, params, address)
    if os_name in ("Mac OS X", "iOS"):
        return _mac(code, flags, address, cpu, raw_params if raw_params is not None else params)
    if os_name in ("Linux", "Android"):
        return _linux(code, flags, address)
    return CrashReason(f"unknown {code:#010x} / {flags:#010x}", address)
