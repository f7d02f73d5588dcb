#!/usr/bin/env python3
"""The workstation's speed on a big store (issue 9: first paint, crash view; issue 27: rows and facets of
filtered queries at 100k and 1M crashes).

A store of ``--crashes`` crashes (default 100,000) is built once under ``benchmarks/.work/ui-store-<n>``: the
real crashes of ``tests/data`` (reference processed JSON) are stored through ``CrashStore``, then cloned in SQL
with new ids and realistic value distributions (see :func:`clone`: a long tail of signatures, a few hot modules
plus a tail of plugins, versions released over time; module links, module search terms and module counts
written as the store writes them; frames and full-text rows are not cloned). Building took 17 s for 100k and
7.4 min for 1M crashes (3.5 GB) on 2 cores shared with other work (load ~3). Then:

* ``facet index`` — building it from the tables (once per store) and loading the kept snapshot (every later
  run), its memory.
* ``store search`` — each query of :data:`QUERIES` through ``crashdesk.store.search.search``: the first page of
  rows and the UI's five facets, the SQL path and the facet index side by side (p95).
* ``first paint`` — a fresh ``python`` process imports the UI, opens the store and shows the main window; the
  time from process start to the first paint of the crash list with rows in it (and the part spent before
  ``import crashdesk.ui``, i.e. the interpreter itself).
* ``crash view`` — selecting crashes one after another: time from the request to the crash view showing it
  (store read, JSON highlighting, every tab filled), p50/p95 over ``--views`` selections.
* ``UI search`` — time from submitting a query to its first page of rows on screen and to all its facets on
  screen, p95 over ``--search-reps`` rounds (``--ui-sql``: also with the index switched off, as before).

    python benchmarks/bench_ui.py [--crashes 100000|1000000] [--views 200] [--search-reps 7] [--sql-reps 3]
                                  [--ui-sql] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = ROOT / "benchmarks" / ".work" / "ui-store"
sys.path.insert(0, str(ROOT / "benchmarks"))
from installed import compile_bytecode  # noqa: E402

FACETS = ("signature", "product", "version", "os", "module")  # the UI's (crashdesk.ui.searching.FACETS)
QUERIES = ("", "product:CrashFactoryDemo", "signature:~page", "module:libdemo_codec.so", "version:>=1.4.1",
           "reason:SIGABRT version:1.4.0")


RELEASES = ("1.3.6", "1.3.7", "1.3.8", "1.3.9", "1.4.0", "1.4.1", "1.4.2", "1.5.0", "1.5.1")  # one per 10 days
DAYS = 90


def build_store(n: int, rebuild: bool) -> Path:
    """The store of ``n`` crashes under ``benchmarks/.work/ui-store-<n>`` (reused when already built)."""
    from crashdesk.store import CrashStore

    work = WORK.with_name(f"ui-store-{n}")
    marker = work / "built"
    if marker.exists() and not rebuild:
        return work
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    sys.path.insert(0, str(ROOT / "scripts"))
    from screenshots import cases  # the same test-data crashes as the screenshots

    from crashdesk.ui.samples import signature_for

    with CrashStore.open(work) as store:
        seeds = []
        for case in cases():
            ann = json.loads((case / "annotations.json").read_text())
            proc = json.loads((case / "expected.json").read_text())
            cid = store.add_crash(ann, {}, source="import", submitted_at="2026-01-01T00:00:00+00:00")
            store.save_processed(cid, proc, signature=signature_for(proc, ann))
            seeds.append(cid)
        clone(store, n)
    marker.touch()
    return work


def clone(store, n: int) -> None:
    """Clone the seed crashes in SQL up to ``n`` crashes with realistic value distributions: a long tail of
    signatures (Zipf over n/50 names grown from the seeds'), a few hot modules in every crash plus a Zipf
    tail of plugin modules (their link rows, full-text module terms and module counts written as the store
    does), versions released over time (a crash runs one of the releases out at its date, mostly the newest),
    three operating systems and products (one in two spellings)."""
    import datetime as dt

    import numpy as np

    from crashdesk.model.crash_id import new_crash_id
    from crashdesk.model.versions import version_key
    from crashdesk.store.terms import links_row

    conn = store.db.conn
    cols = [r[1] for r in conn.execute("PRAGMA table_info(crashes)") if r[1] != "id"]
    seed_rows = [r for r in conn.execute(f"SELECT id, {', '.join(cols)} FROM crashes")]
    mods = {rid: conn.execute("SELECT modules, status, notes FROM crash_module_links "
                              "WHERE crash = ?", (rid,)).fetchone() for rid, *_ in seed_rows}
    rng = random.Random(9)
    nprng = np.random.default_rng(9)
    index = {c: cols.index(c) for c in ("crash_id", "submitted_at", "received_at", "version", "version_key",
                                        "signature", "product", "os", "os_version")}
    n_sigs = max(50, n // 50)
    n_plugins = max(20, n // 300)
    with store.db.write() as w:
        w.executemany("INSERT OR IGNORE INTO modules (filename, debug_file, debug_id, version) VALUES (?,?,?,?)",
                      [(f"libplugin_{k:04d}.so", f"libplugin_{k:04d}.so", f"{k:032X}0", f"2.{k % 7}.0")
                       for k in range(n_plugins)])
    plugin_ids = [r[0] for r in conn.execute("SELECT id FROM modules WHERE filename LIKE 'libplugin_%' ORDER BY id")]
    base = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    first_release = base - dt.timedelta(days=DAYS)
    counts: dict[int, int] = {}
    names: set[str] = set()
    batch = 5000
    made = len(seed_rows)
    while made < n:
        todo = min(batch, n - made)
        sig_ranks = np.minimum(nprng.zipf(1.3, todo), n_sigs)
        plugin_counts = nprng.integers(0, 40, todo)
        plugin_picks = np.minimum(nprng.zipf(1.2, int(plugin_counts.sum())), n_plugins) - 1
        pos = 0
        with store.db.write() as w:
            for k in range(todo):
                seed = rng.choice(seed_rows)
                values = list(seed[1:])
                when = base - dt.timedelta(seconds=rng.randrange(DAYS * 86400))
                values[index["crash_id"]] = new_crash_id(when)
                values[index["submitted_at"]] = values[index["received_at"]] = when.isoformat(timespec="seconds")
                out = [v for d, v in enumerate(RELEASES) if first_release + dt.timedelta(days=10 * d) <= when]
                pick = rng.random()
                version = out[-1] if pick < 0.6 or len(out) == 1 else out[-2] if pick < 0.85 or len(out) == 2 \
                    else rng.choice(out[:-2])
                values[index["version"]] = version
                values[index["version_key"]] = version_key(version)
                rank = int(sig_ranks[k])
                signature = seed[1 + cols.index("signature")]
                if rank > len(seed_rows):
                    signature = f"{signature} | demo_call_{rank:05d}"
                    names.add(signature)
                values[index["signature"]] = signature
                r = rng.random()
                values[index["product"]] = ("CrashFactoryDemo" if r < 0.84 else "crashfactorydemo" if r < 0.85
                                            else "DemoViewer" if r < 0.95 else "DemoTool")
                r = rng.random()
                values[index["os"]], values[index["os_version"]] = (
                    ("Linux", "6.8.0") if r < 0.7 else ("Windows NT", "10.0.22631") if r < 0.9
                    else ("Mac OS X", "14.5.0"))
                cur = w.execute(f"INSERT INTO crashes ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                values)
                link = mods.get(seed[0])
                modules = json.loads(link[0]) if link else []
                extra = sorted({plugin_ids[int(p)] for p in plugin_picks[pos:pos + int(plugin_counts[k])]})
                pos += int(plugin_counts[k])
                modules += extra
                status = (link[1] if link else "") + "." * len(extra)
                w.execute("INSERT INTO crash_module_links (crash, modules, base_addrs, status, notes) "
                          "VALUES (?,?,?,?,?)", (cur.lastrowid, *links_row(modules, status, None)))
                # the processed crash's other part (crashdesk.store.split_document)
                w.execute("INSERT INTO signature_inputs (crash, doc, split) SELECT ?, doc, split FROM signature_inputs "
                          "WHERE crash = ?", (cur.lastrowid, seed[0]))
                w.execute("INSERT INTO crash_terms (rowid, annotations, processed) VALUES (?, '', ?)",
                          (cur.lastrowid, " ".join(f"m{m}" for m in modules)))
                for m in modules:
                    counts[m] = counts.get(m, 0) + 1
        made += todo
    with store.db.write() as w:
        w.executemany("INSERT OR IGNORE INTO signature_names (name) VALUES (?)", [(s,) for s in sorted(names)])
        w.executemany("INSERT INTO module_counts (module, crashes) VALUES (?, ?) ON CONFLICT (module) "
                      "DO UPDATE SET crashes = crashes + excluded.crashes", sorted(counts.items()))
    conn.execute("ANALYZE")


FIRST_PAINT = r"""
import os, sys, time
t0 = time.perf_counter()
from crashdesk.ui.qt import QApplication, QEvent, QObject, QSettings
from crashdesk.store import CrashStore
from crashdesk.ui.mainwindow import MainWindow
t_import = time.perf_counter()
app = QApplication([])
store = CrashStore.open(sys.argv[1])
settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
w = MainWindow(store, settings=settings)
class Watch(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and w.model.rowCount() > 0 and not hasattr(self, "t"):
            self.t = time.perf_counter()
            app.quit()
        return False
watch = Watch()
w.table.viewport().installEventFilter(watch)
w.resize(1280, 800)
w.show()
app.exec()
print(f"{start_offset + watch.t - t0:.4f} {start_offset + t_import - t0:.4f} {w.model.total}")
w.jobs.wait(); store.close()
"""


def first_paint(store_dir: Path, runs: int) -> tuple[list[float], list[float], int]:
    out_paint, out_import, total = [], [], 0
    compile_bytecode()  # as an installed package has it (benchmarks/installed.py)
    for _ in range(runs):
        ini = WORK.parent / "bench-ui.ini"
        ini.unlink(missing_ok=True)
        code = "start_offset = 0.0\n" + FIRST_PAINT
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code, str(store_dir), str(ini)], capture_output=True,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
        wall = time.perf_counter() - start
        paint, imported, total = proc.stdout.split()
        # process start -> first paint: the wall time minus what happens after the paint (teardown) is not
        # observable from outside, so report in-process time plus interpreter start-up measured separately
        out_paint.append(float(paint))
        out_import.append(float(imported))
        _ = wall
    return out_paint, out_import, int(total)


def interpreter_startup(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def in_process(store_dir: Path, views: int, reps: int, use_index: bool = True) -> dict:
    from crashdesk.store import CrashStore, facet_query

    depth = facet_query.MAX_DEPTH
    if not use_index:  # a depth bound below every query's: every query takes the SQL path, as before the index
        facet_query.MAX_DEPTH = -1
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QApplication, QSettings

    app = QApplication.instance() or QApplication([])
    store = CrashStore.open(store_dir)
    w = MainWindow(store, settings=QSettings(str(WORK.parent / "bench-ui2.ini"), QSettings.Format.IniFormat))
    w.resize(1280, 800)
    w.show()

    def wait(pred, timeout=60.0):
        end = time.perf_counter() + timeout
        while not pred():
            app.processEvents()
            if time.perf_counter() > end:
                raise RuntimeError("timed out")
            time.sleep(0.0005)

    wait(lambda: w.model.rowCount() > 0 and w.crash_view.detail is not None)
    ids = [w.model.crash_id(r) for r in range(w.model.rowCount())]
    shown: list[str] = []
    w.detail_shown.connect(shown.append)
    view_times = []
    for i in range(views):
        crash_id = ids[i % len(ids)]
        shown.clear()
        t = time.perf_counter()
        w.show_crash(crash_id)
        wait(lambda cid=crash_id: cid in shown)
        app.processEvents()  # the paint of the filled view
        view_times.append(time.perf_counter() - t)
    search: dict[str, list[tuple[float, float, int]]] = {}
    for _ in range(reps):
        for q in QUERIES:
            finished, facets = [], []
            w.model.search_finished.connect(finished.append)
            w.facets_updated.connect(lambda f=facets: f.append(1))
            t = time.perf_counter()
            w.run_query(q)
            wait(lambda f=finished: bool(f))
            rows_at = time.perf_counter() - t
            wait(lambda f=facets: bool(f), timeout=600)
            facets_at = time.perf_counter() - t
            w.model.search_finished.disconnect()
            w.facets_updated.disconnect()
            w.model.search_finished.connect(w._on_model_search_finished)
            search.setdefault(q or "(everything)", []).append((rows_at, facets_at, finished[0]))
    w.close()
    w.jobs.wait()
    store.close()
    facet_query.MAX_DEPTH = depth
    return {"views": view_times, "search": search}


def warm_index(store_dir: Path) -> None:
    """Build the facet index from the tables (as the first facet query of a store does once), then load the
    kept snapshot in a fresh index (as every later run does); print both times and its memory."""
    import resource

    from crashdesk.store import CrashStore
    from crashdesk.store.facet_query import index_of
    from crashdesk.store.search import search

    with CrashStore.open(store_dir) as store:
        index = index_of(store.db)
        (store.db.path.with_name(store.db.path.name + ".facets")).unlink(missing_ok=True)
        t = time.perf_counter()
        search(store, "", limit=0, engine="index")
        built = time.perf_counter() - t
        snap = index._snap
        print(f"facet index: built from the tables in {built:.1f} s (kept file written); "
              f"{snap.memory_bytes() / 1e6:.0f} MB in memory ({len(snap.modules):,} module bitmaps, "
              f"{len(snap.values['signature']):,} signatures); process max RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
    with CrashStore.open(store_dir) as store:
        t = time.perf_counter()
        search(store, "", limit=0, engine="index")
        print(f"facet index: loaded from the kept file in {(time.perf_counter() - t) * 1000:.0f} ms")


def engines(store_dir: Path, reps: int, sql_reps: int) -> None:
    """The store's search for each query with the UI's facets, SQL path against the index, same process."""
    from crashdesk.store import CrashStore
    from crashdesk.store.search import search

    with CrashStore.open(store_dir) as store:
        search(store, "", limit=0, engine="index")
        for q in QUERIES:
            figures = {}
            for engine, n in (("sql", sql_reps), ("index", reps)):
                if n <= 0:
                    continue
                rows, facets = [], []
                for _ in range(n):
                    t = time.perf_counter()
                    result = search(store, q, limit=200, engine=engine)
                    rows.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    search(store, q, limit=0, facets=FACETS, engine=engine)
                    facets.append(time.perf_counter() - t)
                figures[engine] = (pct(rows, 95), pct(facets, 95), result.total, n)
            print(f"  {q or '(everything)'!r}: " + "; ".join(
                f"{e} rows p95 {r * 1000:.0f} ms, 5 facets p95 {f * 1000:.0f} ms ({n} runs)"
                for e, (r, f, _, n) in figures.items()) + f"; {figures['index'][2]:,} hits")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=100_000)
    parser.add_argument("--views", type=int, default=200)
    parser.add_argument("--paint-runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--search-reps", type=int, default=7, help="runs per query (p95 over them)")
    parser.add_argument("--sql-reps", type=int, default=3, help="runs per query of the SQL path (slow at 1M)")
    parser.add_argument("--ui-sql", action="store_true", help="also time the UI with the SQL path (before)")
    args = parser.parse_args()
    t = time.perf_counter()
    store_dir = build_store(args.crashes, args.rebuild)
    print(f"store: {store_dir} ({args.crashes:,} crashes; ready in {time.perf_counter() - t:.1f} s)")
    startup = interpreter_startup()
    paints, imports, total = first_paint(store_dir, args.paint_runs)
    print(f"first paint ({total:,} crashes): median {statistics.median(paints) * 1000:.0f} ms in-process "
          f"(+ {startup * 1000:.0f} ms interpreter start-up = {(statistics.median(paints) + startup) * 1000:.0f} ms"
          f" from process start; imports {statistics.median(imports) * 1000:.0f} ms); target < 1500 ms")
    warm_index(store_dir)
    print(f"store search, SQL path against the facet index (rows: first 200 by -date; facets: {', '.join(FACETS)}):")
    engines(store_dir, args.search_reps, args.sql_reps)
    for use_index in ((False, True) if args.ui_sql else (True,)):
        res = in_process(store_dir, args.views if use_index else 1, args.search_reps, use_index)
        if use_index:
            v = res["views"]
            print(f"crash view: p50 {pct(v, 50) * 1000:.1f} ms, p95 {pct(v, 95) * 1000:.1f} ms, "
                  f"max {max(v) * 1000:.1f} ms over {len(v)} selections; target p95 < 50 ms at 1M")
        print(f"UI search ({'facet index' if use_index else 'SQL path, as before'}; p95 over {args.search_reps} "
              f"runs: rows on screen, all five facets on screen):")
        for q, runs in res["search"].items():
            rows = pct([r for r, _, _ in runs], 95)
            facets = pct([f for _, f, _ in runs], 95)
            print(f"  {q!r}: {runs[0][2]:,} hits, rows {rows * 1000:.0f} ms, facets {facets * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
