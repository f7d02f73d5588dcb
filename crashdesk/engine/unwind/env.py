"""What every per-CPU unwinder gets: the CPU, the thread's stack memory, the symbol cache and the OS; plus
the walked frames they look at (callee and grand-callee)."""

from __future__ import annotations

from crashdesk.engine.record_class import Record
from crashdesk.engine.unwind.api import MemoryReader, StackFrame
from crashdesk.engine.unwind.context import FrameContext
from crashdesk.engine.unwind.cpu import CpuSpec
from crashdesk.engine.unwind.symbolize import SymbolCache

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
