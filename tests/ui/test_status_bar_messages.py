"""A temporary status message is never drawn over the collector, sync and processing texts.

Seen in a screenshot of the app opening on the Top crashers tab: "3 crashes match 'everything': see the Crashes
tab" and "Sync: none configured" were painted on top of each other. Qt hides those normal widgets when the
message comes, but shows them again when the window is shown after the message (the main window posts it while
it builds its tabs) and whenever it lays the bar out again (a label's text or the progress bar changing), while
the message is still up.
"""

from __future__ import annotations

from crashdesk.ui.qt import QMainWindow
from crashdesk.ui.views.status import StatusBar


def _window(qtbot):
    window = QMainWindow()
    bar = StatusBar()
    window.setStatusBar(bar)
    qtbot.addWidget(window)
    window.resize(900, 300)
    return window, bar


def _normal_visible(bar) -> list[bool]:
    return [bar.collector.isVisible(), bar.sync.isVisible(), bar.processing.isVisible()]


def test_message_posted_before_the_window_is_shown(qtbot):
    window, bar = _window(qtbot)
    bar.set_sync("none configured")
    bar.showMessage("3 crashes match 'everything': see the Crashes tab (Alt+1)", 5000)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    assert bar.currentMessage()
    assert _normal_visible(bar) == [False, False, False]
    bar.clearMessage()
    qtbot.wait(50)
    assert _normal_visible(bar) == [True, True, True]


def test_layout_changes_under_a_message(qtbot):
    window, bar = _window(qtbot)
    window.show()
    qtbot.waitExposed(window)
    bar.showMessage("Imported 3 crash(es)", 5000)
    qtbot.wait(20)
    assert _normal_visible(bar) == [False, False, False]
    # what happens while a message is up: background work starts (progress bar, cancel), texts change
    bar.set_work([(0.25, "Indexing symbols")])
    bar.set_sync("syncing crash-stats: 120 of 400 crashes, a longer text than before")
    bar.set_processing("Processing: 3 waiting")
    bar.set_collector("http://127.0.0.1:49152/submit")
    qtbot.wait(50)
    assert bar.currentMessage() == "Imported 3 crash(es)"
    assert _normal_visible(bar) == [False, False, False]
    bar.set_work([])
    qtbot.wait(50)
    assert _normal_visible(bar) == [False, False, False]
    bar.clearMessage()
    qtbot.wait(50)
    assert _normal_visible(bar) == [True, True, True]
    assert bar.sync.text().startswith("Sync: syncing crash-stats")
