"""Top crashers and what changed: Crash Stats' Top Crashers columns computed from the local store.

For a scope (a query in the search language, a product and version, a window of days ending at ``end``)
:func:`top_crashers` ranks the signatures by crash count and sets each beside the *previous* scope: the
window of the same length just before (period mode) or another version over the same window (version mode).

Definitions (the README's "Top crashers" section repeats them):

* ``rank``: 1 = most crashes; ties by signature text (``None``, "no signature", last).
* ``percent``: the signature's crashes / all crashes of the scope x 100.
* ``previous_rank`` / ``previous_percent``: the same in the previous scope (over all its signatures), ``None``
  when the signature has no crash there; ``rank_change`` = ``previous_rank - rank`` (positive: moved up).
* ``is_new``: period mode: no crash of the signature matching the filters before the window starts; version
  mode: none in an earlier version of the product (version order) matching the filters, at any date.
* ``startup_percent``: crashes with an uptime under 60 s / the signature's crashes x 100, as Crash Stats
  counts them (its uptime histogram's first 60-second bucket). Uptime: the ``UptimeTS`` annotation, else
  ``CrashTime - StartupTime``, else the process uptime the minidump records (``crashes.process_uptime``: its
  MiscInfo creation time against its time stamp, stored when the crash is processed; Crashpad and Breakpad
  clients other than Firefox send no uptime annotation); crashes with none count as not at start-up.
  ``startup_known``: how many of the signature's crashes have an uptime (0: the share is unknown, not 0%,
  and the views show "—").
* ``platforms``: OS name -> crashes. ``installations``: distinct install ids (the ``InstallTime``
  annotation, as Crash Stats counts installs, else the Crashpad client ``guid``); ``None`` when no crash of
  the signature carries one.
* spikes (``crashdesk.engine.spikes``): the last 24 hours before ``end`` against the 7 x 24 hours before
  them, same filters, any date window.

Everything is plain SQL over the store's read connection (no Qt); the UI runs it in background jobs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from crashdesk.engine import spikes
from crashdesk.errors import UsageError
from crashdesk.model.summary import crash_uptime
from crashdesk.model.versions import version_key
from crashdesk.store import CrashStore
from crashdesk.store.search import compile_query

STARTUP_SECONDS = 60
INSTALL_KEYS = ("InstallTime", "guid")
DAY = dt.timedelta(days=1)
ALL_VERSIONS = "*"
Progress = Callable[[float, str], None]


def iso(when: dt.datetime) -> str:
    """A time as the store writes it (sorts as text against ``submitted_at``)."""
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


@dataclass
class Scope:
    """Which crashes: ``query`` (search language, may be empty) AND product AND version AND the window
    ``[end - days, end)`` (``days`` None: every date)."""

    query: str = ""
    product: str | None = None
    version: str | None = None   # None or ALL_VERSIONS: every version
    days: int | None = 7
    end: dt.datetime | None = None

    @property
    def start(self) -> dt.datetime | None:
        return None if self.days is None or self.end is None else self.end - self.days * DAY

    def label(self) -> str:
        parts = [p for p in (self.product, self.version if self.version != ALL_VERSIONS else "all versions") if p]
        if self.days is not None and self.end is not None:
            parts.append(f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC")
        if self.query.strip():
            parts.append(self.query.strip())
        return ", ".join(parts) or "all crashes"


@dataclass
class TopCrasher:
    rank: int
    signature: str | None
    count: int
    percent: float
    previous_rank: int | None
    rank_change: int | None
    previous_percent: float | None
    is_new: bool
    startup_percent: float
    platforms: dict[str, int]
    installations: int | None
    spike: bool = False
    last_day: int = 0
    baseline_per_day: float = 0.0
    spike_p: float = 1.0
    daily: list[int] = field(default_factory=list)  # crashes per 24 h, oldest first, the last day last
    startup_known: int = 0  # crashes with an uptime (the start-up share means nothing without any)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TopCrashersReport:
    scope: Scope
    previous: Scope
    mode: str                    # "period" | "version"
    total: int
    previous_total: int
    rows: list[TopCrasher]

    def to_json(self) -> dict[str, Any]:
        def scope_json(s: Scope) -> dict[str, Any]:
            return {"query": s.query, "product": s.product,
                    "version": None if s.version == ALL_VERSIONS else s.version,
                    "start": iso(s.start) if s.start else None, "end": iso(s.end) if s.end else None}

        return {"mode": self.mode, "scope": scope_json(self.scope), "previous": scope_json(self.previous),
                "total": self.total, "previous_total": self.previous_total,
                "signatures": [r.to_json() for r in self.rows]}


# ---------------------------------------------------------------------------------------------- SQL pieces


def _conn(store: CrashStore):
    conn = store.db.conn
    conn.create_function("version_key", 1, version_key, deterministic=True)
    return conn


def _where(scope: Scope, *, dates: bool = True, version: bool = True) -> tuple[str, list[Any]]:
    """The condition over ``crashes c`` for a scope (parts of it can be left out)."""
    where, params = compile_query(scope.query or "")
    parts, out = [f"({where})"], list(params)
    if scope.product:
        parts.append("c.product = ? COLLATE NOCASE")
        out.append(scope.product)
    if version and scope.version and scope.version != ALL_VERSIONS:
        parts.append("c.version = ?")
        out.append(scope.version)
    if dates and scope.start is not None:
        parts.append("c.submitted_at >= ? AND c.submitted_at < ?")
        out += [iso(scope.start), iso(scope.end)]
    return " AND ".join(parts), out


def _ranks(counts: dict[str | None, int]) -> list[tuple[str | None, int]]:
    return sorted(counts.items(), key=lambda sn: (-sn[1], sn[0] is None, sn[0] or ""))


COVER = "crashes c INDEXED BY crashes_search_cover"  # (submitted_at, product, version, ..., signature)


def _crashes(scope: Scope, dates: bool = True) -> str:
    """``crashes`` for a scope's FROM clause: with a date window, read through the narrow covering index
    (a window's range of it holds product, version, OS and signature) instead of the wide rows that the
    product or version index would lead to, one page read per crash."""
    return COVER if dates and scope.start is not None else "crashes c"


def _signature_counts(conn, scope: Scope) -> dict[str | None, int]:
    where, params = _where(scope)
    return dict(conn.execute(f"SELECT c.signature, count(*) FROM {_crashes(scope)} WHERE {where} "
                             f"GROUP BY c.signature", params).fetchall())


PER_CRASH_KEYS = ("UptimeTS", "CrashTime", "StartupTime", "InstallTime", "guid")


RANGE_READ_SHARE = 8  # read a key's whole range when the scope holds over 1/8 of the store's crashes


def _annotation_values(conn, scope: Scope, where: str, params: list[Any]) -> list[tuple]:
    """One row per crash of the scope: signature, OS, the minidump's process uptime and the annotations
    start-up and installations read (keys no crash in the store has are NULL). A small scope reads the chunks
    of each key that hold its crashes; a large one reads each key's chunks
    (``crashdesk.store.annotation_columns``) all through."""
    from crashdesk.store import annotation_columns

    present = [key for key in PER_CRASH_KEYS if annotation_columns.has_key(conn, key)]
    rows = conn.execute(f"SELECT c.id, c.signature, c.os FROM {_crashes(scope)} WHERE {where}", params).fetchall()
    if not rows:
        return []
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM crashes").fetchone()
    ids = None if len(rows) * RANGE_READ_SHARE > top else [r[0] for r in rows]
    uptimes = _process_uptimes(conn, ids)
    empty: dict = {}
    cols = [annotation_columns.values_for(conn, key, ids) if key in present else empty for key in PER_CRASH_KEYS]
    return [(sig, os_name, uptimes.get(cid), *(col.get(cid) for col in cols)) for cid, sig, os_name in rows]


def _process_uptimes(conn, ids: list[int] | None) -> dict[int, int]:
    """Crash row id -> the minidump's process uptime, for ``ids`` (None: every crash), read from the partial
    index of the crashes that have one (the scope's rows come from the narrow covering index, which has
    no room for it; a store of crashes without one reads nothing)."""
    sql = "SELECT id, process_uptime FROM crashes INDEXED BY crashes_process_uptime WHERE process_uptime IS NOT NULL"
    if ids is None:
        return dict(conn.execute(sql).fetchall())
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        out.update(conn.execute(f"{sql} AND id IN ({','.join('?' * len(chunk))})", chunk).fetchall())
    return out


@dataclass
class _Current:
    counts: Counter = field(default_factory=Counter)
    startup: Counter = field(default_factory=Counter)
    timed: Counter = field(default_factory=Counter)  # crashes with an uptime
    platforms: dict = field(default_factory=dict)
    installs: dict = field(default_factory=dict)  # signature -> distinct install ids


def _current(conn, scope: Scope) -> _Current:
    where, params = _where(scope)
    out = _Current()
    pairs: Counter = Counter()     # (signature, OS) -> crashes
    installs: set[tuple] = set()   # (signature, kind, value)
    startup = out.startup
    limit = STARTUP_SECONDS
    for sig, os_name, process_uptime, uptime_ts, crash_time, startup_time, install_time, guid in _annotation_values(
            conn, scope, where, params):
        pairs[sig, os_name] += 1
        if uptime_ts is not None or crash_time is not None or process_uptime is not None:
            up = crash_uptime(uptime_ts, crash_time, startup_time, process_uptime)[0]
            if up is not None:
                out.timed[sig] += 1
                if up < limit:
                    startup[sig] += 1
        if install_time:
            installs.add((sig, "InstallTime", install_time))
        elif guid:
            installs.add((sig, "guid", guid))
    for (sig, os_name), n in pairs.items():
        out.counts[sig] += n
        out.platforms.setdefault(sig, Counter())[os_name or "unknown"] += n
    for sig, _kind, _value in installs:
        out.installs[sig] = out.installs.get(sig, 0) + 1
    return out


def _seen_before(conn, scope: Scope, mode: str, signatures: list[str | None]) -> set[str | None]:
    """Which of ``signatures`` have a crash before the scope: before its window (period mode) or in an earlier
    version (version mode). One probe per signature through the signature index (most signatures that are
    not new have an early crash that matches at once; reading every earlier crash of the filters instead
    takes seconds on a large store)."""
    if mode == "version":
        where, params = _where(scope, dates=False, version=False)
        extra, extra_params = "c.version_key < ? AND c.version_key != ''", [version_key(scope.version or "")]
    else:
        if scope.start is None:
            return set()
        where, params = _where(scope, dates=False)
        extra, extra_params = "c.submitted_at < ?", [iso(scope.start)]
    seen = set()
    for sig in signatures:
        if sig is None:
            found = conn.execute(f"SELECT 1 FROM crashes c WHERE c.signature IS NULL AND {where} AND {extra} LIMIT 1",
                                 [*params, *extra_params]).fetchone()
        else:
            found = conn.execute(f"SELECT 1 FROM crashes c INDEXED BY crashes_signature WHERE "
                                 f"c.signature = ? COLLATE NOCASE AND c.signature = ? AND {where} AND {extra} LIMIT 1",
                                 [sig, sig, *params, *extra_params]).fetchone()
        if found:
            seen.add(sig)
    return seen


def daily_counts(conn, scope: Scope, days: int = spikes.BASELINE_DAYS + 1) -> dict[str | None, list[int]]:
    """Crashes per 24 hours ending at ``scope.end`` for each signature of the scope's filters (any date
    window), ``days`` buckets, oldest first."""
    end = scope.end or dt.datetime.now(dt.UTC)
    where, params = _where(scope, dates=False)
    bounds = [iso(end - k * DAY) for k in range(days, -1, -1)]  # oldest first, end last
    sums = ", ".join("sum(c.submitted_at >= ?)" for _ in range(1, days))
    rows = conn.execute(
        f"SELECT c.signature, count(*), {sums} FROM {COVER} WHERE {where} "
        f"AND c.submitted_at >= ? AND c.submitted_at < ? GROUP BY c.signature",
        [*bounds[1:days], *params, bounds[0], bounds[-1]]).fetchall()
    out: dict[str | None, list[int]] = {}
    for sig, total, *at_least in rows:
        cumulative = [total, *at_least, 0]  # crashes at or after each bucket start
        out[sig] = [cumulative[i] - cumulative[i + 1] for i in range(days)]
    return out


# ---------------------------------------------------------------------------------------------- defaults


def default_product(store: CrashStore, scope: Scope) -> str | None:
    """The product with the most crashes in the scope's window (and query)."""
    conn = _conn(store)
    where, params = _where(Scope(scope.query, None, None, scope.days, scope.end))
    row = conn.execute(f"SELECT c.product, count(*) AS n FROM crashes c WHERE {where} AND c.product IS NOT NULL "
                       f"GROUP BY c.product COLLATE NOCASE ORDER BY n DESC LIMIT 1", params).fetchone()
    return row[0] if row else None


def versions_with_crashes(store: CrashStore, scope: Scope) -> list[tuple[str, int]]:
    """``(version, crashes)`` of the scope's product in its window (and query), newest version first."""
    conn = _conn(store)
    where, params = _where(Scope(scope.query, scope.product, None, scope.days, scope.end))
    rows = conn.execute(f"SELECT c.version, count(*) FROM crashes c WHERE {where} AND c.version IS NOT NULL "
                        f"AND c.version != '' GROUP BY c.version", params).fetchall()
    return sorted(rows, key=lambda vn: version_key(vn[0]), reverse=True)


def resolve(store: CrashStore, scope: Scope) -> Scope:
    """Fill in the defaults: ``end`` now, the product with most crashes, its newest version with crashes."""
    end = scope.end or dt.datetime.now(dt.UTC).replace(microsecond=0)
    out = Scope(scope.query, scope.product, scope.version, scope.days, end)
    if out.product is None:
        out.product = default_product(store, out)
    if out.version is None:
        versions = versions_with_crashes(store, out) if out.product else []
        out.version = versions[0][0] if versions else ALL_VERSIONS
    return out


def newest_crash(store: CrashStore, scope: Scope) -> dt.datetime | None:
    """The newest crash of the scope's query, product and version, whatever its date (None: none): where a
    window that holds no crash can end instead (crashes imported or synced from an earlier time)."""
    where, params = _where(scope, dates=False)
    (newest,) = _conn(store).execute(f"SELECT max(c.submitted_at) FROM crashes c WHERE {where}", params).fetchone()
    if not newest:
        return None
    try:
        when = dt.datetime.fromisoformat(str(newest).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def window_ending_at(when: dt.datetime) -> dt.datetime:
    """A window end that holds a crash at ``when``: the next whole minute after it."""
    return when.astimezone(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


# ---------------------------------------------------------------------------------------------- reports


def top_crashers(store: CrashStore, scope: Scope, *, against_version: str | None = None, limit: int | None = 50,
                 progress: Progress | None = None, resolve_defaults: bool = True) -> TopCrashersReport:
    """The top ``limit`` signatures of ``scope`` (all with ``limit`` None) beside the previous period, or
    beside ``against_version`` over the same window. Raises the query's error for a bad query and
    :class:`UsageError` for a bad scope."""
    if scope.days is not None and scope.days <= 0:
        raise UsageError("the window must be at least one day")
    report = progress or (lambda _f, _t: None)
    if resolve_defaults:
        scope = resolve(store, scope)
    elif scope.end is None:
        scope = Scope(scope.query, scope.product, scope.version, scope.days, dt.datetime.now(dt.UTC))
    conn = _conn(store)
    if against_version is not None:
        if not scope.version or scope.version == ALL_VERSIONS:
            raise UsageError("comparing against a version needs a version to compare")
        mode = "version"
        previous = Scope(scope.query, scope.product, against_version, scope.days, scope.end)
    else:
        mode = "period"
        if scope.days is None:
            raise UsageError("comparing with the previous period needs a window of days")
        previous = Scope(scope.query, scope.product, scope.version, scope.days, scope.start)
    report(0.05, "counting the current crashes")
    cur = _current(conn, scope)
    report(0.45, "counting the previous crashes")
    prev_counts = _signature_counts(conn, previous)
    report(0.6, "counting crashes per day")
    daily = daily_counts(conn, scope)
    total, prev_total = sum(cur.counts.values()), sum(prev_counts.values())
    prev_rank = {sig: i + 1 for i, (sig, _n) in enumerate(_ranks(prev_counts))}
    ranked = _ranks(dict(cur.counts))
    if limit is not None:
        ranked = ranked[:limit]
    report(0.75, "looking for earlier crashes")
    seen = _seen_before(conn, scope, mode, [sig for sig, _n in ranked])
    report(0.95, "ranking")
    rows = []
    for i, (sig, n) in enumerate(ranked):
        pr = prev_rank.get(sig)
        days = daily.get(sig, [0] * (spikes.BASELINE_DAYS + 1))
        verdict = spikes.judge(days[-1], sum(days[:-1]))
        installs = cur.installs.get(sig)  # a count; None when no crash of the signature has an install id
        rows.append(TopCrasher(
            rank=i + 1, signature=sig, count=n, percent=100.0 * n / total,
            previous_rank=pr, rank_change=None if pr is None else pr - (i + 1),
            previous_percent=None if pr is None else 100.0 * prev_counts[sig] / prev_total,
            is_new=sig not in seen, startup_percent=100.0 * cur.startup[sig] / n,
            platforms=dict(sorted(cur.platforms[sig].items(), key=lambda kv: (-kv[1], kv[0]))),
            installations=installs or None,
            spike=verdict.spike, last_day=verdict.last_day, baseline_per_day=verdict.baseline, spike_p=verdict.p,
            daily=days, startup_known=cur.timed[sig]))
    report(1.0, "done")
    return TopCrashersReport(scope, previous, mode, total, prev_total, rows)


# ---------------------------------------------------------------------------------------------- side by side


@dataclass
class Movement:
    signature: str | None
    count_a: int
    percent_a: float
    count_b: int
    percent_b: float
    status: str            # "new" (only in B), "gone" (only in A), "both"

    @property
    def change(self) -> float:
        """Share change in percentage points, B - A."""
        return self.percent_b - self.percent_a

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "change": self.change}


@dataclass
class Comparison:
    a: Scope
    b: Scope
    total_a: int
    total_b: int
    rows: list[Movement]

    def top_movers(self, n: int = 10) -> list[Movement]:
        """The ``n`` signatures whose share moved most (either way), biggest first."""
        return sorted(self.rows, key=lambda m: (-abs(m.change), m.signature or ""))[:n]

    def to_json(self) -> dict[str, Any]:
        return {"a": {"label": self.a.label(), "total": self.total_a},
                "b": {"label": self.b.label(), "total": self.total_b},
                "signatures": [m.to_json() for m in self.rows]}


_STATUS_ORDER = {"new": 0, "gone": 1, "both": 2}


def movement_order(m: Movement) -> tuple:
    """New signatures first (most crashes first), then disappeared ones, then the rest by share moved."""
    if m.status == "new":
        return (0, -m.count_b, m.signature or "")
    if m.status == "gone":
        return (1, -m.count_a, m.signature or "")
    return (2, -abs(m.change), m.signature or "")


def compare(store: CrashStore, a: Scope, b: Scope, *, progress: Progress | None = None) -> Comparison:
    """Scope ``a`` (before) and ``b`` (after) side by side: every signature of either with its crashes and
    share in each, sorted by :func:`movement_order`."""
    report = progress or (lambda _f, _t: None)
    conn = _conn(store)
    now = dt.datetime.now(dt.UTC)
    a = a if a.end is not None or a.days is None else Scope(a.query, a.product, a.version, a.days, now)
    b = b if b.end is not None or b.days is None else Scope(b.query, b.product, b.version, b.days, now)
    same = (a.query, a.product, a.days, a.end) == (b.query, b.product, b.days, b.end)
    if same and a.product and all(v and v != ALL_VERSIONS for v in (a.version, b.version)) and a.version != b.version:
        # two versions of one product: one pass over the covering index for both (a third of the time of
        # two passes through the version index, which read every crash's wide row)
        report(0.1, "counting both versions")
        where, params = _where(Scope(a.query, a.product, None, a.days, a.end))
        ca, cb = {}, {}
        for version, sig, n in conn.execute(
                f"SELECT c.version, c.signature, count(*) FROM {COVER} WHERE {where} AND c.version IN (?, ?) "
                f"GROUP BY c.version, c.signature", [*params, a.version, b.version]):
            (ca if version == a.version else cb)[sig] = n
    else:
        report(0.1, "counting A")
        ca = _signature_counts(conn, a)
        report(0.5, "counting B")
        cb = _signature_counts(conn, b)
    ta, tb = sum(ca.values()), sum(cb.values())
    rows = []
    for sig in set(ca) | set(cb):
        na, nb = ca.get(sig, 0), cb.get(sig, 0)
        status = "new" if not na else ("gone" if not nb else "both")
        rows.append(Movement(sig, na, 100.0 * na / ta if ta else 0.0, nb, 100.0 * nb / tb if tb else 0.0, status))
    rows.sort(key=movement_order)
    report(1.0, "done")
    return Comparison(a, b, ta, tb, rows)


def version_scopes(product: str | None, versions: Sequence[str], query: str = "", days: int | None = None,
                   end: dt.datetime | None = None) -> tuple[Scope, Scope]:
    va, vb = versions
    return Scope(query, product, va, days, end), Scope(query, product, vb, days, end)


def period_scopes(query: str, product: str | None, version: str | None, days: int,
                  end: dt.datetime | None = None) -> tuple[Scope, Scope]:
    """The window of ``days`` ending at ``end`` (B) and the one just before it (A)."""
    end = end or dt.datetime.now(dt.UTC).replace(microsecond=0)
    return Scope(query, product, version, days, end - days * DAY), Scope(query, product, version, days, end)
