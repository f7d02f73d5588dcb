"""Native debug files (ELF/DWARF, PE, PDB, Mach-O/dSYM) as a symbol source, read with ``symbolic``.

:func:`identify` tells what a file holds (debug id, code id, architecture, what it has);
:func:`load_native_symbols` opens one as a :class:`~crashdesk.engine.symbols_api.SymbolFile` for a module,
converting it once into a cache. Pure: no network, no SQLite. Where ``symbolic`` is not installed (no Windows
wheel) both raise :class:`NativeSupportMissing` and Breakpad ``.sym`` files keep working.
"""

from crashdesk.engine.native.errors import SUPPORT_MISSING_NOTE, NativeFileError, NativeSupportMissing
from crashdesk.engine.native.identify import NativeObjectInfo, identify, native_support, sniff_file
from crashdesk.engine.native.ids import breakpad_debug_id, sniff_kind
from crashdesk.engine.native.names import display_name, strip_clone_suffix
from crashdesk.engine.native.symbols import NativeSymbolFile, cache_entry_dir, load_native_symbols
from crashdesk.engine.symfile.errors import DebugIdMismatch

__all__ = [
    "SUPPORT_MISSING_NOTE", "DebugIdMismatch", "NativeFileError", "NativeObjectInfo", "NativeSupportMissing",
    "NativeSymbolFile", "breakpad_debug_id", "cache_entry_dir", "display_name", "identify", "load_native_symbols",
    "native_support", "sniff_file", "sniff_kind", "strip_clone_suffix",
]
