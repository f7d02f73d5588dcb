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
