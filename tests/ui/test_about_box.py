"""Help → About (issue 26): the facts the collector's ``/__version__`` no longer answers (it has Antenna's four
keys only) are shown here: the collector's name, the Python and Qt versions, the data folder."""

from __future__ import annotations

import os
import platform

from crashdesk import __version__


def test_about_box_from_the_help_menu(qtbot, store, make_window):
    window = make_window(store, wait_for_list=False)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.about_action in help_menu.actions()
    window.about_action.trigger()
    dialog = window.about_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    text = dialog.details.text()
    assert dialog.lines[0] == f"crashdesk {__version__}"
    assert f"crashdesk-collector {__version__}" in text
    assert f"Python {platform.python_version()}" in text
    assert str(store.db.path.parent) in text
    shot = os.environ.get("CRASHDESK_SCREENSHOT_DIR")  # docs/screenshots/about-box.png was made this way
    if shot:
        assert dialog.grab().save(os.path.join(shot, "about-box.png"))
    dialog.reject()
    assert not dialog.isVisible()
