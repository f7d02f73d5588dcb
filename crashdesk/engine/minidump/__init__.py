"""Reading minidumps: a lazy, bounds-checked reader over ``mmap`` (see :class:`Minidump`)."""

from crashdesk.engine.minidump.errors import (
    CorruptMinidumpError,
    MinidumpError,
    MissingStreamError,
    NotAMinidumpError,
    TruncatedMinidumpError,
)
from crashdesk.engine.minidump.reader import Minidump

__all__ = [
    "CorruptMinidumpError",
    "Minidump",
    "MinidumpError",
    "MissingStreamError",
    "NotAMinidumpError",
    "TruncatedMinidumpError",
]
