"""A small query engine used only while ``CrashStore.search`` is not available.

It understands the common core of the query language (``field:value``, ``field:>value``, ``-field:value``,
quoted values, bare words matched against the signature) so the UI works on any store. As soon as the store
has its own ``search`` the UI uses that instead (see :mod:`crashdesk.ui.searching`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from crashdesk.errors import UsageError

KEYWORD = {"product": "c.product", "version": "c.version", "os": "c.os", "cpu": "c.cpu", "source": "c.source",
           "state": "c.state", "channel": "c.channel", "build_id": "c.build_id", "build": "c.build_id",
           "crash_id": "c.crash_id"}
TEXT = {"signature": "c.signature", "server_signature": "c.server_signature", "reason": "c.reason"}
SORTS = {"date": "c.submitted_at", "signature": "c.signature", "product": "c.product",
         "version": "c.version_key", "os": "c.os", "cpu": "c.cpu", "reason": "c.reason", "source": "c.source",
         "state": "c.state", "crash_id": "c.crash_id"}
FACET_SQL = {
    "signature": "SELECT c.signature, count(*) FROM crashes c WHERE {w} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
    "product": "SELECT c.product, count(*) FROM crashes c WHERE {w} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
    "version": "SELECT c.version, count(*) FROM crashes c WHERE {w} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
    "os": "SELECT c.os, count(*) FROM crashes c WHERE {w} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
    "module": "SELECT m.filename, count(DISTINCT c.id) FROM crashes c JOIN crash_modules cm ON cm.crash = c.id "
              "JOIN modules m ON m.id = cm.module WHERE {w} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
}
FIELDS = sorted({*KEYWORD, *TEXT, "module", "function", "date"})
ROW_COLUMNS = ("crash_id", "submitted_at", "signature", "server_signature", "product", "version", "os", "cpu",
               "reason", "source", "state")


class FallbackQueryError(UsageError):
    """A query the fallback engine cannot read; ``position`` is the character offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.position = position


@dataclass
class _Term:
    field: str | None
    op: str
    value: str
    negate: bool
    position: int


_TOKEN = re.compile(r'\s*(-?)(?:([A-Za-z_][\w.]*):)?(>=|<=|[=~^$><!])?("(?:[^"\\]|\\.)*"|\S+)?')


def parse(query: str) -> list[_Term]:
    terms: list[_Term] = []
    pos = 0
    while pos < len(query):
        if query[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            raise FallbackQueryError("cannot read the query here", pos)
        neg, field, op, value = m.group(1), m.group(2), m.group(3), m.group(4)
        start = m.start(1) if neg else (m.start(2) if field else m.start(4) if value else pos)
        if value is None:
            raise FallbackQueryError(f"missing value after {field or ''}:{op or ''}", m.end())
        if value.startswith('"'):
            try:
                value = shlex.split(value)[0]
            except ValueError as exc:
                raise FallbackQueryError("unterminated quote", m.start(4)) from exc
        if field is not None:
            field = field.lower()
            if field not in FIELDS and not field.startswith("ann."):
                raise FallbackQueryError(f"unknown field {field!r}", m.start(2))
        if op == "!":
            neg, op = "-", None
        terms.append(_Term(field, op or "", value, bool(neg), start))
        pos = m.end()
    return terms


def _where(terms: list[_Term]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for t in terms:
        value = t.value
        if t.field is None or t.field in TEXT or t.field in ("function",) or t.field.startswith("ann."):
            if t.field is None:
                col = "c.signature"
            elif t.field == "function":
                col = None
            elif t.field.startswith("ann."):
                col = None
            else:
                col = TEXT[t.field]
            pattern = {"=": "{}", "^": "{}%", "$": "%{}"}.get(t.op, "%{}%").format(value)
            if t.field == "function":
                sql = "EXISTS (SELECT 1 FROM frames f WHERE f.crash = c.id AND f.function LIKE ?)"
            elif t.field is not None and t.field.startswith("ann."):
                sql = "EXISTS (SELECT 1 FROM annotations a WHERE a.crash = c.id AND a.key = ? AND a.value LIKE ?)"
                params.append(t.field[4:])
            else:
                sql = f"{col} LIKE ?"
            params.append(pattern)
        elif t.field == "module":
            sql = ("EXISTS (SELECT 1 FROM crash_modules cm JOIN modules m ON m.id = cm.module "
                   "WHERE cm.crash = c.id AND m.filename = ? COLLATE NOCASE)")
            params.append(value)
        elif t.field == "date":
            op = t.op if t.op in (">", "<", ">=", "<=") else ">="
            sql = f"c.submitted_at {op} ?"
            params.append(value)
            if not t.op:
                sql = "c.submitted_at LIKE ?"
                params[-1] = value + "%"
        else:
            col = KEYWORD[t.field]
            if t.op in (">", "<", ">=", "<="):
                sql = f"{'c.version_key' if t.field == 'version' else col} {t.op} ?"
                if t.field == "version":
                    from crashdesk.model.versions import version_key

                    value = version_key(value)
            elif t.op == "~":
                sql, value = f"{col} LIKE ?", f"%{value}%"
            elif t.op == "^":
                sql, value = f"{col} LIKE ?", f"{value}%"
            elif t.op == "$":
                sql, value = f"{col} LIKE ?", f"%{value}"
            else:
                sql = f"{col} = ? COLLATE NOCASE"
            params.append(value)
        parts.append(f"NOT ({sql})" if t.negate else sql)
    return (" AND ".join(parts) or "1"), params


def search(store: Any, query: str, *, sort: str = "-date", offset: int = 0, limit: int = 100,
           facets: tuple[str, ...] = (), facet_limit: int = 20) -> dict[str, Any]:
    """Run ``query`` over ``store`` and return ``{"total", "hits", "facets"}`` (Crash Stats' shape)."""
    where, params = _where(parse(query or ""))
    desc = sort.startswith("-")
    key = sort.lstrip("-+")
    if key not in SORTS:
        raise FallbackQueryError(f"cannot sort by {key!r}", 0)
    conn = store.db.conn
    total = conn.execute(f"SELECT count(*) FROM crashes c WHERE {where}", params).fetchone()[0]
    order = f"{SORTS[key]} {'DESC' if desc else 'ASC'}, c.id {'DESC' if desc else 'ASC'}"
    rows = conn.execute(
        f"SELECT {', '.join('c.' + n for n in ROW_COLUMNS)} FROM crashes c WHERE {where} ORDER BY {order} "
        "LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
    hits = [dict(zip(ROW_COLUMNS, r, strict=True)) for r in rows]
    out: dict[str, list[dict[str, Any]]] = {}
    for name in facets:
        sql = FACET_SQL.get(name)
        if sql:
            out[name] = [{"term": term, "count": n}
                         for term, n in conn.execute(sql.format(w=where), [*params, facet_limit]) if term]
    return {"total": total, "hits": hits, "facets": out}
