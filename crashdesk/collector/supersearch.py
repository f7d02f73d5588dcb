"""Translating Crash Stats' SuperSearch parameters (socorro-api.md §5) into a CrashDesk store search.

Filters become a query in CrashDesk's query language (``crashdesk.engine.query``); ``date`` bounds follow
Crash Stats (no date = the last 7 days; the tightest lower and upper bound win; a missing upper bound is now,
a missing lower bound is 7 days before the upper; more than 365 days is refused). Operators: ``=`` exact,
``~`` contains, ``^`` starts with, ``$`` ends with, ``>``/``>=``/``<``/``<=`` ranges, ``!`` negation,
``__null__`` missing; a plain value is an exact match on keyword fields and a contains match on text fields
(the closest local equivalent of Elasticsearch's "has terms"). ``@`` (regex) is not supported (400).
Only crashes with a processed crash to serve are found (processed here, or synced), as on Crash Stats where
crashes become searchable once processed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from crashdesk.model.protected_fields import processed_field_is_protected, query_field_is_protected

#: SuperSearch field -> CrashDesk query field
FILTER_FIELDS = {
    "uuid": "crash_id", "signature": "signature", "proto_signature": "proto_signature",
    "product": "product", "version": "version", "release_channel": "channel", "build_id": "build_id",
    "platform": "os", "platform_version": "os_version", "cpu_arch": "cpu", "reason": "reason",
    "address": "address", "process_type": "ann.ProcessType", "moz_crash_reason": "ann.MozCrashReason",
}
TEXT_FIELDS = {"signature", "proto_signature", "reason", "ann.MozCrashReason"}
RANGE_FIELDS = {"build_id", "version"}
#: SuperSearch column -> key of a store hit
COLUMNS = {
    "uuid": "crash_id", "date": "date", "signature": "signature", "proto_signature": "proto_signature",
    "product": "product", "version": "version", "build_id": "build_id", "release_channel": "channel",
    "platform": "os", "platform_version": "os_version", "cpu_arch": "cpu", "reason": "reason",
    "address": "address",
}
FACETS = {"signature": "signature", "proto_signature": "proto_signature", "product": "product",
          "version": "version", "platform": "os", "platform_version": "os_version", "cpu_arch": "cpu",
          "release_channel": "channel", "reason": "reason", "build_id": "build_id", "address": "address"}
SORTS = {"date": "date", "uuid": "crash_id", "signature": "signature", "product": "product",
         "version": "version", "build_id": "build_id", "platform": "os", "cpu_arch": "cpu",
         "release_channel": "channel", "reason": "reason"}
DEFAULT_COLUMNS = ("uuid", "date", "signature", "product", "version")
MAX_RESULTS = 1000
RESULT_WINDOW = 10_000
MAX_FACETS_SIZE = 10_000
_RANGE_OPS = (">=", "<=", ">", "<")


class SuperSearchError(Exception):
    """A parameter Crash Stats would refuse: ``message`` goes into ``Bad request: BadArgumentError: ...``."""


@dataclass
class SearchPlan:
    query: str
    columns: list[str]
    sort: list[str]
    offset: int
    limit: int
    facets: list[str] = field(default_factory=list)
    facets_size: int = 50


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _int(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values or values[-1] == "":
        return default
    try:
        return int(values[-1])
    except ValueError as exc:
        raise SuperSearchError(f"{name} must be a whole number") from exc


def parse_date(text: str) -> dt.datetime:
    value = text.strip().replace(" ", "T", 1)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise SuperSearchError(f"Bad value for parameter(s) 'date': {text!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def date_window(values: list[str], now: dt.datetime) -> tuple[dt.datetime, dt.datetime, bool, bool]:
    """(lower, upper, lower inclusive, upper inclusive) as Crash Stats computes them."""
    lower: tuple[dt.datetime, bool] | None = None
    upper: tuple[dt.datetime, bool] | None = None
    for raw in values:
        op = next((o for o in _RANGE_OPS if raw.startswith(o)), None)
        if op is None:
            raise SuperSearchError("date must have a prefix operator")
        when = parse_date(raw[len(op):])
        inclusive = op.endswith("=")
        if op.startswith(">"):
            if lower is None or when > lower[0]:
                lower = (when, inclusive)
        elif upper is None or when < upper[0]:
            upper = (when, inclusive)
    up, up_inc = upper if upper else (now, True)
    low, low_inc = lower if lower else (up - dt.timedelta(days=7), True)
    if up - low > dt.timedelta(days=365):
        raise SuperSearchError("Date range is bigger than 365 days")
    return low, up, low_inc, up_inc


def _term(qfield: str, raw: str) -> tuple[str, bool]:
    """One SuperSearch value -> (query term, is a range)."""
    negate = raw.startswith("!")
    value = raw[1:] if negate else raw
    bang = "!" if negate else ""
    if value == "__null__":
        return f"{qfield}:{bang}__null__", False
    for op in _RANGE_OPS:
        if value.startswith(op) and qfield in RANGE_FIELDS:
            return f"{qfield}:{bang}{op}{_quote(value[len(op):])}", True
    if value.startswith("@"):
        raise SuperSearchError("regular expressions (@) are not supported by this server")
    if value[:1] in ("=", "~", "^", "$"):
        return f"{qfield}:{bang}{value[0]}{_quote(value[1:])}", False
    op = "~" if qfield in TEXT_FIELDS else "="
    return f"{qfield}:{bang}{op}{_quote(value)}", False


def is_protected(name: str) -> bool:
    """Whether the SuperSearch field ``name`` reads protected data (by its own name, or the query field,
    column or facet it stands for); see :mod:`crashdesk.model.protected_fields`."""
    targets = [FILTER_FIELDS.get(name), COLUMNS.get(name), FACETS.get(name), SORTS.get(name)]
    return processed_field_is_protected(name) or any(t and query_field_is_protected(t) for t in targets)


def filter_terms(params: dict[str, list[str]], *, full: bool = True) -> list[str]:
    """The query terms for SuperSearch's field filters (several values of one field: any of them; ranges:
    all of them). Fields CrashDesk does not have are left out; without ``full`` access, so are protected ones."""
    parts: list[str] = []
    for name, qfield in FILTER_FIELDS.items():
        if not full and is_protected(name):
            continue
        values = [v for v in params.get(name, []) if v != ""]
        if not values:
            continue
        ors, ands = [], []
        for raw in values:
            term, is_range = _term(qfield, raw)
            (ands if is_range else ors).append(term)
        if ors:
            parts.append(ors[0] if len(ors) == 1 else "(" + " OR ".join(ors) + ")")
        parts.extend(ands)
    return parts


def plan(params: dict[str, list[str]], now: dt.datetime | None = None, *, full: bool = True) -> SearchPlan:
    """Turn SuperSearch parameters into a :class:`SearchPlan` or raise :class:`SuperSearchError`.

    Without ``full`` access, protected fields are dropped silently from filters, facets and sort keys, and
    from the returned columns, as Crash Stats does for callers without "View Personal Identifiable
    Information" (a protected filter then finds more crashes, never reveals a value)."""
    now = now or dt.datetime.now(dt.UTC)
    # As on Crash Stats, a crash is searchable once there is a processed crash to serve for it: processed
    # here, or synced with its server's processed crash.
    parts: list[str] = ['(state:processed OR source:^"server:")']
    low, up, low_inc, up_inc = date_window(params.get("date", []), now)
    parts.append(f"date:{'>=' if low_inc else '>'}{_quote(low.isoformat(timespec='microseconds'))}")
    parts.append(f"date:{'<=' if up_inc else '<'}{_quote(up.isoformat(timespec='microseconds'))}")
    parts.extend(filter_terms(params, full=full))

    columns = [c for c in params.get("_columns", []) if c] or list(DEFAULT_COLUMNS)
    for col in columns:
        if col not in COLUMNS:
            raise SuperSearchError(f"Unknown field '{col}'")
    if not full:
        columns = [c for c in columns if not is_protected(c)]
    sort = []
    for key in params.get("_sort", []):
        desc = key.startswith("-")
        name = SORTS.get(key.lstrip("-"))
        if name and (full or not is_protected(key.lstrip("-"))):  # unknown sort fields are dropped silently, as Crash Stats does
            sort.append(("-" if desc else "") + name)
    limit = _int(params, "_results_number", 100)
    offset = _int(params, "_results_offset", 0)
    if limit > MAX_RESULTS:
        raise SuperSearchError("_results_number cannot be greater than 1,000")
    if limit < 0 or offset < 0:
        raise SuperSearchError("_results_number and _results_offset must not be negative")
    if offset + limit > RESULT_WINDOW:
        raise SuperSearchError("_results_offset + _results_number cannot be greater than 10,000")
    facets_size = _int(params, "_facets_size", 50)
    if facets_size > MAX_FACETS_SIZE:
        raise SuperSearchError("_facets_size greater than 10,000")
    facet_names = params.get("_facets", ["signature"]) if "_facets" in params else ["signature"]
    facets = [f for f in facet_names if f in FACETS and (full or not is_protected(f))] if facets_size > 0 else []
    return SearchPlan(" ".join(parts), columns, sort or ["-date"], offset, limit, facets, facets_size)


def hit_value(column: str, hit: dict[str, Any]) -> Any:
    value = hit.get(COLUMNS[column])
    if column == "build_id" and isinstance(value, str) and re.fullmatch(r"\d{1,20}", value):
        return int(value)
    return value


def run(store, params: dict[str, list[str]], now: dt.datetime | None = None, *,
        full: bool = True) -> dict[str, Any]:
    """Answer a SuperSearch request from ``store`` in Crash Stats' response shape (``full``: the caller may
    see protected data)."""
    p = plan(params, now, full=full)
    result = store.search(p.query, facets=[FACETS[f] for f in p.facets], sort=p.sort, offset=p.offset,
                          limit=p.limit, facets_size=max(p.facets_size, 1))
    hits = [{col: hit_value(col, hit) for col in p.columns} for hit in result.hits]
    facets = {name: result.facets.get(FACETS[name], []) for name in p.facets}
    return {"hits": hits, "total": result.total, "facets": facets, "errors": []}
