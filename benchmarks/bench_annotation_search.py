"""``ann.KEY`` searches on a store built by ``bench_store.py`` (issue 27), timed the three ways a user meets them.

    python benchmarks/bench_annotation_search.py --dir /work/bench1m [--key URL] [--repeat 20]

* first: the first search of the key in a newly opened store (it reads and decodes the key's whole column);
* other needles: searches of the same key, each with a needle not searched before (the decoded column is kept
  by the connection, the answer is not);
* repeated: the same search again (a connection keeps its last answers while nothing is written).

The ordering forms (``ann.uptime:>N``, each with another N) and the facet read the column the older way.

Each is the whole ``CrashStore.search`` (total + 100 hits by -date); CPU is this process's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crashdesk.store import CrashStore  # noqa: E402

NEEDLES = ["bank.example", "shop.example", "news.example", "mail.example", "watch?id=1", "search?id=2", "app?id=3",
           "id=44", "id=555", "id=6666", "/watch", "/app", "HTTPS://BANK", "id=12345", "id=99", "ample/",
           "ttps://", "id=7", "id=8", "id=9", "xample/search", "id=31337", "e/?", "id=2024"]


def _time(fn) -> tuple[float, float, object]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, out


def _summary(label: str, walls: list[float], cpus: list[float], total) -> None:
    walls_sorted = sorted(walls)
    p95 = walls_sorted[min(len(walls_sorted) - 1, round(0.95 * (len(walls_sorted) - 1)))]
    print(f"{label:44} {total!s:>9} {statistics.median(walls):8.1f} {p95:8.1f} {statistics.median(cpus):8.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, required=True, help="a data folder holding a store")
    ap.add_argument("--key", default="URL")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'search (total + 100 hits, -date)':44} {'hits':>9} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8}")
    key = args.key
    walls, cpus = [], []
    for n in range(3):  # each in a newly opened store: nothing decoded yet
        store = CrashStore.open(args.dir)
        try:
            wall, cpu, result = _time(lambda n=n, s=store: s.search(f"ann.{key}:~{NEEDLES[n]}", sort="-date", limit=100))
        finally:
            store.close()
        walls.append(wall)
        cpus.append(cpu)
    _summary(f"first ann.{key}:~ of a store (3 opens)", walls, cpus, "-")
    store = CrashStore.open(args.dir)
    try:
        store.search(f"ann.{key}:~{NEEDLES[0]}", limit=100)
        for label, op in (("contains", "~"), ("starts with", "^"), ("ends with", "$"), ("not contains", "!~")):
            walls, cpus, totals = [], [], []
            for n in range(args.repeat):
                needle = NEEDLES[n % len(NEEDLES)] + ("" if n < len(NEEDLES) else "/"[: n % 2])
                query = f"!ann.{key}:~{needle}" if op == "!~" else f"ann.{key}:{op}{needle}"
                wall, cpu, result = _time(lambda q=query: store.search(q, sort="-date", limit=100))
                walls.append(wall)
                cpus.append(cpu)
                totals.append(result.total)
            _summary(f"ann.{key} {label}, other needles", walls, cpus, f"{min(totals)}-{max(totals)}")
        for label, make in ((f"repeated ann.{key}:~bank.example", lambda n: f"ann.{key}:~bank.example"),
                            ("ann.uptime:>N, other N", lambda n: f"ann.uptime:>{50000 + n}"),
                            ("ann.uptime:<N, other N", lambda n: f"ann.uptime:<{500 + n}")):
            walls, cpus = [], []
            for n in range(args.repeat):
                wall, cpu, result = _time(lambda q=make(n): store.search(q, sort="-date", limit=100))
                walls.append(wall)
                cpus.append(cpu)
            _summary(label, walls, cpus, result.total)
        walls, cpus = [], []
        for _ in range(max(3, args.repeat // 4)):
            wall, cpu, result = _time(lambda: store.search("product:Firefox", facets=(f"ann.{key}",), limit=0))
            walls.append(wall)
            cpus.append(cpu)
        _summary(f"facet ann.{key} for product:Firefox", walls, cpus, result.total)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
