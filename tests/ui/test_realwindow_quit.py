"""Issue 29: quitting ends every CrashDesk process. The real app (``python -m crashdesk``) runs in a session of its
own on a store with a queue, so its worker processes are busy when it quits; when it has exited, no process of
that session is left. The status bar says "idle" once the queue is empty (a real processing service)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
DUMPS = [DATA / "collector" / "04-divzero" / "dump.dmp", DATA / "collector" / "05-thread" / "dump.dmp",
         DATA / "ui" / "06-plugin-so" / "dump.dmp"]


def _session_members(sid: int) -> list[int]:
    """Processes whose session is ``sid`` (from /proc: field 6 of stat)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            out.append(int(entry.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc to see the session")
def test_no_worker_process_outlives_the_app(tmp_path):
    from crashdesk.store import CrashStore

    home = tmp_path / "home"
    with CrashStore.open(home) as store:
        for n in range(40):  # a queue that keeps both workers busy when the window closes
            store.add_crash({"ProductName": "QuitTest"}, {"upload_file_minidump": DUMPS[n % 3].read_bytes()},
                            source="import")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHDESK_")}
    env.update({"QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "CRASHDESK_QUIT_AFTER_MS": "6000"})
    proc = subprocess.Popen([sys.executable, "-m", "crashdesk", "--data-dir", str(home)], cwd=str(ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    most = 0
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline:
        most = max(most, len(_session_members(proc.pid)))
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    left = _session_members(proc.pid)  # right when the app has exited
    _out, err = proc.communicate(timeout=30)
    for pid in left:
        os.kill(pid, 9)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert most >= 3, most  # the app and its (default two) worker processes did run
    assert left == [], f"still running after the app exited: {left}"
    with CrashStore.open(home) as store:
        counts = store.state_counts()
    assert counts.get("processing", 0) == 0  # a worker ended mid-crash gave its claim back


def test_status_bar_says_idle_when_the_queue_is_empty(qtbot, store, make_window, data_dir):
    from crashdesk.config.paths import resolve_paths
    from crashdesk.ui.processing_link import start_processing

    ids = [store.add_crash({"ProductName": "Idle"}, {"upload_file_minidump": d.read_bytes()}, source="import")
           for d in DUMPS[:2]]
    window = make_window(store)
    service = start_processing(store, resolve_paths(str(data_dir)), on_result=window.notify_crash_processed,
                               on_progress=window.notify_processing_progress, mozilla_symbols=False, workers=1)
    try:
        window.attach_processing(service)
        qtbot.waitUntil(lambda: "running" in window.status.processing.text()
                        or "idle" in window.status.processing.text(), timeout=30000)
        qtbot.waitUntil(lambda: store.state_counts().get("received", 0) == 0
                        and store.state_counts().get("processing", 0) == 0, timeout=60000)
        qtbot.waitUntil(lambda: window.status.processing.text().startswith("Processing: idle"), timeout=10000)
        assert window.status.processing.text() == f"Processing: idle ({len(ids)} done)"
    finally:
        service.cancel()
        service.join(20)


def test_worker_processes_end_before_the_window_is_gone(qtbot, tmp_path):
    """run_app in this test's QApplication: at the moment the window says it closed, no worker process of this
    process is alive any more (they were ended while the window was still up), though they were busy."""
    import multiprocessing

    from crashdesk.store import CrashStore
    from crashdesk.ui.app import run_app
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QApplication, QSettings, QTimer

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    home = tmp_path / "home"
    with CrashStore.open(home) as store:
        for n in range(40):
            store.add_crash({"ProductName": "QuitTest"}, {"upload_file_minidump": DUMPS[n % 3].read_bytes()},
                            source="import")
    app = QApplication.instance()
    state: dict = {"started": time.monotonic()}

    def on_closed() -> None:
        state["alive_at_close"] = [p.pid for p in multiprocessing.active_children()
                                   if p.name == "crashdesk-worker" and p.is_alive()]

    def tick() -> None:
        w = next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)
        if w is None:
            return
        if time.monotonic() - state["started"] > 90:
            state["error"] = "processing never ran"
        elif not (w.processing is not None
                  and re.match(r"Processing: [1-9]\d* running", w.status.processing.text())):
            return
        state["busy"] = [p.pid for p in multiprocessing.active_children() if p.name == "crashdesk-worker"]
        timer.stop()
        w.closed.connect(on_closed)
        w.close()

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(tick)
    timer.start()
    assert run_app(str(home)) == 0
    assert "error" not in state, state.get("error")
    assert state["busy"], "no worker process was running when the window closed"
    assert state["alive_at_close"] == []
