"""Crash reason and crash address strings, spelled as ``minidump-stackwalk`` spells them.

Windows exception codes (access violations split by read/write/exec, fast-fail codes of
``EXCEPTION_STACK_BUFFER_OVERRUN``), Linux signals with their ``si_code``, macOS ``EXC_*`` with codes.
"""

from __future__ import annotations

from typing import NamedTuple

from crashdesk.engine.minidump import error_tables as T
from crashdesk.engine.minidump.winerror import windows_error_text

MAC_EXCEPTIONS: dict[int, str] = {
    1: "EXC_BAD_ACCESS", 2: "EXC_BAD_INSTRUCTION", 3: "EXC_ARITHMETIC", 4: "EXC_EMULATION",
    5: "EXC_SOFTWARE", 6: "EXC_BREAKPOINT", 7: "EXC_SYSCALL", 8: "EXC_MACH_SYSCALL", 9: "EXC_RPC_ALERT",
    10: "EXC_CRASH", 11: "EXC_RESOURCE", 12: "EXC_GUARD", 13: "EXC_CORPSE_NOTIFY", 0x43507378: "SIMULATED",
}  # fmt: skip

_MAC_KERN = {1: "KERN_INVALID_ADDRESS", 2: "KERN_PROTECTION_FAILURE", 8: "KERN_NO_ACCESS",
             9: "KERN_MEMORY_FAILURE", 10: "KERN_MEMORY_ERROR", 50: "KERN_CODESIGN_ERROR"}  # fmt: skip
MAC_CODES: dict[tuple[str, str], dict[int, str]] = {
    ("EXC_BAD_ACCESS", "x86"): {**_MAC_KERN, 13: "EXC_I386_GPFLT"},
    ("EXC_BAD_ACCESS", "arm"): {**_MAC_KERN, 0x101: "EXC_ARM_DA_ALIGN", 0x102: "EXC_ARM_DA_DEBUG"},
    ("EXC_BAD_INSTRUCTION", "x86"): {1: "EXC_I386_INVOP"},
    ("EXC_BAD_INSTRUCTION", "arm"): {1: "EXC_ARM_UNDEFINED"},
    ("EXC_ARITHMETIC", "x86"): {1: "EXC_I386_DIV", 2: "EXC_I386_INTO", 3: "EXC_I386_NOEXT",
                                4: "EXC_I386_EXTOVR", 5: "EXC_I386_EXTERR", 6: "EXC_I386_EMERR",
                                7: "EXC_I386_BOUND", 8: "EXC_I386_SSEEXTERR"},
    ("EXC_ARITHMETIC", "arm"): {0: "EXC_ARM_FP_UNDEFINED", 1: "EXC_ARM_FP_IO", 2: "EXC_ARM_FP_DZ",
                                3: "EXC_ARM_FP_OF", 4: "EXC_ARM_FP_UF", 5: "EXC_ARM_FP_IX", 6: "EXC_ARM_FP_ID"},
    ("EXC_SOFTWARE", "x86"): {0x10000: "EXC_UNIX_BAD_SYSCALL", 0x10001: "EXC_UNIX_BAD_PIPE",
                              0x10002: "EXC_UNIX_ABORT", 0x10003: "EXC_SOFT_SIGNAL"},
    ("EXC_BREAKPOINT", "x86"): {1: "EXC_I386_SGL", 2: "EXC_I386_BPT"},
    ("EXC_BREAKPOINT", "arm"): {1: "EXC_ARM_BREAKPOINT"},
}  # fmt: skip
MAC_CODES[("EXC_SOFTWARE", "arm")] = MAC_CODES[("EXC_SOFTWARE", "x86")]


class CrashReason(NamedTuple):
    """What the exception stream says, formatted for ``crash_info``."""

    type: str
    address: int


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
            status = params[2] & 0xFFFFFFFF
            return CrashReason(
                f"EXCEPTION_IN_PAGE_ERROR_{kind} / " + T.NT_STATUS_WINDOWS.get(status, f"{status:#010x}"), address
            )
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


def _mac(code: int, flags: int, address: int, cpu: str) -> CrashReason:
    name = MAC_EXCEPTIONS.get(code)
    if name is None:
        return CrashReason(f"unknown {code:#010x} / {flags:#010x}", address)
    family = "arm" if cpu in ("arm", "arm64") else "x86"
    sub = MAC_CODES.get((name, family), {}).get(flags)
    if sub is None and name in ("EXC_BAD_ACCESS",):
        sub = _MAC_KERN.get(flags)
    if sub is None:
        if name == "EXC_RESOURCE" or name == "EXC_GUARD" or name == "SIMULATED":
            return CrashReason(name, address)
        sub = f"{flags:#010x}"
    return CrashReason(f"{name} / {sub}", address)


def crash_reason(
    os_name: str | None, cpu: str, code: int, flags: int, address: int, params: list[int]
) -> CrashReason:
    """The ``crash_info.type``/``address`` pair for an exception record on ``os_name``."""
    if os_name == "Windows NT":
        return _windows(code, params, address)
    if os_name in ("Mac OS X", "iOS"):
        return _mac(code, flags, address, cpu)
    if os_name in ("Linux", "Android"):
        return _linux(code, flags, address)
    return CrashReason(f"unknown {code:#010x} / {flags:#010x}", address)
