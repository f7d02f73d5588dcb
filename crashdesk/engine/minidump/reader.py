"""A lazy minidump reader over ``mmap`` + ``struct.unpack_from``.

Opening a dump reads only the 32-byte header and the stream directory. Every stream is decoded on first
access and cached; memory is never copied until somebody reads it. Hostile counts are bounded by the size
of the stream that holds them, so no allocation grows past the file's size.
"""

from __future__ import annotations

import mmap
import os
from functools import cached_property

from crashdesk.engine.minidump import constants as C
from crashdesk.engine.minidump._io import Buffer
from crashdesk.engine.minidump.context import CpuContext, parse_context
from crashdesk.engine.minidump.crash_reason import CrashReason, crash_reason
from crashdesk.engine.minidump.errors import (
    CorruptMinidumpError,
    MinidumpError,
    NotAMinidumpError,
    TruncatedMinidumpError,
)
from crashdesk.engine.minidump.memory import DumpMemory, MemoryRegion
from crashdesk.engine.minidump.modules import ModuleList, parse_module_list, parse_unloaded_modules
from crashdesk.engine.minidump.records import (
    AssertionInfo,
    BreakpadInfo,
    ExceptionRecord,
    HandleDescriptor,
    MemoryInfo,
    MiscInfo,
    StreamEntry,
    SystemInfo,
    Thread,
)
from crashdesk.engine.unwind.api import ModuleInfo

MAX_STREAMS = 4096
MAX_CONTEXT_BYTES = 1 << 16
THREAD_SIZE = 48
MEMORY_DESCRIPTOR_SIZE = 16


def _list_count(
    buf: Buffer, entry: StreamEntry, entry_size: int, what: str, header: int = 4
) -> tuple[int, int]:
    """(count, offset of the first entry) for a ``u32 count`` + array stream, validated against its size."""
    if entry.size < header:
        raise CorruptMinidumpError(f"{what} stream is {entry.size} bytes, too small for its count")
    count = buf.u32(entry.rva, what)
    needed = header + count * entry_size
    # The stream must hold exactly the entries, or the entries after 4 bytes of alignment padding.
    if entry.size not in (needed, needed + 4):
        raise CorruptMinidumpError(
            f"{what} claims {count} entries ({needed} bytes) but the stream holds {entry.size} bytes"
        )
    first = entry.rva + header
    if entry.size == needed + 4:
        first += 4
    return count, first


class Minidump:
    """One minidump file. Use :meth:`open` for a path (memory-mapped) or pass bytes directly."""

    def __init__(self, data, *, path: str | None = None, _mapping: mmap.mmap | None = None) -> None:
        self.path = path
        self._mapping = _mapping
        self.data = data
        self.buf = Buffer(data)
        self.notes: list[str] = []
        if self.buf.size < 32:
            if self.buf.size >= 4 and self.buf.u32(0) == C.MINIDUMP_SIGNATURE:
                raise TruncatedMinidumpError("the minidump header is truncated")
            raise NotAMinidumpError("not a minidump (file too small)" if self.buf.size else "empty file")
        sig, version, count, dir_rva, checksum, stamp, flags = self.buf.unpack("IIIIIIQ", 0, "header")
        if sig != C.MINIDUMP_SIGNATURE:
            raise NotAMinidumpError("not a minidump (no MDMP signature)")
        if version & 0xFFFF != C.MINIDUMP_VERSION:
            raise NotAMinidumpError(f"not a minidump (unknown header version {version:#x})")
        self.version = version
        self.checksum = checksum
        self.time_date_stamp = stamp
        self.flags = flags
        if count > MAX_STREAMS or dir_rva + count * 12 > self.buf.size:
            raise CorruptMinidumpError(
                f"stream directory of {count} entries at {dir_rva:#x} does not fit in the file"
            )
        entries = []
        for i in range(count):
            stype, size, rva = self.buf.unpack("III", dir_rva + 12 * i, "stream directory")
            if stype == 0:
                continue
            name = C.STREAM_NAMES.get(stype, f"unknown({stype:#x})")
            if rva + size > self.buf.size:
                self.notes.append(
                    f"{name} stream ({size} bytes at {rva:#x}) extends past the end of the file"
                )
            entries.append(StreamEntry(stype, size, rva, name))
        self.streams: list[StreamEntry] = entries
        self._by_type: dict[int, StreamEntry | None] = {}
        for e in entries:
            # As the reference: of several entries of one type the last one counts, and a stream whose bytes
            # are not all in the file is unreadable (listed, with a note, but absent) even when an earlier
            # entry of its type was readable.
            if e.type in self._by_type:
                self.notes.append(f"{e.name} stream appears more than once; the last entry is used")
            self._by_type[e.type] = e if e.rva + e.size <= self.buf.size else None

    # -- opening / closing -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike) -> Minidump:
        """Memory-map ``path`` read-only and read its header and directory (messages name it as given)."""
        p = os.fspath(path)
        try:
            with open(p, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size == 0:
                    raise NotAMinidumpError(f"{p}: empty file")
                mapping = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise MinidumpError(f"cannot read {p}: {getattr(exc, 'strerror', None) or exc}") from exc
        try:
            return cls(mapping, path=p, _mapping=mapping)
        except MinidumpError:
            mapping.close()
            raise

    @classmethod
    def from_bytes(cls, data: bytes) -> Minidump:
        return cls(bytes(data))

    def close(self) -> None:
        # Cached views hold slices (bytes copies), never buffer exports, so closing is always safe.
        if self._mapping is not None:
            self.__dict__.pop("memory", None)
            self._mapping.close()
            self._mapping = None

    def __enter__(self) -> Minidump:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- directory ---------------------------------------------------------------------------------

    def stream(self, stream_type: int) -> StreamEntry | None:
        """The first directory entry of ``stream_type``, or None."""
        return self._by_type.get(stream_type)

    def stream_bytes(self, stream_type: int, limit: int = 1 << 24) -> bytes | None:
        e = self._by_type.get(stream_type)
        if e is None:
            return None
        return self.buf.clipped(e.rva, min(e.size, limit))

    @property
    def unknown_streams(self) -> list[StreamEntry]:
        return [e for e in self.streams if e.type not in C.STREAM_NAMES]

    def _optional(self, what: str, fn):
        try:
            return fn()
        except MinidumpError as exc:
            self.notes.append(f"{what}: {exc}")
            return None

    # -- system info -------------------------------------------------------------------------------

    @cached_property
    def system_info(self) -> SystemInfo | None:
        e = self.stream(C.SYSTEM_INFO)
        if e is None:
            return None

        def parse() -> SystemInfo:
            if e.size < 32:
                raise CorruptMinidumpError("system info stream is too small")
            arch, level, rev, ncpu, ptype, major, minor, build, platform, csd_rva, suite = self.buf.unpack(
                "HHHBBIIIIIH", e.rva, "system info"
            )
            cpu_tail = self.buf.try_unpack("12sIII", e.rva + 32) if e.size >= 56 else None
            vendor, vinfo, finfo, amd = cpu_tail if cpu_tail else (b"", 0, 0, 0)
            arm_cpuid, arm_hwcaps = (
                self.buf.unpack("II", e.rva + 32, "system info") if cpu_tail is not None else (0, 0)
            )
            csd = self.buf.string(csd_rva) if csd_rva else None
            return SystemInfo(
                processor_architecture=arch,
                processor_level=level,
                processor_revision=rev,
                number_of_processors=ncpu,
                product_type=ptype,
                major_version=major,
                minor_version=minor,
                build_number=build,
                platform_id=platform,
                csd_version=csd,
                suite_mask=suite,
                # All 12 bytes, as the reference prints them (NULs included when the writer left it empty).
                vendor_id=vendor.decode("latin-1") if arch in (0, 10) else "",
                version_information=vinfo,
                feature_information=finfo,
                amd_extended_cpu_features=amd,
                cpu_arch=C.CPU_ARCH_NAMES.get(arch, "unknown"),
                arm_cpuid=arm_cpuid,
                arm_hwcaps=arm_hwcaps,
                # Unknown platforms print as the reference does: "0x" + "{:#08x}" (e.g. "0x0x006401").
                os=C.PLATFORM_NAMES.get(platform, f"0x{platform:#08x}"),
            )

        return self._optional("system info", parse)

    @property
    def cpu(self) -> str:
        """``amd64``/``x86``/``arm64``/``arm``/... from the system info, else guessed from a context."""
        si = self.system_info
        if si is not None and si.cpu_arch != "unknown":
            return si.cpu_arch
        for t in self.threads or []:
            ctx = self.thread_context(t)
            if ctx is not None:
                return ctx.cpu
        return "unknown"

    @property
    def pointer_width(self) -> int:
        """4 or 8, from the system info's CPU (8 when it is unknown, as the reference prints it)."""
        si = self.system_info
        arch = si.cpu_arch if si is not None else self.cpu
        return 4 if arch in ("x86", "arm", "ppc", "mips", "sparc") else 8

    # -- threads -----------------------------------------------------------------------------------

    @cached_property
    def threads(self) -> list[Thread] | None:
        """The thread list, or None when the stream is missing or unreadable (a note says why)."""
        e = self.stream(C.THREAD_LIST)
        if e is None:
            return None

        def parse() -> list[Thread]:
            count, off = _list_count(self.buf, e, THREAD_SIZE, "thread list")
            out = []
            for i in range(count):
                tid, susp, pclass, prio, teb, sstart, ssize, srva, csize, crva = self.buf.unpack(
                    "IIIIQQIIII", off + i * THREAD_SIZE, "thread"
                )
                out.append(Thread(tid, susp, pclass, prio, teb, sstart, ssize, srva, csize, crva))
            return out

        return self._optional("thread list", parse)

    def thread_context(self, thread: Thread) -> CpuContext | None:
        """The decoded CPU context of ``thread`` (None when absent or unsupported)."""
        return self._context_at(thread.context_rva, thread.context_size)

    def _context_at(self, rva: int, size: int) -> CpuContext | None:
        if size == 0 or rva == 0 or rva + size > self.buf.size:
            return None  # a context not wholly in the file is unreadable
        raw = self.buf.clipped(rva, min(size, MAX_CONTEXT_BYTES))
        si = self.system_info
        return parse_context(raw, si.cpu_arch if si else None)

    @cached_property
    def thread_names(self) -> dict[int, str]:
        e = self.stream(C.THREAD_NAMES)
        if e is None:
            return {}

        def parse() -> dict[int, str]:
            count, off = _list_count(self.buf, e, 12, "thread names")
            names = {}
            for i in range(count):
                tid, rva = self.buf.unpack("IQ", off + 12 * i, "thread name")
                name = self.buf.string(rva)
                if name is not None:
                    names.setdefault(tid, name)
            return names

        return self._optional("thread names", parse) or {}

    # -- modules -----------------------------------------------------------------------------------

    @cached_property
    def modules(self) -> ModuleList:
        """The module list (empty when absent or unreadable)."""
        e = self.stream(C.MODULE_LIST)
        if e is None:
            # Without a module list the unloaded modules still annotate frames, as the reference's do.
            return ModuleList([], self.unloaded_modules)
        parsed = self._optional("module list", lambda: parse_module_list(self.buf, e, self._os_name))
        return ModuleList(parsed or [], self.unloaded_modules)

    @cached_property
    def unloaded_modules(self) -> list[ModuleInfo]:
        e = self.stream(C.UNLOADED_MODULE_LIST)
        if e is None:
            return []
        return self._optional("unloaded modules", lambda: parse_unloaded_modules(self.buf, e)) or []

    @property
    def _os_name(self) -> str | None:
        si = self.system_info
        return si.os if si else None

    # -- memory ------------------------------------------------------------------------------------

    @cached_property
    def memory(self) -> DumpMemory:
        """All captured memory (memory list and memory64 list) as a ``MemoryReader``."""
        regions: list[MemoryRegion] = []
        e = self.stream(C.MEMORY_LIST)
        if e is not None:

            def parse_list() -> None:
                count, off = _list_count(self.buf, e, MEMORY_DESCRIPTOR_SIZE, "memory list")
                for i in range(count):
                    start, size, rva = self.buf.unpack("QII", off + 16 * i, "memory descriptor")
                    regions.append(MemoryRegion(start, size, rva))

            self._optional("memory list", parse_list)
        e64 = self.stream(C.MEMORY64_LIST)
        if e64 is not None:

            def parse_list64() -> None:
                if e64.size < 16:
                    raise CorruptMinidumpError("memory64 list stream is too small")
                count, base_rva = self.buf.unpack("QQ", e64.rva, "memory64 list")
                if 16 + count * 16 > e64.size:
                    raise CorruptMinidumpError(f"memory64 list claims {count} ranges in {e64.size} bytes")
                rva = base_rva
                for i in range(count):
                    start, size = self.buf.unpack("QQ", e64.rva + 16 + 16 * i, "memory64 descriptor")
                    if rva >= self.buf.size:
                        break
                    regions.append(MemoryRegion(start, size, rva))
                    rva += size

            self._optional("memory64 list", parse_list64)
        # Thread stacks are usually in the memory list too; add them in case a writer left them out.
        for t in self.threads or []:
            if t.stack_size and t.stack_rva:
                regions.append(MemoryRegion(t.stack_start, t.stack_size, t.stack_rva))
        return DumpMemory(self.data, regions)

    @cached_property
    def memory_info(self) -> list[MemoryInfo]:
        e = self.stream(C.MEMORY_INFO_LIST)
        if e is None:
            return []

        def parse() -> list[MemoryInfo]:
            hsize, esize, count = self.buf.unpack("IIQ", e.rva, "memory info list")
            if esize < 48 or hsize < 16 or hsize + count * esize > e.size:
                raise CorruptMinidumpError("memory info list sizes are inconsistent")
            out = []
            for i in range(count):
                base, abase, aprot, _a, rsize, state, prot, typ, _b = self.buf.unpack(
                    "QQIIQIIII", e.rva + hsize + i * esize, "memory info"
                )
                out.append(MemoryInfo(base, abase, aprot, rsize, state, prot, typ))
            return out

        return self._optional("memory info list", parse) or []

    # -- exception and crash reason ----------------------------------------------------------------

    @cached_property
    def exception(self) -> ExceptionRecord | None:
        e = self.stream(C.EXCEPTION)
        if e is None:
            return None

        def parse() -> ExceptionRecord:
            if e.size < 168:
                raise CorruptMinidumpError("exception stream is too small")
            tid, _align, code, flags, record, address, nparams, _unused = self.buf.unpack(
                "IIIIQQII", e.rva, "exception"
            )
            raw_params = self.buf.unpack("15Q", e.rva + 40, "exception parameters")
            params = list(raw_params)[: min(nparams, 15)]
            csize, crva = self.buf.unpack("II", e.rva + 160, "exception context")
            return ExceptionRecord(tid, code, flags, record, address, params, csize, crva, tuple(raw_params))

        return self._optional("exception", parse)

    def exception_context(self) -> CpuContext | None:
        exc = self.exception
        if exc is None:
            return None
        return self._context_at(exc.context_rva, exc.context_size)

    def crash_reason(self) -> CrashReason | None:
        """Crash type and address as ``minidump-stackwalk`` prints them; None without an exception."""
        exc = self.exception
        if exc is None:
            return None
        address = exc.address
        if self.pointer_width == 4:
            address &= 0xFFFFFFFF
        reason = crash_reason(
            self._os_name, self.cpu, exc.code, exc.flags, address, exc.parameters, list(exc.raw_parameters)
        )
        if self.pointer_width == 4:
            reason = CrashReason(reason.type, reason.address & 0xFFFFFFFF)
        return reason

    # -- misc --------------------------------------------------------------------------------------

    @cached_property
    def misc_info(self) -> MiscInfo | None:
        e = self.stream(C.MISC_INFO)
        if e is None:
            return None

        def parse() -> MiscInfo:
            if e.size < 24:
                raise CorruptMinidumpError("misc info stream is too small")
            size, flags, pid, create, user, kernel = self.buf.unpack("6I", e.rva, "misc info")
            has_pid = bool(flags & 0x1)
            has_times = bool(flags & 0x2)
            return MiscInfo(
                size,
                flags,
                pid if has_pid else None,
                create if has_times else None,
                user if has_times else None,
                kernel if has_times else None,
            )

        return self._optional("misc info", parse)

    @cached_property
    def breakpad_info(self) -> BreakpadInfo | None:
        e = self.stream(C.BREAKPAD_INFO)
        if e is None:
            return None

        def parse() -> BreakpadInfo:
            validity, dump_tid, req_tid = self.buf.unpack("III", e.rva, "breakpad info")
            return BreakpadInfo(dump_tid if validity & 1 else None, req_tid if validity & 2 else None)

        return self._optional("breakpad info", parse)

    @cached_property
    def assertion(self) -> AssertionInfo | None:
        e = self.stream(C.ASSERTION_INFO)
        if e is None:
            return None

        def parse() -> AssertionInfo:
            raw = self.buf.bytes_at(e.rva, 776, "assertion info")
            texts = [
                raw[i * 256 : (i + 1) * 256].decode("utf-16-le", errors="replace").split("\0")[0]
                for i in range(3)
            ]
            line, typ = self.buf.unpack("II", e.rva + 768, "assertion info")
            return AssertionInfo(texts[0], texts[1], texts[2], line, typ)

        return self._optional("assertion info", parse)

    @cached_property
    def handles(self) -> list[HandleDescriptor] | None:
        e = self.stream(C.HANDLE_DATA)
        if e is None:
            return None

        def parse() -> list[HandleDescriptor]:
            hsize, dsize, count, _r = self.buf.unpack("IIII", e.rva, "handle data")
            if dsize < 32 or hsize < 16 or hsize + count * dsize > e.size:
                raise CorruptMinidumpError("handle data sizes are inconsistent")
            out = []
            for i in range(count):
                h, trva, orva, attrs, access, hcount, pcount = self.buf.unpack(
                    "QIIIIII", e.rva + hsize + i * dsize, "handle"
                )
                out.append(
                    HandleDescriptor(
                        h,
                        self.buf.string(trva) if trva else None,
                        self.buf.string(orva) if orva else None,
                        attrs,
                        access,
                        hcount,
                        pcount,
                    )
                )
            return out

        return self._optional("handle data", parse)

    # -- the crashing / requesting thread ----------------------------------------------------------

    def requesting_thread_index(self) -> int | None:
        """Index into :attr:`threads` of the thread the dump is about (the crashing thread)."""
        threads = self.threads or []
        tid = None
        if self.exception is not None:
            tid = self.exception.thread_id
        elif self.breakpad_info is not None and self.breakpad_info.requesting_thread_id is not None:
            tid = self.breakpad_info.requesting_thread_id
        if tid is None:
            return None
        for i, t in enumerate(threads):
            if t.thread_id == tid:
                return i
        return None

    def dump_thread_id(self) -> int | None:
        bi = self.breakpad_info
        return bi.dump_thread_id if bi else None
