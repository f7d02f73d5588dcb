"""First run (empty store), sample crashes, File -> Open minidump and drag and drop."""

from __future__ import annotations

import json
from pathlib import Path

from crashdesk.ui.collector_link import CollectorState
from crashdesk.ui.qt import QApplication, QMimeData, QPoint, Qt, QUrl
from crashdesk.ui.samples import samples

DATA = Path(__file__).resolve().parents[1] / "data"
DUMP = DATA / "crashes" / "01-null-deref" / "dump.dmp"


def test_empty_store_opens_the_empty_state_with_collector_snippets(qtbot, store, make_window):
    url = "http://127.0.0.1:8765/submit"
    window = make_window(store, wait_for_list=False, collector=CollectorState(url, "test"))
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    empty = window.empty_state
    assert empty.isVisible()
    assert url in empty.url_label.text()
    assert f"--url={url}" in empty.snippet_edits["Crashpad"].toPlainText()
    assert url in empty.snippet_edits["Breakpad"].toPlainText()
    empty.copy_url.click()
    assert QApplication.clipboard().text() == url
    for button in (empty.open_button, empty.samples_button, empty.connect_button):
        assert button.isVisible() and button.isEnabled()


def test_status_bar_without_collector_says_so_and_copies_url_when_running(qtbot, store, make_window):
    window = make_window(store, wait_for_list=False)
    assert "collector not running" in window.status.collector.text()
    window.set_collector(CollectorState("http://127.0.0.1:9999/submit", "attached"))
    qtbot.mouseClick(window.status.collector, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "http://127.0.0.1:9999/submit"


def test_load_sample_crashes_fills_every_view(qtbot, store, make_window):
    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    shipped = samples()
    assert len(shipped) >= 2
    with qtbot.waitSignal(window.samples_loaded, timeout=15000):
        qtbot.mouseClick(window.empty_state.samples_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.showing_empty_state and window.model.rowCount() == len(shipped),
                    timeout=10000)
    qtbot.waitUntil(lambda: window.crash_view.detail is not None, timeout=10000)
    detail = window.crash_view.detail
    sample_types = {json.loads((s.folder / "expected.json").read_text())["crash_info"]["type"] for s in shipped}
    assert detail.processed["crash_info"]["type"] in sample_types
    assert any("sample crash" in n for n in detail.data["notes"])  # clearly labelled
    window.crash_view.setCurrentWidget(window.crash_view.stack)  # tabs fill when first shown
    assert window.crash_view.stack.model.rowCount() > 0
    window.crash_view.setCurrentWidget(window.crash_view.modules)
    assert window.crash_view.modules.model.rowCount() > 0


def test_open_minidump_imports_in_the_background_and_selects_it(qtbot, store, make_window, tmp_path):
    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    bogus = tmp_path / "notes.dmp"
    bogus.write_text("this is not a minidump")
    with qtbot.waitSignal(window.imports_finished, timeout=15000) as done:
        window.import_files([str(DUMP), str(bogus)])
    result = done.args[0]
    assert len(result.crash_ids) == 1
    assert [p for p, _ in result.failures] == [str(bogus)]
    assert "notes.dmp" in result.failures[0][1] and "not a minidump" in result.failures[0][1]
    assert store.count() == 1
    data = store.get(result.crash_ids[0])
    assert data["source"] == "import"
    assert data["dumps"][0]["size"] == DUMP.stat().st_size
    qtbot.waitUntil(lambda: window.current_crash_id() == result.crash_ids[0], timeout=10000)
    assert not window.showing_empty_state


def test_sidecar_annotations_are_imported(qtbot, store, tmp_path):
    from crashdesk.ui.imports import import_minidumps

    dump = tmp_path / "crash.dmp"
    dump.write_bytes(DUMP.read_bytes())
    (tmp_path / "crash.extra").write_text(json.dumps({"ProductName": "SideCar", "Version": "9.1"}))
    result = import_minidumps(store, [dump])
    data = store.get(result.crash_ids[0])
    assert (data["product"], data["version"]) == ("SideCar", "9.1")


def test_dropping_a_dmp_file_imports_it(qtbot, store, make_window):
    from crashdesk.ui.qt import QDropEvent

    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(DUMP)), QUrl.fromLocalFile(str(DATA / "ui" / "PROVENANCE.md"))])
    assert window._dropped_dumps(mime) == [str(DUMP)]
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.imports_finished, timeout=15000) as done:
        window.dropEvent(event)
    assert len(done.args[0].crash_ids) == 1
    assert store.count() == 1
