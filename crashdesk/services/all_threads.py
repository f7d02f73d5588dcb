"""The all-threads (hang) view: the threads of a set of crashes merged into call trees, like Visual Studio's
Parallel Stacks but across crashes.

Each root is an outermost caller (a thread's bottom frame row); a node's children are the functions it calls on
some thread. A node counts the threads whose stack passes through it (from the root down to it) and the
distinct crashes those threads belong to; ``crash_ids`` lists them. Stacks come from the store's every-thread
index (``crash_stacks``: frame rows with inline functions, top first). A frame without a function (no symbols
for its module: system libraries of most non-Mozilla crashes) is named by its module and offset, as signatures
name it (``ntdll.dll@0x9d4c4``), read from the crash's processed document: the index keeps functions only, and
one ``??`` for every such frame merged unrelated threads into one chain of ``??``. Only a crash with such a
frame has its document read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from crashdesk.model.threads import CRASHING, MAIN, ROLES, row_names
from crashdesk.store.search import search

NO_FUNCTION = "??"
BATCH = 500


@dataclass(slots=True)
class Node:
    function: str
    threads: int = 0
    crash_ids: set[str] = field(default_factory=set)
    children: dict[str, Node] = field(default_factory=dict)

    def to_json(self, *, ids: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"function": self.function, "threads": self.threads, "crashes": len(self.crash_ids)}
        if ids:
            out["crash_ids"] = sorted(self.crash_ids)
        out["children"] = [c.to_json(ids=ids) for c in ordered(self.children)]
        return out


def ordered(children: dict[str, Node]) -> list[Node]:
    return sorted(children.values(), key=lambda n: (-n.threads, -len(n.crash_ids), n.function))


@dataclass(slots=True)
class ThreadTree:
    crashes: int = 0
    threads: int = 0
    roots: dict[str, Node] = field(default_factory=dict)

    def add(self, crash_id: str, functions: list[str]) -> None:
        """One thread's stack rows, top first."""
        self.threads += 1
        level = self.roots
        for name in reversed(functions):
            node = level.get(name)
            if node is None:
                node = level[name] = Node(name)
            node.threads += 1
            node.crash_ids.add(crash_id)
            level = node.children

    def to_json(self, *, ids: bool = False) -> dict[str, Any]:
        return {"crashes": self.crashes, "threads": self.threads,
                "roots": [n.to_json(ids=ids) for n in ordered(self.roots)]}

    def to_text(self, *, max_depth: int | None = None) -> str:
        lines = [f"{self.crashes} crashes, {self.threads} threads", f"{'threads':>8} {'crashes':>8}  function"]

        def walk(node: Node, depth: int) -> None:
            lines.append(f"{node.threads:>8} {len(node.crash_ids):>8}  {'  ' * depth}{node.function}")
            if max_depth is None or depth + 1 < max_depth:
                for child in ordered(node.children):
                    walk(child, depth + 1)
        for root in ordered(self.roots):
            walk(root, 0)
        return "\n".join(lines) + "\n"


def _wanted(roles: int, name: str | None, role: str, name_filter: str | None) -> bool:
    if role == "crashing" and not roles & CRASHING:
        return False
    if role == "main" and not roles & MAIN:
        return False
    return name_filter is None or (name is not None and name_filter.lower() in name.lower())


def all_threads(store, query: str = "", *, role: str = "any", thread_name: str | None = None,
                progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> ThreadTree:
    """Merge the threads (``role``: crashing, main or any; ``thread_name``: names containing it) of the crashes
    matching ``query``. ``progress(done, total)`` after each batch; ``cancelled()`` stops early (the tree then
    holds the crashes done so far)."""
    if role not in ROLES:
        raise ValueError(f"role is one of {', '.join(ROLES)}")
    total = search(store, query, limit=0).total
    result = search(store, query, limit=total, sort="-date")
    ids = [h["crash_id"] for h in result.hits]
    conn = store.db.conn
    tree = ThreadTree()
    functions: dict[int, str] = {}
    names: dict[int, str] = {}
    for start in range(0, len(ids), BATCH):
        if cancelled is not None and cancelled():
            break
        chunk = ids[start:start + BATCH]
        rows = conn.execute(
            f"SELECT c.crash_id, s.stacks FROM crashes c JOIN crash_stacks s ON s.crash = c.id "
            f"WHERE c.crash_id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        decoded = [(cid, orjson.loads(stacks)) for cid, stacks in rows]
        _lookup(conn, "function_names", {f for _, st in decoded for _, _, fs in st for f in fs if f}, functions)
        _lookup(conn, "thread_names", {n for _, st in decoded for _, n, _ in st if n}, names)
        for cid, stacks in decoded:
            counted = False
            labelled = unnamed_labels(store, cid, stacks) if any(0 in fids for _, _, fids in stacks) else None
            for n, (roles, nid, fids) in enumerate(stacks):
                if not fids or not _wanted(roles, names.get(nid), role, thread_name):
                    continue
                tree.add(cid, labelled[n] if labelled is not None and labelled[n] is not None else
                         [functions.get(f, NO_FUNCTION) if f else NO_FUNCTION for f in fids])
                counted = True
            tree.crashes += counted
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    return tree


def unnamed_labels(store, crash_id: str, stacks: list, only: int | None = None) -> list[list[str] | None] | None:
    """The rows of each indexed thread (``stacks``: the crash's ``crash_stacks`` row, decoded) that has a frame
    without a function, named from the processed document (:func:`crashdesk.model.threads.row_names`; ``??``
    without a module); None for the other threads (all but thread ``only`` when given), and for a thread whose
    rows do not line up with the index's (then the index's names are used). None when the document cannot be
    read."""
    from crashdesk.store.errors import StoreError

    try:
        processed = store.processed(crash_id)
    except (StoreError, ValueError):
        return None
    proc = processed if type(processed) is dict else {}
    threads = proc.get("threads") if type(proc.get("threads")) is list else []
    if len(stacks) == len(threads) + 1:  # a document with the crashing thread alone (crash_threads adds it last)
        threads = [*threads, proc.get("crashing_thread")]
    if len(stacks) != len(threads):
        return None
    out: list[list[str] | None] = []
    for n, (thread, (_, _, fids)) in enumerate(zip(threads, stacks, strict=True)):
        rows = row_names(thread) if 0 in fids and only in (None, n) else None
        out.append([f or NO_FUNCTION for f in rows] if rows is not None and len(rows) == len(fids) else None)
    return out


def _lookup(conn, table: str, wanted: set[int], into: dict[int, str]) -> None:
    todo = [i for i in wanted if i not in into]
    for start in range(0, len(todo), 500):
        chunk = todo[start:start + 500]
        into.update(conn.execute(f"SELECT id, name FROM {table} WHERE id IN ({','.join('?' * len(chunk))})",
                                 chunk).fetchall())
