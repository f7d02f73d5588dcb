"""An ELF file's function symbols (``.symtab``, else ``.dynsym``) as module-relative addresses.

``symbolic``'s SymCache answers only for addresses inside a symbol's size; Breakpad (and so the reference
stackwalker) names any address after a symbol-table entry by the nearest one at or below it (``PUBLIC``
records have no size). This list lets a lookup in such a gap answer as the reference does. Only the symbol
table is read (bounded by the section table :mod:`~crashdesk.engine.native.elfcheck` checked first).
"""

from __future__ import annotations

import struct
from pathlib import Path

MAX_SYMBOLS = 5_000_000
STT_FUNC, STT_GNU_IFUNC = 2, 10
SHT_SYMTAB, SHT_DYNSYM, PT_LOAD = 2, 11, 1


def function_symbols(path: Path) -> list[tuple[int, str]]:
    """Sorted (rva, raw name) of defined function symbols; empty when the file has none or is odd."""
    import mmap

    try:
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # only the symbol table's pages are read
    except (OSError, ValueError):
        return []
    try:
        view = memoryview(data)
        try:
            return _read(view)
        finally:
            view.release()
    except (struct.error, IndexError, ValueError):
        return []
    finally:
        data.close()


def _read(buf: memoryview) -> list[tuple[int, str]]:
    is64 = buf[4] == 2
    end = "<" if buf[5] == 1 else ">"
    if is64:
        phoff, shoff = struct.unpack_from(end + "QQ", buf, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(end + "HHHH", buf, 54)
    else:
        phoff, shoff = struct.unpack_from(end + "II", buf, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(end + "HHHH", buf, 42)
    load = None
    for i in range(phnum):
        off = phoff + i * phentsize
        if is64:
            p_type, _flags, _offset, vaddr = struct.unpack_from(end + "IIQQ", buf, off)
        else:
            p_type, _offset, vaddr = struct.unpack_from(end + "III", buf, off)
        if p_type == PT_LOAD and (load is None or vaddr < load):
            load = vaddr
    load = load or 0
    fmt = end + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    sections = [struct.unpack_from(fmt, buf, shoff + i * shentsize) for i in range(shnum)]
    table = next((s for s in sections if s[1] == SHT_SYMTAB), None) or \
        next((s for s in sections if s[1] == SHT_DYNSYM), None)
    if table is None or table[5] == 0:
        return []
    strtab = sections[table[6]]
    str_off, str_size = strtab[4], strtab[5]
    entsize = 24 if is64 else 16
    count = min(table[5] // entsize, MAX_SYMBOLS)
    out: dict[int, str] = {}
    base = table[4]
    for i in range(1, count):
        off = base + i * entsize
        if is64:
            name_off, info, _other, shndx, value, _size = struct.unpack_from(end + "IBBHQQ", buf, off)
        else:
            name_off, value, _size, info, _other, shndx = struct.unpack_from(end + "IIIBBH", buf, off)
        if (info & 0xF) not in (STT_FUNC, STT_GNU_IFUNC) or shndx == 0 or value == 0 or name_off >= str_size:
            continue
        start = str_off + name_off
        chunk = bytes(buf[start: start + 4096])
        stop = chunk.find(b"\0")
        name = chunk[: stop if stop >= 0 else 0].decode("utf-8", "replace")
        if name and value >= load:
            out.setdefault(value - load, name)
    return sorted(out.items())
