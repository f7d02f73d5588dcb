"""A saved sync query: SuperSearch filters plus a date range, and the windows a sync scans.

Filters are SuperSearch parameters as the user gives them (``product=Firefox``, ``signature==OOM | small``,
``platform=Linux``...). The ``date`` filter is taken apart into the query's ``since``/``until`` bounds,
because the sync itself pages the date range in windows. Parameters starting with ``_`` (columns, sorting,
paging, facets) are the sync's own business and are refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from crashdesk.sync.errors import BadQuery

UTC = dt.UTC
_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_date(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """``YYYY-MM-DD``, ISO-8601 (naive = UTC, ``Z`` accepted), or ``30m``/``6h``/``7d``/``2w`` ago."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        now = now or dt.datetime.now(UTC)
        return now - dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise BadQuery(f"not a date: {text!r} (use YYYY-MM-DD, an ISO-8601 time, or 6h / 7d ago)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def format_date(when: dt.datetime) -> str:
    """The form sent to SuperSearch (and kept in sync state): ``2024-10-15T01:26:02.138832+00:00``."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def parse_param(item: str) -> tuple[str, str]:
    """``KEY=VALUE`` (the value may itself contain ``=``, as in ``signature==OOM | small``)."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BadQuery(f"--param needs KEY=VALUE, got {item!r}")
    if key.startswith("_"):
        raise BadQuery(
            f"--param {key}: control parameters (_columns, _sort, _results_*...) are set by sync itself"
        )
    if not re.fullmatch(r"[A-Za-z0-9_.]+", key):
        raise BadQuery(f"--param {key!r}: not a SuperSearch field name")
    return key, value


@dataclass(frozen=True)
class SyncQuery:
    """What to sync: filters (without ``date``) and an optional date range."""

    filters: tuple[tuple[str, str], ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @classmethod
    def build(
        cls,
        params: Iterable[str | tuple[str, str]] = (),
        *,
        since: str | dt.datetime | None = None,
        until: str | dt.datetime | None = None,
    ) -> SyncQuery:
        """Parse ``KEY=VALUE`` strings (or pairs); ``date=>=X`` / ``date=<X`` become bounds."""
        filters: list[tuple[str, str]] = []
        lo = parse_date(since) if isinstance(since, str) else since
        hi = parse_date(until) if isinstance(until, str) else until
        for item in params:
            key, value = parse_param(item) if isinstance(item, str) else item
            if key == "date":
                match = re.match(r"^(>=|<=|>|<)(.+)$", value.strip())
                if not match:
                    raise BadQuery(f"date={value!r}: a date filter needs an operator (>=, >, <=, <)")
                when = parse_date(match.group(2))
                if match.group(1).startswith(">"):
                    lo = when if lo is None else max(lo, when)
                else:
                    hi = when if hi is None else min(hi, when)
                continue
            filters.append((key, value))
        if lo is not None and hi is not None and lo >= hi:
            raise BadQuery(f"the date range is empty: {format_date(lo)} is not before {format_date(hi)}")
        return cls(tuple(filters), lo, hi)

    def key(self, base_url: str) -> str:
        """A stable identity for the saved sync: server + filters (dates excluded: they move)."""
        canonical = json.dumps([base_url, sorted(self.filters)], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.filters] or ["everything"]
        return " ".join(parts)


def windows(
    start: dt.datetime, end: dt.datetime, size: dt.timedelta
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Consecutive half-open windows ``[a, b)`` of at most ``size`` covering ``[start, end)``."""
    a = start
    while a < end:
        b = min(end, a + size)
        yield a, b
        a = b


def merge_ranges(ranges: Sequence[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Sorted, non-empty, non-overlapping ranges."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in sorted(r for r in ranges if r[0] < r[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
