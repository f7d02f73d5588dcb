"""The every-thread search terms compiled to SQL (``thread:``, ``thread.name:``, scoped ``function:``,
``frame.module:``, ``stack:``, ``frame.trust:``, ``frames:``) over :mod:`crashdesk.store.thread_index`'s
tables, and the ``thread.function`` facet. Called by :mod:`crashdesk.store.search`'s compiler."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import orjson

from crashdesk.engine.query import KEYWORD, TRUST_VALUES, VERSION, And, Or, Term
from crashdesk.store.terms import match_any
from crashdesk.store.thread_index import TRUST_CODES, TRUST_DEPTH, function_id_sql, name_id_sql

FACET = "thread.function"
_ROLE_PREFIX = {"main": "m", "any": "a", "crashing": "c"}
_nonce = itertools.count(1)


def _scope(t: Term) -> tuple[str, Term | None]:
    """("crashing" | "main" | "any" | "name", the thread.name term)."""
    scope = t.thread
    if scope is None:
        return "crashing", None
    if scope.field == "thread":
        return str(scope.value), None
    return "name", scope


def without_implied_scopes(node: And | Or) -> tuple:
    """An AND group's items without its ``thread:``/``thread.name:`` term when a non-negated stack term in the
    group is scoped by it (that term finds only crashes having such a thread; the scope term alone would
    add a set as large as the store to intersect)."""
    if not isinstance(node, And):
        return node.items
    used = {id(item.thread) for item in node.items
            if isinstance(item, Term) and item.thread is not None and not item.negate}
    return tuple(item for item in node.items if id(item) not in used) or node.items


def _in_terms(cid: str, match_sql: str) -> str:
    return f"{cid} IN (SELECT rowid FROM thread_terms WHERE thread_terms MATCH {match_sql})"


def _names(scope: Term) -> tuple[str, list[Any]]:
    return name_id_sql("thread_names", scope.op, str(scope.value))


def function_ids_match(role: str, scope: Term | None, op: str, value: str) -> tuple[str, list[Any], str]:
    """(SQL giving an FTS5 MATCH expression, params, table) for "a thread in scope calls a function matching"."""
    fsql, fparams = function_id_sql(op, value)
    if role == "crashing":
        return match_any("f", fsql), fparams, "crash_terms"
    if role == "name":
        assert scope is not None
        nsql, nparams = _names(scope)
        return (f"(SELECT coalesce(group_concat('n' || n.id || 'f' || f.id, ' OR '), 'n0') "
                f"FROM ({nsql}) n, ({fsql}) f)"), [*nparams, *fparams], "thread_terms"
    return match_any(_ROLE_PREFIX[role] + "f", fsql), fparams, "thread_terms"


def compile_term(compiler, t: Term) -> tuple[str, list[Any]]:
    cid = compiler.cid
    if t.field == "thread":
        return _in_terms(cid, "?"), [f"r{t.value}"]
    if t.field == "thread.name":
        nsql, nparams = name_id_sql("thread_names", t.op, str(t.value))
        return _in_terms(cid, match_any("n", nsql)), nparams
    if t.field == "server_stack":
        return (f"{cid} IN (SELECT crash FROM crash_stacks WHERE server_differs = ?)",
                [1 if t.value == "differs" else 0])
    if t.field == "frames":
        return f"{cid} IN (SELECT crash FROM crash_stacks WHERE frames {t.op} ?)", [int(str(t.value))]
    if t.field == "frame.trust":
        code = TRUST_CODES[str(t.value)]
        depth = TRUST_DEPTH + 1 if t.top is None else t.top
        return _in_terms(cid, "?"), [" OR ".join(f"t{code}p{k}" for k in range(depth))]
    role, scope = _scope(t)
    if t.field == "function":
        match, params, table = function_ids_match(role, scope, t.op, str(t.value))
        return f"{cid} IN (SELECT rowid FROM {table} WHERE {table} MATCH {match})", params
    if t.field == "frame.module":
        if t.op == "null":
            prefix = {"crashing": "cd", "main": "md"}.get(role, "ad")
            return f"{cid} NOT IN (SELECT rowid FROM thread_terms WHERE thread_terms MATCH ?)", [f"{prefix}*"]
        if t.module_version is not None:  # the loaded module of that name and version, on a frame in scope
            return _module_version(compiler, cid, t, role, scope)
        dsql, dparams = name_id_sql("frame_modules", t.op, str(t.value))
        if role == "name":
            assert scope is not None
            nsql, nparams = _names(scope)
            match = (f"(SELECT coalesce(group_concat('n' || n.id || 'd' || d.id, ' OR '), 'n0') "
                     f"FROM ({nsql}) n, ({dsql}) d)")
            sql, params = _in_terms(cid, match), [*nparams, *dparams]
        else:
            sql, params = _in_terms(cid, match_any(_ROLE_PREFIX[role] + "d", dsql)), dparams
        return sql, params
    if t.field == "stack":
        return _stack(cid, t, role, scope)
    raise AssertionError(t.field)  # pragma: no cover - the parser knows no other thread field


def _module_version(compiler, cid: str, t: Term, role: str, scope: Term | None) -> tuple[str, list[Any]]:
    assert t.module_version is not None
    cond, params = compiler.value_cond("m.filename", Term("module", t.op, t.value), KEYWORD)
    vop, version = t.module_version
    vcond, vparams = compiler.value_cond("m.version", Term("module_version", vop, version), VERSION)
    msql = f"SELECT m.id FROM modules m WHERE {cond} AND {vcond}"
    params = [*params, *vparams]
    if role == "name":
        assert scope is not None
        nsql, nparams = _names(scope)
        match = (f"(SELECT coalesce(group_concat('n' || n.id || 'v' || d.id, ' OR '), 'n0') "
                 f"FROM ({nsql}) n, ({msql}) d)")
        return _in_terms(cid, match), [*nparams, *params]
    return _in_terms(cid, match_any(_ROLE_PREFIX[role] + "v", msql)), params


def _stack(cid: str, t: Term, role: str, scope: Term | None) -> tuple[str, list[Any]]:
    pattern = t.stack
    assert pattern is not None
    # candidates: crashes whose threads in scope call every element (an FTS5 AND of ORs), then the order check
    parts: list[str] = []
    params: list[Any] = []
    table = "thread_terms"
    # the candidates come from the exact elements and those of 6 characters or more (else the longest one):
    # an FTS5 OR over the thousands of names a short text like "Run" is in costs more than checking the order
    chosen = [e for e in pattern.elements if e[0] == "=" or len(e[1]) >= 6]
    for op, text in chosen or [max(pattern.elements, key=lambda e: len(e[1]))]:
        match, mparams, table = function_ids_match(role, scope, op, text)
        parts.append(match)
        params.extend(mparams)
    match_sql = " || ' AND ' || ".join(f"'(' || {m} || ')'" for m in parts)
    spec = {"q": next(_nonce), "elements": [list(e) for e in pattern.elements], "direct": list(pattern.direct),
            "scope": {"role": role} if role != "name" else {"name": [scope.op, scope.value] if scope else None}}
    sql = (f"{cid} IN (SELECT s.crash FROM crash_stacks s WHERE s.crash IN (SELECT rowid FROM {table} WHERE "
           f"{table} MATCH {match_sql}) AND crashdesk_stack(s.stacks, ?))")
    return sql, [*params, orjson.dumps(spec).decode()]


def facet(conn, where: str, params: list[Any], size: int) -> list[dict[str, Any]]:
    """``thread.function``: the functions the matching crashes' other threads (all but the crashing one) sit
    in, that is each such thread's top frame (an inline function first), counted once per crash."""
    counts: Counter[int] = Counter()
    if where == "1":  # the whole store: the counts kept at ingest
        counts.update(dict(conn.execute("SELECT function, crashes FROM thread_top_counts WHERE crashes > 0")))
    else:
        for (tops,) in conn.execute(f"SELECT tops FROM crash_stacks WHERE tops != '' AND crash IN "
                                    f"(SELECT c.id FROM crashes c WHERE {where})", params):
            counts.update(map(int, tops.split()))
    ranked = counts.most_common()
    ids = [i for i, _ in ranked]
    names: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        names.update(conn.execute(f"SELECT id, name FROM function_names WHERE id IN ({','.join('?' * len(chunk))})",
                                  chunk).fetchall())
    rows = sorted(((names[i], n) for i, n in ranked if i in names), key=lambda r: (-r[1], r[0]))
    return [{"term": term, "count": n} for term, n in rows[:size]]


assert set(TRUST_VALUES) == set(TRUST_CODES)
