"""Numeric constants of the minidump format (stream types, CPU architectures, platforms, context flags)."""

from __future__ import annotations

MINIDUMP_SIGNATURE = 0x504D444D  # "MDMP"
MINIDUMP_VERSION = 0xA793

# Stream types (Microsoft, Breakpad 0x4767xxxx "Gg", Crashpad 0x4350xxxx "CP", Mozilla 0x4d7axxxx "Mz").
STREAM_NAMES: dict[int, str] = {
    0: "UnusedStream",
    3: "ThreadListStream",
    4: "ModuleListStream",
    5: "MemoryListStream",
    6: "ExceptionStream",
    7: "SystemInfoStream",
    8: "ThreadExListStream",
    9: "Memory64ListStream",
    10: "CommentStreamA",
    11: "CommentStreamW",
    12: "HandleDataStream",
    13: "FunctionTableStream",
    14: "UnloadedModuleListStream",
    15: "MiscInfoStream",
    16: "MemoryInfoListStream",
    17: "ThreadInfoListStream",
    18: "HandleOperationListStream",
    19: "TokenStream",
    20: "JavaScriptDataStream",
    21: "SystemMemoryInfoStream",
    22: "ProcessVmCountersStream",
    23: "IptTraceStream",
    24: "ThreadNamesStream",
    0x47670001: "BreakpadInfoStream",
    0x47670002: "AssertionInfoStream",
    0x47670003: "LinuxCpuInfo",
    0x47670004: "LinuxProcStatus",
    0x47670005: "LinuxLsbRelease",
    0x47670006: "LinuxCmdLine",
    0x47670007: "LinuxEnviron",
    0x47670008: "LinuxAuxv",
    0x47670009: "LinuxMaps",
    0x4767000A: "LinuxDsoDebug",
    0x43500001: "CrashpadInfoStream",
    0x4D7A0001: "MozMacosCrashInfoStream",
    0x4D7A0002: "MozMacosBootargsStream",
    0x4D7A0003: "MozLinuxLimits",
    0x4D7A0004: "MozSoftErrors",
}

THREAD_LIST = 3
MODULE_LIST = 4
MEMORY_LIST = 5
EXCEPTION = 6
SYSTEM_INFO = 7
MEMORY64_LIST = 9
HANDLE_DATA = 12
UNLOADED_MODULE_LIST = 14
MISC_INFO = 15
MEMORY_INFO_LIST = 16
THREAD_NAMES = 24
BREAKPAD_INFO = 0x47670001
ASSERTION_INFO = 0x47670002
LINUX_CPU_INFO = 0x47670003
LINUX_PROC_STATUS = 0x47670004
LINUX_LSB_RELEASE = 0x47670005
LINUX_CMD_LINE = 0x47670006
LINUX_ENVIRON = 0x47670007
LINUX_AUXV = 0x47670008
LINUX_MAPS = 0x47670009
LINUX_DSO_DEBUG = 0x4767000A
CRASHPAD_INFO = 0x43500001
MAC_CRASH_INFO = 0x4D7A0001
MAC_BOOTARGS = 0x4D7A0002
LINUX_LIMITS = 0x4D7A0003
SOFT_ERRORS = 0x4D7A0004

# MINIDUMP_SYSTEM_INFO.processor_architecture -> the name minidump-stackwalk prints.
CPU_ARCH_NAMES: dict[int, str] = {
    0: "x86",
    1: "mips",
    3: "ppc",
    5: "arm",
    9: "amd64",
    10: "x86",  # IA32 on Win64
    12: "arm64",
    0x8001: "sparc",
    0x8002: "ppc64",
    0x8003: "arm64",  # Breakpad's pre-standard ARM64 value
    0x8004: "mips64",
}

# MINIDUMP_SYSTEM_INFO.platform_id -> OS name as printed.
PLATFORM_NAMES: dict[int, str] = {
    2: "Windows NT",
    0x8101: "Mac OS X",
    0x8102: "iOS",
    0x8201: "Linux",
    0x8202: "Solaris",
    0x8203: "Android",
    0x8204: "PS3",
    0x8205: "NaCl",
    0x8206: "Fuchsia",
}

# CPU type bits of a context's context_flags.
CONTEXT_X86 = 0x00010000
CONTEXT_AMD64 = 0x00100000
CONTEXT_ARM = 0x40000000
CONTEXT_ARM64 = 0x00400000
CONTEXT_ARM64_OLD = 0x80000000
