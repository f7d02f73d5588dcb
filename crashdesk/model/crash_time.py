"""When a crash happened, for a dump that arrives without a submission time (an imported file).

Crash Stats dates a crash by its submission; a minidump imported from disk has none, and the time of the import
says nothing about the crash. Its ``CrashTime`` annotation (seconds since the epoch, written by Breakpad and
Crashpad clients) says when it crashed; else the minidump header's ``TimeDateStamp`` says when the dump was
written. The import time stays the crash's ``received`` time.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping
from typing import Any

MINIDUMP_SIGNATURE = 0x504D444D  # "MDMP"
#: times before this are a zeroed or garbage field, not a crash (the minidump format dates from 1999)
EARLIEST = dt.datetime(1999, 1, 1, tzinfo=dt.UTC)
#: a crash is not dated more than this after the moment it is looked at (clocks of crashing machines drift)
FUTURE_SLACK = dt.timedelta(days=2)


def minidump_header_time(head: bytes) -> int | None:
    """The header's ``TimeDateStamp`` (seconds since the epoch) from a minidump's first 32 bytes, else None."""
    if len(head) < 32:
        return None
    signature, _version, _count, _rva, _checksum, stamp = struct.unpack_from("<6I", head, 0)
    return stamp if signature == MINIDUMP_SIGNATURE and stamp else None


def _plausible(seconds: float, now: dt.datetime) -> str | None:
    try:
        when = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if not EARLIEST <= when <= now + FUTURE_SLACK:
        return None
    return when.isoformat(timespec="microseconds")


def crash_date(annotations: Mapping[str, Any], header_stamp: int | None,
               now: dt.datetime | None = None) -> str | None:
    """The date for a crash without a submission time (ISO 8601, UTC): its ``CrashTime`` annotation, else the
    minidump header's time stamp; None when neither is a plausible time."""
    now = now or dt.datetime.now(dt.UTC)
    raw = annotations.get("CrashTime")
    if raw is not None:
        try:
            found = _plausible(float(str(raw).strip()), now)
        except ValueError:
            found = None
        if found:
            return found
    return _plausible(header_stamp, now) if header_stamp else None
