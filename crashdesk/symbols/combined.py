"""Two native files answering as one module: names and lines from the debug file, unwind rules from the
executable when the debug file has none (a detached ELF ``.debug`` file from debuginfod, a PDB for an x64
PE whose unwind tables live in the image)."""

from __future__ import annotations


class CombinedSymbols:
    """A :class:`~crashdesk.engine.symbols_api.SymbolFile` over ``primary`` with ``unwind`` as the fallback for
    CFI and ``STACK WIN`` lookups."""

    def __init__(self, primary, unwind) -> None:
        self.primary = primary
        self.unwind = unwind
        self.debug_file = primary.debug_file
        self.debug_id = primary.debug_id
        self.malformed_lines = getattr(primary, "malformed_lines", 0)
        self.urls = list(getattr(primary, "urls", []) or [])

    def function_at(self, rva: int):
        found = self.primary.function_at(rva)
        return found if found is not None else self.unwind.function_at(rva)

    def line_at(self, rva: int):
        return self.primary.line_at(rva)

    def inlines_at(self, rva: int):
        return self.primary.inlines_at(rva)

    def cfi_at(self, rva: int):
        found = self.primary.cfi_at(rva)
        return found if found is not None else self.unwind.cfi_at(rva)

    def stack_win_at(self, rva: int):
        found = self.primary.stack_win_at(rva)
        return found if found is not None else self.unwind.stack_win_at(rva)

    def close(self) -> None:
        for part in (self.primary, self.unwind):
            close = getattr(part, "close", None)
            if callable(close):
                close()
