"""Three-way compare: crash A, crash B and the *typical stack* of A's signature group, frame by frame.

The typical stack of a group of crashes is their most common crashing-thread stack prefix: frame ``k`` is the
function most of the crashes that share typical frames ``0..k-1`` have at row ``k`` (ties: the smaller name),
with its frequency: the share of the whole group having that prefix. It stops where no crash continues it, or
where fewer than :data:`MIN_SHARE` of the group does. Rows are the crashing thread's frame rows (inlined
functions first, as in the every-thread index); rows are aligned by position, top first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from crashdesk.model.threads import CRASHING, crash_threads
from crashdesk.services.all_threads import unnamed_labels

MIN_SHARE = 0.05
MAX_DEPTH = 60
NO_FUNCTION = "??"


@dataclass(slots=True)
class TypicalFrame:
    function: str
    crashes: int
    share: float


@dataclass(slots=True)
class ThreeWayRow:
    index: int
    a: str | None
    b: str | None
    typical: TypicalFrame | None
    differs: list[str] = field(default_factory=list)  # of "a-typical", "b-typical", "a-b"


@dataclass(slots=True)
class ThreeWay:
    a: str
    b: str | None
    signature: str | None
    group_size: int
    rows: list[ThreeWayRow]

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "signature": self.signature, "group_size": self.group_size,
                "rows": [asdict(r) for r in self.rows]}


def typical_stack(stacks: list[list[str]]) -> list[TypicalFrame]:
    """The most common stack prefix of ``stacks`` (each a list of function names, top first)."""
    total = len(stacks)
    out: list[TypicalFrame] = []
    group = stacks
    for k in range(MAX_DEPTH):
        counts = Counter(s[k] for s in group if len(s) > k)
        if not counts:
            break
        best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] / total < MIN_SHARE:
            break
        out.append(TypicalFrame(best[0], best[1], round(best[1] / total, 4)))
        group = [s for s in group if len(s) > k and s[k] == best[0]]
    return out


def _crashing_rows(processed: dict | None) -> list[str]:
    for t in crash_threads(processed, labels=True).threads:
        if t.roles & CRASHING:
            return [f or NO_FUNCTION for f in t.functions]
    return []


def group_stacks(store, signature: str) -> list[list[str]]:
    """The crashing-thread rows of every crash with ``signature``, from the every-thread index (a crash whose
    crashing thread has a frame without a function: from its processed document, that frame named by module and
    offset as in the crash view, see :func:`crashdesk.services.all_threads.unnamed_labels`)."""
    conn = store.db.conn
    rows = conn.execute("SELECT c.crash_id, s.stacks FROM crashes c JOIN crash_stacks s ON s.crash = c.id "
                        "WHERE c.signature = ?", (signature,)).fetchall()
    names: dict[int, str] = {}
    stacks: list[list[int] | list[str]] = []  # function ids, or the rows already named
    for crash_id, blob in rows:
        threads = orjson.loads(blob)
        for n, (roles, _nid, fids) in enumerate(threads):
            if roles & CRASHING:
                labelled = unnamed_labels(store, crash_id, threads, only=n) if 0 in fids else None
                stacks.append(labelled[n] if labelled is not None and labelled[n] is not None else fids)
                break
    wanted = sorted({f for s in stacks for f in s if type(f) is int and f})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        names.update(conn.execute(f"SELECT id, name FROM function_names WHERE id IN ({','.join('?' * len(chunk))})",
                                  chunk).fetchall())
    return [[f if type(f) is str else names.get(f, NO_FUNCTION) if f else NO_FUNCTION for f in s] for s in stacks]


def three_way(store, a_id: str, b_id: str | None) -> ThreeWay:
    """A, B (None: A against its group's typical stack only) and the typical stack of A's signature group."""
    a = store.get(a_id)  # CrashNotFound for an unknown id
    b = store.get(b_id) if b_id is not None else {"crash_id": None, "processed": None}
    signature = a.get("signature")
    stacks = group_stacks(store, signature) if signature else []
    typical = typical_stack(stacks)
    ra, rb = _crashing_rows(a.get("processed")), _crashing_rows(b.get("processed"))
    rows = []
    for k in range(max(len(ra), len(rb), len(typical))):
        fa = ra[k] if k < len(ra) else None
        fb = rb[k] if k < len(rb) else None
        t = typical[k] if k < len(typical) else None
        differs = []
        if t is not None and fa != t.function:
            differs.append("a-typical")
        if t is not None and fb != t.function:
            differs.append("b-typical")
        if b_id is not None and fa != fb:
            differs.append("a-b")
        rows.append(ThreeWayRow(k, fa, fb, t, differs))
    return ThreeWay(a["crash_id"], b["crash_id"], signature, len(stacks), rows)
