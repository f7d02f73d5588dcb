#!/usr/bin/env python3
"""Render the main views of the CrashDesk window offscreen into ``docs/screenshots/*.png``.

The window runs over a demo store built from ``tests/data/``: the real crashes there (reference processed JSON
from minidump-stackwalk 0.25.0, real dumps where the test data has them), each stored several times with
spread-out dates and a few product versions so the list, facets and counts look like a working day. The
version spread is demo dressing, not data from the corpus.

Usage: ``python scripts/screenshots.py [--out DIR]`` (no display needed: QT_QPA_PLATFORM=offscreen).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"
CASE_ROOTS = (DATA / "crashes", DATA / "ui")
VERSIONS = ("1.4.0", "1.4.1", "1.4.2")
COPIES = {"01-null-deref": 9, "05-thread": 7, "06-plugin-so": 5, "03-abort": 4, "07-cxx-terminate": 3,
          "02-write-rodata": 2, "04-divzero": 2, "08-bad-fnptr": 1}


def cases() -> list[Path]:
    found = []
    for root in CASE_ROOTS:
        found += [p for p in sorted(root.iterdir()) if (p / "expected.json").is_file()]
    return found


def build_demo_store(data_dir: Path) -> list[str]:
    """Fill a store at ``data_dir`` from the test data; return the crash ids (newest first)."""
    from crashdesk.store import CrashStore
    from crashdesk.ui.samples import signature_for

    base = dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.UTC)
    ids: list[tuple[str, str]] = []
    n = 0
    with CrashStore.open(data_dir) as store:
        for case in cases():
            annotations = json.loads((case / "annotations.json").read_text())
            processed = json.loads((case / "expected.json").read_text())
            dump = case / "dump.dmp"
            signature = signature_for(processed, annotations)
            for i in range(COPIES.get(case.name, 1)):
                n += 1
                when = base - dt.timedelta(hours=5 * n + 3 * i, minutes=7 * n)
                ann = {**annotations, "Version": VERSIONS[(n + i) % len(VERSIONS)]}
                dumps = {"upload_file_minidump": dump.read_bytes()} if dump.is_file() else {}
                crash_id = store.add_crash(ann, dumps, source="import" if i % 3 else "collector",
                                           submitted_at=when.isoformat(timespec="seconds"))
                store.save_processed(crash_id, processed, signature=signature,
                                     notes=["demo store: processed crash is the reference stackwalker output"])
                ids.append((when.isoformat(), crash_id))
    return [cid for _, cid in sorted(ids, reverse=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from _screens import Screens

    from crashdesk.store import CrashStore
    from crashdesk.ui.collector_link import CollectorState
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QSettings

    screens = Screens(args.out)
    app, wait_until, grab, shots = screens.app, screens.wait_until, screens.grab, screens.shots
    work = Path(tempfile.mkdtemp(prefix="crashdesk-shots-"))
    settings = QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("sources/mappings", [f"/build/crashfactory-demo={DATA / 'ui' / 'src'}"])
    collector = CollectorState("http://127.0.0.1:8765/submit", "demo")

    # 1. first run: the empty state
    empty_store = CrashStore.open(work / "empty")
    window = MainWindow(empty_store, settings=QSettings(str(work / "empty.ini"), QSettings.Format.IniFormat),
                        collector=collector)
    window.resize(1280, 760)
    window.show()
    wait_until(lambda: window.showing_empty_state)
    grab(window, "first-run")
    window.close()
    empty_store.close()

    # 2. the workstation over the demo store
    build_demo_store(work / "demo")
    store = CrashStore.open(work / "demo")
    window = MainWindow(store, settings=settings, collector=collector)
    window.resize(1400, 900)
    window.show()
    wait_until(lambda: window.crash_view.detail is not None and window.facets.topLevelItemCount() > 0)
    grab(window, "main-window")

    def select(signature: str, tab: int, name: str, thread: int | None = None) -> None:
        for row in range(window.model.rowCount()):
            if window.model.row_data(row).get("signature") == signature:
                window.crash_view.detail = None
                window.table.selectRow(row)
                window.show_crash(window.model.crash_id(row))
                wait_until(lambda: window.crash_view.detail is not None)
                break
        window.crash_view.setCurrentIndex(tab)
        if thread is not None:
            window.crash_view.stack.threads.setCurrentIndex(thread)
        grab(window, name)

    window.list_splitter.setSizes([250, 650])
    select("tile_blit", 1, "stack")
    select("table_lookup_symbol", 1, "stack-inline")
    select("table_lookup_symbol", 2, "modules")
    select("page_measure_width", 3, "annotations")
    select("page_measure_width", 5, "raw")
    select("page_measure_width", 0, "summary")

    # 3. a query with an error, shown at its position
    window.list_splitter.setSizes([450, 450])
    window.search_bar.set_text("product:CrashFactoryDemo versoin:1.4.2")
    window.search_bar.submit()
    wait_until(lambda: window.search_bar.error.isVisible())
    grab(window, "search-error")
    window.search_bar.set_text('signature:~"page" version:1.4.2')
    window.search_bar.submit()
    wait_until(lambda: not window.search_bar.error.isVisible() and window.model.query.startswith("signature"))
    wait_until(lambda: window.model.rowCount() > 0)
    grab(window, "search")
    # issue 20: the query syntax behind the search bar's "?" button, and a read-only data folder's banner
    window.search_bar.help_button.setChecked(True)
    wait_until(lambda: window.crash_view.detail is not None and window.crash_view.isEnabled())
    grab(window, "search-help")
    window.search_bar.help_button.setChecked(False)
    window.set_read_only(f"The data folder {work / 'demo'} is read-only: crashes can be searched and read, "
                         "but nothing is collected, processed or changed.")
    grab(window, "read-only")
    window.read_only_banner.hide()
    window.search_bar.set_text("")
    window.run_query("")
    wait_until(lambda: window.model.query == "" and window.model.rowCount() > 0)
    # --- issue 10 views (signatures, regeneration workbench, compare, collector/sync panels, settings) ---
    from screenshots_decisions import render as render_decisions

    render_decisions(app, window, work, grab, wait_until)
    # --- end of issue 10 ---
    from screenshots_generic import render as render_generic  # issue 18: module rules, product profiles

    render_generic(app, window, grab, wait_until)
    window.close()
    window.jobs.wait()
    store.close()
    print("\n".join(shots))
    from screenshots_topcrashers import main as render_topcrashers  # issue 25: its own generated store

    render_topcrashers(["--out", str(args.out)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
