"""The issue-10 views inside the main window (real store from tests/data): tabs under the search bar, the
signatures tab following the query, double-click back to the crash list, compare from the list selection,
stored-vs-regenerated from the list, and the settings dialog feeding the crash view's source folders."""

from __future__ import annotations

import time
from collections import Counter


def test_tabs_follow_the_query_and_link_back(qtbot, store, cases, make_window):
    from crashdesk.ui.decision_views import TAB_TITLES

    window = make_window(store)
    dv = window.decision
    assert [dv.tabs.tabText(i) for i in range(dv.tabs.count())] == list(TAB_TITLES)
    assert dv.tabs.currentIndex() == 0 and dv.tabs.widget(0) is window.side_splitter
    with qtbot.waitSignal(dv.signatures.loaded, timeout=10000):
        dv.show_tab(1)
    sigs = Counter(store.get(c.crash_id)["signature"] for c in cases)
    assert dv.signatures.model.rowCount() == len(sigs)
    # a new query while the tab is shown: the view follows
    target = cases[0]
    sig = store.get(target.crash_id)["signature"]
    with qtbot.waitSignal(dv.signatures.loaded, timeout=10000):
        window.run_query(f'signature:"{sig}"')
    assert [r.signature for r in dv.signatures.table_data.rows] == [sig]
    # double-click: back to the crash list, filtered to that signature
    dv.signatures.table.doubleClicked.emit(dv.signatures.proxy.index(0, 0))
    assert dv.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: "signature:=" in window.model.query and window.model.rowCount() == sigs[sig],
                    timeout=10000)
    assert window.model.crash_id(0) == target.crash_id or sigs[sig] > 1


def test_compare_and_explain_from_the_crash_list(qtbot, store, cases, make_window):
    window = make_window(store)
    dv = window.decision
    assert not dv.compare_action.isEnabled()
    window.table.selectRow(0)
    assert not dv.compare_action.isEnabled() and dv.explain_action.isEnabled()
    window.table.selectAll()
    assert not dv.compare_action.isEnabled()  # more than two
    from crashdesk.ui.qt import QItemSelectionModel

    sel = window.table.selectionModel()
    sel.clearSelection()
    for row in (0, 1):
        sel.select(window.model.index(row, 0),
                   QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    assert dv.compare_action.isEnabled()
    ids = window.selected_crash_ids()
    with qtbot.waitSignal(dv.compare_opened, timeout=5000) as opened:
        dv.compare_action.trigger()
    cw = opened.args[0]
    with qtbot.waitSignal(cw.view.loaded, timeout=10000):
        pass
    assert [cw.view.comparison.left_id, cw.view.comparison.right_id] == ids
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.current_crash_id() == window.model.crash_id(0), timeout=5000)
    with qtbot.waitSignal(dv.compare_opened, timeout=5000) as opened:
        dv.explain_action.trigger()
    cw2 = opened.args[0]
    with qtbot.waitSignal(cw2.view.loaded, timeout=10000):
        pass
    assert cw2.view.explanation.crash_id == window.model.crash_id(0)
    assert cw2.view.explanation.profile == "mozilla"
    window.close()
    assert dv.compare_windows == [] or all(not w.isVisible() for w in dv.compare_windows)


def test_settings_dialog_from_the_window(qtbot, store, cases, make_window, tmp_path):
    window = make_window(store)
    dv = window.decision
    dlg = dv.open_settings()
    assert dlg.isVisible() and dlg.profiles_dir == dv.profiles_dir
    dlg.add_mapping("/build/somewhere", str(tmp_path))
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        dlg.accept()
    assert ("/build/somewhere", str(tmp_path)) in window.sources.mappings


def test_data_folder_from_settings_is_used_at_start(qtbot, tmp_path, monkeypatch):
    from crashdesk.ui.app import run_app
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QApplication, QSettings, QTimer

    monkeypatch.delenv("CRASHDESK_HOME", raising=False)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    chosen = tmp_path / "chosen-home"
    QSettings("CrashDesk", "CrashDesk").setValue("general/data_dir", str(chosen))
    seen: dict = {}
    before = [w for w in QApplication.instance().topLevelWidgets() if isinstance(w, MainWindow)]
    started = time.monotonic()

    def tick() -> None:
        # the window run_app opened: a MainWindow that was not there before (earlier tests' windows may linger)
        new = [w for w in QApplication.instance().topLevelWidgets()
               if isinstance(w, MainWindow) and w.isVisible() and not any(w is b for b in before)]
        if new:
            seen["db"] = new[0].store.db.path
            timer.stop()
            new[0].close()
        elif time.monotonic() - started > 60:
            timer.stop()
            for w in QApplication.instance().topLevelWidgets():
                if isinstance(w, MainWindow) and not any(w is b for b in before):
                    w.close()

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(tick)
    timer.start()
    assert run_app(None) == 0
    assert seen["db"] == chosen / "crashdesk.sqlite"


def test_connect_to_a_server_opens_the_sync_panel(qtbot, store, make_window):
    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    window.empty_state.connect_requested.emit()
    dv = window.decision
    assert not window.showing_empty_state and dv.tabs.currentWidget() is dv.sync
    dv.show_tab(0)
    window.connect_action.trigger()
    assert dv.tabs.currentWidget() is dv.sync
