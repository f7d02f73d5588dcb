"""Fetch missing symbols runs in the background: while a slow symbol server on 127.0.0.1 dribbles its answer,
the window keeps handling events (timer ticks, a search), and the fetch can be cancelled from the status bar."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crashdesk.ui.qt import Qt, QTimer

DATA = Path(__file__).resolve().parents[1] / "data"


class SlowSymbolServer:
    """Answers every symbol request with 200 and a 64 MB body that arrives 16 KiB every 50 ms (the download
    never completes on its own during the test)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.serving = threading.Event()
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                outer.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(64 * 1024 * 1024))
                self.end_headers()
                outer.serving.set()
                try:
                    while not outer.stop.is_set():
                        self.wfile.write(b"M" * 16384)
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/symbols"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def slow_server():
    server = SlowSymbolServer()
    yield server
    server.close()


@pytest.fixture
def nosyms_crash(store):
    annotations = json.loads((DATA / "crashes" / "01-null-deref" / "annotations.json").read_text())
    processed = json.loads((DATA / "ui" / "nosyms" / "01-null-deref.expected-nosyms.json").read_text())
    crash_id = store.add_crash(annotations, {}, source="import")
    store.save_processed(crash_id, processed)
    return crash_id, processed


def test_modules_without_symbols_on_the_stack_count_as_missing(qtbot, store, nosyms_crash):
    from crashdesk.ui.symbol_fetch import missing_modules

    crash_id, processed = nosyms_crash
    on_stack = {f["module"] for f in processed["crashing_thread"]["frames"] if f["missing_symbols"]}
    assert {m["filename"] for m in missing_modules(store.get(crash_id))} == on_stack


def test_slow_symbol_server_does_not_freeze_the_window(qtbot, store, nosyms_crash, make_window, settings,
                                                       slow_server, tmp_path):
    crash_id, processed = nosyms_crash
    settings.setValue("symbols/urls", [slow_server.url])
    window = make_window(store)
    assert window.crash_view.modules.fetch_button.isEnabled()
    reports = []
    window.symbols_fetched.connect(reports.append)
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(slow_server.serving.is_set() and not slow_server.stop.is_set()))
    timer.start()
    window.crash_view.modules.fetch_button.click()
    qtbot.waitUntil(slow_server.serving.is_set, timeout=10000)
    # the server is still dribbling: the GUI thread keeps running timers and finishes a search meanwhile
    window.search_bar.set_text("product:CrashFactoryDemo")
    with qtbot.waitSignal(window.model.search_finished, timeout=10000):
        window.search_bar.submit()
    qtbot.waitUntil(lambda: sum(ticks) >= 10, timeout=10000)
    assert slow_server.serving.is_set() and not reports  # the fetch is still running
    assert window.status.cancel.isVisible()
    assert window.status.work.text().startswith(("Symbols for demo-viewer", "Symbols for", "Fetching symbols"))
    # cancel from the status bar ends the fetch
    qtbot.mouseClick(window.status.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(reports), timeout=20000)
    timer.stop()
    assert reports[0].cancelled or reports[0].missing
    assert not reports[0].found
    assert any("demo-viewer" in path for path in slow_server.requests)
