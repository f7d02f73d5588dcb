"""Typed errors of the signature engine."""

from __future__ import annotations

from crashdesk.errors import CrashDeskError


class SignatureError(CrashDeskError):
    """Base class for the signature engine's expected failures."""


class ProfileError(SignatureError):
    """A profile cannot be found, read or used."""


class ListSyntaxError(ProfileError):
    """A line of a signature list file is not a valid regular expression (or not UTF-8)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.reason = message
        super().__init__(f"{path}, line {line}: {message}")
