"""Sync speed, side by side: ``crashdesk sync --with-dumps`` vs Mozilla's ``crashstats-tools``
(``supersearch`` + ``fetch-data --raw --dumps --processed``) against the same loopback Socorro-like server.

The server (``tests/sync/socorro_fake.py``: SuperSearch, ProcessedCrash, RawCrash meta + dumps, real minidumps
from ``tests/data/sync``) runs in its own process, so neither client shares a CPU-bound interpreter with it.
Each scenario syncs the same N crashes (default 1,000) with a token that may read dumps, once with no added
latency and once with ``--latency`` seconds added to every response (default 0.1 s, as over a real network),
and prints crashes/second for both tools and the ratio. Both tools run as the user runs them (a command in a
subprocess, start-up included), into fresh output folders. No client-side rate limit on loopback.

Usage: ``python benchmarks/bench_sync.py [--crashes 1000] [--latency 0.1] [--cst-workers 1 4]``.
``crashstats-tools`` must be installed (``pip install crashstats-tools``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
TOKEN = "0123456789abcdef0123456789abcdef"


def serve(n: int, latency: float) -> None:
    """(child process) Serve ``n`` crashes until killed; print the base URL first."""
    sys.path.insert(0, str(ROOT / "tests" / "sync"))
    from socorro_fake import FakeSocorro, make_crashes

    server = FakeSocorro(
        make_crashes(n, seed=2026), tokens={TOKEN: {"view_pii", "view_rawdump"}}, latency=latency
    ).start()
    print(server.url, flush=True)
    while True:
        time.sleep(3600)


class Server:
    def __init__(self, n: int, latency: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(n), str(latency)], stdout=subprocess.PIPE, text=True
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise SystemExit("the benchmark server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def env_with(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CRASHDESK_API_TOKEN", "CRASHSTATS_API_TOKEN")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_crashdesk(url: str, work: Path, concurrency: int | None) -> tuple[float, int]:
    data = work / "crashdesk-home"
    shutil.rmtree(data, ignore_errors=True)
    t0 = time.perf_counter()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "crashdesk",
            "--data-dir",
            str(data),
            "sync",
            "--server",
            url,
            "--with-dumps",
            *(["--concurrency", str(concurrency)] if concurrency else []),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env_with(CRASHDESK_API_TOKEN=TOKEN),
    )
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"crashdesk sync failed: {r.stderr[-2000:]}")
    summary = json.loads(r.stdout)
    return elapsed, summary["progress"]["fetched"]


def run_crashstats_tools(url: str, work: Path, workers: int) -> tuple[float, int]:
    out = work / f"cst-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    env = env_with(CRASHSTATS_API_TOKEN=TOKEN)
    t0 = time.perf_counter()
    search = subprocess.run(
        [shutil.which("supersearch") or "supersearch", "--host", url, "--num=all"],
        capture_output=True,
        text=True,
        env=env,
    )
    if search.returncode != 0:
        raise SystemExit(f"supersearch failed: {search.stderr[-2000:]}")
    args = [shutil.which("fetch-data") or "fetch-data", "--host", url, "--raw", "--dumps", "--processed"]
    if workers > 1:
        args += ["--workers", str(workers)]
        # fetch-data's workers each check whether a folder exists and then create it, so two of them can both
        # find it missing and the second fails (FileExistsError, crashstats-tools 2.1.0): its folders are made
        # here first, as a user running it with several workers would have to
        precreate_fetch_folders(out, search.stdout.split())
    fetch = subprocess.run([*args, str(out)], input=search.stdout, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if fetch.returncode != 0:
        raise SystemExit(f"fetch-data failed: {fetch.stderr[-2000:]}")
    fetched = len(list((out / "processed_crash").iterdir())) if (out / "processed_crash").is_dir() else 0
    return elapsed, fetched


def precreate_fetch_folders(out: Path, crash_ids: list[str]) -> None:
    """The folders ``fetch-data`` writes into for ``crash_ids`` (raw crashes by date, dump names, each dump the
    benchmark server serves, processed crashes)."""
    names = {"dump_names", "processed_crash", "upload_file_minidump", "upload_file_minidump_browser"}
    names |= {f"raw_crash/20{crash_id[-6:]}" for crash_id in crash_ids if len(crash_id) == 36}
    for name in names:
        (out / name).mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", nargs=2, metavar=("N", "LATENCY"), help=argparse.SUPPRESS)
    ap.add_argument("--crashes", type=int, default=1000)
    ap.add_argument(
        "--latency", type=float, default=0.1, help="seconds added per response in the WAN scenario"
    )
    ap.add_argument(
        "--concurrency", type=int, default=None, help="crashdesk sync --concurrency (default: its own default)"
    )
    ap.add_argument(
        "--cst-workers",
        type=int,
        nargs="+",
        default=[1, 4],
        help="fetch-data --workers values to run (default: 1 (its default) and 4)",
    )
    ap.add_argument("--json-out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_sync.json")
    args = ap.parse_args(argv)
    if args.serve:
        serve(int(args.serve[0]), float(args.serve[1]))
        return 0
    if not shutil.which("fetch-data"):
        raise SystemExit("crashstats-tools is not installed: pip install crashstats-tools")
    WORK.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-sync-", dir=WORK))
    rows = []
    try:
        for latency in (0.0, args.latency):
            server = Server(args.crashes, latency)
            try:
                cd_time, cd_n = run_crashdesk(server.url, work, args.concurrency)
                row = {
                    "latency_s": latency,
                    "crashes": args.crashes,
                    "crashdesk_s": round(cd_time, 2),
                    "crashdesk_fetched": cd_n,
                    "crashdesk_per_s": round(cd_n / cd_time, 1),
                    "crashstats_tools": [],
                }
                for workers in args.cst_workers:
                    cst_time, cst_n = run_crashstats_tools(server.url, work, workers)
                    row["crashstats_tools"].append(
                        {
                            "workers": workers,
                            "seconds": round(cst_time, 2),
                            "fetched": cst_n,
                            "per_s": round(cst_n / cst_time, 1),
                            "ratio": round((cd_n / cd_time) / (cst_n / cst_time), 2) if cst_n else None,
                        }
                    )
                rows.append(row)
            finally:
                server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'latency':>8} {'tool':<34} {'crashes':>8} {'seconds':>8} {'crashes/s':>10} {'ratio':>7}")
    for row in rows:
        lat = f"{row['latency_s'] * 1000:.0f} ms"
        label = f"crashdesk sync (concurrency {args.concurrency or 'default'})"
        print(
            f"{lat:>8} {label:<34} {row['crashdesk_fetched']:>8} "
            f"{row['crashdesk_s']:>8.2f} {row['crashdesk_per_s']:>10.1f} {'':>7}"
        )
        for c in row["crashstats_tools"]:
            tool = f"crashstats-tools ({c['workers']} worker{'s' if c['workers'] > 1 else ''})"
            print(
                f"{lat:>8} {tool:<34} {c['fetched']:>8} {c['seconds']:>8.2f} {c['per_s']:>10.1f} "
                f"{str(c['ratio']) + 'x':>7}"
            )
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
