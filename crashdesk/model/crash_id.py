"""Antenna-style crash ids: a lower-case UUID4 whose last 7 characters are a throttle digit and the UTC
submission date ``YYMMDD`` (``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxTYYMMDD``)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

CRASH_ID_RE = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6}$")
ACCEPT = 0
DEFER = 1


def new_crash_id(when: dt.datetime | None = None, throttle: int = ACCEPT) -> str:
    when = when or dt.datetime.now(dt.UTC)
    base = str(uuid.uuid4())
    return f"{base[:-7]}{throttle}{when:%y%m%d}"


def normalize_crash_id(text: str) -> str:
    """Accept ``bp-`` prefixed ids and surrounding space; return the bare lower-case id or raise ValueError."""
    value = text.strip().lower()
    if value.startswith("bp-"):
        value = value[3:]
    if not CRASH_ID_RE.match(value):
        raise ValueError(f"not a crash id: {text!r}")
    return value


def is_crash_id(text: str) -> bool:
    return bool(CRASH_ID_RE.match(text))
