"""The whole app as `crashdesk` starts it: collector on loopback, processing service, window. A real Crashpad
-style upload arrives over HTTP, shows up in the list, gets processed, and its stack is shown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
CASE = DATA / "crashes" / "05-thread"


@pytest.mark.slow
def test_run_app_collects_processes_and_shows_a_crash(qtbot, tmp_path, monkeypatch):
    from crashdesk.ui.app import run_app
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QApplication, QSettings, QTimer

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    expected = json.loads((CASE / "expected.json").read_text())
    annotations = json.loads((CASE / "annotations.json").read_text())
    state: dict = {"step": "wait-collector", "started": time.monotonic()}
    app = QApplication.instance()

    def window() -> MainWindow | None:
        return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)

    def tick() -> None:
        w = window()
        if time.monotonic() - state["started"] > 90:
            state["error"] = f"timed out at step {state['step']}"
            if w is None:
                timer.stop()
                return
        elif w is None:
            return
        elif state["step"] == "wait-collector":
            if w.showing_empty_state and w.collector.url and w.processing is not None:
                state["url"] = w.collector.url
                files = {"upload_file_minidump": ("dump.dmp", (CASE / "dump.dmp").read_bytes())}
                r = httpx.post(w.collector.url, data=annotations, files=files, timeout=30)
                state["answer"] = r.text
                state["step"] = "wait-processed"
            return
        elif state["step"] == "wait-processed":
            detail = w.crash_view.detail
            if w.model.rowCount() == 1 and detail is not None and detail.data["state"] in ("processed", "failed"):
                state["detail"] = detail
                w.crash_view.setCurrentWidget(w.crash_view.stack)  # tabs fill when shown
                state["frames"] = w.crash_view.stack.model.rowCount()
                state["step"] = "done"
            else:
                return
        timer.stop()
        w.close()  # run_app returns when its window closes

    timer = QTimer()
    timer.setInterval(100)
    timer.timeout.connect(tick)
    timer.start()
    assert run_app(str(tmp_path / "home")) == 0
    assert "error" not in state, state.get("error")
    assert state["url"].startswith("http://127.0.0.1:") and state["url"].endswith("/submit")
    assert state["answer"].startswith("CrashID=bp-")
    detail = state["detail"]
    assert detail.crash_id in state["answer"]
    assert detail.data["source"] == "collector"
    assert detail.data["state"] == "processed", detail.data["notes"]
    proc = detail.processed
    assert proc["crash_info"]["type"] == expected["crash_info"]["type"]
    assert proc["crash_info"]["crashing_thread"] == expected["crash_info"]["crashing_thread"]
    assert len(proc["threads"]) == len(expected["threads"])
    crashing = expected["crash_info"]["crashing_thread"]
    assert state["frames"] == len(proc["threads"][crashing]["frames"]) > 0


def test_an_older_store_is_upgraded_behind_a_notice_then_shown(qtbot, tmp_path, v7_database, monkeypatch):
    import crashdesk.ui.app as app_module
    from crashdesk.store.schema import SCHEMA_VERSION, upgrade_needed
    from crashdesk.ui.app import run_app
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QApplication, QSettings, QTimer

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    home = tmp_path / "home"
    home.mkdir()
    v7_database(home / "crashdesk.sqlite")
    shown: list[str] = []
    real_notice = app_module.upgrade_notice

    def noticing(crashes):  # the real notice, remembered as it was on screen when the migration started
        dialog = real_notice(crashes)
        shown.append(dialog.labelText() if dialog.isVisible() else "")
        return dialog

    monkeypatch.setattr(app_module, "upgrade_notice", noticing)
    app = QApplication.instance()
    state: dict = {"started": time.monotonic()}

    def tick() -> None:
        w = next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)
        waiting = time.monotonic() - state["started"] < 60
        if w is None and waiting:
            return
        if w is not None and w.model.rowCount() == 0 and waiting:  # the list is filled by a background query
            return
        if w is not None:
            state["rows"] = w.model.rowCount()
            state["notice_open"] = any(type(x).__name__ == "QProgressDialog" and x.isVisible()
                                       for x in app.topLevelWidgets())
            w.close()
        timer.stop()

    timer = QTimer()
    timer.setInterval(100)
    timer.timeout.connect(tick)
    timer.start()
    assert run_app(str(home)) == 0
    assert len(shown) == 1 and "(1 crash)" in shown[0]
    assert state.get("rows") == 1 and state["notice_open"] is False
    assert upgrade_needed(home / "crashdesk.sqlite") is None
    import sqlite3

    conn = sqlite3.connect(home / "crashdesk.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
