"""Native debug files (ELF/DWARF, PE, PDB, Mach-O/dSYM) as a symbol source, read with ``symbolic``.

:func:`identify` tells what a file holds (debug id, code id, architecture, what it has);
:func:`crashdesk.engine.native.symbols.load_native_symbols` opens one as a
:class:`~crashdesk.engine.symbols_api.SymbolFile` for a module, converting it once into a cache. Pure: no
network, no SQLite. Where ``symbolic`` is not installed (no Windows wheel) both raise
:class:`NativeSupportMissing` and Breakpad ``.sym`` files keep working.

This package names only what a symbol lookup asks on every run (is native support here, what kind of file
is this); the conversion (:mod:`.symbols`: ``hashlib``, ``json``, the cache entries) and the names
(:mod:`.names`) are imported from their modules where a native file is really opened (start-up time).
"""

from crashdesk.engine.native.errors import SUPPORT_MISSING_NOTE, NativeFileError, NativeSupportMissing
from crashdesk.engine.native.identify import NativeObjectInfo, identify, native_support, sniff_file
from crashdesk.engine.native.ids import breakpad_debug_id, sniff_kind
from crashdesk.engine.symfile.errors import DebugIdMismatch

__all__ = [
    "SUPPORT_MISSING_NOTE", "DebugIdMismatch", "NativeFileError", "NativeObjectInfo", "NativeSupportMissing",
    "breakpad_debug_id", "identify", "native_support", "sniff_file", "sniff_kind",
]
