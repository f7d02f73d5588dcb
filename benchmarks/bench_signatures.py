"""Signature benchmark (issue 6): CrashDesk next to siggen on the same cases in one run, and bulk regeneration.

    python benchmarks/bench_signatures.py [--cases FILE] [--repeat 5] [--regen 100000] [--processes 2] [--json]

* Cases: ``../shared/corpus/signatures/cases.jsonl`` (or ``$CRASHDESK_SHARED``) when present, else the test
  subset ``tests/data/signatures/cases_subset.jsonl``.
* siggen 2.2.20241029 runs in-process with one generator built beforehand (the performance anchor of the
  protocol sheet). CrashDesk runs in-process too, "cold" (a fresh generator for every pass, so its per-frame
  caches start empty) and "warm" (one generator reused, as a regeneration run over a store would). Best and
  median of ``--repeat`` passes; the agreement of both on the cases is checked in the same run.
* Regeneration: ``--regen`` crashes built by cycling through the cases with their function names varied (so
  caches do not make every crash free), signed with ``sign_many(processes=N)`` and compared with the old
  signatures by ``regeneration_report``; end-to-end wall time, excluding any database (the store is wired
  separately).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("CRASHDESK_SHARED", ROOT.parent / "shared"))
CORPUS_CASES = SHARED / "corpus" / "signatures" / "cases.jsonl"
SUBSET = ROOT / "tests" / "data" / "signatures" / "cases_subset.jsonl"


def load_cases(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fp:
        return [json.loads(line) for line in fp if line.strip()]


def timed_passes(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench_side_by_side(cases: list[dict], repeat: int) -> dict:
    from siggen import __version__ as siggen_version
    from siggen.generator import SignatureGenerator as SiggenGenerator

    from crashdesk.engine.signature import SignatureGenerator, mozilla_profile

    crashes = [c["crash_data"] for c in cases]
    n = len(crashes)

    re.purge()  # both compile the same big alternations; neither may profit from the other's regex cache
    t0 = time.perf_counter()
    sg = SiggenGenerator()
    siggen_init = time.perf_counter() - t0
    re.purge()
    t0 = time.perf_counter()
    profile = mozilla_profile()
    ours = SignatureGenerator(profile)
    ours_init = time.perf_counter() - t0

    siggen_sigs = [sg.generate(copy.deepcopy(c)).signature for c in crashes]
    our_sigs = [ours.generate(c).signature for c in crashes]
    expected = [c["expected_signature"] for c in cases]

    siggen_runs = timed_passes(lambda: [sg.generate(c) for c in crashes], repeat)
    cold_runs = timed_passes(lambda: (lambda g: [g.generate(c) for c in crashes])(SignatureGenerator(profile)),
                             repeat)
    warm = SignatureGenerator(profile)
    [warm.generate(c) for c in crashes]
    warm_runs = timed_passes(lambda: [warm.generate(c) for c in crashes], repeat)

    def rate(runs):
        return {"best_per_s": round(n / min(runs), 1), "median_per_s": round(n / statistics.median(runs), 1),
                "us_per_crash_best": round(min(runs) / n * 1e6, 1)}

    result = {
        "cases": n,
        "siggen_version": siggen_version,
        "agreement_crashdesk_vs_expected": f"{sum(a == b for a, b in zip(our_sigs, expected, strict=True))}/{n}",
        "agreement_siggen_vs_expected": f"{sum(a == b for a, b in zip(siggen_sigs, expected, strict=True))}/{n}",
        "init_seconds": {"siggen": round(siggen_init, 4), "crashdesk": round(ours_init, 4)},
        "siggen": rate(siggen_runs),
        "crashdesk_cold": rate(cold_runs),
        "crashdesk_warm": rate(warm_runs),
    }
    result["ratio_cold_best"] = round(min(siggen_runs) / min(cold_runs), 2)
    result["ratio_cold_median"] = round(statistics.median(siggen_runs) / statistics.median(cold_runs), 2)
    result["ratio_warm_best"] = round(min(siggen_runs) / min(warm_runs), 2)
    return result


def _varied(cases: list[dict], count: int):
    """``count`` (id, old signature, crash data) rows cycling through the cases; every 3rd copy gets its
    function names suffixed with a copy number so that not every frame is already in the caches."""
    for i in range(count):
        case = cases[i % len(cases)]
        crash = case["crash_data"]
        round_no = i // len(cases)
        if round_no % 3 == 2 and isinstance(crash, dict) and isinstance(crash.get("threads"), list):
            crash = copy.deepcopy(crash)
            for thread in crash["threads"]:
                frames = thread.get("frames") if isinstance(thread, dict) else None
                if isinstance(frames, list):
                    for frame in frames:
                        if isinstance(frame, dict) and isinstance(frame.get("function"), str):
                            frame["function"] += f"_{round_no}"
        yield f"crash-{i}", case["expected_signature"], crash


def bench_regeneration(cases: list[dict], count: int, processes: int) -> dict:
    from crashdesk.engine.signature import mozilla_profile, regeneration_report, sign_many

    profile = mozilla_profile()
    # stored crashes arrive as bytes (JSON text here; the store keeps compressed JSON): workers decode them
    rows = [(crash_id, sig, json.dumps({"crash_data": crash}).encode()) for crash_id, sig, crash
            in _varied(cases, count)]
    old = {crash_id: sig for crash_id, sig, _ in rows}
    items = ((crash_id, blob) for crash_id, _, blob in rows)
    t0 = time.perf_counter()
    report = regeneration_report(
        (crash_id, old[crash_id], result)
        for crash_id, result in sign_many(items, profile, processes=processes, chunk_size=500, decode=json.loads))
    seconds = time.perf_counter() - t0
    return {"crashes": count, "processes": processes, "seconds": round(seconds, 2),
            "crashes_per_s": round(count / seconds, 1), "changed": report.changed, "unchanged": report.unchanged,
            "merges": len(report.merges), "splits": len(report.splits)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, help="cases file (default: shared corpus, else the test subset)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--regen", type=int, default=100_000, help="crashes for the regeneration timing (0: skip)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    path = args.cases or (CORPUS_CASES if CORPUS_CASES.is_file() else SUBSET)
    cases = load_cases(path)
    out = {"cases_file": str(path), "cpus": os.cpu_count()}
    out["side_by_side"] = bench_side_by_side(cases, args.repeat)
    if args.regen:
        out["regeneration"] = bench_regeneration(cases, args.regen, args.processes)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    s = out["side_by_side"]
    print(f"cases: {s['cases']} from {path}")
    print(f"agreement with siggen's expected signatures: CrashDesk {s['agreement_crashdesk_vs_expected']}, "
          f"siggen {s['siggen_version']} {s['agreement_siggen_vs_expected']}")
    print(f"init: siggen {s['init_seconds']['siggen']}s, CrashDesk {s['init_seconds']['crashdesk']}s")
    for key, label in (("siggen", "siggen"), ("crashdesk_cold", "CrashDesk cold"), ("crashdesk_warm", "CrashDesk warm")):
        r = s[key]
        print(f"{label:16s} {r['best_per_s']:>10.1f} crashes/s best  {r['median_per_s']:>10.1f} median  "
              f"({r['us_per_crash_best']} us/crash)")
    print(f"ratio CrashDesk/siggen: cold {s['ratio_cold_best']}x best ({s['ratio_cold_median']}x median), "
          f"warm {s['ratio_warm_best']}x")
    if "regeneration" in out:
        r = out["regeneration"]
        print(f"regeneration: {r['crashes']} crashes on {r['processes']} processes in {r['seconds']}s "
              f"({r['crashes_per_s']}/s); changed {r['changed']}, merges {r['merges']}, splits {r['splits']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
