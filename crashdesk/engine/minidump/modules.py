"""Module list, CodeView records (debug file / debug id / code id) and the :class:`ModuleMap`."""

from __future__ import annotations

import bisect
import struct

from crashdesk.engine.minidump._io import Buffer, cstring
from crashdesk.engine.minidump.errors import CorruptMinidumpError, TruncatedMinidumpError
from crashdesk.engine.minidump.records import StreamEntry
from crashdesk.engine.unwind.api import ModuleInfo

MODULE_SIZE = 108
VS_FFI_SIGNATURE = 0xFEEF04BD
VS_FFI_STRUCVERSION = 0x00010000
CV_RSDS = 0x53445352
CV_NB10 = 0x3031424E
CV_ELF = 0x4270454C  # "BpEL" (stored as the bytes "LEpB")
MAX_CV_BYTES = 4096
MAX_UNLOADED_PROBE = 64


def basename(path: str) -> str:
    """The last component of a Windows or POSIX path."""
    cut = max(path.rfind("/"), path.rfind("\\"))
    return path[cut + 1 :] if cut >= 0 else path


def _guid_text(raw: bytes) -> str:
    d1, d2, d3 = struct.unpack_from("<IHH", raw, 0)
    return f"{d1:08X}{d2:04X}{d3:04X}{raw[8:16].hex().upper()}"


UNKNOWN_CV = "unknown"  # a CodeView location that is present but unreadable or of an unknown format


def parse_codeview(buf: Buffer, rva: int, size: int) -> tuple[str, str, str | None]:
    """(debug_file, debug_id, build id hex or None) from a CodeView record; empty strings when absent,
    build id :data:`UNKNOWN_CV` when a record is referenced but unreadable or of an unknown kind."""
    if size == 0:
        return "", "", None
    if rva + size > buf.size:
        return "", "", UNKNOWN_CV
    raw = buf.clipped(rva, min(size, MAX_CV_BYTES))
    if len(raw) < 4:
        return "", "", UNKNOWN_CV
    sig = struct.unpack_from("<I", raw, 0)[0]
    if sig == CV_RSDS and len(raw) >= 24:
        age = struct.unpack_from("<I", raw, 20)[0]
        return cstring(raw[24:]), f"{_guid_text(raw[4:20])}{age:x}", None
    if sig == CV_NB10 and len(raw) >= 16:
        _offset, stamp, age = struct.unpack_from("<III", raw, 4)
        return cstring(raw[16:]), f"{stamp:08X}{age:x}", None
    if sig == CV_ELF:
        build_id = raw[4:]
        padded = (build_id + b"\0" * 16)[:16]
        return "", f"{_guid_text(padded)}0", build_id.hex()
    return "", "", UNKNOWN_CV


_MODULE = struct.Struct("<QIIII4I36x2I")  # base, size, checksum, stamp, name, 4 version words, cv location


def parse_module_list(buf: Buffer, entry: StreamEntry, os_name: str | None) -> list[ModuleInfo]:
    """Decode MINIDUMP_MODULE_LIST into :class:`ModuleInfo` records, in dump order."""
    if entry.size < 4:
        raise CorruptMinidumpError("module list stream is too small")
    count = buf.u32(entry.rva, "module list")
    needed = 4 + count * MODULE_SIZE
    if entry.size not in (needed, needed + 4):
        raise CorruptMinidumpError(f"module list claims {count} modules but the stream holds {entry.size} bytes")
    first = entry.rva + 4 + (4 if entry.size == needed + 4 else 0)
    if first + count * MODULE_SIZE > buf.size:
        raise TruncatedMinidumpError(f"the module list ({count} modules) extends past the end of the file")
    is_windows = os_name is None or os_name.startswith("Windows")
    is_mac = os_name in ("Mac OS X", "iOS")
    data = buf.data
    out = []
    for i in range(count):
        (base, size, _checksum, stamp, name_rva, vsig, vstruc, vhi, vlo, cv_size, cv_rva) = _MODULE.unpack_from(
            data, first + i * MODULE_SIZE
        )
        if size == 0:
            continue  # an empty address range: the reference leaves the module out
        code_file = buf.string(name_rva)
        if code_file is None:
            # The reference cannot read a module whose name is unreadable, and drops the whole list.
            raise CorruptMinidumpError(f"module {i}: its name at {name_rva:#x} cannot be read")
        if cv_size and cv_rva + cv_size > buf.size:
            raise CorruptMinidumpError(f"module {i}: its CodeView record lies past the end of the file")
        debug_file, debug_id, build_id = parse_codeview(buf, cv_rva, cv_size)
        if build_id == UNKNOWN_CV:
            code_id = ""  # a CodeView record the reference cannot use: no code id at all
        elif build_id is not None:
            code_id = build_id
            debug_file = code_file
        elif not debug_id and not is_windows:
            code_id = ""  # no CodeView record outside Windows: the reference prints empty ids
        elif is_windows or not debug_id or not is_mac:
            code_id = f"{stamp:08x}{size:x}"
        else:
            code_id = debug_id[:32].lower()
        if not debug_id:
            debug_id = "0" * 33
        version = (
            f"{vhi >> 16}.{vhi & 0xFFFF}.{vlo >> 16}.{vlo & 0xFFFF}"
            if vsig == VS_FFI_SIGNATURE and vstruc == VS_FFI_STRUCVERSION
            else None
        )
        out.append(
            ModuleInfo(
                base=base,
                size=size,
                code_file=code_file,
                code_id=code_id,
                debug_file=basename(debug_file),
                debug_id=debug_id,
                version=version,
                filename=basename(code_file),
            )
        )
    return out


def parse_unloaded_modules(buf: Buffer, entry: StreamEntry) -> list[ModuleInfo]:
    """Decode MINIDUMP_UNLOADED_MODULE_LIST (a log of unload events, may overlap)."""
    hsize, esize, count = buf.unpack("III", entry.rva, "unloaded module list")
    if esize < 24 or hsize < 12 or hsize + count * esize > entry.size:
        raise CorruptMinidumpError("unloaded module list sizes are inconsistent")
    out = []
    for i in range(count):
        base, size, _checksum, stamp, name_rva = buf.unpack(
            "QIIII", entry.rva + hsize + i * esize, "unloaded"
        )
        name = buf.string(name_rva) or ""
        out.append(
            ModuleInfo(
                base=base,
                size=size,
                code_file=name,
                code_id=f"{stamp:08x}{size:x}",
                debug_file="",
                debug_id="",
                version=None,
                filename=basename(name),
            )
        )
    return out


class ModuleList:
    """The loaded modules in dump order, plus lookups by address (implements ``ModuleMap``)."""

    def __init__(self, modules: list[ModuleInfo], unloaded: list[ModuleInfo]) -> None:
        self.modules = modules
        self.unloaded = unloaded
        # The address map as the reference builds it: ranges sorted by (start, end); a module that starts
        # inside the previously kept one is not found by address (overlapping Android mappings), though it
        # stays in the module list.
        kept: list[ModuleInfo] = []
        for m in sorted((m for m in modules if 0 < m.size and m.base + m.size <= 1 << 64),
                        key=lambda m: (m.base, m.base + m.size)):  # fmt: skip
            if kept and m.base < kept[-1].base + kept[-1].size:
                continue
            kept.append(m)
        self._sorted = kept
        self._bases = [m.base for m in kept]

    def __iter__(self):
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)

    def __getitem__(self, i: int) -> ModuleInfo:
        return self.modules[i]

    def module_at(self, address: int) -> ModuleInfo | None:
        i = bisect.bisect_right(self._bases, address) - 1
        if i >= 0:
            m = self._sorted[i]
            if m.base <= address < m.base + m.size:
                return m
        return None

    def unloaded_at(self, address: int) -> list[ModuleInfo]:
        hits = [m for m in self.unloaded if m.base <= address < m.base + m.size]
        return hits[:MAX_UNLOADED_PROBE]

    @property
    def main_module(self) -> ModuleInfo | None:
        return self.modules[0] if self.modules else None
