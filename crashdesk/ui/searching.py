"""The UI's one search call: the store's query language (``CrashStore.search``), with results shaped for the
item models (facets as ``(term, count)`` pairs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crashdesk.engine.query import ALIASES, FIELDS, QueryError

FACETS = ("signature", "product", "version", "os", "module")


@dataclass
class SearchResult:
    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def search(store, query: str, *, sort: str = "-date", offset: int = 0, limit: int = 200,
           facets: tuple[str, ...] = ()) -> SearchResult:
    """Search ``store``; raises :class:`~crashdesk.engine.query.QueryError` for a bad query."""
    raw = store.search(query, facets=list(facets), sort=sort, offset=offset, limit=limit)
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
