"""Search over the crash store: the query language (``crashdesk.engine.query``) compiled to SQL, facets in
Crash Stats' shape, sorting and paging.

Public API (used by the UI, the CLI and sync)::

    result = search(store, 'product:Firefox version:>=120 function:~nsThread', facets=("signature",),
                    sort="-date", offset=0, limit=100)
    result.total, result.hits, result.facets     # facets: {"signature": [{"term": ..., "count": ...}]}
    result.to_json()                             # {"total", "hits", "facets"}

``CrashStore.search(...)`` is the same function as a method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

HIT_COLUMNS = ("crash_id", "signature", "server_signature", "proto_signature", "product", "version",
               "build_id", "channel", "os", "os_version", "cpu", "reason", "address", "source", "state",
               "date", "received_at", "processed_at")


@dataclass(slots=True)
class SearchResult:
    """One page of hits, the total number of matches, and the requested facets."""

    total: int
    hits: list[dict[str, Any]] = field(default_factory=list)
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "hits": self.hits, "facets": self.facets}


def search(store, query: str = "", *, facets: Sequence[str] = (), sort: str = "-date", offset: int = 0,
           limit: int = 100, facets_size: int = 50) -> SearchResult:
    """Run ``query`` against ``store`` (a :class:`~crashdesk.store.crashes.CrashStore`)."""
    raise NotImplementedError
