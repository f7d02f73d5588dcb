"""Typed failures of reading a Breakpad ``.sym`` file."""

from __future__ import annotations

from crashdesk.errors import CrashDeskError


class SymbolFileError(CrashDeskError):
    """A symbol file could not be used (unreadable, not a Breakpad file, wrong module)."""


class NotASymbolFile(SymbolFileError):
    """The file does not start with a ``MODULE`` line."""


class DebugIdMismatch(SymbolFileError):
    """The file's ``MODULE`` line names another debug id than the one asked for."""

    def __init__(self, path: str, expected: str, found: str) -> None:
        super().__init__(f"{path}: MODULE line has debug id {found}, expected {expected}")
        self.path = path
        self.expected = expected
        self.found = found
