"""Typed errors raised by the minidump reader."""

from __future__ import annotations

from crashdesk.errors import CrashDeskError


class MinidumpError(CrashDeskError):
    """The file cannot be read as a minidump (the base of every reader error)."""


class NotAMinidumpError(MinidumpError):
    """The file does not start with the ``MDMP`` signature (or is empty)."""


class TruncatedMinidumpError(MinidumpError):
    """A structure the reader needs lies (partly) past the end of the file."""


class CorruptMinidumpError(MinidumpError):
    """A count, size or offset is impossible (absurd counts, loops, negative sizes)."""


class MissingStreamError(MinidumpError):
    """A stream the processing needs is absent (e.g. the thread list or system info)."""
