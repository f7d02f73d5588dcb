"""Typed failures of reading a native debug file (ELF, PE, PDB, Mach-O)."""

from __future__ import annotations

from crashdesk.engine.symfile.errors import SymbolFileError


class NativeFileError(SymbolFileError):
    """A native debug file could not be used: not an object file, truncated, damaged or hostile."""


class NativeSupportMissing(NativeFileError):
    """The ``symbolic`` library that reads native debug files is not installed on this platform."""


SUPPORT_MISSING_NOTE = ("native debug files (ELF, PDB, Mach-O) need the 'symbolic' package, not installed here; "
                        "Breakpad .sym files still work")
