"""Issue 29, the app as a person uses it: every item driven by real key and mouse events (qtbot.keyClick,
mouseClick, mouseDClick) on real widgets over a real store; two-instance cases are in test_realwindow_instances."""

from __future__ import annotations

from crashdesk.ui.qt import QApplication, Qt


def _key_target(widget):
    """Where the platform delivers a key: the open popup (a completer's list) when there is one."""
    return QApplication.activePopupWidget() or widget


def test_enter_runs_the_query_while_the_completion_popup_is_open(qtbot, store, cases, make_window):
    window = make_window(store)
    bar = window.search_bar
    qtbot.waitUntil(lambda: bool(bar.values.get("os")), timeout=10000)
    os_name = bar.values["os"][0]
    bar.edit.setFocus()
    qtbot.keyClicks(bar.edit, f"os:{os_name[:2]}")
    qtbot.waitUntil(lambda: bar.completer.popup().isVisible(), timeout=5000)
    typed = bar.text()
    with qtbot.waitSignal(window.model.search_finished, timeout=10000):
        qtbot.keyClick(_key_target(bar.edit), Qt.Key.Key_Return)
    assert not bar.completer.popup().isVisible()
    assert window.model.query == typed  # one Enter ran what the box shows


def test_enter_on_a_highlighted_completion_takes_it_and_runs(qtbot, store, cases, make_window):
    window = make_window(store)
    bar = window.search_bar
    qtbot.waitUntil(lambda: bool(bar.values.get("product")), timeout=10000)
    bar.edit.setFocus()
    qtbot.keyClicks(bar.edit, "product:")
    qtbot.waitUntil(lambda: bar.completer.popup().isVisible(), timeout=5000)
    popup = bar.completer.popup()
    qtbot.keyClick(_key_target(bar.edit), Qt.Key.Key_Down)
    chosen = str(popup.currentIndex().data())
    assert chosen.startswith("product:")
    with qtbot.waitSignal(window.model.search_finished, timeout=10000):
        qtbot.keyClick(_key_target(bar.edit), Qt.Key.Key_Return)
    assert bar.text() == chosen
    assert window.model.query == chosen


# ---------------------------------------------------------------------------------------------- helpers

SRC = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "ui" / "src"


def _click_row(qtbot, view, row: int, *, double: bool = False, modifier=Qt.KeyboardModifier.NoModifier):
    index = view.model().index(row, 0)
    view.scrollTo(index)
    pos = view.visualRect(index).center()
    if double:  # as a mouse does it: press and release, then the second press (a double-click) and release
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, pos)
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, pos)
    else:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, pos)


def _open_crash(qtbot, window, crash_id: str) -> None:
    """Click the crash's row in the list and wait until the crash view shows it."""
    row = window.model.row_of(crash_id)
    assert row is not None and row >= 0
    if window.current_crash_id() == crash_id and window.crash_view.detail is not None \
            and window.crash_view.detail.crash_id == crash_id:
        return
    with qtbot.waitSignal(window.detail_shown, timeout=10000,
                          check_params_cb=lambda cid: cid == crash_id):
        _click_row(qtbot, window.table, row)


def _case(cases, name):
    return next(c for c in cases if c.name == name)


# ---------------------------------------------------------------------------------------------- keyboard

def test_tab_leaves_the_crash_list_and_arrows_move_within_it(qtbot, store, cases, make_window):
    window = make_window(store)
    _click_row(qtbot, window.table, 0)
    assert window.table.hasFocus()
    before = window.table.currentIndex()
    qtbot.keyClick(window.table, Qt.Key.Key_Down)
    assert window.table.currentIndex().row() == before.row() + 1  # arrows move within the list
    assert window.table.currentIndex().column() == before.column()
    qtbot.keyClick(window.table, Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert focused is not window.table and focused is not None
    # the focus went to another pane: the crash view (its tab bar or a widget inside it)
    assert window.crash_view.isAncestorOf(focused) or focused is window.crash_view
    qtbot.keyClick(focused, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is window.table  # and Shift+Tab comes back


def test_menu_mnemonics_are_unique_and_view_source_folders_opens_settings(qtbot, store, cases, make_window):
    window = make_window(store)
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        letters = []
        for act in menu.actions():
            text = act.text()
            if "&" in text.replace("&&", ""):
                letters.append(text.replace("&&", "")[text.replace("&&", "").index("&") + 1].lower())
        assert len(letters) == len(set(letters)), (menu_action.text(), [a.text() for a in menu.actions()])
    # the View menu's "Source folders…" by its mnemonic opens the one place for mappings: Settings' page
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    view_menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitUntil(view_menu.isVisible, timeout=3000)
    qtbot.keyClick(view_menu, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: getattr(window.decision, "settings_dialog", None) is not None
                    and window.decision.settings_dialog.isVisible(), timeout=5000)
    dlg = window.decision.settings_dialog
    assert dlg.tabs.tabText(dlg.tabs.currentIndex()) == "Source folders"
    dlg.reject()


def test_double_click_a_frame_opens_its_source_or_its_module(qtbot, store, cases, make_window, settings):
    from crashdesk.ui.qt import QDesktopServices, QObject, Slot

    settings.setValue("sources/mappings", [f"/build/crashfactory-demo={SRC}"])
    window = make_window(store)
    opened: list[str] = []

    class Recorder(QObject):  # the desktop's handler for file URLs, here: remember, open nothing
        @Slot("QUrl")
        def open(self, url) -> None:
            opened.append(url.toLocalFile())

    recorder = Recorder()
    QDesktopServices.setUrlHandler("file", recorder, "open")
    try:
        case = _case(cases, "04-divzero")
        _open_crash(qtbot, window, case.crash_id)
        qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # Crash tabs: Stack
        assert window.crash_view.currentWidget() is window.crash_view.stack
        frames = window.crash_view.stack.frames
        qtbot.waitUntil(lambda: frames.model().rowCount() > 0, timeout=5000)
        top = case.processed["crashing_thread"]["frames"][0]
        with qtbot.waitSignal(window.crash_view.open_source_requested, timeout=5000) as blocker:
            _click_row(qtbot, frames, 0, double=True)
        assert blocker.args == [str(SRC / "demo_viewer.c"), top["line"]]
        qtbot.waitUntil(lambda: opened == [str(SRC / "demo_viewer.c")], timeout=5000)
        source = window.crash_view.stack.source
        assert source.hasFocus()
        assert source.textCursor().selectedText().lstrip().startswith(str(top["line"]))

        # a frame without local source (libc's): its module on the Modules tab
        abort = _case(cases, "03-abort")
        _open_crash(qtbot, window, abort.crash_id)
        qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: frames.model().rowCount() > 0, timeout=5000)
        module = abort.processed["crashing_thread"]["frames"][0]["module"]
        _click_row(qtbot, frames, 0, double=True)
        modules = window.crash_view.modules
        assert window.crash_view.currentWidget() is modules
        current = modules.proxy.mapToSource(modules.table.currentIndex()).row()
        assert modules.model.modules()[current]["filename"] == module
        assert module in modules.explain_title.text()
    finally:
        QDesktopServices.unsetUrlHandler("file")


# ---------------------------------------------------------------------------------------------- facets, layout

def test_facet_tooltip_keeps_the_exclude_hint_and_ctrl_click_excludes(qtbot, store, cases, make_window):
    window = make_window(store)
    qtbot.waitUntil(lambda: window.facets.topLevelItemCount() > 0, timeout=10000)
    top = next(window.facets.topLevelItem(i) for i in range(window.facets.topLevelItemCount())
               if window.facets.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole + 1) == "product"
               or window.facets.topLevelItem(i).text(0).lower() == "product")
    child = top.child(0)
    assert "Ctrl+click" in child.toolTip(0) and "Ctrl+click" in child.toolTip(1)
    term = child.text(0)
    assert term in child.toolTip(0)
    window.facets.scrollToItem(child)
    pos = window.facets.visualItemRect(child).center()
    with qtbot.waitSignal(window.model.search_finished, timeout=10000):
        qtbot.mouseClick(window.facets.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                         pos)
    assert window.model.query.startswith("-product:")


def test_spare_width_goes_to_signature(qtbot, store, cases, make_window):
    from crashdesk.ui.models.crash_list import Col

    window = make_window(store)
    window.resize(1024, 700)
    qtbot.wait(50)
    narrow = {c: window.table.columnWidth(c) for c in (Col.SIGNATURE, Col.STATE)}
    window.resize(1900, 1000)
    qtbot.waitUntil(lambda: window.table.columnWidth(Col.SIGNATURE) > narrow[Col.SIGNATURE], timeout=3000)
    assert narrow[Col.SIGNATURE] >= 220  # never squeezed to nothing at 1024 px
    assert window.table.columnWidth(Col.STATE) == narrow[Col.STATE]
    # all the spare width went to Signature: the visible columns fill the list exactly
    shown = sum(window.table.columnWidth(c) for c in Col if not window.table.isColumnHidden(c))
    assert shown == window.table.viewport().width()


def test_signature_chart_y_axis_has_integer_ticks_that_fit(qtbot, store, make_window):
    from crashdesk.ui.charts import integer_ticks

    for n in range(8):  # one signature, 8 crashes on one day: a top count of 8
        cid = store.add_crash({"ProductName": "Demo", "Version": "1.0"}, {}, source="import",
                              submitted_at=f"2026-11-20T1{n}:00:00+00:00")
        store.save_processed(cid, {"status": "OK", "threads": [], "modules": []}, signature=None)
    window = make_window(store, wait_for_list=False)
    window.resize(1280, 800)
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)  # Tools: Signatures tab
    sig = window.decision.signatures
    qtbot.waitUntil(lambda: sig.by_day.counts() != [], timeout=10000)
    chart = sig.by_day
    assert max(chart.counts()) == 8
    (axis,) = chart.chart.axes(Qt.Orientation.Vertical)
    step = axis.tickInterval()
    assert step == int(step) and step >= 1
    intervals = round(axis.max() / step)
    assert axis.max() >= 8 and axis.min() == 0
    line = chart.fontMetrics().height()
    # every label has room: the plot area holds at least one text line per label with a gap
    assert chart.chart.plotArea().height() >= (intervals + 1) * line * 1.5, (chart.chart.plotArea(), intervals)
    assert (int(step), int(axis.max())) == integer_ticks(8, chart.max_ticks())


# ---------------------------------------------------------------------------------------------- start-up

def test_collector_says_starting_not_a_red_not_running(qtbot, store, cases, make_window):
    from crashdesk.ui.collector_link import CollectorState

    window = make_window(store, collector=CollectorState(None, "looking for the local collector", starting=True))
    panel = window.decision.collector
    assert "Starting…" in panel.status.text() and "Not running" not in panel.status.text()
    assert "#c0392b" not in panel.status.text()  # not the red of "Not running"
    assert window.status.collector.text() == "Collector: starting…"
    window.set_collector(CollectorState("http://127.0.0.1:1/submit", "started the local collector"))
    assert "● Running" in panel.status.text()


def test_only_a_last_query_that_parses_is_restored(qtbot, store, cases, make_window, settings):
    settings.setValue("search/last_query", "os:(linux")
    window = make_window(store)
    assert window.search_bar.text() == ""
    assert window.restored_query_error
    assert window.search_bar.error.isVisible()  # said under the search box
    assert "not restored" in window.search_bar.error.text() and "os:(linux" in window.search_bar.error.text()
    assert window.model.rowCount() == len(cases)  # opened on every crash, not an empty list


def test_a_last_query_that_parses_is_restored(qtbot, store, cases, make_window, settings):
    product = cases[0].annotations["ProductName"]
    settings.setValue("search/last_query", f"product:{product}")
    window = make_window(store)
    assert window.search_bar.text() == f"product:{product}"
    assert window.restored_query_error is None
    assert window.model.query == f"product:{product}"
    assert not window.search_bar.error.isVisible()


# ---------------------------------------------------------------------------------------------- symbol sources

def test_crash_view_shows_the_symbol_sources_and_reprocesses_when_they_change(qtbot, store, make_window, settings,
                                                                            data_dir):
    """Processed without symbol folders (as the app's collector did), then Settings gain the folder the CLI was
    given: the crash view says which sources processed it, offers Reprocess, and a click processes it again
    with the folder: its frames get their function names."""
    from crashdesk.config.paths import resolve_paths
    from crashdesk.services.processing import ProcessingService, default_worker_config
    from crashdesk.ui.processing_link import settings_sources, worker_config

    symbols = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "crashes" / "symbols"
    dump = symbols.parent / "01-null-deref" / "dump.dmp"
    crash_id = store.add_crash({"ProductName": "CrashFactoryDemo"}, {"upload_file_minidump": dump.read_bytes()},
                               source="collector")
    paths = resolve_paths(str(data_dir))
    env: dict[str, str] = {}
    ProcessingService(store, default_worker_config(paths, environ=env), workers=1).run_until_empty()
    before = store.get(crash_id)["processed"]
    assert before["symbol_sources"]["folders"] == []
    assert before["crashing_thread"]["frames"][0].get("function") is None  # no symbols: no function name

    settings.setValue("symbols/paths", [str(symbols)])
    settings.setValue("symbols/mozilla_for_mozilla_products", "false")
    window = make_window(store)
    service = ProcessingService(store, worker_config(paths, settings_sources(settings)), workers=1,
                                on_result=window.notify_crash_processed)
    service.start()
    try:
        window.attach_processing(service)
        _open_crash(qtbot, window, crash_id)
        qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # Summary tab
        summary = window.crash_view.summary
        assert summary.values["Symbol sources"].startswith("none")
        assert summary.sources_changed.isVisible()
        assert str(symbols) in summary.sources_changed_text.text()
        with qtbot.waitSignal(window.crash_processed, timeout=60000):
            qtbot.mouseClick(summary.reprocess_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.crash_view.detail is not None
                        and (window.crash_view.detail.processed or {}).get("symbol_sources", {}).get("folders")
                        == [str(symbols)], timeout=30000)
        assert not summary.sources_changed.isVisible()
        assert summary.values["Symbol sources"] == f"folders: {symbols}"
        after = store.get(crash_id)["processed"]
        assert after["crashing_thread"]["frames"][0]["function"] == "page_measure_width"
    finally:
        service.cancel()
        service.join(20)
