"""What a rule or list change does to existing signatures: the pure part of ``crashdesk regenerate``.

Feed (crash id, old signature, new signature or result) triples; get counts of changed and unchanged
crashes, old -> new pairs with counts, merges (several old signatures end up as one new) and splits (one
old signature ends up as several new). Merges and splits are judged over all crashes, unchanged ones
included: if bucket B moves into the existing bucket A, A "merges" {A, B}.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crashdesk.engine.signature.result import SignatureResult


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
        if isinstance(new, SignatureResult):
            new = new.signature
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
    report.merges = {n: dict(olds) for n, olds in by_new.items() if len(olds) > 1}
    report.splits = {o: dict(news) for o, news in by_old.items() if len(news) > 1}
    report.old_buckets = len(by_old)
    report.new_buckets = len(by_new)
    return report
