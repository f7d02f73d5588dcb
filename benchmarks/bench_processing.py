#!/usr/bin/env python3
"""The processing service vs two ``minidump-stackwalk`` processes in parallel, on the same dumps.

Every corpus dump (``../shared/corpus``; ``tests/data/minidumps`` when absent) is imported into a fresh
store, then processed by the service with ``--workers`` worker processes (default 2):

* ``cold``  — first pass: worker start-up, empty symbol caches and indexes included;
* ``ahead`` — first pass again in a new store with empty caches, but with the pool started before the crashes
  are handed over (``ProcessingService.warm_up``, as the app does when a session starts); the start-up is
  printed apart; best of ``--rounds`` runs, each with a new store, new caches and a new pool;
* ``warm``  — every crash marked for reprocessing and processed again by the same (warm) workers.

The reference: the same dumps with the same symbol stores through ``minidump-stackwalk --json``,
``--workers`` processes at a time. Prints crashes/second for each and the ratios, then the CPU seconds each
took (parent and worker processes; the reference's child processes), which other load on the machine moves far
less than the wall clock (Linux: the workers' CPU is read from ``/proc``).

    python benchmarks/bench_processing.py [--workers 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stackwalk import corpus_cases, reference_binary  # noqa: E402
from installed import compile_bytecode  # noqa: E402

from crashdesk.services.processing import ProcessingService  # noqa: E402
from crashdesk.services.worker import WorkerConfig  # noqa: E402
from crashdesk.store import CrashStore  # noqa: E402


class _Finished:
    """Counts the service's results (``on_result``: after their commit, as the app is told) and wakes the waiter
    when a pass is done: no polling of the store between the last result and the clock."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = threading.Event()
        self.first_at = 0.0  # perf_counter() when the pass's first result was reported

    def expect(self, n: int) -> None:
        self.count, self.target, self.first_at = 0, n, 0.0
        self.done.clear()

    def __call__(self, _crash_id: str, _ok: bool) -> None:
        if not self.count:
            self.first_at = time.perf_counter()
        self.count += 1
        if self.count >= self.target:
            self.done.set()


def _wait_processed(store: CrashStore, total: int, finished: _Finished, timeout: float = 600) -> None:
    """Until every crash of the pass is recorded (``finished`` says so), then checked in the store."""
    if not finished.done.wait(timeout):
        raise SystemExit("processing did not finish in time")
    counts = store.state_counts()
    if counts["processed"] + counts["failed"] < total or counts["received"] or counts["processing"]:
        raise SystemExit(f"the service reported {finished.count} results, the store says {counts}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pid_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process, from ``/proc/<pid>/stat``; 0 where that is not there."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_cpu(service: ProcessingService) -> float:
    """CPU seconds so far of this process (the service's thread and the polling) and of the live workers."""
    return sum(service_cpu_split(service))


def service_cpu_split(service: ProcessingService) -> tuple[float, float]:
    """(CPU seconds so far of this process, of the live workers together)."""
    return time.process_time(), sum(_pid_cpu(w.process.pid) for w in service._workers)


def run_reference(binary: Path, cases, workers: int) -> tuple[float, float]:
    def one(case):
        _name, dump, symbols = case
        cmd = [str(binary), "--json", "--no-interactive"]
        if symbols:
            cmd += ["--symbols-path", str(symbols)]
        subprocess.run(cmd + [str(dump)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    started, cpu = time.perf_counter(), _children_cpu()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, cases))
    return time.perf_counter() - started, _children_cpu() - cpu


def _imported(folder: Path, cases, workers: int):
    """A fresh store in ``folder`` holding every case's dump (queued), and a processing service for it with
    empty symbol caches: (store, crash ids, service, its results counter)."""
    store = CrashStore.open(folder)
    ids = [store.add_crash({"ProductName": "Bench"}, {"upload_file_minidump": dump.read_bytes()},
                           source="import") for _n, dump, _s in cases]
    symbol_paths = tuple(sorted({str(s) for _n, _d, s in cases if s}))
    config = WorkerConfig(symbol_paths=symbol_paths, symbols_cache=str(folder / "cache"), memory_limit=None)
    finished = _Finished()
    finished.expect(len(ids))
    return store, ids, ProcessingService(store, config, workers=workers, on_result=finished), finished


def run_ahead(cases, workers: int) -> tuple[float, float, float, float, float, float]:
    """(seconds to start the pool and pre-import, seconds of the first pass after that, CPU seconds of that
    first pass, seconds to its first recorded crash, CPU seconds of the parent and of the workers in that
    pass), empty caches."""
    with tempfile.TemporaryDirectory() as tmp:
        store, ids, service, finished = _imported(Path(tmp), cases, workers)
        started = time.perf_counter()
        service.warm_up(wait=True)
        startup = time.perf_counter() - started
        started, (parent, pool) = time.perf_counter(), service_cpu_split(service)
        service.start()
        _wait_processed(store, len(ids), finished)
        first = time.perf_counter() - started
        parent_after, pool_after = service_cpu_split(service)
        parent_cpu, pool_cpu = parent_after - parent, pool_after - pool
        latency = finished.first_at - started
        service.cancel()
        service.join(30)
        store.close()
    return startup, first, parent_cpu + pool_cpu, latency, parent_cpu, pool_cpu


def run_service(cases, workers: int, rounds: int) -> tuple[float, float, list[float], list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        store, ids, service, finished = _imported(Path(tmp), cases, workers)
        started, cpu = time.perf_counter(), time.process_time()
        service.start()
        _wait_processed(store, len(ids), finished)
        cold, cold_cpu = time.perf_counter() - started, service_cpu(service) - cpu  # worker start-up included
        warm, warm_cpu = [], []
        for _ in range(rounds):
            finished.expect(len(ids))
            started, cpu = time.perf_counter(), service_cpu(service)
            service.reprocess(ids)
            _wait_processed(store, len(ids), finished)
            warm.append(time.perf_counter() - started)
            warm_cpu.append(service_cpu(service) - cpu)
        failed = store.state_counts()["failed"]
        service.cancel()
        service.join(30)
        store.close()
    return cold, cold_cpu, warm, warm_cpu, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = corpus_cases(None)
    binary = reference_binary()
    compile_bytecode()  # as an installed package has it
    n = len(cases)
    print(f"{n} dumps, {args.workers} workers / {args.workers} parallel reference processes")
    ref_runs = [run_reference(binary, cases, args.workers) for _ in range(args.rounds)]
    cold, cold_cpu, warm, warm_cpu, failed = run_service(cases, args.workers, args.rounds)
    ahead_runs = [run_ahead(cases, args.workers) for _ in range(args.rounds)]
    startup, ahead, _cpu, latency, _parent, _pool = min(ahead_runs, key=lambda r: r[1])
    ahead_cpu = min(r[2] for r in ahead_runs)
    ref_best = min(r[0] for r in ref_runs)
    ref_cpu = min(r[1] for r in ref_runs)
    warm_best = min(warm)
    best = " (best)" if args.rounds > 1 else ""
    print(f"{'run':<40}{'seconds':>10}{'crashes/s':>12}{'vs reference':>15}")
    print(f"{'minidump-stackwalk x' + str(args.workers) + ' (best)':<40}{ref_best:>10.2f}{n / ref_best:>12.1f}{1:>15.2f}")
    print(f"{'crashdesk cold (first pass)':<40}{cold:>10.2f}{n / cold:>12.1f}{ref_best / cold:>15.2f}")
    print(f"{'crashdesk first pass, pool ahead' + best:<40}{ahead:>10.2f}{n / ahead:>12.1f}{ref_best / ahead:>15.2f}"
          f"   (pool start-up before it: {startup:.2f} s; first crash recorded after {1000 * latency:.0f} ms)")
    print(f"{'crashdesk warm (reprocess, best)':<40}{warm_best:>10.2f}{n / warm_best:>12.1f}"
          f"{ref_best / warm_best:>15.2f}")
    print("(vs reference > 1 means CrashDesk is faster)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'CPU seconds':<40}{'CPU s':>10}{'ms/crash':>12}{'vs reference':>15}")
    for label, value in ((f"minidump-stackwalk x{args.workers} (best)", ref_cpu),
                         ("crashdesk cold (first pass)", cold_cpu),
                         ("crashdesk first pass, pool ahead" + best, ahead_cpu),
                         ("crashdesk warm (reprocess, best)", min(warm_cpu))):
        print(f"{label:<40}{value:>10.2f}{1000 * value / n:>12.2f}{ref_cpu / value if value else 0:>15.2f}")
    print("first pass, pool ahead, each run: CPU s of the parent / the workers together: "
          + ", ".join(f"{r[4]:.2f} / {r[5]:.2f}" for r in ahead_runs))
    if failed:
        print(f"note: {failed} crashes failed processing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
