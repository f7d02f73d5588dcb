"""Per-signature aggregates for the signatures view: count, share, first and last seen, versions, OS split,
and crashes per day and per version, all over the crashes matching a query.

Plain SQL over the store's read connection (no Qt); the UI calls these from background jobs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from crashdesk.model.versions import version_key
from crashdesk.store import CrashStore
from crashdesk.store.search import compile_query

NO_SIGNATURE = "(no signature)"


@dataclass
class SignatureRow:
    """One signature among the crashes matching a query."""

    signature: str | None
    count: int
    share: float  # of the query's crashes, 0..1
    first_seen: str
    last_seen: str
    versions: list[tuple[str, int]] = field(default_factory=list)  # newest version first
    os_split: list[tuple[str, int]] = field(default_factory=list)  # biggest first

    @property
    def label(self) -> str:
        return self.signature if self.signature else NO_SIGNATURE


@dataclass
class SignatureTable:
    query: str
    total: int  # crashes matching the query
    rows: list[SignatureRow]


def _prepare(store: CrashStore, query: str) -> tuple[Any, str, list[Any]]:
    where, params = compile_query(query or "")
    conn = store.db.conn
    conn.create_function("version_key", 1, version_key, deterministic=True)
    return conn, where, list(params)


def signature_table(store: CrashStore, query: str = "", *, limit: int = 500) -> SignatureTable:
    """The ``limit`` biggest signatures of the crashes matching ``query`` (raises the query's error).

    One pass over the matching crashes, grouped by (signature, version, OS); the per-signature totals,
    dates and splits are added up here, which is several times faster than one GROUP BY per figure."""
    conn, where, params = _prepare(store, query)
    groups = conn.execute(
        f"SELECT c.signature, c.version, c.os, count(*), min(c.submitted_at), max(c.submitted_at) "
        f"FROM crashes c WHERE {where} GROUP BY c.signature, c.version, c.os", params).fetchall()
    rows: dict[str | None, SignatureRow] = {}
    versions: dict[str | None, dict[str, int]] = {}
    systems: dict[str | None, dict[str, int]] = {}
    total = 0
    for sig, version, os_name, n, first, last in groups:
        total += n
        row = rows.get(sig)
        if row is None:
            row = rows[sig] = SignatureRow(sig, 0, 0.0, first or "", last or "")
            versions[sig], systems[sig] = {}, {}
        row.count += n
        if first and (not row.first_seen or first < row.first_seen):
            row.first_seen = first
        if last and last > row.last_seen:
            row.last_seen = last
        v, o = version or "?", os_name or "?"
        versions[sig][v] = versions[sig].get(v, 0) + n
        systems[sig][o] = systems[sig].get(o, 0) + n
    # crashes without a signature (not processed yet, failed) come last: they are not a signature
    top = sorted(rows.values(), key=lambda r: (not r.signature, -r.count, r.signature or ""))[:limit]
    for row in top:
        row.share = row.count / total if total else 0.0
        row.versions = sorted(versions[row.signature].items(),
                              key=lambda vn: version_key(vn[0]) if vn[0] != "?" else "", reverse=True)
        row.os_split = sorted(systems[row.signature].items(), key=lambda on: (-on[1], on[0]))
    return SignatureTable(query, total, top)


def _signature_filter(signature: str | None, all_signatures: bool) -> tuple[str, list[Any]]:
    if all_signatures:
        return "", []
    return " AND c.signature IS ?", [signature]


def crashes_by_day(store: CrashStore, query: str = "", signature: str | None = None, *,
                   all_signatures: bool = False) -> list[tuple[str, int]]:
    """``(YYYY-MM-DD, crashes)`` per submission day (UTC), oldest first, for one signature of the query's
    crashes (or all of them with ``all_signatures``). Days without crashes are not listed."""
    conn, where, params = _prepare(store, query)
    extra, extra_params = _signature_filter(signature, all_signatures)
    return [(d, n) for d, n in conn.execute(
        f"SELECT substr(c.submitted_at, 1, 10) AS day, count(*) FROM crashes c WHERE {where}{extra} "
        f"GROUP BY day ORDER BY day", [*params, *extra_params])]


#: the longest span shown day by day (then month by month, then year by year): a chart of at most this many bars
MAX_BUCKETS = 60


def crashes_over_time(store: CrashStore, query: str = "", signature: str | None = None, *,
                      all_signatures: bool = False) -> tuple[str, list[tuple[str, int]]]:
    """``(unit, [(bucket, crashes), ...])`` from the first crash to the last, oldest first, every bucket listed
    (0 where none): ``day`` (``YYYY-MM-DD``) when they span at most :data:`MAX_BUCKETS` days, else ``month``
    (``YYYY-MM``) when at most as many months, else ``year`` (``YYYY``). Crashes imported from several years
    (dumps dated by their own time stamps) so read as a time axis, not as a row of days with gaps of years."""
    days = crashes_by_day(store, query, signature, all_signatures=all_signatures)
    dated = []
    for day, n in days:
        try:
            dated.append((dt.date.fromisoformat(day), n))
        except (TypeError, ValueError):  # a hostile or missing date: not on the time axis
            continue
    if not dated:
        return "day", []
    first, last = dated[0][0], dated[-1][0]
    if (last - first).days < MAX_BUCKETS:
        unit, key = "day", dt.date.isoformat
        labels = [(first + dt.timedelta(days=k)).isoformat() for k in range((last - first).days + 1)]
    elif (last.year - first.year) * 12 + last.month - first.month < MAX_BUCKETS:
        unit, key = "month", lambda d: f"{d.year:04d}-{d.month:02d}"
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
        labels = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    else:
        unit, key = "year", lambda d: f"{d.year:04d}"
        labels = [f"{y:04d}" for y in range(first.year, last.year + 1)]
    counts = dict.fromkeys(labels, 0)
    for day, n in dated:
        counts[key(day)] += n
    return unit, list(counts.items())


def crashes_by_version(store: CrashStore, query: str = "", signature: str | None = None, *,
                       all_signatures: bool = False) -> list[tuple[str, int]]:
    """``(version, crashes)`` oldest version first (version order, not text order)."""
    conn, where, params = _prepare(store, query)
    extra, extra_params = _signature_filter(signature, all_signatures)
    rows = conn.execute(
        f"SELECT coalesce(c.version, ''), count(*) FROM crashes c WHERE {where}{extra} GROUP BY c.version",
        [*params, *extra_params]).fetchall()
    return sorted(((v or "?", n) for v, n in rows), key=lambda vn: version_key(vn[0]) if vn[0] != "?" else "")


def signature_query(signature: str | None) -> str:
    """The query term that selects exactly ``signature`` (``signature:__null__`` for none)."""
    if not signature:
        return "signature:__null__"
    escaped = signature.replace("\\", "\\\\").replace('"', '\\"')
    return f'signature:="{escaped}"'
