"""The collector under attack, before and after: memory and a normal submission's latency while each attack of
issue 19 runs, for a baseline revision and for this tree, side by side.

Each side runs ``python -m crashdesk collector`` from its own source tree (the baseline is exported with
``git archive`` into a temporary folder) on 127.0.0.1 and gets the same attacks (tests/security/attack_tools.py):

* slow headers: N sockets sending a header line every second (a slowloris);
* stalled uploads: N uploads declaring 24 MiB that send 6 MiB and stall;
* gzipped JSON extras: 16 concurrent submissions whose ~1.6 KB gzip inflates to ~1 MB of JSON objects;
* a gzip bomb: ~200 KB on the wire inflating to a 200 MB dump.

Meanwhile a normal submission (a real 40 KB minidump) is sent every 0.5 s. Printed per attack and side: the
collector's RSS before / peak / after (from /proc), the normal submissions' statuses and latency (median,
max), and how the attack's connections ended.

    python benchmarks/bench_collector_attacks.py                   # baseline: c46987d (before issue 19)
    python benchmarks/bench_collector_attacks.py --baseline c46987d --slow 1100 --seconds 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "security"))

import attack_tools as at  # noqa: E402


def export(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_attack(repo: Path, name: str, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        collector = at.Collector(Path(tmp) / "home", repo=repo)
        try:
            time.sleep(0.5)
            base = collector.rss()
            with at.RssSampler(collector.pid, 0.05) as sampler, at.Prober(collector.port, 0.5, 60) as prober:
                if name == "slow headers":
                    outcome = at.slow_header_sockets(collector.port, args.slow, args.seconds, 1.0)
                elif name == "stalled uploads":
                    outcome = at.stalled_uploads(collector.port, args.stalled, 24 * at.MiB, 6 * at.MiB,
                                                 args.seconds)
                elif name == "gzipped JSON extras":
                    body = at.gzipped_json_extra(120_000)
                    answers: list[int] = []
                    threads = [threading.Thread(target=lambda: answers.append(
                        at.post(collector.port, body, {"Content-Encoding": "gzip"}, timeout=120)[0]))
                        for _ in range(16)]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join(180)
                    outcome = {s: answers.count(s) for s in sorted(set(answers))}
                else:
                    status, answer = at.post(collector.port, at.gzip_bomb(200 * at.MiB),
                                             {"Content-Encoding": "gzip"}, timeout=120)
                    outcome = {"status": status, "answer": answer[:60].decode(errors="replace")}
            after = collector.rss()
            stored = sum(p.stat().st_size for p in at.stored_files(Path(tmp) / "home"))
        finally:
            collector.stop()
    lat = prober.latencies()
    statuses = [r[0] for r in prober.results]
    return {"base": base, "peak": sampler.peak, "after": after, "outcome": outcome, "stored": stored,
            "probes": {s: statuses.count(s) for s in sorted(set(statuses))},
            "median": lat[len(lat) // 2] if lat else None, "max": lat[-1] if lat else None}


def ms(value: float | None) -> str:
    return f"{value * 1000:.0f} ms" if value is not None else "-"


def show(label: str, r: dict) -> None:
    print(f"  {label:9} RSS {r['base'] / 1e6:.0f} MB -> peak {r['peak'] / 1e6:.0f} MB, after {r['after'] / 1e6:.0f} MB;"
          f" normal submissions {r['probes']} latency median {ms(r['median'])}, max {ms(r['max'])};"
          f" dumps on disk {r['stored'] / 1e6:.1f} MB; attack {r['outcome']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default="c46987d", help="git revision to compare with (default: before "
                                                          "issue 19's collector hardening)")
    ap.add_argument("--slow", type=int, default=1100, help="slow-header sockets (default 1100)")
    ap.add_argument("--stalled", type=int, default=40, help="stalled uploads (default 40)")
    ap.add_argument("--seconds", type=float, default=20, help="how long the slow attacks last (default 20)")
    ap.add_argument("--only", choices=("slow headers", "stalled uploads", "gzipped JSON extras", "gzip bomb"))
    args = ap.parse_args()
    attacks = [args.only] if args.only else ["slow headers", "stalled uploads", "gzipped JSON extras",
                                             "gzip bomb"]
    with tempfile.TemporaryDirectory() as tmp:
        baseline = export(args.baseline, Path(tmp))
        for name in attacks:
            print(f"{name}:")
            before = run_attack(baseline, name, args)
            show(args.baseline[:9], before)
            now = run_attack(REPO, name, args)
            show("this tree", now)
            if before["peak"] and now["peak"]:
                print(f"  peak RSS ratio this/baseline {now['peak'] / before['peak']:.2f}")


if __name__ == "__main__":
    main()
