"""Bounds checks on an ELF file's section table before the native reader decompresses anything.

``symbolic`` inflates compressed debug sections (``SHF_COMPRESSED`` and ``.zdebug_*``) in memory. A hostile
file can claim a huge inflated size for a few bytes of input, or a section table far larger than the file.
These checks read only the ELF header and section headers (sizes and flags, not contents) and refuse such
files with :class:`NativeFileError` before any of that happens.
"""

from __future__ import annotations

import struct
from pathlib import Path

from crashdesk.engine.native.errors import NativeFileError

MAX_SECTIONS = 65_280  # SHN_LORESERVE: more needs the extended numbering no toolchain writes for debug files
MAX_INFLATED_BYTES = 4 << 30  # one debug section inflated to more than this is refused
MAX_RATIO = 256  # debug info compresses 3-10:1; a zero-filled bomb reaches ~1000:1
SHF_COMPRESSED = 0x800
SHT_NOBITS = 8
SHF_EXECINSTR = 0x4


def check_elf(path: Path, size: int) -> list[tuple[int, str]]:
    """Refuse a damaged or hostile ELF file; return its executable sections as (address, name)."""
    try:
        with open(path, "rb") as f:
            return _check(f, path, size)
    except OSError as exc:
        raise NativeFileError(f"{path}: cannot read ELF file: {exc.strerror or exc}") from exc
    except struct.error as exc:
        raise NativeFileError(f"{path}: truncated ELF file ({exc})") from exc


def _check(f, path: Path, size: int) -> list[tuple[int, str]]:
    ident = f.read(16)
    if len(ident) < 16:
        raise NativeFileError(f"{path}: truncated ELF header")
    cls, data = ident[4], ident[5]
    if cls not in (1, 2) or data not in (1, 2):
        raise NativeFileError(f"{path}: damaged ELF header (class {cls}, data encoding {data})")
    end = "<" if data == 1 else ">"
    is64 = cls == 2
    hdr = f.read(48 if is64 else 36)
    if len(hdr) < (48 if is64 else 36):
        raise NativeFileError(f"{path}: truncated ELF header")
    if is64:
        shoff, = struct.unpack_from(end + "Q", hdr, 24)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", hdr, 42)
    else:
        shoff, = struct.unpack_from(end + "I", hdr, 16)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", hdr, 30)
    if shoff == 0:
        return []  # no section table: nothing for the reader to inflate
    want = 64 if is64 else 40
    if shentsize != want:
        raise NativeFileError(f"{path}: damaged ELF section table (entry size {shentsize}, expected {want})")
    if shnum == 0:  # extended numbering: the count is in section 0's sh_size
        f.seek(shoff)
        first = f.read(want)
        if len(first) < want:
            raise NativeFileError(f"{path}: truncated ELF section table")
        shnum = struct.unpack_from(end + ("Q" if is64 else "I"), first, 32 if is64 else 20)[0]
    if shnum > MAX_SECTIONS:
        raise NativeFileError(f"{path}: {shnum} ELF sections, more than the {MAX_SECTIONS} a debug file has")
    if shoff + shnum * want > size:
        raise NativeFileError(f"{path}: truncated ELF file: the section table ends past the file's {size} bytes")
    f.seek(shoff)
    table = f.read(shnum * want)
    fmt = end + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    sections = [struct.unpack_from(fmt, table, i * want) for i in range(shnum)]
    names = b""
    if shstrndx < shnum:
        s = sections[shstrndx]
        if s[4] + s[5] <= size and s[5] <= 16 << 20:
            f.seek(s[4])
            names = f.read(s[5])
    executable = []
    for sec in sections:
        name_off, sh_type, flags, addr, offset, sec_size = sec[:6]
        if flags & SHF_EXECINSTR and sec_size:
            executable.append((addr, _name(names, name_off)))
        if sh_type == SHT_NOBITS or sec_size == 0:
            continue
        if offset + sec_size > size:
            name = _name(names, name_off)
            if name.startswith((".debug", ".zdebug", ".symtab", ".strtab", ".eh_frame", ".dynsym", ".dynstr")):
                raise NativeFileError(f"{path}: truncated ELF file: section {name} ends past the end of the file")
            continue
        inflated = None
        if flags & SHF_COMPRESSED:
            f.seek(offset)
            chdr = f.read(24 if is64 else 12)
            if len(chdr) < (24 if is64 else 12):
                raise NativeFileError(f"{path}: truncated compressed section header")
            inflated = struct.unpack_from(end + ("IIQ" if is64 else "III"), chdr, 0)[2]
        else:
            name = _name(names, name_off)
            if name.startswith(".zdebug"):
                f.seek(offset)
                zhdr = f.read(12)
                if len(zhdr) == 12 and zhdr[:4] == b"ZLIB":
                    inflated = struct.unpack(">Q", zhdr[4:12])[0]
        if inflated is not None and (inflated > MAX_INFLATED_BYTES or inflated > max(sec_size, 1) * MAX_RATIO):
            raise NativeFileError(
                f"{path}: compressed section {_name(names, name_off) or '?'} claims {inflated} bytes from "
                f"{sec_size} (refused: over the {MAX_RATIO}:1 / {MAX_INFLATED_BYTES >> 30} GiB limit)")
    return executable


def _name(names: bytes, off: int) -> str:
    if off >= len(names):
        return ""
    end = names.find(b"\0", off)
    return names[off: end if end >= 0 else len(names)].decode("ascii", "replace")
