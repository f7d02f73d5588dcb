"""Synthetic ARM / ARM64 minidumps (both ARM64 layouts) built byte by byte: register decoding, the names
the reference prints, crash reasons, and a frame-pointer walk through the stackwalk assembly."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from crashdesk.engine.minidump import Minidump
from crashdesk.engine.minidump.context import ARM64_NAMES, ARM_NAMES, parse_context
from crashdesk.engine.stackwalk import process_minidump

ARCH_ARM, ARCH_ARM64, ARCH_ARM64_OLD = 5, 12, 0x8003
LINUX, MACOS, WINDOWS = 0x8201, 0x8101, 2


def _string(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<I", len(raw)) + raw + b"\0\0"


class DumpBuilder:
    """Just enough of a minidump writer: system info, one thread, optional exception, module, stack."""

    def __init__(self, arch: int, platform: int, cpu_union: bytes = b"\0" * 24) -> None:
        self.arch = arch
        self.platform = platform
        self.cpu_union = cpu_union
        self.blobs = bytearray()
        self.streams: list[tuple[int, int, int]] = []  # (type, size, offset in blobs)
        self.base = 0  # set at build time

    def _add(self, data: bytes) -> int:
        while len(self.blobs) % 8:
            self.blobs += b"\0"
        off = len(self.blobs)
        self.blobs += data
        return off

    def build(self, context: bytes, *, tid: int = 7, stack: tuple[int, bytes] | None = None,
              exception: tuple[int, int, int, list[int]] | None = None,
              module: tuple[int, int, str] | None = None, extra=()) -> bytes:  # fmt: skip
        """``extra``: (stream type, fn(absolute offset of the stream) -> bytes) for self-referencing streams."""
        header_size, n_streams = 32, 3 + bool(exception) + bool(module) + bool(stack) + len(extra)
        directory = header_size
        first = directory + 12 * n_streams
        rel = lambda off: first + off  # noqa: E731
        ctx_off = self._add(context)
        csd_off = self._add(_string("SYNTH"))
        si = struct.pack("<HHHBBIIIIIHH", self.arch, 8, 0, 4, 1, 1, 2, 3, self.platform, rel(csd_off), 0, 0)
        si += self.cpu_union
        streams = [(7, si)]
        stack_desc = struct.pack("<QII", 0, 0, 0)
        if stack is not None:
            stack_off = self._add(stack[1])
            stack_desc = struct.pack("<QII", stack[0], len(stack[1]), rel(stack_off))
            streams.append((5, struct.pack("<I", 1) + stack_desc))
        thread = struct.pack("<IIIIQ", tid, 0, 0, 0, 0) + stack_desc + struct.pack("<II", len(context), rel(ctx_off))
        streams.append((3, struct.pack("<I", 1) + thread))
        if module is not None:
            base, size, name = module
            name_off = self._add(_string(name))
            entry = struct.pack("<QIIII", base, size, 0, 0x5F000000, rel(name_off)) + b"\0" * 52
            entry += struct.pack("<IIII", 0, 0, 0, 0) + b"\0" * 16
            streams.append((4, struct.pack("<I", 1) + entry))
        if exception is not None:
            code, flags, address, params = exception
            padded = (params + [0] * 15)[:15]
            exc = struct.pack("<IIIIQQII", tid, 0, code, flags, 0, address, len(params), 0)
            exc += struct.pack("<15Q", *padded) + struct.pack("<II", len(context), rel(ctx_off))
            streams.append((6, exc))
        streams.append((15, struct.pack("<6I", 24, 1, 4242, 0, 0, 0)))
        offsets = [self._add(data) for _t, data in streams]
        for stype, fn in extra:
            at = len(self.blobs) + (-len(self.blobs)) % 8
            data = fn(rel(at))
            offsets.append(self._add(data))
            streams.append((stype, data))
        assert len(streams) == n_streams
        out = struct.pack("<IIIIIIQ", 0x504D444D, 0xA793, n_streams, directory, 0, 0, 0)
        for (stype, data), off in zip(streams, offsets, strict=True):
            out += struct.pack("<III", stype, len(data), rel(off))
        return out + bytes(self.blobs)


def arm64_context(regs: list[int], *, old: bool) -> bytes:
    """x0..x28, fp, lr, sp, pc (33 values)."""
    if old:
        return struct.pack("<Q33QI", 0x80000002, *regs, 0) + b"\0" * (796 - 8 - 33 * 8 - 4)
    return struct.pack("<II33Q", 0x00400002, 0, *regs) + b"\0" * (912 - 8 - 33 * 8)


def arm_context(regs: list[int]) -> bytes:
    """r0..r12, sp, lr, pc (16 values)."""
    return struct.pack("<I16II", 0x40000002, *regs, 0) + b"\0" * (368 - 72)


@pytest.mark.parametrize("old", [False, True])
def test_arm64_registers_both_layouts(old: bool) -> None:
    regs = [0x1000 + i for i in range(29)] + [0xF0, 0xF1, 0xF2, 0xF3]
    ctx = parse_context(arm64_context(regs, old=old), "arm64")
    assert ctx.cpu == "arm64"
    assert list(ctx.registers) == list(ARM64_NAMES)
    assert ctx.registers["x0"] == 0x1000 and ctx.registers["x28"] == 0x1000 + 28
    assert (ctx.registers["fp"], ctx.registers["lr"], ctx.registers["sp"], ctx.pc) == (0xF0, 0xF1, 0xF2, 0xF3)
    # Without a system info hint the flags decide.
    assert parse_context(arm64_context(regs, old=old), None).cpu == "arm64"


def test_arm_registers() -> None:
    regs = list(range(100, 116))
    ctx = parse_context(arm_context(regs), "arm")
    assert list(ctx.registers) == list(ARM_NAMES)
    assert ctx.registers["r12"] == 112 and ctx.sp == 113 and ctx.registers["lr"] == 114 and ctx.pc == 115
    assert parse_context(arm_context(regs), None).cpu == "arm"


def _arm64_fp_chain_dump(old: bool, platform: int, exception) -> tuple[bytes, int, int]:
    base, size = 0x10_0000, 0x1_0000
    stack_base = 0x7FFF_0000
    pc, ret1, ret2 = base + 0x100, base + 0x204, base + 0x308
    stack = bytearray(0x100)
    # frame records: [fp] = (caller fp, return address)
    struct.pack_into("<QQ", stack, 0x20, stack_base + 0x40, ret2)
    struct.pack_into("<QQ", stack, 0x40, 0, 0)
    regs = [0] * 29 + [stack_base + 0x20, ret1, stack_base, pc]
    dump = DumpBuilder(ARCH_ARM64_OLD if old else ARCH_ARM64, platform).build(
        arm64_context(regs, old=old), stack=(stack_base, bytes(stack)), exception=exception,
        module=(base, size, "/usr/lib/libsynth.dylib"),
    )  # fmt: skip
    return dump, base, pc


@pytest.mark.parametrize("old", [False, True])
def test_arm64_walk_and_json(old: bool) -> None:
    exception = (1, 1, 0x10, [1, 0x10])  # EXC_BAD_ACCESS / KERN_INVALID_ADDRESS on macOS
    dump, base, pc = _arm64_fp_chain_dump(old, MACOS, exception)
    out = process_minidump(dump, None)
    assert out["system_info"]["cpu_arch"] == "arm64"
    assert out["system_info"]["os"] == "Mac OS X"
    assert out["pid"] == 4242
    assert out["crash_info"]["type"] == "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"
    assert out["crash_info"]["address"] == "0x0000000000000010"
    frames = out["crashing_thread"]["frames"]
    assert frames[0]["offset"] == f"0x{pc:016x}" and frames[0]["trust"] == "context"
    assert frames[0]["module"] == "libsynth.dylib"
    assert set(frames[0]["registers"]) == set(ARM64_NAMES)
    # What minidump-stackwalk 0.25.0 prints for this dump (see test_synthetic_dumps_match_the_reference):
    # the caller pc comes from the frame record at fp (return address - 4), and the walk ends there.
    assert [(f["trust"], f["offset"]) for f in frames] == [
        ("context", f"0x{pc:016x}"),
        ("frame_pointer", f"0x{base + 0x308 - 4:016x}"),
    ]
    assert out["threads"][0]["frames"][0].get("registers") is None


def test_arm_linux_crash_reason_and_context_frame() -> None:
    regs = [0] * 13 + [0x8000, 0x1234, 0x2000]
    dump = DumpBuilder(ARCH_ARM, LINUX).build(arm_context(regs), exception=(11, 2, 0xDEAD, []))
    md = Minidump.from_bytes(dump)
    assert md.cpu == "arm" and md.pointer_width == 4
    out = process_minidump(dump, None)
    assert out["crash_info"]["type"] == "SIGSEGV / SEGV_ACCERR"
    assert out["crash_info"]["address"] == "0x0000dead"
    frame0 = out["crashing_thread"]["frames"][0]
    assert frame0["offset"] == "0x00002000"
    assert frame0["module"] is None and frame0["missing_symbols"] is True
    assert frame0["registers"]["pc"] == "0x00002000"


def test_windows_arm64_access_violation() -> None:
    dump, _base, _pc = _arm64_fp_chain_dump(False, WINDOWS, (0xC0000005, 0, 0x1111, [8, 0x4242]))
    out = process_minidump(dump, None)
    assert out["crash_info"]["type"] == "EXCEPTION_ACCESS_VIOLATION_EXEC"
    assert out["crash_info"]["address"] == "0x0000000000004242"


def _mac_crash_info_stream(at: int) -> bytes:
    """MozMacosCrashInfoStream with one version-5 record (fixed part 40 bytes, then five C strings)."""
    strings = b"/usr/lib/libsynth.dylib\0assertion failed: x > 0\0sig\0\0second message\0"
    record = struct.pack("<5Q", 0x4D7A0001, 5, 0x1234, 0, 0x0BAD) + strings
    header = struct.pack("<III", 0x4D7A0001, 1, 40) + struct.pack("<II", len(record), at + 12 + 8 * 20)
    header += b"\0" * (8 * 19)
    return header + record


def _bootargs_stream(at: int) -> bytes:
    return struct.pack("<IQ", 0x4D7A0002, at + 12) + _string("-v debug=0x144")


def test_macos_crash_info_and_boot_args() -> None:
    regs = [0] * 29 + [0, 0, 0x7000, 0x1000]
    dump = DumpBuilder(ARCH_ARM64, MACOS).build(
        arm64_context(regs, old=False), extra=[(0x4D7A0001, _mac_crash_info_stream), (0x4D7A0002, _bootargs_stream)]
    )
    out = process_minidump(dump, None)
    assert out["mac_boot_args"] == "-v debug=0x144"
    info = out["mac_crash_info"]
    assert info["num_records"] == 1
    record = info["records"][0]
    assert record["module"] == "/usr/lib/libsynth.dylib"
    assert record["message"] == "assertion failed: x > 0"
    assert record["signature_string"] == "sig"
    assert record["backtrace"] is None
    assert record["message2"] == "second message"
    assert record["abort_cause"] == "0x0000000000000bad"
    assert record["thread"] == "0x0000000000001234"
    assert record["dialog_mode"] is None  # zero values print as null, as the reference does


def _mac_record_stream(thread: int, dialog: int, abort: int, version: int):
    def build(at: int) -> bytes:
        words = [0x4D7A0001, version, thread, dialog] + ([abort] if version >= 5 else [])
        fixed = struct.pack(f"<{len(words)}Q", *words)
        record = fixed + b"\0msg\0\0\0\0"
        header = struct.pack("<III", 0x4D7A0001, 1, len(fixed)) + struct.pack("<II", len(record), at + 12 + 8 * 20)
        return header + b"\0" * (8 * 19) + record

    return build


def synthetic_dumps() -> dict[str, bytes]:
    """Every synthetic dump of this file by name; ``tests/data/minidumps/synthetic`` holds these bytes and
    what minidump-stackwalk 0.25.0 prints for each."""
    mac_regs = [0] * 29 + [0, 0, 0x7000, 0x1000]
    out = {
        "arm64-fp-chain-macos": _arm64_fp_chain_dump(False, MACOS, (1, 1, 0x10, [1, 0x10]))[0],
        "arm64-old-fp-chain-macos": _arm64_fp_chain_dump(True, MACOS, (1, 1, 0x10, [1, 0x10]))[0],
        "arm64-windows-av-exec": _arm64_fp_chain_dump(False, WINDOWS, (0xC0000005, 0, 0x1111, [8, 0x4242]))[0],
        "arm-linux-segv": DumpBuilder(ARCH_ARM, LINUX).build(
            arm_context([0] * 13 + [0x8000, 0x1234, 0x2000]), exception=(11, 2, 0xDEAD, [])
        ),
        "arm64-macos-crash-info": DumpBuilder(ARCH_ARM64, MACOS).build(
            arm64_context(mac_regs, old=False),
            extra=[(0x4D7A0001, _mac_crash_info_stream), (0x4D7A0002, _bootargs_stream)],
        ),
    }
    arm_regs = arm_context([0] * 13 + [0x8000, 0x1234, 0x2000])
    for name, cpuid, hwcaps in [("a9", 0x410FC090, 0x1007), ("qualcomm", 0x510F02D0, 1 << 12), ("other", 0x42000001, 0)]:
        union = struct.pack("<II", cpuid, hwcaps) + b"\0" * 16
        out[f"arm-linux-cpu-{name}"] = DumpBuilder(ARCH_ARM, LINUX, union).build(arm_regs)
    for i, args in enumerate([(0, 5, 0, 5), (7, 0, 9, 5), (3, 4, 0, 4)]):
        out[f"arm64-macos-crash-info-{i}"] = DumpBuilder(ARCH_ARM64, MACOS).build(
            arm64_context(mac_regs, old=False), extra=[(0x4D7A0001, _mac_record_stream(*args))]
        )
    return out


SYNTHETIC = Path(__file__).resolve().parents[1] / "data" / "minidumps" / "synthetic"


@pytest.mark.parametrize("name", sorted(synthetic_dumps()))
def test_synthetic_dumps_match_the_reference(name: str) -> None:
    data = synthetic_dumps()[name]
    assert (SYNTHETIC / f"{name}.dmp").read_bytes() == data  # the builder is deterministic
    expected = json.loads((SYNTHETIC / f"{name}.expected.json").read_text())
    assert process_minidump(data, None) == expected
