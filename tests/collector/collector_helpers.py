"""Helpers for the collector tests: raw-socket requests, multipart bodies, and checks on the data folder."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "collector"
CASES = ("01-null-deref", "04-divzero", "05-thread")


def send_raw(port: int, data: bytes, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Send bytes on a fresh connection; read the HTTP answer with the stdlib's response parser."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def multipart_body(fields: dict[str, str] | None = None, files: dict[str, bytes] | None = None, *,
                   boundary: str | None = None, json_extra: dict | None = None,
                   file_content_type: str | None = "application/octet-stream") -> tuple[bytes, str]:
    """A multipart/form-data document written by hand (so the tests control every byte); returns
    (body, boundary)."""
    boundary = boundary or f"----test{uuid.uuid4().hex}"
    out = bytearray()
    for name, value in (fields or {}).items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode("utf-8") + b"\r\n"
    if json_extra is not None:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="extra"\r\n'
                f"Content-Type: application/json\r\n\r\n").encode()
        out += json.dumps(json_extra).encode() + b"\r\n"
    for name, data in (files or {}).items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.dmp"\r\n'
                ).encode()
        if file_content_type:
            out += f"Content-Type: {file_content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), boundary


def request_bytes(body: bytes, boundary: str | None, *, gzip_body: bool = False, chunked: bool = False,
                  content_type: str | None = None, extra_headers: dict[str, str] | None = None,
                  target: str = "/submit") -> bytes:
    """A complete HTTP/1.1 POST with either Content-Length or chunked framing."""
    if gzip_body:
        body = gzip.compress(body)
    headers = {"Host": "127.0.0.1", "User-Agent": "collector-tests/1", "Connection": "close"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    elif boundary is not None:
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    if gzip_body:
        headers["Content-Encoding"] = "gzip"
    headers.update(extra_headers or {})
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        framed = bytearray()
        for i in range(0, len(body), 1000):
            piece = body[i:i + 1000]
            framed += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        framed += b"0\r\n\r\n"
        payload = bytes(framed)
    else:
        headers["Content-Length"] = str(len(body))
        payload = body
    head = f"POST {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + payload


def crash_id_from(body: bytes) -> str:
    text = body.decode()
    assert text.startswith("CrashID=bp-") and text.endswith("\n"), text
    return text[len("CrashID=bp-"):].strip()


def stored_files(data_dir: Path) -> list[Path]:
    """Every regular file under the dump folder (spool included)."""
    root = data_dir / "dumps"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rejection_log(data_dir: Path) -> list[dict]:
    path = data_dir / "collector" / "rejections.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


REPO = Path(__file__).resolve().parents[2]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("CRASHDESK_COLLECTOR_TOKEN", None)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return env


class CollectorProcess:
    """``python -m crashdesk collector --port 0`` as a child process; its stderr goes to a temp file."""

    def __init__(self, data_dir: Path, *extra: str, process: bool = False) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crashdesk", "collector", "--port", "0", "--data-dir", str(data_dir),
             *([] if process else ["--no-process"]), *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=subprocess_env(), cwd=REPO)
        line = self._first_line(60)
        assert line.startswith("http://127.0.0.1:") and line.endswith("/submit"), line
        self.submit_url = line
        self.base_url = line.removesuffix("/submit")

    def _first_line(self, timeout: float) -> str:
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not out:
            self.proc.kill()
            raise AssertionError("the collector printed no URL within the deadline")
        return out[0].strip()

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode
