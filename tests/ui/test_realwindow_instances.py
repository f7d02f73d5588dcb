"""Issue 29, two instances on one store, each with a second real process: a second ``crashdesk`` on the same data
folder raises the first window and exits; the collector's state follows its lock (a window attached to a
``crashdesk collector`` in another process sees crashes it collects, and takes the collector over when that
process ends); the single-instance socket ignores what is not its own request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from crashdesk.ui.qt import QLocalSocket

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
DUMP = DATA / "collector" / "04-divzero" / "dump.dmp"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHDESK_")}
    env.update({"QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"), **extra})
    return env


def _submit(url: str, product: str) -> str:
    """POST one crash (a real minidump) the way a Breakpad/Crashpad client does; return the crash id."""
    import requests

    files = {"upload_file_minidump": ("dump.dmp", DUMP.read_bytes(), "application/octet-stream")}
    resp = requests.post(url, data={"ProductName": product, "Version": "1.0"}, files=files, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.text.strip().removeprefix("CrashID=")


def test_second_start_on_the_same_folder_raises_the_first_window(qtbot, store, cases, make_window, data_dir,
                                                                 tmp_path):
    from crashdesk.ui.single_instance import InstanceServer

    window = make_window(store)
    server = InstanceServer(data_dir, window.raise_window, window)
    assert server.listen()
    window.showMinimized()
    # if the second start opened a window of its own instead, it would quit after 20 s: the test would fail on
    # the missing raise and on its exit message
    proc = subprocess.Popen([sys.executable, "-m", "crashdesk", "--data-dir", str(data_dir)], cwd=str(ROOT),
                            env=_env(tmp_path, CRASHDESK_QUIT_AFTER_MS="20000"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        with qtbot.waitSignal(window.raise_requested, timeout=30000):
            pass
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert "already open" in err and str(data_dir.resolve()) in err
    assert "Traceback" not in err
    assert not window.isMinimized()
    server.close()


def test_instance_socket_ignores_other_requests(qtbot, store, cases, make_window, data_dir):
    from crashdesk.ui.single_instance import InstanceServer, server_name

    window = make_window(store)
    server = InstanceServer(data_dir, window.raise_window, window)
    assert server.listen()
    raised: list[bool] = []
    window.raise_requested.connect(lambda: raised.append(True))
    idle = QLocalSocket()  # a client that connects and says nothing does not block the app
    idle.connectToServer(server_name(data_dir))
    assert idle.waitForConnected(3000)
    junk = QLocalSocket()  # a client sending something that is not a raise request is hung up on
    junk.connectToServer(server_name(data_dir))
    assert junk.waitForConnected(3000)
    junk.write(b"GET / HTTP/1.1\r\n" + b"A" * 100_000)
    junk.flush()
    qtbot.waitUntil(lambda: junk.state() == QLocalSocket.LocalSocketState.UnconnectedState, timeout=5000)
    assert raised == []
    # the app still answers a real request afterwards
    from crashdesk.ui.single_instance import RAISE, RAISED

    real = QLocalSocket()
    real.connectToServer(server_name(data_dir))
    assert real.waitForConnected(3000)
    real.write(RAISE)
    real.flush()
    qtbot.waitUntil(lambda: raised == [True], timeout=5000)
    qtbot.waitUntil(lambda: RAISED in bytes(real.peek(64)) or real.bytesAvailable() > 0, timeout=5000)
    assert bytes(real.readAll()) == RAISED
    idle.abort()
    server.close()


def test_collector_state_follows_its_lock_and_the_window_takes_it_over(qtbot, store, make_window, data_dir,
                                                                       tmp_path):
    from crashdesk.collector import find_running_collector
    from crashdesk.config.paths import resolve_paths
    from crashdesk.ui.collector_link import find_or_start

    proc = subprocess.Popen([sys.executable, "-m", "crashdesk", "--data-dir", str(data_dir), "collector",
                             "--port", "0", "--no-process"], cwd=str(ROOT), env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    window = None
    try:
        qtbot.waitUntil(lambda: (find_running_collector(data_dir, wait=0) or None) is not None
                        and find_running_collector(data_dir, wait=0).pid == proc.pid, timeout=30000)
        store.add_crash({"ProductName": "Before"}, {}, source="import")
        window = make_window(store)
        paths = resolve_paths(str(data_dir))
        window.set_collector(find_or_start(paths, on_received=window.notify_crash_received, port=0))
        window.watch_collector(paths, port=0)
        panel = window.decision.collector
        assert f"attached to the running collector (pid {proc.pid})" in panel.status.text()
        first_url = window.collector.url
        # a crash collected by the other process shows up here (no on_received from another process)
        rows = window.model.rowCount()
        _submit(first_url, "FromOtherProcess")
        qtbot.waitUntil(lambda: window.model.rowCount() == rows + 1, timeout=20000)
        # the collector's process ends: the window does not keep saying "Running — attached (pid N)"
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        qtbot.waitUntil(lambda: window.collector.handle is not None, timeout=20000)
        assert "took over" in panel.status.text() and "● Running" in panel.status.text()
        assert f"pid {proc.pid}" not in panel.status.text()
        running = find_running_collector(data_dir, wait=1)
        assert running is not None and running.pid == os.getpid()
        assert window.status.collector.text() == f"Collector: {window.collector.url}"
        # and what arrives at the taken-over collector reaches the window at once
        with qtbot.waitSignal(window.crash_received, timeout=20000):
            _submit(window.collector.url, "AfterTakeover")
        qtbot.waitUntil(lambda: window.model.rowCount() == rows + 2, timeout=20000)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if window is not None:
            window._collector_timer.stop()
            window.collector.stop()
