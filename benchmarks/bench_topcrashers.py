"""Top crashers benchmark (issue 25): the Top crashers view and the versions comparison on a large store, side by
side with a plain ``GROUP BY`` baseline over the same crashes.

    python benchmarks/bench_topcrashers.py [--n 100000] [--dir DIR] [--reuse] [--repeat 7] [--json]

* The store is ``benchmarks/bench_store.py``'s (same generator: 5 products with version trains, ~3,000
  signatures, Zipf-like popularity, dates over 60 days), plus the annotations top crashers read
  (``UptimeTS``, ``InstallTime``) on every crash. ``--dir`` with ``--reuse`` keeps a built store.
* Each scope is timed three ways, median of ``--repeat`` runs after one warm-up:
  - ``baseline``: one plain ``SELECT signature, count(*) ... GROUP BY signature`` over the scope (plus the
    previous scope for the comparison) — the least any ranking has to read;
  - ``service``: ``crashdesk.services.topcrashers`` (ranks, previous ranks, new marks, start-up share,
    platforms, installations, spikes; or the aligned comparison);
  - ``view``: the Qt view offscreen, from ``refresh()`` to its ``loaded`` signal with the table filled
    (the background job, the queued callback and the table rows; the view lists the top 100 by default).
  Targets: Top crashers view ≤ 300 ms, version comparison ≤ 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench_store  # noqa: E402

from crashdesk.store import CrashStore  # noqa: E402

TARGET_VIEW_MS = 300.0
TARGET_COMPARE_MS = 500.0


def build(folder: Path, n: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    world = bench_store.World(rng)
    now = time.time()
    templates = [bench_store.make_crash(world, k, now) for k in range(min(2000, n))]
    store = CrashStore.open(folder)
    try:
        done = 0
        while done < n:
            batch = []
            for k in range(min(500, n - done)):
                crash = bench_store.vary(world, rng.choice(templates), done + k, now)
                ann = dict(crash.annotations)
                ann["UptimeTS"] = str(rng.choice([2, 15, 45]) if rng.random() < 0.15 else rng.randrange(60, 90000))
                ann["InstallTime"] = str(1_700_000_000 + rng.randrange(20_000) * 3600)
                crash.annotations = ann
                batch.append(crash)
            store.add_many(batch)
            done += len(batch)
            if sys.stderr.isatty():
                print(f"\rbuilding {done}/{n}", end="", file=sys.stderr)
        store.db.conn.execute("ANALYZE")
        (folder / f"topcrashers-built-{n}").write_text("ok")
    finally:
        store.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)


def timed(fn, repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def baseline_counts(conn, scope) -> dict:
    """The plain GROUP BY: crashes per signature of one scope (product, version, window)."""
    from crashdesk.services.topcrashers import ALL_VERSIONS, iso

    sql = "SELECT signature, count(*) FROM crashes WHERE product = ?"
    params: list = [scope.product]
    if scope.version and scope.version != ALL_VERSIONS:
        sql += " AND version = ?"
        params.append(scope.version)
    if scope.start is not None:
        sql += " AND submitted_at >= ? AND submitted_at < ?"
        params += [iso(scope.start), iso(scope.end)]
    return dict(conn.execute(sql + " GROUP BY signature", params).fetchall())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--reuse", action="store_true", help="reuse a store built earlier in --dir")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from crashdesk.services import topcrashers as tc

    folder = args.dir or Path(tempfile.mkdtemp(prefix="crashdesk-bench-tc-"))
    if not (args.reuse and (folder / f"topcrashers-built-{args.n}").exists()):
        t0 = time.perf_counter()
        build(folder, args.n)
        print(f"built {args.n} crashes in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    store = CrashStore.open(folder)
    conn = store.db.conn
    report: dict = {"n": args.n, "load_average": round(os.getloadavg()[0], 1), "scopes": {}}
    default = tc.resolve(store, tc.Scope())
    biggest = conn.execute("SELECT version FROM crashes WHERE product = ? GROUP BY version ORDER BY count(*) DESC "
                           "LIMIT 2", [default.product]).fetchall()
    scopes = {
        "default (newest version, 7 days)": default,
        "product, all versions, 7 days": tc.Scope("", default.product, tc.ALL_VERSIONS, 7, default.end),
        "product, all versions, 30 days": tc.Scope("", default.product, tc.ALL_VERSIONS, 30, default.end),
        "biggest version, 7 days": tc.Scope("", default.product, biggest[0][0], 7, default.end),
    }
    for name, scope in scopes.items():
        previous = tc.Scope(scope.query, scope.product, scope.version, scope.days, scope.start)

        def base(scope=scope, previous=previous):
            return baseline_counts(conn, scope), baseline_counts(conn, previous)

        def service(scope=scope):
            return tc.top_crashers(store, scope, limit=300, resolve_defaults=False)

        rep = service()
        report["scopes"][name] = {"crashes": rep.total, "signatures": len(rep.rows),
                                  "baseline_ms": round(timed(base, args.repeat), 1),
                                  "service_ms": round(timed(service, args.repeat), 1)}
    va, vb = biggest[1][0], biggest[0][0]
    a, b = tc.version_scopes(default.product, [va, vb])
    cmp_report = {"versions": [va, vb],
                  "baseline_ms": round(timed(lambda: (baseline_counts(conn, a), baseline_counts(conn, b)),
                                             args.repeat), 1),
                  "service_ms": round(timed(lambda: tc.compare(store, a, b), args.repeat), 1)}
    cmp_report["crashes"] = sum(baseline_counts(conn, a).values()) + sum(baseline_counts(conn, b).values())
    report["comparison"] = cmp_report

    # the views, offscreen: refresh -> loaded
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.qt import QApplication, QEventLoop
    from crashdesk.ui.views.topcrashers import TopCrashersView, VersionsWindow

    app = QApplication.instance() or QApplication([])
    jobs = Jobs()

    def run_until(signal, start) -> float:
        """Call ``start`` and run the event loop until ``signal`` (natively, as the app waits: no Python
        polling loop competing with the worker thread for the interpreter); milliseconds."""
        loop = QEventLoop()
        signal.connect(loop.quit)
        t0 = time.perf_counter()
        start()
        loop.exec()
        elapsed = (time.perf_counter() - t0) * 1000
        signal.disconnect(loop.quit)
        return elapsed

    view = TopCrashersView(store, jobs)
    view.resize(1300, 700)
    view.show()
    run_until(view.loaded, lambda: view.set_query(""))
    view_runs = {}
    for label, version, top in (("default (newest version, 7 days)", default.version, "top 100"),
                                ("biggest version, 7 days", biggest[0][0], "top 100"),
                                ("product, all versions, 7 days", "all versions", "top 100"),
                                ("product, all versions, 7 days, top 300", "all versions", "top 300")):
        view.version_combo.setCurrentText(version)
        view.limit_combo.setCurrentText(top)
        runs = [run_until(view.loaded, view.refresh) for _ in range(args.repeat + 1)]
        view_runs[label] = round(statistics.median(runs[1:]), 1)
    report["view_ms"] = view_runs
    win = VersionsWindow(store, jobs)
    win.show()
    run_until(win.loaded, lambda: win.open_for(default.product, va, vb))
    runs = [run_until(win.loaded, win.refresh) for _ in range(args.repeat + 1)]
    app.processEvents()
    report["comparison_view_ms"] = round(statistics.median(runs[1:]), 1)
    jobs.wait()
    store.close()

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"store: {args.n} crashes ({folder}); load average at start {report['load_average']} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'scope':36} {'crashes':>8} {'sigs':>5} {'GROUP BY':>9} {'service':>8} {'ratio':>6}")
    for name, r in report["scopes"].items():
        print(f"{name:36} {r['crashes']:>8} {r['signatures']:>5} {r['baseline_ms']:>7.1f}ms {r['service_ms']:>6.1f}ms "
              f"{r['service_ms'] / max(r['baseline_ms'], 0.01):>5.1f}x")
    c = report["comparison"]
    print(f"{'compare ' + ' vs '.join(c['versions']):36} {c['crashes']:>8} {'':>5} {c['baseline_ms']:>7.1f}ms "
          f"{c['service_ms']:>6.1f}ms {c['service_ms'] / max(c['baseline_ms'], 0.01):>5.1f}x")
    for name, ms in report["view_ms"].items():
        ok = "ok" if ms <= TARGET_VIEW_MS else "OVER"
        print(f"Top crashers view, {name}: {ms:.1f} ms (target {TARGET_VIEW_MS:.0f}) {ok}")
    ms = report["comparison_view_ms"]
    print(f"Versions side by side view: {ms:.1f} ms (target {TARGET_COMPARE_MS:.0f}) "
          f"{'ok' if ms <= TARGET_COMPARE_MS else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
