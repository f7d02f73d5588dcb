"""The UI's one search call: the store's query language (``CrashStore.search``), with results shaped for the
item models (facets as ``(term, count)`` pairs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crashdesk.engine.query import ALIASES, FIELDS, QueryError

FACETS = ("signature", "product", "version", "os", "module")


@dataclass
class SearchResult:
    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def search(store, query: str, *, sort: str = "-date", offset: int = 0, limit: int = 200,
           facets: tuple[str, ...] = (), cancel=None) -> SearchResult:
    """Search ``store``; raises :class:`~crashdesk.engine.query.QueryError` for a bad query. ``cancel``: a
    job's cancel token; once set, the search stops (``Cancelled`` before it starts, an interrupted
    ``sqlite3.OperationalError`` while it runs)."""
    if cancel is None:
        raw = store.search(query, facets=list(facets), sort=sort, offset=offset, limit=limit)
    else:
        from crashdesk.store.search import search as store_search

        cancel.check()
        raw = store_search(store, query, facets=list(facets), sort=sort, offset=offset, limit=limit,
                           cancel=cancel.is_set)
    hits = []
    for hit in raw.hits:
        row = dict(hit)
        row["submitted_at"] = row.get("date")
        hits.append(row)
    return SearchResult(raw.total, hits, {
        name: [(str(b["term"]), int(b["count"])) for b in buckets if b.get("term") not in (None, "")]
        for name, buckets in raw.facets.items()
    })


def error_position(exc: BaseException) -> int | None:
    """The character offset a query error points at (None for other errors)."""
    return exc.position if isinstance(exc, QueryError) else None


def field_names() -> tuple[str, ...]:
    """Field names offered by completion: the query language's fields, their aliases and ``ann.``."""
    return tuple(sorted({*FIELDS, *ALIASES, "ann."}))


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DATE_OPS = (">=", "<=", ">", "<")


def pasted_query(text: str) -> str | None:
    """What Crash Stats users paste, as a query: a crash id (``bp-`` prefix or not) or a report URL
    (``.../report/index/<id>``) -> ``crash_id:<id>``; a Crash Stats search URL (``/search/?product=...``,
    ``/signature/?signature=...``, ``/api/SuperSearch/?...``) -> the equivalent query where the fields exist.
    None for anything else (it is then a query as typed)."""
    t = text.strip()
    m = re.fullmatch(rf"(?:bp-)?({_UUID})", t)
    if m:
        return f"crash_id:{m.group(1).lower()}"
    if not re.match(r"https?://", t):
        return None
    url = urlsplit(t)
    m = re.search(rf"/report/index/(?:bp-)?({_UUID})", url.path)
    if m:
        return f"crash_id:{m.group(1).lower()}"
    path = url.path.rstrip("/")
    if not (path.endswith(("/search", "/signature")) or path.endswith("/SuperSearch")):
        return None
    from crashdesk.collector.supersearch import SuperSearchError, filter_terms

    params = parse_qs(url.query)
    if path.endswith("/signature"):  # a signature's page: that signature exactly
        params["signature"] = [v if v[:1] in "=~^$!@<>" else f"={v}" for v in params.get("signature", [])]
    try:
        parts = filter_terms(params)
    except SuperSearchError:
        return None
    for value in params.get("date", []):
        op = next((o for o in _DATE_OPS if value.startswith(o)), None)
        if op is not None and value[len(op):].strip():
            parts.append(f'date:{op}"{value[len(op):].strip()}"')
    return " ".join(parts)
