#!/usr/bin/env python3
"""Render the views issue 29 changed into ``docs/screenshots/realwindow-*.png`` (offscreen, no display needed).

Over the demo store of ``scripts/screenshots.py`` (reference processed crashes from tests/data): the window at
1024x700 (spare width to Signature), the Signatures chart with a top count of 9 at 1280x800 (whole-number
ticks), a crash whose symbol sources changed (the Reprocess offer), the collector panel while the app starts,
and the message for a last query that did not parse.

Usage: ``python scripts/screenshots_realwindow.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from _screens import Screens
    from screenshots import DATA, build_demo_store

    from crashdesk.store import CrashStore
    from crashdesk.ui.collector_link import CollectorState
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QSettings

    screens = Screens(args.out, prefix="realwindow-", timeout=15.0)
    wait_until, grab = screens.wait_until, screens.grab
    work = Path(tempfile.mkdtemp(prefix="crashdesk-shots-"))

    ids = build_demo_store(work / "demo")
    store = CrashStore.open(work / "demo")
    # the newest crash as the app's collector processed it before Settings had a symbol folder
    from crashdesk.ui.samples import signature_for

    crash = store.get(ids[0])
    processed = dict(crash["processed"], symbol_sources={"folders": [], "servers": [], "debuginfod": [],
                                                         "mozilla_servers": []})
    store.save_processed(ids[0], processed, signature=signature_for(processed, crash["annotations"]))
    settings = QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("search/last_query", "os:(linux")  # does not parse: not restored, and said so
    settings.setValue("symbols/paths", [str(DATA / "crashes" / "symbols")])  # not what processed the demo
    settings.setValue("symbols/mozilla_for_mozilla_products", "false")
    window = MainWindow(store, settings=settings, collector=CollectorState(None, "looking for the local collector", starting=True))
    window.resize(1024, 700)
    window.show()
    wait_until(lambda: window.crash_view.detail is not None and window.facets.topLevelItemCount() > 0)
    grab(window, "1024x700-query-not-restored")
    window.decision.show_tab(window.decision.tabs.indexOf(window.decision.collector))
    grab(window, "collector-starting")
    window.decision.show_tab(0)

    window.resize(1280, 800)
    window.crash_view.setCurrentIndex(0)
    window.crash_view.detail = None
    window.show_crash(window.model.crash_id(0))
    wait_until(lambda: window.crash_view.detail is not None)
    grab(window, "summary-sources-changed")

    window.decision.show_tab(window.decision.tabs.indexOf(window.decision.signatures))
    sig = window.decision.signatures
    wait_until(lambda: bool(sig.by_day.counts()))
    grab(window, "signatures-1280x800")
    window.close()
    store.close()
    print("\n".join(screens.shots))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
