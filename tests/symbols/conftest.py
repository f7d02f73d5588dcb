"""A real HTTP symbol server on 127.0.0.1 serving tests/data/symbols/store, with faults on demand."""

from __future__ import annotations

import gzip
import shutil
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

STORE = Path(__file__).resolve().parents[1] / "data" / "symbols" / "store"

CODEC = ("libdemo_codec.so", "701F2CACE746BE48CF04D69FD62E6DA70")
VIEWER = ("demo-viewer", "72F4E7E2EDA32DCBFDA30896DCB74D930")
WINDOWS = ("crash.pdb", "3249D99D0C4049318610F4E4FB0B69361")


class SymbolServer:
    """Serves ``root`` in the store layout. ``faults[debug_file]`` picks a misbehaviour for that module:

    ``500`` always, ``500-once``/``429-once`` then normal, ``503-then-gzip``, ``slow`` (sleeps ``slow_seconds``), ``drop`` (closes
    the connection without answering), ``truncated`` (Content-Length larger than the body), ``gzip-truncated``,
    ``gzip`` (Content-Encoding: gzip), ``gzip-raw`` (gzip body without the header), ``redirect`` (302 to
    /storage/...), ``wrong-module`` (another debug id on the MODULE line), ``garbage`` (not a .sym), ``bomb`` (gzip bomb).
    ``code_ids`` maps ``(code_file, code_id)`` to a debug path for Tecken's code-id redirect.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.faults: dict[str, str] = {}
        self.code_ids: dict[tuple[str, str], str] = {}
        self.hits: Counter[str] = Counter()
        self.slow_seconds = 2.0
        self._once: set[str] = set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _send(self, h, status: int, body: bytes = b"", headers: dict | None = None, length: int | None = None):
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def _handle(self, h) -> None:
        path = unquote(urlsplit(h.path).path)
        segs = [s for s in path.split("/") if s]
        with self._lock:
            self.hits[path] += 1
        if segs[:1] == ["storage"]:
            segs = segs[1:]
            fault = ""
        else:
            fault = self.faults.get(segs[0], "") if segs else ""
        if len(segs) == 3 and (segs[0], segs[1]) in self.code_ids:
            self._send(h, 302, headers={"Location": self.code_ids[(segs[0], segs[1])]})
            return
        file = self.root.joinpath(*segs) if len(segs) == 3 else None
        if file is None or not file.is_file():
            self._send(h, 404, b"Symbol Not Found", {"Content-Type": "text/plain"})
            return
        body = file.read_bytes()
        if fault == "500":
            self._send(h, 500, b"boom")
        elif fault in ("500-once", "503-then-gzip") and path not in self._once:
            self._once.add(path)
            self._send(h, 500 if fault == "500-once" else 503, b"try again")
        elif fault == "429-once" and path not in self._once:
            self._once.add(path)
            self._send(h, 429, b"slow down", {"Retry-After": "0"})
        elif fault == "503-then-gzip":
            self._send(h, 200, gzip.compress(body), {"Content-Encoding": "gzip"})
        elif fault == "slow":
            time.sleep(self.slow_seconds)
            self._send(h, 200, body)
        elif fault == "drop":
            h.close_connection = True
            h.connection.shutdown(2)
        elif fault == "truncated":
            self._send(h, 200, body[: len(body) // 2], length=len(body))
            h.close_connection = True
        elif fault == "gzip-truncated":
            packed = gzip.compress(body)
            self._send(h, 200, packed[: len(packed) // 2], {"Content-Encoding": "gzip"})
        elif fault == "gzip":
            self._send(h, 200, gzip.compress(body), {"Content-Encoding": "gzip", "Content-Type": "text/plain"})
        elif fault == "gzip-raw":
            self._send(h, 200, gzip.compress(body), {"Content-Type": "application/octet-stream"})
        elif fault == "redirect":
            self._send(h, 302, headers={"Location": "/storage/" + "/".join(segs)})
        elif fault == "wrong-module":
            first, rest = body.split(b"\n", 1)
            parts = first.split(b" ")
            parts[3] = b"0" * 32 + b"9"
            self._send(h, 200, b" ".join(parts) + b"\n" + rest)
        elif fault == "bomb":  # a small gzip body that decodes to 32 MiB
            bomb = gzip.compress(body.split(b"\n", 1)[0] + b"\n" + b"\n" * (32 << 20), 9)
            self._send(h, 200, bomb, {"Content-Encoding": "gzip"})
        elif fault == "garbage":
            self._send(h, 200, b"<html>not a symbol file</html>\n")
        else:
            self._send(h, 200, body, {"Content-Type": "text/plain"})


@pytest.fixture
def symbol_server():
    server = SymbolServer(STORE)
    yield server
    server.close()


@pytest.fixture
def local_store(tmp_path: Path) -> Path:
    """A writable copy of the test store (so tests may add or damage files)."""
    dest = tmp_path / "local-store"
    shutil.copytree(STORE, dest)
    return dest


# the debuginfod / Microsoft symbol-server fixtures (two servers, the second one the "other host")
from tests.symbols.remote_fixtures import file_servers  # noqa: E402, F401
