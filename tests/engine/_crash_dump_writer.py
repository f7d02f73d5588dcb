"""Writes small amd64 (or other CPU) minidumps around one faulting instruction, for the crash_info instruction
fields: a system info, one thread with its stack, an exception stream with the crashing context, the code bytes
at the instruction pointer as a memory region, and optionally a memory info list (Windows) or a Linux maps
stream. The reference ``minidump-stackwalk`` and CrashDesk both read these."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tests.engine._minidump_writer import ARCH, PLATFORM, _context, _Out, _string

LINUX_MAPS = 0x47670009
MEMORY_INFO_LIST = 16
EXCEPTION = 6


@dataclass
class CrashCase:
    """One faulting instruction: ``code`` at ``regs['rip']`` (or the CPU's pc), the exception
    ``(code, flags, address, params)``, memory regions and memory protection info."""

    code: bytes
    regs: dict[str, int]
    exception: tuple[int, int, int, tuple[int, ...]]
    cpu: str = "amd64"
    os_name: str = "Linux"
    stack_base: int = 0x7FFF_0000_0000
    stack: bytes = b"\0" * 256
    extra_memory: list[tuple[int, bytes]] = field(default_factory=list)
    memory_info: list[tuple[int, int, int]] | None = None  # (base, size, protect); Windows MEMORY_INFO_LIST
    maps: str | None = None  # /proc/self/maps text (Linux maps stream)


def write_crash_dump(case: CrashCase) -> bytes:
    out = _Out()
    out.add(b"\0" * 32)
    n_streams = 5 + (case.memory_info is not None) + (case.maps is not None)
    dir_rva = out.add(b"\0" * (12 * n_streams))
    streams: list[tuple[int, int, int]] = []

    csd = out.add(_string(""))
    sysinfo = struct.pack(
        "<HHHBBIIIIIHH", ARCH[case.cpu], 6, 0, 1, 1, 10, 0, 1, PLATFORM[case.os_name], csd, 0, 0
    )
    sysinfo += b"\0" * 24
    streams.append((7, len(sysinfo), out.add(sysinfo)))

    streams.append((4, 4, out.add(struct.pack("<I", 0))))  # empty module list

    ctx = _context(case.cpu, case.regs)
    stack_rva = out.add(case.stack)
    ctx_rva = out.add(ctx)
    thread = struct.pack(
        "<IIIIQQIIII", 1, 0, 0, 0, 0, case.stack_base, len(case.stack), stack_rva, len(ctx), ctx_rva
    )
    streams.append((3, 4 + len(thread), out.add(struct.pack("<I", 1) + thread)))

    pc = case.regs.get("rip", case.regs.get("eip", case.regs.get("pc", 0)))
    regions = [(case.stack_base, case.stack, stack_rva), (pc, case.code, out.add(case.code))]
    regions += [(base, data, out.add(data)) for base, data in case.extra_memory]
    mem = struct.pack("<I", len(regions)) + b"".join(struct.pack("<QII", b, len(d), r) for b, d, r in regions)
    streams.append((5, len(mem), out.add(mem)))

    code, flags, address, params = case.exception
    record = struct.pack("<IIQQII", code, flags, 0, address, len(params), 0)
    record += b"".join(struct.pack("<Q", p) for p in params) + b"\0" * (8 * (15 - len(params)))
    exc = struct.pack("<II", 1, 0) + record + struct.pack("<II", len(ctx), ctx_rva)
    streams.append((EXCEPTION, len(exc), out.add(exc)))

    if case.memory_info is not None:
        entries = b"".join(
            struct.pack(
                "<QQIIQIIII",
                base,
                base,
                protect,
                0,
                size,
                0x1000 if protect else 0x10000,
                protect,
                0x20000 if protect else 0,
                0,
            )
            for base, size, protect in case.memory_info
        )
        body = struct.pack("<IIQ", 16, 48, len(case.memory_info)) + entries
        streams.append((MEMORY_INFO_LIST, len(body), out.add(body)))
    if case.maps is not None:
        raw = case.maps.encode()
        streams.append((LINUX_MAPS, len(raw), out.add(raw)))

    struct.pack_into("<IIIIIIQ", out.buf, 0, 0x504D444D, 0xA793, n_streams, dir_rva, 0, 0, 0)
    for i, (kind, size, rva) in enumerate(streams):
        struct.pack_into("<III", out.buf, dir_rva + 12 * i, kind, size, rva)
    return bytes(out.buf)
