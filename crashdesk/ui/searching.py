"""One call the UI uses to search: the store's own ``search`` when it has one, else the fallback engine.

Results are normalised to ``SearchResult`` whatever shape the store returns (a dict in Crash Stats' shape, or
an object with ``total``/``hits``/``facets`` attributes), so the models never care which engine answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crashdesk.ui import fallback_search

FACETS = ("signature", "product", "version", "os", "module")
#: field names offered by completion, besides whatever the query module declares
BASE_FIELDS = tuple(sorted({*fallback_search.FIELDS, "ann."}))


@dataclass
class SearchResult:
    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _hit(hit: Any) -> dict[str, Any]:
    if isinstance(hit, dict):
        row = dict(hit)
    elif hasattr(hit, "__dataclass_fields__"):
        row = {k: getattr(hit, k) for k in hit.__dataclass_fields__}
    else:
        row = dict(vars(hit))
    row.setdefault("submitted_at", row.get("date"))
    if "crash_id" in row and isinstance(row["crash_id"], str):
        row["crash_id"] = row["crash_id"].removeprefix("bp-")
    return row


def _facets(raw: Any) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for name, buckets in (raw or {}).items():
        items = []
        for b in buckets or ():
            if isinstance(b, tuple | list):
                term, count = b[0], b[1]
            else:
                term, count = _get(b, "term"), _get(b, "count", 0)
            if term not in (None, ""):
                items.append((str(term), int(count)))
        out[name] = items
    return out


def has_store_search(store: Any) -> bool:
    return callable(getattr(store, "search", None))


def search(store: Any, query: str, *, sort: str = "-date", offset: int = 0, limit: int = 200,
           facets: tuple[str, ...] = ()) -> SearchResult:
    """Search ``store``; raises the engine's query error (a ``CrashDeskError``) for a bad query."""
    if has_store_search(store):
        raw = store.search(query, facets=list(facets), sort=sort, offset=offset, limit=limit)
    else:
        raw = fallback_search.search(store, query, sort=sort, offset=offset, limit=limit, facets=facets)
    return SearchResult(int(_get(raw, "total", 0) or 0), [_hit(h) for h in _get(raw, "hits", []) or []],
                        _facets(_get(raw, "facets", {})))


def error_position(exc: BaseException) -> int | None:
    """The character offset a query error points at, whatever the engine calls it."""
    for name in ("position", "pos", "offset", "column", "start"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def field_names() -> tuple[str, ...]:
    """Field names for completion: the query module's list when it exists, else the fallback's."""
    try:
        from crashdesk.engine import query as query_module  # type: ignore[attr-defined]
    except ImportError:
        return BASE_FIELDS
    for name in ("FIELDS", "FIELD_NAMES", "KNOWN_FIELDS"):
        names = getattr(query_module, name, None)
        if names:
            return tuple(sorted({*(str(n) for n in names), "ann."}))
    return BASE_FIELDS
