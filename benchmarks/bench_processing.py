#!/usr/bin/env python3
"""The processing service vs two ``minidump-stackwalk`` processes in parallel, on the same dumps.

Every corpus dump (``../shared/corpus``; ``tests/data/minidumps`` when absent) is imported into a fresh
store, then processed by the service with ``--workers`` worker processes (default 2):

* ``cold``  — first pass: worker start-up, empty symbol caches and indexes included;
* ``ahead`` — first pass again in a new store with empty caches, but with the pool started before the crashes
  are handed over (``ProcessingService.warm_up``, as the app does when a session starts); the start-up is
  printed apart;
* ``warm``  — every crash marked for reprocessing and processed again by the same (warm) workers.

The reference: the same dumps with the same symbol stores through ``minidump-stackwalk --json``,
``--workers`` processes at a time. Prints crashes/second for each and the ratios.

    python benchmarks/bench_processing.py [--workers 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stackwalk import corpus_cases, reference_binary  # noqa: E402

from crashdesk.services.processing import ProcessingService  # noqa: E402
from crashdesk.services.worker import WorkerConfig  # noqa: E402
from crashdesk.store import CrashStore  # noqa: E402


def _wait_processed(store: CrashStore, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = store.state_counts()
        if counts["processed"] + counts["failed"] >= total and counts["received"] == 0 \
                and counts["processing"] == 0:
            return
        time.sleep(0.01)
    raise SystemExit("processing did not finish in time")


def run_reference(binary: Path, cases, workers: int) -> float:
    def one(case):
        _name, dump, symbols = case
        cmd = [str(binary), "--json", "--no-interactive"]
        if symbols:
            cmd += ["--symbols-path", str(symbols)]
        subprocess.run(cmd + [str(dump)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, cases))
    return time.perf_counter() - started


def run_ahead(cases, workers: int) -> tuple[float, float]:
    """(seconds to start the pool and pre-import, seconds of the first pass after that), empty caches."""
    with tempfile.TemporaryDirectory() as tmp:
        store = CrashStore.open(Path(tmp))
        ids = [store.add_crash({"ProductName": "Bench"}, {"upload_file_minidump": dump.read_bytes()},
                               source="import") for _n, dump, _s in cases]
        symbol_paths = tuple(sorted({str(s) for _n, _d, s in cases if s}))
        config = WorkerConfig(symbol_paths=symbol_paths, symbols_cache=str(Path(tmp) / "cache"), memory_limit=None)
        service = ProcessingService(store, config, workers=workers)
        started = time.perf_counter()
        service.warm_up(wait=True)
        startup = time.perf_counter() - started
        started = time.perf_counter()
        service.start()
        _wait_processed(store, len(ids))
        first = time.perf_counter() - started
        service.cancel()
        service.join(30)
        store.close()
    return startup, first


def run_service(cases, workers: int, rounds: int) -> tuple[float, list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = CrashStore.open(Path(tmp))
        ids = [store.add_crash({"ProductName": "Bench"}, {"upload_file_minidump": dump.read_bytes()},
                               source="import") for _n, dump, _s in cases]
        symbol_paths = tuple(sorted({str(s) for _n, _d, s in cases if s}))
        config = WorkerConfig(symbol_paths=symbol_paths, symbols_cache=str(Path(tmp) / "cache"), memory_limit=None)
        service = ProcessingService(store, config, workers=workers)
        started = time.perf_counter()
        service.start()
        _wait_processed(store, len(ids))
        cold = time.perf_counter() - started
        warm = []
        for _ in range(rounds):
            started = time.perf_counter()
            service.reprocess(ids)
            _wait_processed(store, len(ids))
            warm.append(time.perf_counter() - started)
        failed = store.state_counts()["failed"]
        service.cancel()
        service.join(30)
        store.close()
    return cold, warm, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = corpus_cases(None)
    binary = reference_binary()
    n = len(cases)
    print(f"{n} dumps, {args.workers} workers / {args.workers} parallel reference processes")
    ref = [run_reference(binary, cases, args.workers) for _ in range(args.rounds)]
    cold, warm, failed = run_service(cases, args.workers, args.rounds)
    startup, ahead = run_ahead(cases, args.workers)
    ref_best = min(ref)
    warm_best = min(warm)
    print(f"{'run':<34}{'seconds':>10}{'crashes/s':>12}{'vs reference':>15}")
    print(f"{'minidump-stackwalk x' + str(args.workers) + ' (best)':<34}{ref_best:>10.2f}{n / ref_best:>12.1f}{1:>15.2f}")
    print(f"{'crashdesk cold (first pass)':<34}{cold:>10.2f}{n / cold:>12.1f}{ref_best / cold:>15.2f}")
    print(f"{'crashdesk first pass, pool ahead':<34}{ahead:>10.2f}{n / ahead:>12.1f}{ref_best / ahead:>15.2f}"
          f"   (pool start-up before it: {startup:.2f} s)")
    print(f"{'crashdesk warm (reprocess, best)':<34}{warm_best:>10.2f}{n / warm_best:>12.1f}"
          f"{ref_best / warm_best:>15.2f}")
    print("(vs reference > 1 means CrashDesk is faster)")
    if failed:
        print(f"note: {failed} crashes failed processing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
