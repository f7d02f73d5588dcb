"""A tiny minidump writer for synthetic unwinder cases: system info, threads with a stack and a CPU context,
modules with CodeView (RSDS) records, and a memory list. Just enough for ``minidump-stackwalk`` and the
CrashDesk reader to walk the threads."""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field

ARCH = {"x86": 0, "arm": 5, "amd64": 9, "arm64": 12}
PLATFORM = {"Windows NT": 2, "Mac OS X": 0x8101, "iOS": 0x8102, "Linux": 0x8201}

_CONTEXT_SIZE = {"amd64": 1232, "x86": 716, "arm": 368, "arm64": 912}


def _context(cpu: str, regs: dict[str, int]) -> bytes:
    buf = bytearray(_CONTEXT_SIZE[cpu])
    if cpu == "amd64":
        struct.pack_into("<I", buf, 48, 0x0010000B)
        names = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                 "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip")
        for i, n in enumerate(names):
            struct.pack_into("<Q", buf, 120 + 8 * i, regs.get(n, 0))
    elif cpu == "x86":
        struct.pack_into("<I", buf, 0, 0x00010007)
        for i, n in enumerate(("edi", "esi", "ebx", "edx", "ecx", "eax", "ebp", "eip")):
            struct.pack_into("<I", buf, 156 + 4 * i, regs.get(n, 0))
        struct.pack_into("<III", buf, 188, 0x23, regs.get("eflags", 0x202), regs.get("esp", 0))
    elif cpu == "arm":
        struct.pack_into("<I", buf, 0, 0x40000002)
        alias = {11: "fp", 13: "sp", 14: "lr", 15: "pc"}
        for i in range(16):
            struct.pack_into("<I", buf, 4 + 4 * i, regs.get(f"r{i}", regs.get(alias.get(i, ""), 0)))
    elif cpu == "arm64":
        struct.pack_into("<I", buf, 0, 0x00400002)
        for i in range(29):
            struct.pack_into("<Q", buf, 8 + 8 * i, regs.get(f"x{i}", 0))
        struct.pack_into("<QQQQ", buf, 240, regs.get("fp", 0), regs.get("lr", 0), regs.get("sp", 0),
                         regs.get("pc", 0))
    return bytes(buf)


@dataclass
class Module:
    name: str  # code file basename; also the debug file name
    base: int
    size: int
    guid: bytes = field(default_factory=lambda: uuid.uuid4().bytes)
    age: int = 1

    @property
    def debug_id(self) -> str:
        d1, d2, d3 = struct.unpack_from("<IHH", self.guid, 0)
        return f"{d1:08X}{d2:04X}{d3:04X}{self.guid[8:].hex().upper()}{self.age:X}"


@dataclass
class Thread:
    tid: int
    regs: dict[str, int]
    stack_base: int
    stack: bytes


class _Out:
    def __init__(self) -> None:
        self.buf = bytearray()

    def add(self, data: bytes, align: int = 8) -> int:
        while len(self.buf) % align:
            self.buf.append(0)
        rva = len(self.buf)
        self.buf += data
        return rva


def _string(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<I", len(raw)) + raw + b"\0\0"


def write_minidump(cpu: str, os_name: str, modules: list[Module], threads: list[Thread],
                   unloaded: list[Module] | None = None) -> bytes:
    """The bytes of a minidump holding exactly these modules and threads (and unloaded modules)."""
    out = _Out()
    out.add(b"\0" * 32)  # header, patched below
    n_streams = 5 if unloaded else 4
    dir_rva = out.add(b"\0" * (12 * n_streams))
    streams: list[tuple[int, int, int]] = []

    csd = out.add(_string(""))
    sysinfo = struct.pack("<HHHBBIIIIIHH", ARCH[cpu], 6, 0, 1, 1, 10, 0, 1, PLATFORM[os_name], csd, 0, 0)
    sysinfo += b"\0" * 24
    streams.append((7, len(sysinfo), out.add(sysinfo)))

    mod_entries = []
    for m in modules:
        name_rva = out.add(_string(f"/opt/app/{m.name}"))
        cv = b"RSDS" + m.guid + struct.pack("<I", m.age) + m.name.encode() + b"\0"
        cv_rva = out.add(cv)
        entry = struct.pack("<QIIII", m.base, m.size, 0, 0, name_rva) + b"\0" * 52
        entry += struct.pack("<IIIIQQ", len(cv), cv_rva, 0, 0, 0, 0)
        mod_entries.append(entry)
    mod_list = struct.pack("<I", len(modules)) + b"".join(mod_entries)
    streams.append((4, len(mod_list), out.add(mod_list)))

    thread_entries = []
    mem_entries = []
    for t in threads:
        stack_rva = out.add(t.stack)
        ctx = _context(cpu, t.regs)
        ctx_rva = out.add(ctx)
        thread_entries.append(struct.pack("<IIIIQQIIII", t.tid, 0, 0, 0, 0, t.stack_base, len(t.stack),
                                          stack_rva, len(ctx), ctx_rva))
        mem_entries.append(struct.pack("<QII", t.stack_base, len(t.stack), stack_rva))
    thread_list = struct.pack("<I", len(threads)) + b"".join(thread_entries)
    streams.append((3, len(thread_list), out.add(thread_list)))
    mem_list = struct.pack("<I", len(mem_entries)) + b"".join(mem_entries)
    streams.append((5, len(mem_list), out.add(mem_list)))

    if unloaded:
        entries = b"".join(struct.pack("<QIIII", m.base, m.size, 0, 0, out.add(_string(f"/opt/app/{m.name}")))
                           for m in unloaded)
        body = struct.pack("<III", 12, 24, len(unloaded)) + entries
        streams.append((14, len(body), out.add(body)))

    struct.pack_into("<IIIIIIQ", out.buf, 0, 0x504D444D, 0xA793, n_streams, dir_rva, 0, 0, 0)
    for i, (kind, size, rva) in enumerate(streams):
        struct.pack_into("<III", out.buf, dir_rva + 12 * i, kind, size, rva)
    return bytes(out.buf)
