"""Per-walk caches of module and symbol lookups, frame symbolication, and the "is this a plausible return
address" check that stack scanning relies on.

One :class:`SymbolCache` can serve every thread of a dump: module lookups are memoized per address, each
module's :class:`SymbolFile` is asked for once, and function/CFI lookups are memoized per (module, rva).
"""

from __future__ import annotations

from collections.abc import Callable

from crashdesk.engine.symbols_api import CfiRules, FunctionInfo, StackWinInfo, SymbolFile
from crashdesk.engine.unwind.api import InlineFrame, ModuleInfo, ModuleMap, StackFrame
from crashdesk.errors import CrashDeskError

_MISS = object()
_MAX_ENTRIES = 200_000  # bound on each memo table; cleared when exceeded
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from typing import TypeVar

    _T = TypeVar("_T")


class SymbolCache:
    """Memoized module/symbol lookups for one dump."""

    def __init__(
        self, modules: ModuleMap, symbols_for: Callable[[ModuleInfo], SymbolFile | None]
    ) -> None:
        self.modules = modules
        self._symbols_for = symbols_for
        self._module_at: dict[int, ModuleInfo | None] = {}
        self._symbols: dict[ModuleInfo, SymbolFile | None] = {}
        self._functions: dict[tuple[int, int], FunctionInfo | None] = {}
        self._cfi: dict[tuple[int, int], CfiRules | None] = {}
        self._win: dict[tuple[int, int], StackWinInfo | None] = {}
        self._valid: dict[int, bool] = {}
        self._highest_end: int | None = None

    # -- modules and symbol files -------------------------------------------------------------------
    def module_at(self, address: int) -> ModuleInfo | None:
        hit = self._module_at.get(address, _MISS)
        if hit is _MISS:
            if len(self._module_at) > _MAX_ENTRIES:
                self._module_at.clear()
            try:
                hit = self.modules.module_at(address)
            except (ValueError, OverflowError):
                hit = None
            self._module_at[address] = hit
        return hit  # type: ignore[return-value]

    def highest_module_end(self) -> int:
        """End address of the loaded module with the highest base (0 when the module map cannot be listed)."""
        if self._highest_end is None:
            listing = getattr(self.modules, "modules", None)
            if listing is None and hasattr(self.modules, "__iter__"):
                listing = self.modules
            try:
                top = max(listing or (), key=lambda m: m.base, default=None)
                self._highest_end = 0 if top is None else top.base + top.size
            except (TypeError, AttributeError):
                self._highest_end = 0
        return self._highest_end

    def symbols(self, module: ModuleInfo) -> SymbolFile | None:
        if module in self._symbols:
            return self._symbols[module]
        try:
            sym = self._symbols_for(module)
        except CrashDeskError:
            sym = None
        self._symbols[module] = sym
        return sym

    def function_at(self, module: ModuleInfo, sym: SymbolFile, rva: int) -> FunctionInfo | None:
        """The FUNC or PUBLIC record covering ``rva`` of ``module`` (memoized)."""
        return _memo_by_rva(self._functions, module, rva, sym.function_at)

    def cfi_at(self, module: ModuleInfo, sym: SymbolFile, rva: int) -> CfiRules | None:
        """The STACK CFI rules at ``rva`` of ``module`` (memoized)."""
        return _memo_by_rva(self._cfi, module, rva, sym.cfi_at)

    def stack_win_at(self, module: ModuleInfo, sym: SymbolFile, rva: int) -> StackWinInfo | None:
        """The STACK WIN record covering ``rva`` of ``module`` (memoized)."""
        return _memo_by_rva(self._win, module, rva, sym.stack_win_at)

    # -- plausibility ---------------------------------------------------------------------------------
    def seems_valid_by_symbols(self, instruction: int) -> bool:
        """The reference's symbol check for a candidate return address: the byte before it must lie in a
        module, and if that module has symbols, inside a named function (FUNC or PUBLIC)."""
        hit = self._valid.get(instruction)
        if hit is not None:
            return hit
        address = instruction - 1 if instruction > 0 else 0
        result: bool
        if address == 0:
            result = False
        else:
            module = self.module_at(address)
            if module is None:
                result = False
            else:
                sym = self.symbols(module)
                if sym is None or address < module.base:
                    result = sym is None
                else:
                    func = self.function_at(module, sym, address - module.base)
                    result = func is not None and bool(func.name)
        if len(self._valid) > _MAX_ENTRIES:
            self._valid.clear()
        self._valid[instruction] = result
        return result

    # -- symbolication --------------------------------------------------------------------------------
    def symbolicate(self, frame: StackFrame, lookup: int) -> None:
        """Fill ``frame``'s module, function, source line and inline frames for address ``lookup`` (the pc
        of frame 0, or a caller's return address minus the CPU's call adjustment)."""
        module = self.module_at(lookup)
        if module is None:
            try:
                frame.unloaded_modules = list(self.modules.unloaded_at(lookup))
            except (ValueError, OverflowError):
                frame.unloaded_modules = []
            return
        frame.module = module
        sym = self.symbols(module)
        if sym is None or lookup < module.base:
            return
        rva = lookup - module.base
        func = self.function_at(module, sym, rva)
        if func is None or func.name is None:
            return
        frame.function = func.name
        frame.function_base = func.address + module.base
        frame.missing_symbols = False
        if func.is_public:
            frame.parameter_size = func.parameter_size
            return
        win = self.stack_win_at(module, sym, rva)
        frame.parameter_size = win.parameter_size if win is not None else func.parameter_size
        _fill_lines(frame, sym, rva, module.base)


def _memo_by_rva(
    table: dict[tuple[int, int], _T | None], module: ModuleInfo, rva: int, find: Callable[[int], _T | None]
) -> _T | None:
    """``find(rva)`` memoized in ``table`` under (module base, rva); the table is cleared when it outgrows
    its bound."""
    key = (module.base, rva)
    hit = table.get(key, _MISS)
    if hit is _MISS:
        if len(table) > _MAX_ENTRIES:
            table.clear()
        hit = find(rva)
        table[key] = hit
    return hit  # type: ignore[return-value]


def _set_line_base(frame: StackFrame, sym: SymbolFile, address: int | None, rva: int, base: int, *,
                   inlined: bool) -> None:
    """The frame's ``source_line_base`` from a lookup's start ``address``; when the symbol file left it to
    :meth:`SymbolFile.line_start` (it costs), a way to find it if a report asks (``find_source_line_base``)."""
    if address is not None:
        frame.source_line_base = address + base
        return

    def find() -> int | None:
        start = sym.line_start(rva, inlined)
        return None if start is None else start + base

    frame.find_source_line_base = find


def _fill_lines(frame: StackFrame, sym: SymbolFile, rva: int, base: int) -> None:
    """Source location and inline frames, arranged as the reference does: the physical frame shows where
    the outermost inlined call was made; each inline frame shows the location inside that inlined function
    (the next call site, or for the innermost one the line record at the address)."""
    inlines = sym.inlines_at(rva)
    line = sym.line_at(rva)
    if not inlines:
        if line is not None and line.file is not None:
            frame.file = line.file
            frame.line = line.line
            _set_line_base(frame, sym, line.address, rva, base, inlined=False)
        return
    frame.inlines = list(inlines)
    outer = inlines[0]
    if outer.call_file is not None:
        frame.file = outer.call_file
        frame.line = outer.call_line
        _set_line_base(frame, sym, outer.address, rva, base, inlined=True)
    shown: list[InlineFrame] = []
    for depth, inline in enumerate(inlines):
        if depth + 1 < len(inlines):
            deeper = inlines[depth + 1]
            file, line_no = deeper.call_file, deeper.call_line
        elif line is not None:
            file, line_no = line.file, (line.line if line.line != 0 else None)
        else:
            file, line_no = None, None
        if inline.name:
            shown.append(InlineFrame(function=inline.name, file=file, line=line_no))
    shown.reverse()
    frame.inline_frames = shown
