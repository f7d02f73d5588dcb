"""The contract between the stackwalker and whatever supplies symbols.

The engine asks a :class:`SymbolProvider` for one module's symbols and never learns where they came from
(a local folder, the cache, an HTTP server). The provider answers with a :class:`SymbolLookup` whose
``symbols`` is a :class:`SymbolFile` (an index over one Breakpad ``.sym`` file) or ``None``.

All addresses handed to a :class:`SymbolFile` are *relative to the module base* (RVAs).
"""

from __future__ import annotations

from crashdesk.engine.record_class import Record, field


class ModuleKey(Record, frozen=True, slots=True):
    """What identifies a module's symbols: the dump's debug file/id and code file/id."""

    debug_file: str
    debug_id: str
    code_file: str = ""
    code_id: str = ""


class FunctionInfo(Record, frozen=True, slots=True):
    name: str
    address: int  # RVA of the function (FUNC) or symbol (PUBLIC) start
    size: int  # 0 for PUBLIC symbols
    parameter_size: int
    is_public: bool  # True when the hit came from a PUBLIC record


class SourceLine(Record, frozen=True, slots=True):
    file: str | None
    line: int
    address: int | None  # RVA where the line record starts (None: ask SymbolFile.line_start)


class InlineInfo(Record, frozen=True, slots=True):
    """One inlined call covering the address, from ``INLINE`` records.

    ``depth`` 0 is the outermost inline (called from the FUNC itself). ``call_file``/``call_line`` are
    where the inlined function was called from (in its caller); ``name`` is the inlined function.
    """

    depth: int
    name: str
    call_file: str | None
    call_line: int
    address: int | None  # start RVA of the inline range that covers the address (None: ask line_start)


class StackWinInfo(Record, frozen=True, slots=True):
    """A ``STACK WIN`` record covering the address."""

    type: int  # 0 FPO, 4 FrameData, ...
    address: int
    size: int
    prologue_size: int
    epilogue_size: int
    parameter_size: int
    saved_register_size: int
    local_size: int
    max_stack_size: int
    has_program_string: bool
    program_string: str | None
    allocates_base_pointer: bool


class CfiRules(Record, frozen=True, slots=True):
    """``STACK CFI`` rules in force at an address: the INIT rules with every delta up to the address
    applied. Keys are register names as written in the file (``.cfa``, ``.ra``, ``rbp``, ``$ebp``...);
    values are the postfix expressions."""

    rules: dict[str, str]


class SymbolFile:
    """Lookups into one module's symbols. Every method is O(log n) on an indexed file. A protocol: any object
    with these attributes and methods (a plain class: ``typing.Protocol`` would import :mod:`typing`, ~3 ms of
    every stackwalk)."""

    debug_file: str
    debug_id: str
    malformed_lines: int

    def function_at(self, rva: int) -> FunctionInfo | None:
        """The FUNC covering ``rva``, else the nearest PUBLIC at or below it (as Breakpad does)."""

    def line_at(self, rva: int) -> SourceLine | None:
        """The innermost source line covering ``rva`` (from the line records of the covering FUNC)."""

    def inlines_at(self, rva: int) -> list[InlineInfo]:
        """Inlined calls covering ``rva``, outermost first (empty when none)."""

    def line_start(self, rva: int, inlined: bool) -> int | None:
        """Where the line record (``inlined`` False) or the outermost inlined call (True) covering ``rva``
        starts, for a file whose ``line_at``/``inlines_at`` leave ``address`` None because finding it costs
        (native files); None when it is not known. Only the human-readable report needs it."""

    def cfi_at(self, rva: int) -> CfiRules | None:
        """``STACK CFI`` rules for ``rva``, or None when no ``STACK CFI INIT`` covers it."""

    def stack_win_at(self, rva: int) -> StackWinInfo | None:
        """The ``STACK WIN`` record for ``rva`` (FrameData preferred over FPO), or None."""


class SymbolLookup(Record, slots=True):
    """The provider's answer for one module."""

    symbols: SymbolFile | None
    status: str  # "loaded" | "missing" | "corrupt" | "error"
    note: str = ""  # why: "not found in 2 sources", "server error 500", "MODULE line mismatch"...
    symbol_url: str | None = None  # where it came from, when that is a URL
    extra: dict = field(default_factory=dict)


class SymbolProvider:
    """What the engine asks for a module's symbols: any object with this method (a protocol, as
    :class:`SymbolFile`)."""

    def lookup(self, module: ModuleKey) -> SymbolLookup: ...


class NoSymbols:
    """A provider that never has symbols (``minidump-stackwalk`` without ``--symbols-path``)."""

    def lookup(self, module: ModuleKey) -> SymbolLookup:
        return SymbolLookup(symbols=None, status="missing", note="no symbol sources configured")
