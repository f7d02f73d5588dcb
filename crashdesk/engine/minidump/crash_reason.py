"""Crash reason and crash address strings, spelled as ``minidump-stackwalk`` spells them.

Windows exception codes (access violations split by read/write/exec, fast-fail codes of
``EXCEPTION_STACK_BUFFER_OVERRUN``), Linux signals with their ``si_code``, macOS ``EXC_*`` with codes.
"""

from __future__ import annotations

from typing import NamedTuple

WINDOWS_EXCEPTIONS: dict[int, str] = {
    0x40010005: "DBG_CONTROL_C",
    0x80000001: "EXCEPTION_GUARD_PAGE",
    0x80000002: "EXCEPTION_DATATYPE_MISALIGNMENT",
    0x80000003: "EXCEPTION_BREAKPOINT",
    0x80000004: "EXCEPTION_SINGLE_STEP",
    0xC0000005: "EXCEPTION_ACCESS_VIOLATION",
    0xC0000006: "EXCEPTION_IN_PAGE_ERROR",
    0xC0000008: "EXCEPTION_INVALID_HANDLE",
    0xC000001D: "EXCEPTION_ILLEGAL_INSTRUCTION",
    0xC0000025: "EXCEPTION_NONCONTINUABLE_EXCEPTION",
    0xC0000026: "EXCEPTION_INVALID_DISPOSITION",
    0xC000008C: "EXCEPTION_BOUNDS_EXCEEDED",
    0xC000008D: "EXCEPTION_FLT_DENORMAL_OPERAND",
    0xC000008E: "EXCEPTION_FLT_DIVIDE_BY_ZERO",
    0xC000008F: "EXCEPTION_FLT_INEXACT_RESULT",
    0xC0000090: "EXCEPTION_FLT_INVALID_OPERATION",
    0xC0000091: "EXCEPTION_FLT_OVERFLOW",
    0xC0000092: "EXCEPTION_FLT_STACK_CHECK",
    0xC0000093: "EXCEPTION_FLT_UNDERFLOW",
    0xC0000094: "EXCEPTION_INT_DIVIDE_BY_ZERO",
    0xC0000095: "EXCEPTION_INT_OVERFLOW",
    0xC0000096: "EXCEPTION_PRIV_INSTRUCTION",
    0xC00000FD: "EXCEPTION_STACK_OVERFLOW",
    0xC0000194: "EXCEPTION_POSSIBLE_DEADLOCK",
    0xC0000374: "EXCEPTION_HEAP_CORRUPTION",
    0xC0000409: "EXCEPTION_STACK_BUFFER_OVERRUN",
    0xE0000008: "OUT_OF_MEMORY",
    0xE06D7363: "UNHANDLED_CPP_EXCEPTION",
}

# NTSTATUS values that show up as exception codes (the reference falls back to NTSTATUS names).
NTSTATUS_NAMES: dict[int, str] = {
    0x40000015: "STATUS_FATAL_APP_EXIT",
    0x80000029: "STATUS_UNWIND_CONSOLIDATE",
    0xC0000002: "STATUS_NOT_IMPLEMENTED",
    0xC000000D: "STATUS_INVALID_PARAMETER",
    0xC0000017: "STATUS_NO_MEMORY",
    0xC0000022: "STATUS_ACCESS_DENIED",
    0xC0000135: "STATUS_DLL_NOT_FOUND",
    0xC0000138: "STATUS_ORDINAL_NOT_FOUND",
    0xC0000139: "STATUS_ENTRYPOINT_NOT_FOUND",
    0xC000013A: "STATUS_CONTROL_C_EXIT",
    0xC0000142: "STATUS_DLL_INIT_FAILED",
    0xC00002B4: "STATUS_FLOAT_MULTIPLE_FAULTS",
    0xC00002B5: "STATUS_FLOAT_MULTIPLE_TRAPS",
    0xC00002C9: "STATUS_REG_NAT_CONSUMPTION",
    0xC0000417: "STATUS_INVALID_CRUNTIME_PARAMETER",
    0xC0000420: "STATUS_ASSERTION_FAILURE",
    0xC0000602: "STATUS_FAIL_FAST_EXCEPTION",
    0xC000041D: "STATUS_FATAL_USER_CALLBACK_EXCEPTION",
    0xC0000427: "STATUS_INVALID_IMAGE_HASH",
    0xC0000700: "STATUS_THREADPOOL_HANDLE_EXCEPTION",
    0xC000070A: "STATUS_THREADPOOL_RELEASED_DURING_OPERATION",
}

FAST_FAIL_CODES = (
    "LEGACY_GS_VIOLATION", "VTGUARD_CHECK_FAILURE", "STACK_COOKIE_CHECK_FAILURE", "CORRUPT_LIST_ENTRY",
    "INCORRECT_STACK", "INVALID_ARG", "GS_COOKIE_INIT", "FATAL_APP_EXIT", "RANGE_CHECK_FAILURE",
    "UNSAFE_REGISTRY_ACCESS", "GUARD_ICALL_CHECK_FAILURE", "GUARD_WRITE_CHECK_FAILURE",
    "INVALID_FIBER_SWITCH", "INVALID_SET_OF_CONTEXT", "INVALID_REFERENCE_COUNT", None, None, None,
    "INVALID_JUMP_BUFFER", "MRDATA_MODIFIED", "CERTIFICATION_FAILURE", "INVALID_EXCEPTION_CHAIN",
    "CRYPTO_LIBRARY", "INVALID_CALL_IN_DLL_CALLOUT", "INVALID_IMAGE_BASE", "DLOAD_PROTECTION_FAILURE",
    "UNSAFE_EXTENSION_CALL", "DEPRECATED_SERVICE_INVOKED", "INVALID_BUFFER_ACCESS",
    "INVALID_BALANCED_TREE", "INVALID_NEXT_THREAD", "GUARD_ICALL_CHECK_SUPPRESSED", "APCS_DISABLED",
    "INVALID_IDLE_STATE", "MRDATA_PROTECTION_FAILURE", "UNEXPECTED_HEAP_EXCEPTION", "INVALID_LOCK_STATE",
    "GUARD_JUMPTABLE", "INVALID_LONGJUMP_TARGET", "INVALID_DISPATCH_CONTEXT", "INVALID_THREAD",
    "INVALID_SYSCALL_NUMBER", "INVALID_FILE_OPERATION", "LPAC_ACCESS_DENIED", "GUARD_SS_FAILURE",
    "LOADER_CONTINUITY_FAILURE", "GUARD_EXPORT_SUPPRESSION_FAILURE", "INVALID_CONTROL_STACK",
    "SET_CONTEXT_DENIED", "INVALID_IAT", "HEAP_METADATA_CORRUPTION", "PAYLOAD_RESTRICTION_VIOLATION",
    "LOW_LABEL_ACCESS_DENIED", "ENCLAVE_CALL_FAILURE", "UNHANDLED_LSS_EXCEPTON", "ADMINLESS_ACCESS_DENIED",
    "UNEXPECTED_CALL", "CONTROL_INVALID_RETURN_ADDRESS", "UNEXPECTED_HOST_BEHAVIOR", "FLAGS_CORRUPTION",
    "VEH_CORRUPTION", "ETW_CORRUPTION", "RIO_ABORT", "INVALID_PFN",
)  # fmt: skip

LINUX_SIGNALS: dict[int, str] = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
    8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM",
    15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP",
    21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM",
    27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS", 0xFFFFFFFF: "DUMP_REQUESTED",
}  # fmt: skip

LINUX_SI_CODES: dict[int, str] = {
    0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ", -4: "SI_ASYNCIO",
    -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD", -60: "SI_ASYNCNL",
}  # fmt: skip

LINUX_SIGNAL_CODES: dict[str, dict[int, str]] = {
    "SIGILL": {1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP", 5: "ILL_PRVOPC",
               6: "ILL_PRVREG", 7: "ILL_COPROC", 8: "ILL_BADSTK", 9: "ILL_BADIADDR"},
    "SIGTRAP": {1: "TRAP_BRKPT", 2: "TRAP_TRACE", 3: "TRAP_BRANCH", 4: "TRAP_HWBKPT", 5: "TRAP_UNK",
                6: "TRAP_PERF"},
    "SIGFPE": {1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF", 5: "FPE_FLTUND",
               6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB"},
    "SIGSEGV": {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR"},
    "SIGBUS": {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"},
    "SIGSYS": {1: "SYS_SECCOMP", 2: "SYS_USER_DISPATCH"},
}  # fmt: skip

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


def _windows(code: int, params: list[int], address: int) -> CrashReason:
    name = WINDOWS_EXCEPTIONS.get(code)
    if code in (0xC0000005, 0xC0000006) and len(params) >= 2:
        kind = {0: "_READ", 1: "_WRITE", 8: "_EXEC"}.get(params[0], "")
        text = name + kind
        if code == 0xC0000006 and len(params) >= 3 and params[2] in NTSTATUS_NAMES:
            text += " / " + NTSTATUS_NAMES[params[2]]
        return CrashReason(text, params[1])
    if code == 0xC0000409 and params:
        fast = FAST_FAIL_CODES[params[0]] if params[0] < len(FAST_FAIL_CODES) else None
        suffix = f"FAST_FAIL_{fast}" if fast else f"{params[0]:#x}"
        return CrashReason(f"{name} / {suffix}", address)
    if name is None:
        name = NTSTATUS_NAMES.get(code)
    if name is None:
        from crashdesk.engine.minidump.winerror import WIN_ERRORS

        name = WIN_ERRORS.get(code)  # then Win32 error names, as the reference does
    if name is None:
        name = f"{code:#010x}"
    return CrashReason(name, address)


def _linux(code: int, flags: int, address: int) -> CrashReason:
    signal = LINUX_SIGNALS.get(code)
    if signal is None:
        return CrashReason(f"unknown {code:#010x} / {flags:#010x}", address)
    si_code = flags - (1 << 32) if flags & 0x80000000 else flags
    kind = LINUX_SIGNAL_CODES.get(signal, {}).get(si_code)
    if kind is None:
        kind = LINUX_SI_CODES.get(si_code)
    if kind is None and flags:
        kind = f"{flags:#010x}"  # an si_code the reference does not name
    return CrashReason(f"{signal} / {kind}" if kind else signal, address)


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
    if os_name in ("Linux", "Android", "Solaris"):
        return _linux(code, flags, address)
    return CrashReason(f"unknown {code:#010x} / {flags:#010x}", address)
