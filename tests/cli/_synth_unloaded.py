"""The dump ``unloaded_minidump()`` of rust-minidump's ``minidump-stackwalk/tests/test-minidump-stackwalk.rs``
(v0.25.0) builds with the ``minidump-synth`` crate, written here with ``struct``: one x86 thread (tid 0x1234,
eip 0xf00800, esp 0x1010, 0x1000 zero bytes of stack at 0x1000), minidump-synth's default system info
(architecture 0, level 6, one CPU, platform 0, no CSD string), a memory list with the stack and eight
unloaded modules in the test's order (duplicates included), no module list."""

from __future__ import annotations

import struct

_STAMP, _CHECKSUM = 0xB1054D2A, 0x34571371
# (name, base, size) in the order the test adds them
UNLOADED = (
    ("unused.dll", 0xA003A0, 0x1000), ("many.dll", 0xF00000, 0x1000), ("solo.dll", 0xAF00220, 0x2000),
    ("many.dll", 0xF00100, 0x1000), ("many.dll", 0xF003A0, 0x1000), ("solo.dll", 0xF00220, 0x2000),
    ("solo.dll", 0xAF00220, 0x2000), ("many.dll", 0xF00000, 0x1000),
)  # fmt: skip


def _x86_context(eip: int, esp: int) -> bytes:
    ctx = bytearray(716)  # CONTEXT_X86 with the 512 bytes of extended registers
    struct.pack_into("<I", ctx, 0, 0x1003F)  # CONTEXT_X86_ALL
    struct.pack_into("<IIII", ctx, 184, eip, 0, 0, esp)  # eip, cs, eflags, esp
    return bytes(ctx)


def unloaded_minidump() -> bytes:
    buf = bytearray(32 + 4 * 12)  # header + directory of 4 streams
    streams = []

    def put(data: bytes) -> int:
        while len(buf) % 4:
            buf.append(0)
        rva = len(buf)
        buf.extend(data)
        return rva

    names = {}
    for name in ("many.dll", "solo.dll", "unused.dll"):
        raw = name.encode("utf-16-le")
        names[name] = put(struct.pack("<I", len(raw)) + raw)
    stack_rva = put(bytes(0x1000))
    ctx = _x86_context(0xF00800, 0x1010)
    ctx_rva = put(ctx)
    thread = struct.pack("<IIIIQQIIII", 0x1234, 0, 0, 0, 0, 0x1000, 0x1000, stack_rva, len(ctx), ctx_rva)
    streams.append((3, put(struct.pack("<I", 1) + thread), 4 + len(thread)))
    sysinfo = struct.pack("<HHHBBIIIIIHH", 0, 6, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0) + bytes(24)
    streams.append((7, put(sysinfo), len(sysinfo)))
    mem = struct.pack("<IQII", 1, 0x1000, 0x1000, stack_rva)
    streams.append((5, put(mem), len(mem)))
    entries = b"".join(struct.pack("<QIIII", base, size, _CHECKSUM, _STAMP, names[name])
                       for name, base, size in UNLOADED)  # fmt: skip
    body = struct.pack("<III", 12, 24, len(UNLOADED)) + entries
    streams.append((14, put(body), len(body)))
    struct.pack_into("<IIIIIIQ", buf, 0, 0x504D444D, 0xA793, len(streams), 32, 0, 0, 0)
    for i, (kind, rva, size) in enumerate(streams):
        struct.pack_into("<III", buf, 32 + 12 * i, kind, size, rva)
    return bytes(buf)
