"""Three-way compare: the typical stack of a signature group against a brute-force count over the group's
processed documents, and ``crashdesk compare A B --group --json``."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from crashdesk.services.three_way import MIN_SHARE, three_way
from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash, SignatureRecord
from tests.store import thread_oracle as O
from tests.store.test_thread_search import _corpus_docs

ROOT = Path(__file__).resolve().parents[2]


def _brute_typical(docs: list[dict]) -> list[tuple[str, int]]:
    stacks = []
    for d in docs:
        t = d["threads"][O.crashing_index(d)]
        stacks.append(O.display_rows(t))
    out = []
    k = 0
    while True:
        # every prefix of length k+1 that extends the typical prefix so far, counted over the whole group
        prefix = [f for f, _ in out]
        counts = Counter(s[k] for s in stacks if len(s) > k and s[:k] == prefix)
        if not counts:
            return out
        best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if best[1] / len(stacks) < MIN_SHARE:
            return out
        out.append(best)
        k += 1


def _variants(doc: dict, rng: random.Random, n: int) -> list[dict]:
    """Copies of a document whose crashing thread loses some top frames or gets one replaced."""
    out = []
    for _ in range(n):
        d = json.loads(json.dumps(doc))
        frames = d["threads"][O.crashing_index(d)]["frames"]
        cut = rng.choice([0, 0, 1, 2])
        del frames[:cut]
        if frames and rng.random() < 0.3:
            frames[min(len(frames) - 1, rng.randrange(3))]["function"] = "other::function"
        out.append(d)
    return out


def test_typical_stack_equals_brute_force_and_cli(tmp_path):
    rng = random.Random(7)
    docs = {d["product"]: d for d in _corpus_docs()}
    base = docs["pipeline-inlines-macos-segv"]  # inlined frames on the crashing thread
    group = _variants(base, rng, 25)
    other = docs["05-thread"]
    store = CrashStore.open(tmp_path)
    sig = SignatureRecord("sig | group", None, [], "generic")
    ids = store.add_many([NewCrash({"ProductName": "P"}, processed=d, signature=sig) for d in group]
                         + [NewCrash({"ProductName": "P"}, processed=other,
                                     signature=SignatureRecord("another", None, [], "generic"))])
    try:
        result = three_way(store, ids[0], ids[-1])
        expected = _brute_typical(group)
        assert [(r.typical.function, r.typical.crashes) for r in result.rows if r.typical] == expected
        assert result.group_size == 25 and len(expected) >= 5
        rows_a = O.display_rows(group[0]["threads"][O.crashing_index(group[0])])
        assert [r.a for r in result.rows[:len(rows_a)]] == rows_a
        for r in result.rows:
            assert ("a-typical" in r.differs) == (r.typical is not None and r.a != r.typical.function)
            assert ("a-b" in r.differs) == (r.a != r.b)
    finally:
        store.close()
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "compare", ids[0],
                           ids[-1], "--group", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [(r["typical"]["function"], r["typical"]["crashes"]) for r in out["rows"] if r["typical"]] == expected
    text = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "compare", ids[0],
                           ids[1]], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert text.returncode == 0 and ids[0] in text.stdout
    missing = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "compare", ids[0],
                              "00000000-0000-0000-0000-000000000000", "--group"], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
