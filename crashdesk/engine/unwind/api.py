"""The contract between the minidump reader / stackwalk assembly and the unwinders.

The reader side (``crashdesk.engine.minidump``) supplies a :class:`MemoryReader` over the dump's memory
lists, a :class:`ModuleMap` over the module list, and each thread's CPU context as a register dict. The
unwinders (``crashdesk.engine.unwind``) return symbolicated :class:`StackFrame` objects; ``stackwalk.py``
turns them into the reference JSON with :func:`crashdesk.engine.unwind.frame_json`.
"""

from __future__ import annotations

from collections.abc import Callable

from crashdesk.engine.record_class import Record, field
from crashdesk.engine.symbols_api import InlineInfo, SymbolFile


class MemoryReader:
    """What the unwinders read memory through: any object with these methods (a protocol, written as a plain
    class: ``typing.Protocol`` would import :mod:`typing`, ~3 ms of every stackwalk)."""

    def read(self, address: int, size: int) -> bytes | None:
        """``size`` bytes at ``address`` from one memory region of the dump, or None if not fully present."""

    def read_uint(self, address: int, size: int) -> int | None:
        """A little-endian unsigned integer of ``size`` (4 or 8) bytes, or None."""


class ModuleInfo(Record, frozen=True, slots=True):
    base: int
    size: int
    code_file: str  # full path as in the dump
    code_id: str
    debug_file: str
    debug_id: str
    version: str | None
    filename: str  # basename of code_file, as the reference prints in frames

    @property
    def end(self) -> int:
        return self.base + self.size


class ModuleMap:
    """The dump's modules by address: any object with these methods (a protocol, as :class:`MemoryReader`)."""

    def module_at(self, address: int) -> ModuleInfo | None: ...

    def unloaded_at(self, address: int) -> list[ModuleInfo]: ...


class InlineFrame(Record, frozen=True, slots=True):
    """One inlined call as the reference prints it in a frame's ``inlines``: the inlined function and the
    source location *inside* it (``file``/``line`` may be None)."""

    function: str
    file: str | None
    line: int | None


class StackFrame(Record, slots=True):
    instruction: int  # the frame's pc as unwound (return address for caller frames)
    trust: str  # "context" | "cfi" | "frame_pointer" | "scan" | "cfi_scan" | "prewalked" | "non"
    registers: dict[str, int]  # registers known valid for this frame
    module: ModuleInfo | None = None
    unloaded_modules: list[ModuleInfo] = field(default_factory=list)
    function: str | None = None
    function_base: int | None = None  # absolute address
    parameter_size: int | None = None
    file: str | None = None
    line: int | None = None
    source_line_base: int | None = None
    find_source_line_base: Callable[[], int | None] | None = None  # when the symbol file finds it on demand
    inlines: list[InlineInfo] = field(default_factory=list)
    missing_symbols: bool = True
    # Optional additions (unwinder side):
    offset: int | None = None  # address the reference prints as ``offset`` (pc, or return address minus
    #                            the CPU's call adjustment for caller frames); None means ``instruction``
    inline_frames: list[InlineFrame] = field(default_factory=list)  # display order: innermost first


SymbolsFor = Callable[[ModuleInfo], "SymbolFile | None"]
