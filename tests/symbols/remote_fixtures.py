"""Real HTTP servers on 127.0.0.1 for native downloads: a debuginfod server (``/buildid/<id>/debuginfo`` and
``/executable``) and a Microsoft-style symbol server (symstore layout), each with faults on demand, plus a small
ELF shared library built with gcc with a chosen build id."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "symsrv"
MINI_WINDOWS = Path(__file__).resolve().parents[1] / "data" / "native" / "mini-windows"
PDB_ID = "3249D99D0C4049318610F4E4FB0B69361"
PE_ID = "5AB380779000"
X64_PDB_ID = "F535C5FB2AE84BB8AA206C30BE566C5A1"
X64_PE_ID = "5C9E09599000"


class FileServer:
    """Serves ``routes`` (URL path -> bytes). ``faults[path]`` picks a misbehaviour for that path:

    ``404``, ``500`` (always), ``429`` (always, ``Retry-After: 0``), ``429-once`` / ``500-once`` (then normal),
    ``slow`` (sleeps ``slow_seconds`` before answering), ``truncated`` (Content-Length larger than the body),
    ``redirect`` (302 to the same path on ``other``, another server), ``huge`` (streams ``huge_bytes`` of zeros
    without a Content-Length), ``huge-declared`` (Content-Length of 64 GiB), ``gzip`` (Content-Encoding: gzip),
    or ``bytes:...``-style replacement through ``replace[path]`` (another file's bytes: a wrong debug id).
    """

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.faults: dict[str, str] = {}
        self.replace: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.slow_seconds = 2.0
        self.huge_bytes = 8 << 20
        self.other: FileServer | None = None
        self._once: set[str] = set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                server._handle(self)

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:  # a client that hung up on a fault
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _send(h, status: int, body: bytes = b"", headers: dict | None = None, length: int | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        try:
            h.wfile.write(body)
            h.wfile.flush()
        except OSError:
            pass

    def _handle(self, h) -> None:
        path = unquote(urlsplit(h.path).path)
        with self._lock:
            self.hits[path] += 1
        fault = self.faults.get(path, "")
        body = self.replace.get(path, self.routes.get(path))
        if fault == "404" or (body is None and fault not in ("redirect",)):
            self._send(h, 404, b"not found")
        elif fault in ("500-once", "429-once") and path not in self._once:
            self._once.add(path)
            self._send(h, int(fault[:3]), b"try again", {"Retry-After": "0"})
        elif fault in ("500", "429"):
            self._send(h, int(fault), b"no", {"Retry-After": "0"})
        elif fault == "slow":
            time.sleep(self.slow_seconds)
            self._send(h, 200, body)
        elif fault == "truncated":
            self._send(h, 200, body[: len(body) // 2], length=len(body))
            h.close_connection = True
        elif fault == "redirect":
            assert self.other is not None
            self._send(h, 302, headers={"Location": self.other.url + h.path})
        elif fault == "huge-declared":
            self._send(h, 200, b"", length=64 << 30)
            h.close_connection = True
        elif fault == "huge":
            h.send_response(200)
            h.send_header("Connection", "close")
            h.end_headers()
            h.close_connection = True
            chunk = b"\0" * 65536
            try:
                for _ in range(self.huge_bytes // len(chunk)):
                    h.wfile.write(chunk)
            except OSError:
                pass
        elif fault == "gzip":
            self._send(h, 200, gzip.compress(body), {"Content-Encoding": "gzip"})
        else:
            self._send(h, 200, body, {"Content-Type": "application/octet-stream"})


def pdb_bytes() -> bytes:
    return (MINI_WINDOWS / "crash.pdb").read_bytes()


def symstore_routes(pdb: bytes | None = None) -> dict[str, bytes]:
    """``crash.pdb`` and ``crash.exe`` (x86) and ``CrashWithException.pdb``/``.exe`` (x64) in the Microsoft
    symbol-server layout."""
    return {f"/crash.pdb/{PDB_ID}/crash.pdb": pdb if pdb is not None else pdb_bytes(),
            f"/crash.exe/{PE_ID}/crash.exe": (MINI_WINDOWS / "crash.exe").read_bytes(),
            f"/CrashWithException.pdb/{X64_PDB_ID}/CrashWithException.pdb":
                gzip.decompress((DATA / "CrashWithException.pdb.gz").read_bytes()),
            f"/CrashWithException.exe/{X64_PE_ID}/CrashWithException.exe":
                (DATA / "CrashWithException.exe").read_bytes()}


@pytest.fixture
def file_servers():
    """Two servers (the second is the other host for redirects); closed after the test."""
    a, b = FileServer(), FileServer()
    a.other = b
    yield a, b
    a.close()
    b.close()


C_SOURCE = """
int helper_add(int a, int b) { return a * 3 + b; }
int exported_entry(int x) { int s = 0; for (int i = 0; i < x; i++) s += helper_add(i, x); return s; }
"""


class BuiltElf:
    """A shared library built with gcc: ``full`` (with DWARF), ``debug`` (objcopy --only-keep-debug, no unwind
    tables) and ``stripped`` (strip --strip-debug); ``build_id`` as chosen; ``symbols`` from ``nm``."""

    def __init__(self, folder: Path, build_id: str, name: str = "libremote.so") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        src = folder / "remote.c"
        src.write_text(C_SOURCE)
        self.name = name
        self.build_id = build_id
        self.full = folder / name
        self.debug = folder / f"{name}.debug"
        self.stripped = folder / f"{name}.stripped"
        subprocess.run(["gcc", "-g", "-O0", "-shared", "-fPIC", f"-Wl,--build-id=0x{build_id}", "-o",
                        str(self.full), str(src)], check=True)
        subprocess.run(["objcopy", "--only-keep-debug", str(self.full), str(self.debug)], check=True)
        subprocess.run(["strip", "--strip-debug", "-o", str(self.stripped), str(self.full)], check=True)
        out = subprocess.run(["nm", "--defined-only", str(self.full)], check=True, capture_output=True,
                             text=True).stdout
        self.symbols = {parts[2]: int(parts[0], 16) for parts in (line.split() for line in out.splitlines())
                        if len(parts) == 3 and parts[1] in "Tt"}

    def routes(self, with_debuginfo: bool = True, with_executable: bool = True) -> dict[str, bytes]:
        out = {}
        if with_debuginfo:
            out[f"/buildid/{self.build_id}/debuginfo"] = self.debug.read_bytes()
        if with_executable:
            out[f"/buildid/{self.build_id}/executable"] = self.stripped.read_bytes()
        return out


def breakpad_id(path: Path) -> str:
    """Breakpad's debug id of an ELF file as symbolic (Sentry's reader, independent of CrashDesk) reports it."""
    from symbolic.debuginfo import Archive

    obj = next(iter(Archive.open(str(path)).iter_objects()))
    return str(obj.debug_id).replace("-", "").upper() + "0"


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("objcopy") is None,
                               reason="gcc and binutils (objcopy, strip, nm) build the test ELF files")
