"""``minidump-stackwalk --dump``: the raw, stream-by-stream printout of a minidump (the old ``minidump_dump``),
in the text layout of rust-minidump 0.25.0's ``print`` functions.

Pure computation over the lazy reader (:class:`~crashdesk.engine.minidump.reader.Minidump`): every structure is
read with bounds checks; a stream the reference cannot parse is left out as the reference leaves it out. Output
is built as text pieces (``render_dump`` returns the whole text).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import struct

from crashdesk.engine.minidump.errors import MinidumpError
from crashdesk.engine.minidump.reader import Minidump

# Names of MINIDUMP_STREAM_TYPE values as the reference's Debug formatting spells them.
STREAM_TYPE_NAMES = {
    0: "UnusedStream", 1: "ReservedStream0", 2: "ReservedStream1", 3: "ThreadListStream",
    4: "ModuleListStream", 5: "MemoryListStream", 6: "ExceptionStream", 7: "SystemInfoStream",
    8: "ThreadExListStream", 9: "Memory64ListStream", 10: "CommentStreamA", 11: "CommentStreamW",
    12: "HandleDataStream", 13: "FunctionTable", 14: "UnloadedModuleListStream", 15: "MiscInfoStream",
    16: "MemoryInfoListStream", 17: "ThreadInfoListStream", 18: "HandleOperationListStream", 19: "TokenStream",
    20: "JavaScriptDataStream", 21: "SystemMemoryInfoStream", 22: "ProcessVmCountersStream",
    23: "IptTraceStream", 24: "ThreadNamesStream",
    0x8000: "ceStreamNull", 0x8001: "ceStreamSystemInfo", 0x8002: "ceStreamException",
    0x8003: "ceStreamModuleList", 0x8004: "ceStreamProcessList", 0x8005: "ceStreamThreadList",
    0x8006: "ceStreamThreadContextList", 0x8007: "ceStreamThreadCallStackList",
    0x8008: "ceStreamMemoryVirtualList", 0x8009: "ceStreamMemoryPhysicalList",
    0x800A: "ceStreamBucketParameters", 0x800B: "ceStreamProcessModuleMap", 0x800C: "ceStreamDiagnosisList",
    0xFFFF: "LastReservedStream",
    0x47670001: "BreakpadInfoStream", 0x47670002: "AssertionInfoStream", 0x47670003: "LinuxCpuInfo",
    0x47670004: "LinuxProcStatus", 0x47670005: "LinuxLsbRelease", 0x47670006: "LinuxCmdLine",
    0x47670007: "LinuxEnviron", 0x47670008: "LinuxAuxv", 0x47670009: "LinuxMaps", 0x4767000A: "LinuxDsoDebug",
    0x43500001: "CrashpadInfoStream", 0x4D7A0001: "MozMacosCrashInfoStream", 0x4D7A0002: "MozMacosBootargsStream",
    0x4D7A0003: "MozLinuxLimits", 0x4D7A0004: "MozSoftErrors",
}  # fmt: skip

# Linux streams printed as raw text, in the reference's order.
RAW_TEXT_STREAMS = [
    (0x47670006, "LinuxCmdLine"), (0x47670007, "LinuxEnviron"), (0x47670005, "LinuxLsbRelease"),
    (0x47670004, "LinuxProcStatus"), (0x47670003, "LinuxCpuInfo"), (0x47670009, "LinuxMaps"),
    (0x4D7A0003, "MozLinuxLimits"), (0x4D7A0004, "MozSoftErrors"),
]  # fmt: skip

NIL_DEBUG_ID = "00000000-0000-0000-0000-000000000000"  # what the reference prints for a module without one
VS_FFI_SIGNATURE = 0xFEEF04BD
VS_FFI_STRUCVERSION = 0x10000
# A hostile dump can make the printout quadratic in its size (many memory descriptors naming the same large
# region, each hexdumped): past this many bytes of hexdump/stack text the printer stops with a typed error.
MAX_DUMP_TEXT = 256 << 20


class DumpTooLargeError(MinidumpError):
    """The --dump printout of this dump would exceed MAX_DUMP_TEXT."""


def time_t(t: int) -> str:
    """RFC 3339 UTC text of a 32-bit time_t (as the reference prints it)."""
    try:
        return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return ""


class _Dump:
    """The directory as the reference keeps it (per type, the last entry wins) and bounded raw reads."""

    def __init__(self, md: Minidump, budget: int = MAX_DUMP_TEXT) -> None:
        self.md = md
        self.budget = budget
        self.buf = md.buf
        count, dir_rva = self.buf.unpack("II", 8)[0], self.buf.unpack("I", 12)[0]
        self.directory: dict[int, tuple[int, int, int, int]] = {}  # type -> (index, type, size, rva)
        for i in range(count):
            got = self.buf.try_unpack("III", dir_rva + 12 * i)
            if got is None:
                break
            self.directory[got[0]] = (i, *got)

    def raw(self, stream_type: int) -> bytes | None:
        """A stream's bytes, or None when absent or not wholly inside the file (the reference's StreamNotFound /
        read failure)."""
        entry = self.directory.get(stream_type)
        if entry is None:
            return None
        _, _, size, rva = entry
        if rva + size > self.buf.size:
            return None
        return bytes(self.buf.data[rva : rva + size])

    def spend(self, nbytes: int) -> None:
        """Count ``nbytes`` of memory about to be printed against the output budget."""
        self.budget -= nbytes
        if self.budget < 0:
            raise DumpTooLargeError(f"the raw printout of this dump would exceed {MAX_DUMP_TEXT >> 20} MiB")

    def at(self, rva: int, size: int) -> bytes | None:
        if rva < 0 or size < 0 or rva + size > self.buf.size:
            return None
        return bytes(self.buf.data[rva : rva + size])

    def string(self, rva: int) -> str | None:
        head = self.buf.try_unpack("I", rva)
        if head is None or head[0] % 2 or rva + 4 + head[0] > self.buf.size:
            return None
        try:
            return bytes(self.buf.data[rva + 4 : rva + 4 + head[0]]).decode("utf-16-le")
        except UnicodeDecodeError:
            return None


def _name(stream_type: int) -> str:
    return STREAM_TYPE_NAMES.get(stream_type, "unknown")


def _header(d: _Dump, out: list[str]) -> None:
    sig, version, count, dir_rva, checksum, stamp, flags = d.buf.unpack("IIIIIIQ", 0, "header")
    out.append(
        f"MDRawHeader\n  signature            = {sig:#x}\n  version              = {version:#x}\n"
        f"  stream_count         = {count}\n  stream_directory_rva = {dir_rva:#x}\n"
        f"  checksum             = {checksum:#x}\n  time_date_stamp      = {stamp:#x} {time_t(stamp)}\n"
        f"  flags                = {flags:#x}\n\n"
    )
    entries = sorted(d.directory.values())
    for i, stype, size, rva in entries:
        out.append(
            f"mDirectory[{i}]\nMDRawDirectory\n  stream_type        = {stype:#x} ({_name(stype)})\n"
            f"  location.data_size = {size}\n  location.rva       = {rva:#x}\n\n"
        )
    out.append("Streams:\n")
    for i, stype, _size, _rva in sorted(entries, key=lambda e: e[1]):
        out.append(f"  stream type {stype:#x} ({_name(stype)}) at index {i}\n")
    out.append("\n")


class _SysInfo:
    def __init__(self, raw: bytes, d: _Dump) -> None:
        (self.arch, self.level, self.revision, self.nproc, self.product_type, self.major, self.minor, self.build,
         self.platform_id, self.csd_rva, self.suite_mask) = struct.unpack_from("<HHHBBIIIIIH", raw, 0)  # fmt: skip
        self.cpu_data = raw[32:56]
        self.csd = d.string(self.csd_rva)
        self.cpu_info = ""
        if self.arch in (0, 9, 10):
            text = ""
            if self.arch in (0, 10):
                text = "".join(chr(b) for b in self.cpu_data[:12]) + " "
            self.cpu_info = f"{text}family {self.level} model {(self.revision >> 8) & 0xFF} stepping {self.revision & 0xFF}"

        elif self.arch == 5:
            self.cpu_info = _arm_cpu_info(self.level, *struct.unpack_from("<II", self.cpu_data, 0))

    @property
    def pointer_bytes(self) -> int:
        # x86, x86 on Win64, PPC, SPARC, ARM, MIPS are 32-bit; the rest (and unknown CPUs) print 64-bit words
        return 4 if self.arch in (0, 10, 3, 0x8001, 5, 1) else 8

    @property
    def os(self) -> str:
        # rust-minidump numbers VER_PLATFORM_WIN32_WINDOWS 2 and VER_PLATFORM_WIN32_NT 3 (and treats both as Windows)
        return {0x2: "windows", 0x3: "windows", 0x8101: "macos", 0x8102: "ios", 0x8201: "linux",
                0x8203: "android"}.get(self.platform_id, "other")  # fmt: skip

    def print(self, out: list[str]) -> None:
        out.append(
            "MINIDUMP_SYSTEM_INFO\n"
            f"  processor_architecture                     = {self.arch:#x}\n"
            f"  processor_level                            = {self.level}\n"
            f"  processor_revision                         = {self.revision:#x}\n"
            f"  number_of_processors                       = {self.nproc}\n"
            f"  product_type                               = {self.product_type}\n"
            f"  major_version                              = {self.major}\n"
            f"  minor_version                              = {self.minor}\n"
            f"  build_number                               = {self.build}\n"
            f"  platform_id                                = {self.platform_id:#x}\n"
            f"  csd_version_rva                            = {self.csd_rva:#x}\n"
            f"  suite_mask                                 = {self.suite_mask:#x}\n"
            f"  (version)                                  = {self.major}.{self.minor}.{self.build} {self.csd or ''}\n"
            f"  (cpu_info)                                 = {self.cpu_info}\n\n"
        )


_ARM_VENDORS = {0x41: "ARM", 0x51: "Qualcomm", 0x56: "Marvell", 0x69: "Intel/Marvell"}
_ARM_PARTS = {0x4100C050: "Cortex-A5", 0x4100C080: "Cortex-A8", 0x4100C090: "Cortex-A9", 0x4100C0F0: "Cortex-A15",
              0x4100C140: "Cortex-R4", 0x4100C150: "Cortex-R5", 0x4100B360: "ARM1136", 0x4100B560: "ARM1156",
              0x4100B760: "ARM1176", 0x4100B020: "ARM11-MPCore", 0x41009260: "ARM926", 0x41009460: "ARM946",
              0x41009660: "ARM966", 0x510006F0: "Krait", 0x510000F0: "Scorpion"}  # fmt: skip
_ARM_HWCAPS = ["swp", "half", "thumb", "26bit", "fastmult", "fpa", "vfpv2", "edsp", "java", "iwmmxt", "crunch",
               "thumbee", "neon", "vfpv3", "vfpv3d16", "tls", "vfpv4", "idiva", "idivt"]  # fmt: skip


def _arm_cpu_info(level: int, cpuid: int, hwcaps: int) -> str:
    text = f"ARMv{level}"
    if cpuid:
        vendor, part = (cpuid >> 24) & 0xFF, cpuid & 0xFF00FFF0
        text += f" {_ARM_VENDORS[vendor]}" if vendor in _ARM_VENDORS else f" vendor({vendor:#x})"
        text += f" {_ARM_PARTS[part]}" if part in _ARM_PARTS else f" part({part:#x})"
    if hwcaps & ((1 << 21) - 1):  # the bits the reference knows (bits 0-20)
        text += " features: " + ",".join(n for i, n in enumerate(_ARM_HWCAPS) if hwcaps & (1 << i))
    return text


# The CPU bits of context_flags the reference knows (ContextFlagsCpu); others are dropped before comparing.
_KNOWN_CPU_FLAGS = (0x80000 | 0x20000 | 0x100000 | 0x40000000 | 0x400000 | 0x80000000 | 0x40000 | 0x20000000
                    | 0x1000000 | 0x10000000 | 0x10000)  # fmt: skip


def _cpu_flags(flags: int) -> int:
    return flags & 0xFFFFFF00 & _KNOWN_CPU_FLAGS


def _context(raw: bytes | None, si: _SysInfo | None) -> list[str] | None:
    """The context's printout lines (as one string list), or None when the reference cannot read it."""
    if raw is None or si is None:
        return None
    arch = si.arch
    if arch in (0, 10) and len(raw) >= 716:
        v = struct.unpack_from("<7I7I", raw, 0)
        if _cpu_flags(v[0]) != 0x10000:
            return None
        area = raw[56:136]
        cr0 = struct.unpack_from("<I", raw, 136)[0]
        regs = struct.unpack_from("<16I", raw, 140)
        ext = raw[204:716]
        names = ["gs", "fs", "es", "ds", "edi", "esi", "ebx", "edx", "ecx", "eax", "ebp", "eip", "cs", "eflags",
                 "esp", "ss"]  # fmt: skip
        head = ["context_flags", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7", "float_save.control_word",
                "float_save.status_word", "float_save.tag_word", "float_save.error_offset",
                "float_save.error_selector", "float_save.data_offset", "float_save.data_selector"]  # fmt: skip
        s = ["CONTEXT_X86\n"]
        s += [f"  {n:<28} = {val:#x}\n" for n, val in zip(head, v, strict=True)]
        s.append(f"  float_save.register_area[80] = 0x{area.hex()}\n")
        s.append(f"  float_save.cr0_npx_state     = {cr0:#x}\n")
        s += [f"  {n:<28} = {val:#x}\n" for n, val in zip(names, regs, strict=True)]
        s.append(f"  extended_registers[512]      = 0x{ext.hex()}\n\n")
        return s
    if arch == 9 and len(raw) >= 1232:
        homes = struct.unpack_from("<6Q", raw, 0)
        flags, mxcsr = struct.unpack_from("<II", raw, 48)
        if _cpu_flags(flags) != 0x100000:
            return None
        segs = struct.unpack_from("<6H", raw, 56)
        eflags = struct.unpack_from("<I", raw, 68)[0]
        drs = struct.unpack_from("<6Q", raw, 72)
        gprs = struct.unpack_from("<17Q", raw, 120)
        vals = [*homes, flags, mxcsr, *segs, eflags, *drs, *gprs]
        names = ["p1_home", "p2_home", "p3_home", "p4_home", "p5_home", "p6_home", "context_flags", "mx_csr", "cs",
                 "ds", "es", "fs", "gs", "ss", "eflags", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7", "rax", "rcx",
                 "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                 "rip"]  # fmt: skip
        s = ["CONTEXT_AMD64\n"] + [f"  {n:<13} = {val:#x}\n" for n, val in zip(names, vals, strict=True)]
        s.append("\n")
        return s
    if arch == 5 and len(raw) >= 368:
        flags = struct.unpack_from("<I", raw, 0)[0]
        if _cpu_flags(flags) != 0x40000000:
            return None
        iregs = struct.unpack_from("<16I", raw, 4)
        cpsr = struct.unpack_from("<I", raw, 68)[0]
        fpscr = struct.unpack_from("<Q", raw, 72)[0]
        fregs = struct.unpack_from("<32Q", raw, 80)
        extra = struct.unpack_from("<8I", raw, 336)
        s = ["CONTEXT_ARM\n", f"  context_flags       = {flags:#x}\n"]
        s += [f"  iregs[{i:2}]            = {r:#x}\n" for i, r in enumerate(iregs)]
        s.append(f"  cpsr                = {cpsr:#x}\n  float_save.fpscr     = {fpscr:#x}\n")
        s += [f"  float_save.regs[{i:2}] = {r:#x}\n" for i, r in enumerate(fregs)]
        s += [f"  float_save.extra[{i:2}] = {r:#x}\n" for i, r in enumerate(extra)]
        return s
    if arch == 12 and len(raw) >= 912:
        flags, cpsr = struct.unpack_from("<II", raw, 0)
        if _cpu_flags(flags) != 0x400000:
            return None
        iregs = struct.unpack_from("<31Q", raw, 8)
        sp, pc = struct.unpack_from("<QQ", raw, 256)
        fl = [int.from_bytes(raw[272 + 16 * i : 288 + 16 * i], "little") for i in range(32)]
        fpcr, fpsr = struct.unpack_from("<II", raw, 784)
        bcr = struct.unpack_from("<8I", raw, 792)
        bvr = struct.unpack_from("<8Q", raw, 824)
        wcr = struct.unpack_from("<2I", raw, 888)
        wvr = struct.unpack_from("<2Q", raw, 896)
        s = _arm64_common("CONTEXT_ARM64", flags, iregs, sp, pc, cpsr, fpsr, fpcr, fl)
        s += [f"  bcr[{i:2}] = {r:#x}\n" for i, r in enumerate(bcr)]
        s += [f"  bvr[{i:2}] = {r:#x}\n" for i, r in enumerate(bvr)]
        s += [f"  wcr[{i:2}] = {r:#x}\n" for i, r in enumerate(wcr)]
        s += [f"  wvr[{i:2}] = {r:#x}\n" for i, r in enumerate(wvr)]
        return s
    if arch == 0x8003 and len(raw) >= 796:
        flags = struct.unpack_from("<Q", raw, 0)[0]
        if _cpu_flags(flags & 0xFFFFFFFF) != 0x80000000:
            return None
        iregs = struct.unpack_from("<31Q", raw, 8)
        sp, pc, cpsr, fpsr, fpcr = struct.unpack_from("<QQIII", raw, 256)
        fl = [int.from_bytes(raw[284 + 16 * i : 300 + 16 * i], "little") for i in range(32)]
        return _arm64_common("CONTEXT_ARM64_OLD", flags, iregs, sp, pc, cpsr, fpsr, fpcr, fl)
    if arch == 1 and len(raw) >= 600:
        flags = struct.unpack_from("<I", raw, 0)[0]
        if _cpu_flags(flags) != 0x40000:
            return None
        iregs = struct.unpack_from("<32Q", raw, 8)
        s = ["CONTEXT_MIPS\n", f"  context_flags       = {flags:#x}\n"]
        for name, index in _MIPS_PRINTED:
            s.append(f"  {name}                = {iregs[index]:#x}\n")
        return s
    return None


_MIPS_PRINTED = [("s0", 16), ("s1", 17), ("s2", 18), ("s3", 19), ("s4", 20), ("s5", 21), ("s6", 22), ("s7", 23),
                 ("gp", 28), ("sp", 29), ("fp", 30), ("ra", 31)]  # fmt: skip


def _arm64_common(title, flags, iregs, sp, pc, cpsr, fpsr, fpcr, fl) -> list[str]:
    s = [f"{title}\n", f"  context_flags        = {flags:#x}\n"]
    s += [f"  x{i:<2}                  = {r:#x}\n" for i, r in enumerate(iregs[:29])]
    s.append(f"  x29 (fp)             = {iregs[29]:#x}\n  x30 (lr)             = {iregs[30]:#x}\n")
    s.append(f"  sp                   = {sp:#x}\n  pc                   = {pc:#x}\n")
    s.append(
        f"  cpsr                 = {cpsr:#x}\n  fpsr                 = {fpsr:#x}\n  fpcr                 = {fpcr:#x}\n"
    )
    s += [f"  d{i:<2} = {r:#x}\n" for i, r in enumerate(fl)]
    return s


def _hexdump(data: bytes, out: list[str]) -> None:
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        hexpart = "".join(f"{b:02x} " for b in chunk) + "   " * (16 - len(chunk))
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        out.append(f"    {off:08x}: {hexpart}{text}\n")


class _Memory:
    """The memory list the thread printout resolves stacks with (Memory64List preferred, as the reference)."""

    def __init__(self, d: _Dump) -> None:
        self.regions: list[tuple[int, int, int]] = []  # (address, size, rva) ; rva -1 for none
        self.kind = None
        self.entries: list[tuple] = []
        self._starts: list[int] | None = None
        self._ranges: list[tuple[int, int, int, int]] = []
        raw64 = d.raw(9)
        raw = d.raw(5)
        if raw64 is not None and len(raw64) >= 16:
            count, rva = struct.unpack_from("<QQ", raw64, 0)
            if len(raw64) == 16 + count * 16:
                entries = []
                for i in range(count):
                    start, size = struct.unpack_from("<QQ", raw64, 16 + 16 * i)
                    if rva + size > d.buf.size:
                        entries = None
                        break
                    entries.append((start, size, rva))
                    rva += size
                if entries is not None:
                    self.kind, self.entries = 64, entries
        offsets = _list(raw, 16)
        if self.kind is None and offsets is not None:
            self.kind = 32
            for off in offsets:
                start, size, rva = struct.unpack_from("<QII", raw, off)
                if rva and size and rva + size <= d.buf.size:  # the reference drops unreadable regions
                    self.entries.append((start, size, rva))

    def at(self, d: _Dump, address: int) -> bytes | None:
        """The region holding ``address``, looked up as the reference's range map is built: ranges sorted by
        (start, end), each kept only when it starts past the end of the last kept one."""
        if self._starts is None:
            self._starts, self._ranges = [], []
            ranges = sorted(  # a stable sort on the range alone, as the reference's
                (((start, start + size - 1), rva, size) for start, size, rva in self.entries
                 if size and start + size < 1 << 64),
                key=lambda r: r[0],
            )  # fmt: skip
            last_end = -1
            for (start, end), rva, size in ranges:
                if self._starts and start <= last_end:
                    continue
                self._starts.append(start)
                self._ranges.append((start, end + 1, rva, size))
                last_end = end
        i = bisect.bisect_right(self._starts, address)
        if i:
            start, end, rva, size = self._ranges[i - 1]
            if address < end:
                return d.at(rva, size)
        return None


def _list(raw: bytes | None, entry: int) -> list[int] | None:
    """Offsets of a u32-counted list's entries, or None when the reference refuses the stream: it must be
    exactly the entries, or the entries plus 4 bytes of padding after the count."""
    if raw is None or len(raw) < 4:
        return None
    count = struct.unpack_from("<I", raw, 0)[0]
    counted = 4 + entry * count
    if len(raw) == counted:
        first = 4
    elif len(raw) == counted + 4:
        first = 8
    else:
        return None
    return [first + entry * i for i in range(count)]


def _threads(d: _Dump, mem: _Memory, si: _SysInfo | None, brief: bool, out: list[str]) -> None:
    offsets = _list(d.raw(3), 48)
    if offsets is None:
        return
    raw = d.raw(3)
    out.append(f"MinidumpThreadList\n  thread_count = {len(offsets)}\n\n")
    width = si.pointer_bytes if si else 8
    for i, off in enumerate(offsets):
        tid, susp, pclass, prio, teb, start, ssize, srva, csize, crva = struct.unpack_from(
            "<IIIIQQIIII", raw, off
        )
        out.append(
            f"thread[{i}]\nMINIDUMP_THREAD\n  thread_id                   = {tid:#x}\n"
            f"  suspend_count               = {susp}\n  priority_class              = {pclass:#x}\n"
            f"  priority                    = {prio:#x}\n  teb                         = {teb:#x}\n"
            f"  stack.start_of_memory_range = {start:#x}\n  stack.memory.data_size      = {ssize:#x}\n"
            f"  stack.memory.rva            = {srva:#x}\n  thread_context.data_size    = {csize:#x}\n"
            f"  thread_context.rva          = {crva:#x}\n\n"
        )
        ctx = _context(d.at(crva, csize), si)
        out.extend(ctx if ctx is not None else ["  (no context)\n\n"])
        if brief:
            out.append("\n")
            continue
        stack = d.at(srva, ssize) if srva and ssize else None
        if stack is None:
            stack = mem.at(d, start)
        if stack is not None:
            out.append("Stack\n")
            d.spend(len(stack) * 3)
            fmt, w = ("<I", 10) if width == 4 else ("<Q", 18)
            for o in range(0, len(stack) - width + 1, width):
                out.append(f"    {o:#010x}: {struct.unpack_from(fmt, stack, o)[0]:#0{w}x}\n")
        else:
            out.append("No stack\n")
        out.append("\n")


def _debug_id(guid: bytes, age: int) -> str:
    d1, d2, d3 = struct.unpack_from("<IHH", guid, 0)
    text = f"{d1:08x}-{d2:04x}-{d3:04x}-{guid[8:10].hex()}-{guid[10:16].hex()}"
    return f"{text}-{age:x}" if age else text


def _modules(d: _Dump, si: _SysInfo | None, out: list[str]) -> None:
    raw = d.raw(4)
    offsets = _list(raw, 108)
    if offsets is None:
        return
    os_name = si.os if si else "other"
    # A module with a zero or overflowing size is skipped (and the rest renumbered); one whose name or CodeView
    # record cannot be read makes the reference reject the whole list.
    kept = []
    for off in offsets:
        base, size = struct.unpack_from("<QI", raw, off)
        if size and base + size <= (1 << 64) - 1:
            kept.append(off)
    mark = len(out)
    out.append(f"MinidumpModuleList\n  module_count = {len(kept)}\n\n")
    for i, off in enumerate(kept):
        base, size, checksum, stamp, name_rva = struct.unpack_from("<QIIII", raw, off)
        vi = struct.unpack_from("<13I", raw, off + 24)
        cv_size, cv_rva, misc_size, misc_rva = struct.unpack_from("<IIII", raw, off + 76)
        name = d.string(name_rva)
        cv = d.at(cv_rva, cv_size) if cv_size else None
        kind = None
        if cv is not None:
            sig = struct.unpack_from("<I", cv, 0)[0] if len(cv) >= 4 else None
            need = {0x53445352: 24, 0x3031424E: 16, 0x4270454C: 4}.get(sig, 4)
            if len(cv) >= need:
                kind = {0x53445352: "pdb70", 0x3031424E: "pdb20", 0x4270454C: "elf"}.get(sig, "unknown")
        if name is None or (cv_size and kind is None):
            del out[mark:]
            return
        code_id = ""
        debug_file = ""
        debug_id = ""
        if kind == "pdb70" and os_name in ("macos", "ios"):
            code_id = _debug_id(cv[4:20], 0).replace("-", "")
        elif kind in ("pdb70", "pdb20") or (kind is None and os_name == "windows"):
            code_id = f"{stamp:08x}{size:x}"
        elif kind == "elf" and any(cv[4:]):
            code_id = cv[4:].hex()
        out.append(
            f"module[{i}]\nMINIDUMP_MODULE\n  base_of_image                   = {base:#x}\n"
            f"  size_of_image                   = {size:#x}\n  checksum                        = {checksum:#x}\n"
            f"  time_date_stamp                 = {stamp:#x} {time_t(stamp)}\n"
            f"  module_name_rva                 = {name_rva:#x}\n"
            f"  version_info.signature          = {vi[0]:#x}\n  version_info.struct_version     = {vi[1]:#x}\n"
            f"  version_info.file_version       = {vi[2]:#x}:{vi[3]:#x}\n"
            f"  version_info.product_version    = {vi[4]:#x}:{vi[5]:#x}\n"
            f"  version_info.file_flags_mask    = {vi[6]:#x}\n  version_info.file_flags         = {vi[7]:#x}\n"
            f"  version_info.file_os            = {vi[8]:#x}\n  version_info.file_type          = {vi[9]:#x}\n"
            f"  version_info.file_subtype       = {vi[10]:#x}\n"
            f"  version_info.file_date          = {vi[11]:#x}:{vi[12]:#x}\n"
            f"  cv_record.data_size             = {cv_size}\n  cv_record.rva                   = {cv_rva:#x}\n"
            f"  misc_record.data_size           = {misc_size}\n  misc_record.rva                 = {misc_rva:#x}\n"
            f'  (code_file)                     = "{name}"\n  (code_identifier)               = "{code_id}"\n'
        )
        if kind == "pdb70":
            age = struct.unpack_from("<I", cv, 20)[0]
            pdb = _cstr(cv[24:])
            debug_file = pdb
            debug_id = _debug_id(cv[4:20], age) if any(cv[4:20]) else ""
            out.append(
                "  (cv_record).cv_signature        = 0x53445352\n"
                f"  (cv_record).signature           = {_debug_id(cv[4:20], 0)}\n"
                f"  (cv_record).age                 = {age}\n"
                f'  (cv_record).pdb_file_name       = "{pdb}"\n'
            )
        elif kind == "pdb20":
            off2, sig2, age = struct.unpack_from("<III", cv, 4)
            pdb = _cstr(cv[16:])
            debug_file, debug_id = pdb, f"{sig2:08X}" + (f"-{age:x}" if age else "")
            out.append(
                f"  (cv_record).cv_header.signature = 0x3031424e\n  (cv_record).cv_header.offset    = {off2:#x}\n"
                f"  (cv_record).signature           = {sig2:#x} {time_t(sig2)}\n"
                f"  (cv_record).age                 = {age}\n"
                f'  (cv_record).pdb_file_name       = "{pdb}"\n'
            )
        elif kind == "elf":
            build = cv[4:]
            debug_file = name
            if any(build):
                g = (build + bytes(16))[:16]
                debug_id = _debug_id(g, 0)
            out.append(
                f"  (cv_record).cv_signature        = 0x4270454c\n  (cv_record).build_id            = {build.hex()}\n"
            )
        elif kind == "unknown":
            out.append(f"  (cv_record)                     = {cv.hex()}\n")
        else:
            out.append("  (cv_record)                     = (null)\n")
        out.append("  (misc_record)                   = (null)\n")
        version = ""
        if vi[0] == VS_FFI_SIGNATURE and vi[1] == VS_FFI_STRUCVERSION:
            if os_name in ("macos", "ios", "windows"):
                version = f"{vi[2] >> 16}.{vi[2] & 0xFFFF}.{vi[3] >> 16}.{vi[3] & 0xFFFF}"
            else:
                version = f"{vi[2]}.{vi[3]}.{vi[4]}.{vi[5]}"
        out.append(
            f'  (debug_file)                    = "{debug_file}"\n'
            f'  (debug_identifier)              = "{debug_id or NIL_DEBUG_ID}"\n'
            f'  (version)                       = "{version}"\n\n'
        )


def _cstr(raw: bytes) -> str:
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode("utf-8", errors="replace")


def _ex_list(raw: bytes | None, entry: int) -> list[int] | None:
    """Entry offsets of a header-sized list (u32 header size, u32 entry size, u32 count), as the reference reads
    it: the entry size must be exactly ``entry``, the header at least 12 bytes; None when refused."""
    if raw is None or len(raw) < 12:
        return None
    hsize, esize, count = struct.unpack_from("<III", raw, 0)
    if esize != entry or hsize < 12 or hsize + esize * count > len(raw):
        return None
    return [hsize + esize * i for i in range(count)]


def _unloaded(d: _Dump, out: list[str]) -> None:
    raw = d.raw(14)
    offsets = _ex_list(raw, 24)
    if offsets is None:
        return
    rows = []
    for off in offsets:
        base, size, checksum, stamp, name_rva = struct.unpack_from("<QIIII", raw, off)
        name = d.string(name_rva)
        if size == 0 or base + size > (1 << 64) - 1 or name is None:
            return  # the reference rejects the whole list
        rows.append((base, size, checksum, stamp, name_rva, name))
    out.append(f"MinidumpUnloadedModuleList\n  module_count = {len(rows)}\n\n")
    for i, (base, size, checksum, stamp, name_rva, name) in enumerate(rows):
        out.append(
            f"module[{i}]\nMINIDUMP_UNLOADED_MODULE\n  base_of_image                   = {base:#x}\n"
            f"  size_of_image                   = {size:#x}\n  checksum                        = {checksum:#x}\n"
            f"  time_date_stamp                 = {stamp:#x} {time_t(stamp)}\n"
            f"  module_name_rva                 = {name_rva:#x}\n"
            f'  (code_file)                     = "{name}"\n'
            f'  (code_identifier)               = "{stamp:08x}{size:x}"\n'
        )


def _memory_list(d: _Dump, mem: _Memory, brief: bool, out: list[str]) -> None:
    if mem.kind is None:
        return
    is64 = mem.kind == 64
    out.append(
        f"{'MinidumpMemory64List' if is64 else 'MinidumpMemoryList'}\n  region_count = {len(mem.entries)}\n\n"
    )
    for i, (start, size, rva) in enumerate(mem.entries):
        if is64:
            out.append(f"region[{i}]\nMINIDUMP_MEMORY_DESCRIPTOR64\n  start_of_memory_range = {start:#x}\n"
                       f"  memory.data_size      = {size:#x}\n")  # fmt: skip
        else:
            out.append(f"region[{i}]\nMINIDUMP_MEMORY_DESCRIPTOR\n  start_of_memory_range = {start:#x}\n"
                       f"  memory.data_size      = {size:#x}\n  memory.rva            = {rva:#x}\n")  # fmt: skip
        if not brief:
            out.append("Memory\n")
            d.spend(size * 5)
            _hexdump(d.at(rva, size) or b"", out)
        out.append("\n")


_PROTECTION_BITS = 0x7FF  # PAGE_NOACCESS .. PAGE_WRITECOMBINE
_STATE_BITS = 0x13000  # MEM_COMMIT, MEM_RESERVE, MEM_FREE
_TYPE_BITS = 0x1060000  # MEM_PRIVATE, MEM_MAPPED, MEM_IMAGE


def _memory_info(d: _Dump, out: list[str]) -> None:
    raw = d.raw(16)
    offsets = _ex_list(raw, 48)
    if offsets is None:
        return
    out.append(f"MinidumpMemoryInfoList\n  region_count = {len(offsets)}\n\n")
    for i, off in enumerate(offsets):
        base, abase, aprot, _a, rsize, state, prot, typ = struct.unpack_from("<QQIIQIII", raw, off)
        # printed as the reference's flag sets: only the bits it names survive
        aprot, prot, state, typ = (
            aprot & _PROTECTION_BITS,
            prot & _PROTECTION_BITS,
            state & _STATE_BITS,
            typ & _TYPE_BITS,
        )
        out.append(
            f"region[{i}]\nMINIDUMP_MEMORY_INFO\n  base_address          = {base:#x}\n"
            f"  allocation_base       = {abase:#x}\n  allocation_protection = {aprot:#x}\n"
            f"  region_size           = {rsize:#x}\n  state                 = {state:#x}\n"
            f"  protection            = {prot:#x}\n  _type                 = {typ:#x}\n\n"
        )


def _exception(d: _Dump, si: _SysInfo | None, out: list[str]) -> None:
    raw = d.raw(6)
    if raw is None or len(raw) < 168:
        return
    tid, _al, code, flags, rec, addr, nparams = struct.unpack_from("<IIIIQQI", raw, 0)
    info = struct.unpack_from("<15Q", raw, 40)
    csize, crva = struct.unpack_from("<II", raw, 160)
    out.append(
        f"MINIDUMP_EXCEPTION\n  thread_id                                  = {tid:#x}\n"
        f"  exception_record.exception_code            = {code:#x}\n"
        f"  exception_record.exception_flags           = {flags:#x}\n"
        f"  exception_record.exception_record          = {rec:#x}\n"
        f"  exception_record.exception_address         = {addr:#x}\n"
        f"  exception_record.number_parameters         = {nparams}\n"
    )
    for i in range(min(nparams, 15)):
        out.append(f"  exception_record.exception_information[{i:2}] = {info[i]:#x}\n")
    out.append(f"  thread_context.data_size                   = {csize}\n"
               f"  thread_context.rva                         = {crva:#x}\n")  # fmt: skip
    ctx = _context(d.at(crva, csize), si)
    if ctx is not None:
        out.append("\n")
        out.extend(ctx)
    else:
        out.append("  (no context)\n\n    ")


def _breakpad(d: _Dump, out: list[str]) -> None:
    raw = d.raw(0x47670001)
    if raw is None or len(raw) < 12:
        return
    validity, dump_tid, req_tid = struct.unpack_from("<III", raw, 0)
    a = f"{dump_tid:#x}" if validity & 1 else "(invalid)"
    b = f"{req_tid:#x}" if validity & 2 else "(invalid)"
    out.append(f"MINIDUMP_BREAKPAD_INFO\n  validity             = {validity:#x}\n  dump_thread_id       = {a}\n"
               f"  requesting_thread_id = {b}\n\n")  # fmt: skip


def _thread_names(d: _Dump, out: list[str]) -> None:
    raw = d.raw(24)
    offsets = _list(raw, 12)
    if offsets is None:
        return
    names: dict[int, str] = {}
    for off in offsets:
        tid, rva = struct.unpack_from("<IQ", raw, off)
        s = d.string(rva)
        if s is not None:
            names[tid] = s
    out.append(f"MinidumpThreadNames\n  thread_count = {len(names)}\n\n")
    for i, (tid, name) in enumerate(sorted(names.items())):
        out.append(
            f'thread_name[{i}]\nMINIDUMP_THREAD_NAME\n  thread_id = {tid:#x}\n  name      = "{name}"\n\n'
        )


def _misc(d: _Dump) -> tuple[list[str], bool]:
    raw = d.raw(15)
    if raw is None or len(raw) < 24:
        return [], False
    size_of_info, flags1 = struct.unpack_from("<II", raw, 0)
    version = 1
    for v, need in ((5, 1364), (4, 832), (3, 232), (2, 44)):
        if len(raw) >= need:  # the largest layout the stream's size holds (size_of_info is not consulted)
            version = v
            break

    def u32(off, ver, flag):
        if version < ver or (flag and not flags1 & flag):
            return None
        return struct.unpack_from("<I", raw, off)[0]

    s = ["MINIDUMP_MISC_INFO\n", f"  {'size_of_info':29}= {size_of_info}\n", f"  {'flags1':29}= {flags1:x}\n"]
    fields = [("process_id", 8, 1, 1, "d")]
    pid = u32(8, 1, 1)
    s.append(f"  {'process_id':29}= {pid if pid is not None else '(invalid)'}\n")
    ct = u32(12, 1, 2)
    s.append(
        f"  process_create_time          = {f'{ct:#x} {time_t(ct)}' if ct is not None else '(invalid)'}\n"
    )
    fields = [("process_user_time", 16, 1, 2, "d"), ("process_kernel_time", 20, 1, 2, "d"),
              ("processor_max_mhz", 24, 2, 4, "d"), ("processor_current_mhz", 28, 2, 4, "d"),
              ("processor_mhz_limit", 32, 2, 4, "d"), ("processor_max_idle_state", 36, 2, 4, "d"),
              ("processor_current_idle_state", 40, 2, 4, "d"), ("process_integrity_level", 44, 3, 0x10, "d"),
              ("process_execute_flags", 48, 3, 0x20, "x"), ("protected_process", 52, 3, 0x80, "d"),
              ("time_zone_id", 56, 3, 0x40, "d")]  # fmt: skip
    for name, off, ver, flag, f in fields:
        v = u32(off, ver, flag)
        s.append(f"  {name:29}= {format(v, f) if v is not None else '(invalid)'}\n")
    s.append("  time_zone                    = ")
    if version >= 3 and flags1 & 0x40:
        bias = struct.unpack_from("<i", raw, 60)[0]
        sname = _utf16z(raw[64:128])
        sbias = struct.unpack_from("<i", raw, 144)[0]
        dname = _utf16z(raw[148:212])
        dbias = struct.unpack_from("<i", raw, 228)[0]
        s.append(f"\n    bias          = {bias}\n    standard_name = {sname}\n"
                 f"    standard_date = {_systime(raw[128:144])}\n    standard_bias = {sbias}\n"
                 f"    daylight_name = {dname}\n    daylight_date = {_systime(raw[212:228])}\n"
                 f"    daylight_bias = {dbias}\n")  # fmt: skip
    else:
        s.append("(invalid)\n")
    has_build = version >= 4 and flags1 & 0x100
    s.append(f"  build_string                 = {_utf16z(raw[232:752]) if has_build else '(invalid)'}\n")
    s.append(f"  dbg_bld_str                  = {_utf16z(raw[752:832]) if has_build else '(invalid)'}\n")
    s.append("  xstate_data                  = ")
    if version >= 5:
        s.append("\n")
        enabled = struct.unpack_from("<Q", raw, 840)[0]
        for i in range(64):
            if enabled & (1 << i):
                off, size = struct.unpack_from("<II", raw, 848 + 8 * i)
                label = _XSTATE_NAMES.get(i)
                head = (
                    f"    feature {i:2} - {label:22}: "
                    if label
                    else f"    feature {i:2} - (unknown)           : "
                )
                s.append(f"{head} offset {off:4}, size {size:4}\n")
    else:
        s.append("(invalid)\n")
    cookie = u32(1360, 5, 0x200)
    s.append(f"  {'process_cookie':29}= {cookie if cookie is not None else '(invalid)'}\n\n")
    return s, True


_XSTATE_NAMES = {
    0: "LEGACY_FLOATING_POINT",
    1: "LEGACY_SSE",
    2: "GSSE_AND_AVX",
    3: "MPX_BNDREGS",
    4: "MPX_BNDCSR",
    5: "AVX512_KMASK",
    6: "AVX512_ZMM_H",
    7: "ACK512_ZMM",
    8: "XSTATE_IPT",
    62: "XSTATE_LWP",
}  # the reference's names (its spelling), the other indices print as unknown


def _utf16z(raw: bytes) -> str:
    units = [raw[i : i + 2] for i in range(0, len(raw) - 1, 2)]
    out = b""
    for u in units:
        if u == b"\0\0":
            break
        out += u
    try:
        return out.decode("utf-16-le")
    except UnicodeDecodeError:
        return "(invalid)"


def _systime(raw: bytes) -> str:
    """A SYSTEMTIME as RFC 3339 (UTC), or ``<invalid date>`` (the reference's calendar checks: year 0 is a
    valid year, month 1-12, a day of that month, hour < 24, minute/second < 60, milliseconds < 1000)."""
    year, month, _dow, day, hour, minute, second, ms = struct.unpack_from("<8H", raw, 0)
    # The reference narrows month, day, hour, minute and second to a byte before checking them.
    month, day, hour, minute, second = month & 0xFF, day & 0xFF, hour & 0xFF, minute & 0xFF, second & 0xFF
    if not (1 <= month <= 12 and hour < 24 and minute < 60 and second < 60 and ms < 1000) or year > 9999:
        return "<invalid date>"
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    if not 1 <= day <= days:
        return "<invalid date>"
    frac = f".{ms:03}".rstrip("0").rstrip(".") if ms else ""
    return f"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}Z"


def _raw_text(d: _Dump, out: list[str]) -> None:
    for stype, name in RAW_TEXT_STREAMS:
        raw = d.raw(stype)
        if raw is None:
            continue
        text = "\\0\n".join(part.decode("utf-8", errors="replace") for part in raw.split(b"\0"))
        out.append(f"Stream {name}:\n{text}\n\n")


def _utf8_string(d: _Dump, rva: int, terminated: bool = True) -> str | None:
    """A u32-length-prefixed UTF-8 string (followed by a NUL when ``terminated``), or None."""
    head = d.buf.try_unpack("I", rva)
    if head is None:
        return None
    end = rva + 4 + head[0]
    if end + (1 if terminated else 0) > d.buf.size or (terminated and d.buf.data[end] != 0):
        return None
    try:
        return bytes(d.buf.data[rva + 4 : end]).decode("utf-8")
    except UnicodeDecodeError:
        return None


class _Refused(Exception):
    """The reference rejects the stream (it prints nothing for it, or its 'invalid data' line)."""


def _loc(d: _Dump, size: int, rva: int) -> bytes:
    got = d.at(rva, size)
    if got is None:
        raise _Refused
    return got


def _counted(d: _Dump, size: int, rva: int, entry: str) -> list[tuple]:
    """A Crashpad array at ``rva``: a u32 count, then that many ``entry`` records (none for an empty location)."""
    data = _loc(d, size, rva)
    if not data:
        return []
    if len(data) < 4:
        raise _Refused
    count = struct.unpack_from("<I", data, 0)[0]
    step = struct.calcsize(entry)
    if 4 + step * count > len(data):
        raise _Refused
    return [struct.unpack_from(entry, data, 4 + step * i) for i in range(count)]


def _crashpad_dict(d: _Dump, size: int, rva: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in _counted(d, size, rva, "<II"):
        key, value = _utf8_string(d, k), _utf8_string(d, v)
        if key is None or value is None:
            raise _Refused
        out[key] = value
    return out


def _crashpad(d: _Dump, out: list[str]) -> None:
    if 0x43500001 not in d.directory:
        return
    raw = d.raw(0x43500001)
    try:
        if raw is None or len(raw) < 52:  # listed but not inside the file: invalid, not absent
            raise _Refused
        version = struct.unpack_from("<I", raw, 0)[0]
        if version == 0:
            raise _Refused
        ssize, srva, msize, mrva = struct.unpack_from("<IIII", raw, 36)
        simple = _crashpad_dict(d, ssize, srva)
        lines = [f"MDRawCrashpadInfo\n  version = {version}\n  report_id = {_debug_id(raw[4:20], 0)}\n"
                 f"  client_id = {_debug_id(raw[20:36], 0)}\n"]  # fmt: skip
        lines += [f'  simple_annotations["{k}"] = {v}\n' for k, v in sorted(simple.items())]
        links = _loc(d, msize, mrva)
        if links:
            if len(links) < 4:
                raise _Refused
            count = struct.unpack_from("<I", links, 0)[0]
            if 4 + 12 * count > d.buf.size:
                raise _Refused
            for i in range(count):
                if 4 + 12 * i + 12 > len(links):
                    raise _Refused
                index, lsize, lrva = struct.unpack_from("<III", links, 4 + 12 * i)
                info = d.buf.try_unpack("7I", lrva)
                if info is None:
                    raise _Refused
                mver, la_size, la_rva, sa_size, sa_rva, ao_size, ao_rva = info
                lst = _crashpad_list(d, la_size, la_rva)
                msimple = _crashpad_dict(d, sa_size, sa_rva)
                objects = _crashpad_objects(d, ao_size, ao_rva)
                lines.append(f"  module_list[{i}].minidump_module_list_index = {index}\n"
                             f"  module_list[{i}].version = {mver}\n")  # fmt: skip
                lines += [f"  module_list[{i}].list_annotations[{j}] = {a}\n" for j, a in enumerate(lst)]
                lines += [
                    f'  module_list[{i}].simple_annotations["{k}"] = {v}\n'
                    for k, v in sorted(msimple.items())
                ]
                lines += [
                    f'  module_list[{i}].annotation_objects["{k}"] = {v}\n'
                    for k, v in sorted(objects.items())
                ]
        lines.append("\n")
        out.extend(lines)
    except _Refused:
        out.append("MinidumpCrashpadInfo cannot print invalid data")


def _crashpad_list(d: _Dump, size: int, rva: int) -> list[str]:
    out = []
    for (at,) in _counted(d, size, rva, "<I"):
        s = _utf8_string(d, at)
        if s is None:
            raise _Refused
        out.append(s)
    return out


def _crashpad_objects(d: _Dump, size: int, rva: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for name_rva, typ, _res, value_rva in _counted(d, size, rva, "<IHHI"):
        key = _utf8_string(d, name_rva)
        if key is None:
            raise _Refused
        if typ == 0:
            out[key] = "<invalid>"
        elif typ == 1:
            value = _utf8_string(d, value_rva, terminated=False)
            if value is None:
                raise _Refused
            out[key] = value
        elif typ >= 0x8000:
            out[key] = "<user defined>"
        else:
            out[key] = "<unsupported>"
    return out


def _mac_crash_info(d: _Dump, out: list[str]) -> None:
    raw = d.raw(0x4D7A0001)
    if raw is None or len(raw) < 12 + 20 * 8:
        return
    _stype, count, start = struct.unpack_from("<III", raw, 0)
    records = []
    prev = None
    for i in range(min(count, 20)):
        size, rva = struct.unpack_from("<II", raw, 12 + 8 * i)
        rec = d.at(rva, size)
        if rec is None or len(rec) < 16:
            return
        version = struct.unpack_from("<Q", rec, 8)[0]
        if prev is not None and prev != version:
            return
        prev = version
        if version == 0:
            continue  # the reference reads no layout for version 0: the record is left out
        fixed = 40 if version >= 5 else 32 if version >= 4 else 16
        if len(rec) < fixed or fixed > start:
            return
        strings = []
        off = start
        for _ in range(5 if version >= 4 else 0):  # version 1-3 records carry no strings
            end = rec.find(b"\0", off)
            if end < 0:
                return
            try:
                strings.append(rec[off:end].decode("utf-8"))
            except UnicodeDecodeError:
                return
            off = end + 1
        strings += [""] * (5 - len(strings))
        thread = dialog = abort = None
        if version >= 4:
            thread, dialog = struct.unpack_from("<QQ", rec, 16)
        if version >= 5:
            abort = struct.unpack_from("<Q", rec, 32)[0]
        records.append((version, thread, dialog, strings, abort))
    lines = ["MINIDUMP_MAC_CRASH_INFO\n", f"  num_records = {len(records)}\n"]
    for i, (version, thread, dialog, strings, abort) in enumerate(records):
        lines.append(f"\n  RECORD[{i}] \n")

        def field(name, value, fmt="d"):
            # the reference prints a zero (or absent) field as empty
            lines.append(f"    {name:18}= {format(value, fmt) if value else ''}\n")

        field("version", version)  # a version of 0 prints empty too
        field("thread", thread)
        field("dialog_mode", dialog, "x")
        for name, text in zip(("module_path", "message", "signature_string", "backtrace", "message2"), strings,
                              strict=True):  # fmt: skip
            lines.append(f"    {name:18}= {text}\n")
        field("abort_cause", abort, "x")
    lines.append("\n")
    out.extend(lines)


def _mac_bootargs(d: _Dump, out: list[str]) -> None:
    raw = d.raw(0x4D7A0002)
    if raw is None or len(raw) < 12:
        return
    rva = struct.unpack_from("<Q", raw, 4)[0]
    out.append(f"mac_boot_args = {d.string(rva) or ''}\n\n")


def _assertion(d: _Dump, out: list[str]) -> None:
    raw = d.raw(0x47670002)
    if raw is None or len(raw) < 776:
        return
    expr, func, file = _utf16z(raw[0:256]), _utf16z(raw[256:512]), _utf16z(raw[512:768])
    line, typ = struct.unpack_from("<II", raw, 768)
    out.append(
        f"MDAssertion\n  expression                                 = {expr}\n"
        f"  function                                   = {func}\n"
        f"  file                                       = {file}\n"
        f"  line                                       = {line}\n"
        f"  type                                       = {typ}\n\n"
    )


_HANDLE_INFO_TYPES = ["MiniHandleObjectInformationNone", "MiniThreadInformation1", "MiniMutantInformation1",
                      "MiniMutantInformation2", "MiniProcessInformation1", "MiniProcessInformation2",
                      "MiniEventInformation1", "MiniSectionInformation1", "MiniSemaphoreInformation1",
                      "MiniHandleObjectInformationTypeMax"]  # fmt: skip


def _handles(d: _Dump, out: list[str]) -> None:
    raw = d.raw(12)
    if raw is None or len(raw) < 12:
        return
    hsize, dsize, count = struct.unpack_from("<III", raw, 0)
    if (count and dsize not in (32, 40)) or hsize + dsize * count > len(raw):
        return  # (an empty list is printed whatever its entry size says)
    lines = [f"MinidumpHandleDataStream\n  handle_count = {count}\n\n"]
    for i in range(count):
        off = hsize + dsize * i
        handle, type_rva, name_rva, attrs, access, hcount, pcount = struct.unpack_from("<QIIIIII", raw, off)
        info_rva = struct.unpack_from("<I", raw, off + 32)[0] if dsize == 40 else None
        infos = []
        seen = set()
        next_rva = info_rva or 0
        while next_rva and next_rva not in seen:  # a loop in the chain would hang the reference; not us
            seen.add(next_rva)
            got = d.buf.try_unpack("III", next_rva)
            if got is None or got[1] >= len(_HANDLE_INFO_TYPES):
                break
            infos.append(f"{{raw: MINIDUMP_HANDLE_OBJECT_INFORMATION {{ next_info_rva: {got[0]}, info_type: {got[1]}, "
                         f"size_of_info: {got[2]} }}, type: {_HANDLE_INFO_TYPES[got[1]]}}}")  # fmt: skip
            next_rva = got[0]
        tname = d.string(type_rva) if type_rva else None
        oname = d.string(name_rva) if name_rva else None
        lines.append(
            f"handle[{i}]\nMINIDUMP_HANDLE_DESCRIPTOR\n  {'handle':18}= {handle:#x}\n"
            f"  {'type_name_rva':18}= {type_rva:#x}\n  {'object_name_rva':18}= {name_rva:#x}\n"
            f"  {'attributes':18}= {attrs:#x}\n  {'granted_access':18}= {access:#x}\n"
            f"  {'handle_count':18}= {hcount}\n  {'pointer_count':18}= {pcount}\n"
            f"  {'object_info_rva':18}= {'(invalid)' if info_rva is None else f'{info_rva:#x}'}\n"
            f"  (type_name)       = {tname if tname is not None else '(null)'}\n"
            f"  (object_name)     = {oname if oname is not None else '(null)'}\n"
        )
        if infos:
            lines += [f"  (object_info)     = {x}\n" for x in infos]
        else:
            lines.append("  (object_info)     = (null)\n")
        lines.append("\n")
    out.extend(lines)


def render_dump(md: Minidump, *, brief: bool = False, budget: int = MAX_DUMP_TEXT) -> str:
    """The ``--dump`` printout of ``md`` (``brief``: no memory hexdumps, no stacks). Raises
    :class:`DumpTooLargeError` when the memory it would print passes ``budget`` bytes of text."""
    d = _Dump(md, budget)
    out: list[str] = []
    _header(d, out)
    si_raw = d.raw(7)
    si = _SysInfo(si_raw, d) if si_raw is not None and len(si_raw) >= 56 else None
    mem = _Memory(d)
    misc, _ = _misc(d)
    _threads(d, mem, si, brief, out)
    _modules(d, si, out)
    _unloaded(d, out)
    _handles(d, out)
    _memory_list(d, mem, brief, out)
    _memory_info(d, out)
    _exception(d, si, out)
    _assertion(d, out)
    if si is not None:
        si.print(out)
    out.extend(misc)
    _thread_names(d, out)
    _breakpad(d, out)
    _crashpad(d, out)
    _mac_crash_info(d, out)
    _mac_bootargs(d, out)
    _raw_text(d, out)
    return "".join(out)
