"""What a rule or list change does to existing signatures: the pure part of ``crashdesk regenerate``.

Feed (crash id, old signature, new signature or result) triples; get counts of changed and unchanged
crashes, old -> new pairs with counts, merges (several old signatures end up as one new) and splits (one
old signature ends up as several new). Merges and splits are judged over all crashes, unchanged ones
included: if bucket B moves into the existing bucket A, A "merges" {A, B}.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crashdesk.engine.signature.result import SignatureResult

if TYPE_CHECKING:
    from crashdesk.engine.signature.profiles import Profile


@dataclass
class RegenerationReport:
    """Outcome of comparing old and new signatures (nothing is changed by computing it)."""

    total: int = 0
    changed: int = 0
    unchanged: int = 0
    #: (old, new) -> number of crashes, for changed crashes only
    pairs: Counter = field(default_factory=Counter)
    #: new signature -> {old signature: count} where more than one old signature leads to it
    merges: dict[str, dict[str, int]] = field(default_factory=dict)
    #: old signature -> {new signature: count} where one old signature leads to more than one new
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    #: crash id -> (old, new) for changed crashes (the list ``--apply`` writes to the signature history)
    changes: dict[Any, tuple[str | None, str]] = field(default_factory=dict)
    #: crash id -> full result (signature, proto-signature, notes) for changed crashes, when results were given
    results: dict[Any, SignatureResult] = field(default_factory=dict)
    old_buckets: int = 0
    new_buckets: int = 0

    def to_dict(self, *, limit: int | None = None) -> dict:
        """JSON-ready summary; ``limit`` caps the pair/merge/split lists (largest first)."""
        pairs = [{"old": o, "new": n, "count": c} for (o, n), c in self.pairs.most_common(limit)]

        def group(d: dict[str, dict[str, int]], key: str, inner: str) -> list[dict]:
            rows = sorted(d.items(), key=lambda kv: (-sum(kv[1].values()), kv[0] or ""))
            if limit is not None:
                rows = rows[:limit]
            return [{key: k, "count": sum(v.values()),
                     inner: [{"signature": s, "count": c} for s, c in sorted(v.items(), key=lambda x: -x[1])]}
                    for k, v in rows]

        return {
            "total": self.total, "changed": self.changed, "unchanged": self.unchanged,
            "old_buckets": self.old_buckets, "new_buckets": self.new_buckets,
            "pairs": pairs, "merges": group(self.merges, "new", "from"), "splits": group(self.splits, "old", "into"),
        }


def regeneration_report(rows: Iterable[tuple[Any, str | None, str | SignatureResult]], *,
                        keep_changes: bool = True) -> RegenerationReport:
    """Build the report from ``(crash id, old signature or None, new signature or result)`` rows."""
    report = RegenerationReport()
    by_new: dict[str, Counter] = defaultdict(Counter)
    by_old: dict[str | None, Counter] = defaultdict(Counter)
    for crash_id, old, new in rows:
        result = None
        if isinstance(new, SignatureResult):
            result, new = new, new.signature
        report.total += 1
        by_new[new][old] += 1
        by_old[old][new] += 1
        if old == new:
            report.unchanged += 1
        else:
            report.changed += 1
            report.pairs[(old, new)] += 1
            if keep_changes:
                report.changes[crash_id] = (old, new)
                if result is not None:
                    report.results[crash_id] = result
    report.merges = {n: dict(olds) for n, olds in by_new.items() if len(olds) > 1}
    report.splits = {o: dict(news) for o, news in by_old.items() if len(news) > 1}
    report.old_buckets = len(by_old)
    report.new_buckets = len(by_new)
    return report


def regenerate(items: Iterable[tuple[Any, str | None, Any]], profile: Profile | None = None,
               processes: int | None = 1, *, decode: Callable[[Any], Any] | None = None,
               progress: Callable[[int], None] | None = None, chunk_size: int = 256) -> RegenerationReport:
    """Sign ``(crash id, old signature, input)`` items with ``profile`` (in ``processes`` workers) and report
    what would change. Nothing is written anywhere: applying ``report.results`` is the caller's business.

    ``input`` is any shape :func:`sign_many` accepts (or what ``decode`` turns into one, inside the workers).
    """
    from collections import deque

    from crashdesk.engine.signature.batch import sign_many

    old: deque = deque()  # results come back in input order, so old signatures pair up first-in first-out

    def feed():
        for crash_id, old_signature, obj in items:
            old.append(old_signature)
            yield crash_id, obj

    signed = sign_many(feed(), profile, processes, chunk_size=chunk_size, progress=progress, decode=decode)
    return regeneration_report((crash_id, old.popleft(), result) for crash_id, result in signed)
