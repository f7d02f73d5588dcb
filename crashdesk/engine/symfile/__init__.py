"""Breakpad ``.sym`` files: a one-pass index builder, a persistent memory-mapped index, and lookups.

Use :func:`load_symbol_file`; it returns a :class:`BreakpadSymbolFile` implementing
:class:`crashdesk.engine.symbols_api.SymbolFile`. Pure: no network, no SQLite.
"""

from crashdesk.engine.symfile.errors import DebugIdMismatch, NotASymbolFile, SymbolFileError
from crashdesk.engine.symfile.module_info import ModuleInfo, parse_module_line
from crashdesk.engine.symfile.symbolfile import BreakpadSymbolFile, index_path_for, load_symbol_file

SymbolFile = BreakpadSymbolFile

__all__ = [
    "BreakpadSymbolFile", "DebugIdMismatch", "ModuleInfo", "NotASymbolFile", "SymbolFile", "SymbolFileError",
    "index_path_for", "load_symbol_file", "parse_module_line",
]
