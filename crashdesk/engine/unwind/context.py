"""What the per-CPU unwinders work with: a frame's register state while unwinding (:class:`FrameContext`), the
walked frames they look at (:class:`Walked`: callee and grand-callee) and what every unwinder gets
(:class:`UnwindEnv`: the CPU, the thread's stack memory, the symbol cache and the OS).

A frame's register state holds values plus which of them are known to be valid.

The reference clones the callee's whole register file into the caller and then tracks validity separately, so
an invalid register can still be *read raw* (the final "did the stack pointer move" check does that).
:class:`FrameContext` keeps both: ``values`` (everything, raw) and ``valid`` (None meaning "all", as for the
context frame).
"""

from __future__ import annotations

from crashdesk.engine.record_class import Record
from crashdesk.engine.unwind.api import MemoryReader, StackFrame
from crashdesk.engine.unwind.cpu import CpuSpec
from crashdesk.engine.unwind.symbolize import SymbolCache


class FrameContext:
    """Registers of one frame."""

    __slots__ = ("spec", "values", "valid", "not_forwarded")

    def __init__(self, spec: CpuSpec, values: dict[str, int], valid: set[str] | None,
                 not_forwarded: frozenset[str] = frozenset()) -> None:
        self.spec = spec
        self.values = values
        self.valid = valid  # None: every register of the CPU is valid (context frame)
        # Valid registers that CFI will not carry over to the caller as callee-saved. The reference records
        # the frame pointer of arm/arm64 frame-pointer frames under its alias (x29, r11), which its
        # callee-saved list (spelled "fp") does not match.
        self.not_forwarded = not_forwarded

    @classmethod
    def of(cls, spec: CpuSpec, regs: dict[str, int]) -> FrameContext:
        """A caller context holding exactly ``regs``, all valid."""
        return cls(spec, dict(regs), set(regs))

    def get(self, name: str) -> int | None:
        """The value of a valid register (aliases accepted), else None."""
        canon = self.spec.canonical(name)
        if canon is None:
            return None
        if self.valid is not None and canon not in self.valid:
            return None
        return self.values.get(canon, 0 if self.valid is None else None)

    def raw(self, name: str) -> int:
        """The register's value whether or not it is valid (0 when never set)."""
        return self.values.get(name, 0)

    @property
    def ip(self) -> int:
        return self.values.get(self.spec.ip, 0)

    @property
    def sp(self) -> int:
        return self.values.get(self.spec.sp, 0)

    def valid_registers(self) -> dict[str, int]:
        """The valid registers with their values, in the CPU's register order."""
        if self.valid is None:
            return {r: self.values[r] for r in self.spec.registers if r in self.values}
        return {r: self.values.get(r, 0) for r in self.spec.registers if r in self.valid}


_U64_LIMIT = 1 << 64


class Walked(Record, slots=True):
    """One unwound frame: the public frame, its register state, and the address used for lookups."""

    frame: StackFrame
    ctx: FrameContext
    lookup: int  # pc for the context frame, return address minus the call adjustment otherwise


class UnwindEnv(Record, slots=True):
    spec: CpuSpec
    memory: MemoryReader
    cache: SymbolCache
    os: str  # lower-cased reference OS name ("windows nt", "linux", "mac os x", "ios", "android", ...)

    def read_word(self, address: int) -> int | None:
        """A pointer-sized little-endian word of stack memory, or None when not fully present."""
        size = self.spec.pointer_size
        if address < 0 or address + size > _U64_LIMIT:
            return None
        try:
            value = self.memory.read_uint(address, size)
        except (ValueError, OverflowError, IndexError):
            return None
        return value

    @property
    def is_windows(self) -> bool:
        return self.os.startswith("windows")

    @property
    def is_ios(self) -> bool:
        return self.os == "ios"
