"""Attacks on the collector as a real process on 127.0.0.1, shared by tests/security and
benchmarks/bench_collector_attacks.py: the collector runs as ``python -m crashdesk collector`` from a given
source tree, memory is read from ``/proc/<pid>/status``, every socket and thread is closed at the end."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "collector"
DUMP = (DATA / "01-null-deref" / "dump.dmp").read_bytes()
MiB = 1024 * 1024


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of ``pid`` in bytes."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


class Collector:
    """``crashdesk collector --port 0 --no-process`` from ``repo`` over ``data_dir``."""

    def __init__(self, data_dir: Path, *extra: str, repo: Path = REPO) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(repo) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("CRASHDESK_COLLECTOR_TOKEN", None)
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        self.data_dir = Path(data_dir)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crashdesk", "collector", "--port", "0", "--data-dir", str(data_dir),
             "--no-process", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=repo)
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        if not out or not out[0].startswith("http://"):
            self.stop()
            raise RuntimeError(f"the collector did not start: {out}")
        self.submit_url = out[0].strip()
        self.port = int(self.submit_url.split(":")[2].split("/")[0])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss(self) -> int:
        return proc_status(self.pid)["VmRSS"]

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read()


def multipart(fields: dict[str, str], dump: bytes | None = DUMP, boundary: str = "sec-boundary") -> bytes:
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    if dump is not None:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="upload_file_minidump"; '
                f'filename="a.dmp"\r\nContent-Type: application/octet-stream\r\n\r\n').encode() + dump + b"\r\n"
    return bytes(out + f"--{boundary}--\r\n".encode())


def post(port: int, body: bytes, headers: dict[str, str] | None = None, timeout: float = 30,
         boundary: str = "sec-boundary") -> tuple[int, bytes]:
    """One POST /submit on a fresh connection; (status, body), status 0 when the connection failed."""
    head = {"Host": f"127.0.0.1:{port}", "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(body)), "Connection": "close", "User-Agent": "security-tests/1",
            **(headers or {})}
    request = ("POST /submit HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n").encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(request + body)
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            return resp.status, resp.read()
    except OSError as exc:  # the answer says how it failed (a refused connection, a reset)
        return 0, f"{type(exc).__name__}: {exc}".encode()


def normal_submission(port: int, n: int, timeout: float = 30) -> tuple[int, bytes, float]:
    """A real dump with ordinary annotations; (status, answer, seconds)."""
    t0 = time.perf_counter()
    status, answer = post(port, multipart({"ProductName": "SecurityTest", "Version": "1.0", "Seq": str(n),
                                           "Nonce": uuid.uuid4().hex}), timeout=timeout)
    return status, answer, time.perf_counter() - t0


class Prober:
    """Sends a normal submission every ``interval`` seconds in a thread while an attack runs."""

    def __init__(self, port: int, interval: float = 0.5, timeout: float = 30) -> None:
        self.port, self.interval, self.timeout = port, interval, timeout
        self.results: list[tuple[int, bytes, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.results.append(normal_submission(self.port, n, self.timeout))
            n += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    def latencies(self) -> list[float]:
        return sorted(r[2] for r in self.results)


class RssSampler:
    """Samples the collector's RSS every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(proc_status(self.pid)["VmRSS"])
            except OSError:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


def slow_header_sockets(port: int, count: int, seconds: float, line_every: float) -> dict[str, int]:
    """Open ``count`` connections that send a request line, then one header line every ``line_every``
    seconds for ``seconds`` (a slowloris). Returns how they ended: closed by the server, answered, open."""
    socks: list[socket.socket] = []
    opened = 0
    for _ in range(count):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            s.setblocking(False)
            socks.append(s)
            opened += 1
        except OSError:
            pass
    closed = answered = 0
    live = list(socks)
    end = time.monotonic() + seconds
    i = 0
    while live and time.monotonic() < end:
        time.sleep(line_every)
        still = []
        for s in live:
            try:
                data = s.recv(4096)
                if data == b"":
                    closed += 1
                    s.close()
                    continue
                answered += 1
                s.close()
                continue
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
                s.close()
                continue
            try:
                s.send(f"X-Slow-{i}: {'a' * 10}\r\n".encode())
                still.append(s)
            except OSError:
                closed += 1
                s.close()
        live = still
        i += 1
    for s in live:
        s.close()
    return {"opened": opened, "closed_by_server": closed, "answered": answered, "still_open": len(live)}


def stalled_uploads(port: int, count: int, declared: int, send: int, hold: float) -> dict[str, int]:
    """``count`` uploads declaring ``declared`` bytes that send ``send`` bytes of body and then stall for
    ``hold`` seconds (each in its own thread). Returns how they ended."""
    outcome = {"refused_early": 0, "closed_by_server": 0, "held_to_the_end": 0, "other": 0}
    lock = threading.Lock()
    chunk = os.urandom(256 * 1024)

    def one() -> None:
        head = (f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; "
                f"boundary=x\r\nContent-Length: {declared}\r\n\r\n").encode()
        result = "other"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(head)
                sent = 0
                try:
                    while sent < send:
                        s.sendall(chunk)
                        sent += len(chunk)
                except OSError:
                    result = "refused_early"
                else:
                    s.settimeout(hold)
                    try:
                        data = s.recv(4096)
                        result = "refused_early" if data.startswith(b"HTTP/1.1 503") else \
                            "closed_by_server" if data == b"" else "other"
                    except TimeoutError:
                        result = "held_to_the_end"
                    except OSError:
                        result = "closed_by_server"
        except OSError:
            result = "refused_early"
        with lock:
            outcome[result] += 1

    threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(hold + 60)
    return outcome


def gzip_bomb(inflated: int) -> bytes:
    """A submission whose dump inflates to ``inflated`` zero bytes (made piecewise)."""
    boundary = "sec-boundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="ProductName"\r\n\r\nBomb\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="upload_file_minidump"; filename="a.dmp"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\nMDMP").encode()
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [comp.compress(head)]
    zeros = bytes(MiB)
    for _ in range(inflated // MiB):
        out.append(comp.compress(zeros))
    out.append(comp.compress(f"\r\n--{boundary}--\r\n".encode()))
    out.append(comp.flush())
    return b"".join(out)


def gzipped_json_extra(values: int) -> bytes:
    """A gzipped submission whose JSON extra holds ``values`` small objects (parsed: dozens of bytes each)."""
    boundary = "sec-boundary"
    extra = b'{"ProductName": "JsonBomb", "v": [' + b'{"a":0},' * values + b"0]}"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="extra"; filename="extra.json"\r\n'
            f"Content-Type: application/json\r\n\r\n").encode() + extra + f"\r\n--{boundary}--\r\n".encode()
    return zlib.compress(body, 9, wbits=16 + zlib.MAX_WBITS)


def stored_files(data_dir: Path) -> list[Path]:
    root = Path(data_dir) / "dumps"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rejections(data_dir: Path) -> list[dict]:
    path = Path(data_dir) / "collector" / "rejections.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
