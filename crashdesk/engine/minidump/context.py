"""CPU contexts (register sets) for amd64, x86, arm64 (both layouts) and arm.

Register names are the ones ``minidump-stackwalk`` prints in ``crashing_thread.frames[0].registers``.
"""

from __future__ import annotations

import struct

from crashdesk.engine.minidump.constants import (
    CONTEXT_AMD64,
    CONTEXT_ARM,
    CONTEXT_ARM64,
    CONTEXT_ARM64_OLD,
    CONTEXT_X86,
)

AMD64_CONTEXT_SIZE = 1232
X86_CONTEXT_SIZE = 716
X86_CONTEXT_MIN = 204  # without the extended registers area
ARM64_CONTEXT_SIZE = 912
ARM64_OLD_CONTEXT_MIN = 8 + 33 * 8 + 4
ARM_CONTEXT_MIN = 4 + 16 * 4 + 4

AMD64_NAMES = (
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
)  # fmt: skip
X86_NAMES = ("edi", "esi", "ebx", "edx", "ecx", "eax", "ebp", "eip")
ARM64_NAMES = tuple(f"x{i}" for i in range(29)) + ("fp", "lr", "sp", "pc")
ARM_NAMES = tuple(f"r{i}" for i in range(13)) + ("sp", "lr", "pc")

POINTER_WIDTH = {"amd64": 8, "arm64": 8, "x86": 4, "arm": 4}
PC_REGISTER = {"amd64": "rip", "x86": "eip", "arm64": "pc", "arm": "pc"}
SP_REGISTER = {"amd64": "rsp", "x86": "esp", "arm64": "sp", "arm": "sp"}

_AMD64 = struct.Struct("<17Q")
_X86_GP = struct.Struct("<8I")  # edi..eip at offset 156
_X86_TAIL = struct.Struct("<3I")  # cs, eflags, esp at offset 188
_ARM64 = struct.Struct("<33Q")
_ARM = struct.Struct("<16I")


class CpuContext:
    """One thread's registers: ``cpu`` is ``amd64``/``x86``/``arm64``/``arm``; values are unsigned ints."""

    __slots__ = ("cpu", "registers", "context_flags")

    def __init__(self, cpu: str, registers: dict[str, int], context_flags: int = 0) -> None:
        self.cpu = cpu
        self.registers = registers
        self.context_flags = context_flags

    def __repr__(self) -> str:
        return f"CpuContext({self.cpu!r}, {len(self.registers)} registers, flags={self.context_flags:#x})"

    @property
    def pc(self) -> int:
        return self.registers.get(PC_REGISTER[self.cpu], 0)

    @property
    def sp(self) -> int:
        return self.registers.get(SP_REGISTER[self.cpu], 0)


def _amd64(raw: bytes) -> CpuContext | None:
    if len(raw) < 256:
        return None
    flags = struct.unpack_from("<I", raw, 48)[0]
    values = _AMD64.unpack_from(raw, 120)
    regs = dict(zip(AMD64_NAMES, values, strict=True))
    return CpuContext("amd64", regs, flags)


def _x86(raw: bytes) -> CpuContext | None:
    if len(raw) < X86_CONTEXT_MIN:
        return None
    flags = struct.unpack_from("<I", raw, 0)[0]
    regs = dict(zip(X86_NAMES, _X86_GP.unpack_from(raw, 156), strict=True))
    _cs, eflags, esp = _X86_TAIL.unpack_from(raw, 188)
    regs["eflags"] = eflags
    regs["esp"] = esp
    return CpuContext("x86", regs, flags)


def _arm64(raw: bytes) -> CpuContext | None:
    if len(raw) < 8 + 33 * 8:
        return None
    flags = struct.unpack_from("<I", raw, 0)[0]
    if flags & CONTEXT_ARM64_OLD and not flags & CONTEXT_ARM64:
        # Breakpad's old layout: u64 flags, x0..x28, fp, lr, sp, pc, then u32 cpsr.
        values = _ARM64.unpack_from(raw, 8)
    else:
        # Microsoft layout: u32 flags, u32 cpsr, x0..x28, fp, lr, sp, pc.
        values = _ARM64.unpack_from(raw, 8)
    regs = dict(zip(ARM64_NAMES, values, strict=True))
    return CpuContext("arm64", regs, flags)


def _arm(raw: bytes) -> CpuContext | None:
    if len(raw) < 4 + 16 * 4:
        return None
    flags = struct.unpack_from("<I", raw, 0)[0]
    regs = dict(zip(ARM_NAMES, _ARM.unpack_from(raw, 4), strict=True))
    return CpuContext("arm", regs, flags)


_PARSERS = {"amd64": _amd64, "x86": _x86, "arm64": _arm64, "arm": _arm}


_CPU_TYPE_MASK = 0xFFFFFF00
_CPU_BY_TYPE = {CONTEXT_X86: "x86", CONTEXT_ARM: "arm", CONTEXT_ARM64: "arm64", CONTEXT_ARM64_OLD: "arm64"}


def cpu_from_context_flags(raw: bytes) -> str | None:
    """The CPU a context's flags name: the bits above the low byte must be exactly one CPU type (the
    reference rejects anything else). amd64 keeps its flags at offset 48, the others at 0."""
    if len(raw) >= AMD64_CONTEXT_SIZE:
        flags48 = struct.unpack_from("<I", raw, 48)[0]
        if flags48 & _CPU_TYPE_MASK == CONTEXT_AMD64:
            return "amd64"
    if len(raw) >= 4:
        flags = struct.unpack_from("<I", raw, 0)[0]
        return _CPU_BY_TYPE.get(flags & _CPU_TYPE_MASK)
    return None


ARM64_OLD_CONTEXT_SIZE = 796
ARM_CONTEXT_SIZE = 368
_SIZES = {
    "amd64": (AMD64_CONTEXT_SIZE,),
    "x86": (X86_CONTEXT_SIZE,),
    "arm64": (ARM64_CONTEXT_SIZE, ARM64_OLD_CONTEXT_SIZE),
    "arm": (ARM_CONTEXT_SIZE,),
}


def _minimum_size(cpu: str, raw: bytes) -> int:
    if cpu == "arm64":  # Microsoft's layout (flags 0x00400000) is longer than Breakpad's old one
        flags = struct.unpack_from("<I", raw, 0)[0]
        return ARM64_CONTEXT_SIZE if flags & _CPU_TYPE_MASK == CONTEXT_ARM64 else ARM64_OLD_CONTEXT_SIZE
    return min(_SIZES[cpu])


def parse_context(raw: bytes, cpu: str | None) -> CpuContext | None:
    """Decode a raw CONTEXT; None when unsupported, when it is shorter than a context of its CPU, or
    when its flags name another CPU than ``cpu`` (the system info's): the reference then has no context for
    the thread and walks nothing."""
    flags_cpu = cpu_from_context_flags(raw)
    if flags_cpu == "amd64":
        pass  # amd64 contexts may carry XSAVE state after the fixed part (CONTEXT_XSTATE): any size >= 1232
    elif flags_cpu is None or len(raw) < _minimum_size(flags_cpu, raw):
        # As the reference, a context is read when it holds at least its CPU's fixed structure; what follows
        # (x86 XSAVE/CET state, longer ARM contexts) is ignored.
        return None
    if cpu is not None and flags_cpu != cpu:
        return None  # the system info names another CPU (or one without an unwinder here)
    cpu = flags_cpu
    parser = _PARSERS.get(cpu or "")
    if parser is None:
        return None
    return parser(raw)
