"""Screenshots of the issue-10 views (signatures, regeneration workbench, compare, collector and sync panels,
settings, dark mode), called by ``scripts/screenshots.py`` with its window over the demo store.

Demo dressing, said plainly: the collector panel shows an unstarted collector's configuration (throttle rules
written here) and two refusals written to the demo folder's rejection log; the sync panel shows a server saved
in the demo folder (no token, no network) and a saved sync that never ran. The keyring is a plaintext file in
the temporary folder, never the user's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def render(app: Any, window: Any, work: Path, grab: Any, wait_until: Any) -> None:
    """Render every issue-10 view of ``window`` (a MainWindow over the demo store) with ``grab``."""
    from crashdesk.ui.decision_views import TAB_TITLES

    os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    os.environ["XDG_DATA_HOME"] = str(work / "keyring")
    try:
        import keyring.core

        keyring.core.init_backend()
    except Exception:  # noqa: BLE001 - the panels read the keyring only to say whether a token is stored
        pass
    from crashdesk.collector import Collector, CollectorConfig
    from crashdesk.collector.rejections import RejectionLog
    from crashdesk.collector.throttle import rules_from_json
    from crashdesk.config.servers import ServerRegistry
    from crashdesk.store.syncstate import SyncState
    from crashdesk.ui.collector_link import CollectorState
    from crashdesk.ui.theme import apply_theme

    dv = window.decision
    store = window.store
    data_dir = dv.data_dir

    # signatures: the whole demo store, one signature selected so the charts show it
    window.run_query("")
    wait_until(lambda: window.model.query == "" and window.model.rowCount() > 0)
    dv.show_tab(1)
    wait_until(lambda: dv.signatures.table_data is not None and dv.signatures.table_data.query == "")
    sig = dv.signatures.table_data.rows[0].signature
    done = []
    dv.signatures.charts_updated.connect(lambda: done.append(1))
    dv.signatures.select_signature(sig)
    wait_until(lambda: bool(done) and sig in dv.signatures.by_day.chart.title())
    grab(window, "signatures")

    # workbench: a profile that skips the top frame of the biggest signature; run; a bad line marked
    dv.show_tab(TAB_TITLES.index("Regeneration"))
    bench = dv.workbench
    loaded = []
    bench.profile_loaded.connect(loaded.append)
    bench.create_profile("team", "mozilla")
    wait_until(lambda: "team" in loaded, 20)
    editor = bench.editors["irrelevant_signature_re.txt"]
    bench.list_tabs.setCurrentWidget(editor)
    editor.setPlainText(editor.toPlainText().rstrip("\n") + f"\n# team additions\n^{sig}$\n")
    bench.set_query("")
    results = []
    bench.run_finished.connect(results.append)
    bench.start_run()
    wait_until(lambda: bool(results), 60)
    editor.setPlainText(editor.toPlainText() + "render_(tile|thread\n")
    editor.validate()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    editor.ensureCursorVisible()
    grab(window, "regeneration-workbench")

    # compare: stored vs regenerated for a changed crash, then the old and new signatures side by side
    opened = []
    dv.compare_opened.connect(opened.append)
    bench.explain_selected()
    wait_until(lambda: bool(opened))
    cw = opened[-1]
    cw.resize(1300, 760)
    wait_until(lambda: cw.view.explanation is not None)
    grab(cw, "compare-stored-vs-regenerated")
    cw.close()
    ids = [window.model.crash_id(r) for r in range(window.model.rowCount())]
    rows = [window.model.row_data(r) for r in range(window.model.rowCount())]
    first = next(i for i, r in zip(ids, rows, strict=True) if r.get("signature") == sig)
    other = next(i for i, r in zip(ids, rows, strict=True) if r.get("signature") not in (sig, None))
    dv.show_tab(0)
    from crashdesk.ui.qt import QItemSelectionModel

    sel = window.table.selectionModel()
    sel.clearSelection()
    for cid in (first, other):
        sel.select(window.model.index(window.model.row_of(cid), 0),
                   QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    n = len(opened)
    dv.compare_action.trigger()
    wait_until(lambda: len(opened) > n)
    cw = opened[-1]
    cw.resize(1300, 760)
    wait_until(lambda: cw.view.comparison is not None)
    grab(cw, "compare-crashes")
    cw.close()

    # collector panel
    RejectionLog(data_dir).record(status=200, reason="rule_unsupported_product", peer="127.0.0.1",
                                  user_agent="Crashpad/0.8.0", size=48213)
    RejectionLog(data_dir).record(status=400, reason="malformed_no_annotations", detail="",
                                  peer="127.0.0.1", user_agent="curl/8.5.0", size=211)
    throttler = rules_from_json({"products": ["CrashFactoryDemo"], "rules": [
        {"name": "no_aurora", "annotation": "ReleaseChannel", "op": "eq", "value": "aurora", "result": "REJECT"},
        {"name": "sample_release", "annotation": "ReleaseChannel", "op": "eq", "value": "release",
         "result": "ACCEPT", "percentage": 50},
        {"name": "accept_everything", "result": "ACCEPT"}]})
    demo = Collector(data_dir, CollectorConfig(throttler=throttler))
    window.set_collector(CollectorState("http://127.0.0.1:8765/submit", "demo store (its configuration, not listening)", demo))
    dv.show_tab(TAB_TITLES.index("Collector"))
    wait_until(lambda: dv.collector.rejections.rowCount() == 2 and dv.collector.feed.rowCount() > 0)
    grab(window, "collector-panel")

    # sync panel
    ServerRegistry(data_dir).add("crash-stats", "https://crash-stats.mozilla.org")
    ServerRegistry(data_dir).add("team-socorro", "https://socorro.example.internal")
    SyncState(store).job("demo", server="crash-stats", base_url="https://crash-stats.mozilla.org",
                         filters=[("product", "Firefox"), ("version", "133.0")])
    dv.show_tab(TAB_TITLES.index("Sync"))
    dv.sync.refresh()
    wait_until(lambda: dv.sync.servers.rowCount() == 2 and dv.sync.syncs.rowCount() == 1)
    dv.sync.syncs.selectRow(0)
    grab(window, "sync-panel")

    # settings
    settings = window.settings
    settings.setValue("symbols/paths", ["/home/me/symbols/crashfactory", "/mnt/build-artifacts/symbols"])
    settings.setValue("symbols/urls", ["https://symbols.mozilla.org/"])
    dlg = dv.open_settings()
    dlg.tabs.setCurrentIndex(1)
    for _ in range(5):
        app.processEvents()
    grab(dlg, "settings")
    dlg.reject()

    # dark mode
    palette, style = app.palette(), app.style().name()
    apply_theme("dark")
    dv.show_tab(1)
    for _ in range(10):
        app.processEvents()
    grab(window, "signatures-dark")
    apply_theme("light")
    app.setStyle(style)
    app.setPalette(palette)
    dv.show_tab(0)
