#!/usr/bin/env python3
"""The collector under load: accepted submissions per second and ``/submit`` latency with concurrent
clients over loopback, and the time from submission to processed for a real Crashpad upload.

* ``throughput`` — a ``crashdesk collector --no-process`` process; ``--clients`` concurrent connections
  (spread over ``--client-procs`` processes so the load generator is not one GIL) each POST a gzip-encoded
  multipart submission (by default a 1 MiB dump of random bytes, about 1 MB on the wire: gzip cannot shrink
  it; ``--random-fraction`` makes dumps that compress; every dump is distinct, so each one is stored and
  fsynced) for ``--seconds``. Reports accepted/s, MB/s, p50/p95/max latency, and checks that the store holds every
  answered crash.
* ``to-processed`` — a collector with processing (1 worker) and the corpus symbols; the real upload of
  ``01-null-deref`` is replayed byte for byte and the store is polled until the crash is processed.
  The first submission warms the worker and the symbol cache; the figure is the median of the next ones.

    python benchmarks/bench_collector.py [--clients 16] [--seconds 10] [--dump-kib 1024] [--dir DIR]
    python benchmarks/bench_collector.py --dump-kib 4096 --random-fraction 0.25   # ~1 MB gzip of a 4 MiB dump
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from crashdesk.store import CrashStore  # noqa: E402

SHARED = Path(os.environ.get("CRASHDESK_SHARED", REPO.parent / "shared"))
CASE = "01-null-deref"


def start_collector(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    proc = subprocess.Popen([sys.executable, "-m", "crashdesk", "collector", "--port", "0", "--data-dir",
                             str(data_dir), *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env, cwd=REPO)
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the collector did not start: {url!r}")
    return proc, url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report cost per submission apart from load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class RequestTemplate:
    """A submission built once, sent many times with a different dump each time: every dump ends in 16
    bytes unique to its request, so the collector stores (and fsyncs) every dump instead of finding it
    already in its content-addressed folder. The gzip body is the deflate stream of everything but those
    last bytes, flushed to a byte boundary once, then a small final stored block with the unique bytes and
    the closing boundary, and the gzip trailer (its CRC continues from the precomputed one): sending a
    request costs the client a few hundred bytes of work, not a compression."""

    UNIQUE = 16

    def __init__(self, host: str, port: int, dump_bytes: int, random_fraction: float = 1.0) -> None:
        boundary = f"bench{uuid.uuid4().hex}"
        fields = {"ProductName": "Bench", "Version": "1.0", "BuildID": "20260101000000"}
        body = bytearray()
        for k, v in fields.items():
            body += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="upload_file_minidump"; '
                 f'filename="x.dmp"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
        bulk = max(0, dump_bytes - 4 - self.UNIQUE)
        noisy = int(bulk * random_fraction)
        filler = (b"\x00" * 48 + bytes(range(16))) * ((bulk - noisy) // 64 + 1)
        body += b"MDMP" + os.urandom(noisy) + filler[: bulk - noisy]
        self.closing = f"\r\n--{boundary}--\r\n".encode()
        deflater = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.prefix_crc = zlib.crc32(body)
        self.prefix_len = len(body)
        deflated = deflater.compress(bytes(body)) + deflater.flush(zlib.Z_SYNC_FLUSH)
        gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        tail_len = self.UNIQUE + len(self.closing)
        self.length = len(gzip_header) + len(deflated) + 5 + tail_len + 8
        head = (f"POST /submit HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench\r\n"
                f"Content-Encoding: gzip\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {self.length}\r\n\r\n")
        self.start = head.encode() + gzip_header + deflated
        self.block_head = b"\x01" + struct.pack("<HH", tail_len, 0xFFFF ^ tail_len)  # final stored block

    def tail(self) -> bytes:
        """The bytes after :attr:`start` for one request: a fresh dump ending and the gzip trailer."""
        plain = os.urandom(self.UNIQUE) + self.closing
        crc = zlib.crc32(plain, self.prefix_crc)
        return self.block_head + plain + struct.pack("<II", crc, (self.prefix_len + len(plain)) & 0xFFFFFFFF)

    def whole(self) -> bytes:
        return self.start + self.tail()


def client_proc(host: str, port: int, threads: int, dump_bytes: int, seconds: float, out,
                random_fraction: float = 1.0) -> None:
    template = RequestTemplate(host, port, dump_bytes, random_fraction)
    results: list[tuple[float, int, str]] = []
    lock = threading.Lock()
    cpu0 = time.process_time()
    stop_at = time.monotonic() + seconds

    def loop() -> None:
        conn = None
        while time.monotonic() < stop_at:
            tail = template.tail()
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=120)
                    conn.connect()
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.sock.sendall(template.start)
                conn.sock.sendall(tail)
                resp = http.client.HTTPResponse(conn.sock)
                resp.begin()
                text = resp.read().decode()
                status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except OSError:
                status, text = 0, ""
                conn = None
            with lock:
                results.append((time.perf_counter() - t0, status, text))

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((results, time.process_time() - cpu0))


def throughput(args) -> None:
    if args.dir is not None:  # kept: see --dir
        args.dir.mkdir(parents=True, exist_ok=True)
        holder = contextlib.nullcontext(tempfile.mkdtemp(prefix="bench-collector-", dir=args.dir))
    else:
        holder = tempfile.TemporaryDirectory()
    with holder as tmp:
        data_dir = Path(tmp)
        proc, url = start_collector(data_dir, "--no-process", "--threads", str(args.server_threads))
        port = int(url.split(":")[2].split("/")[0])
        try:
            wire = RequestTemplate("127.0.0.1", port, args.dump_kib * 1024, args.random_fraction).length
            queue = multiprocessing.Queue()
            per = [args.clients // args.client_procs + (1 if i < args.clients % args.client_procs else 0)
                   for i in range(args.client_procs)]
            procs = [multiprocessing.Process(target=client_proc, args=(
                "127.0.0.1", port, n, args.dump_kib * 1024, args.seconds, queue, args.random_fraction))
                for n in per if n]
            cpu0 = cpu_seconds(proc.pid)
            t0 = time.perf_counter()
            for p in procs:
                p.start()
            outs = [queue.get() for _ in procs]
            results = [r for rs, _ in outs for r in rs]
            client_cpu = sum(c for _, c in outs)
            for p in procs:
                p.join()
            elapsed = time.perf_counter() - t0
            cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            proc.terminate()
            proc.wait(60)
        ok = [(lat, text) for lat, status, text in results if status == 200 and text.startswith("CrashID=")]
        lat = sorted(x[0] for x in ok)
        ids = [t.strip().removeprefix("CrashID=bp-") for _, t in ok]
        with CrashStore.open(data_dir) as store:
            missing = [i for i in ids if not store.exists(i)]
        print(f"throughput: {args.clients} clients ({args.client_procs} procs), {wire / 1e6:.2f} MB gzip "
              f"submissions ({args.dump_kib} KiB dumps, {args.random_fraction:.0%} random), {elapsed:.1f} s")
        print(f"  accepted {len(ok)} ({len(ok) / elapsed:.1f}/s, {len(ok) * wire / elapsed / 1e6:.1f} MB/s), "
              f"failed {len(results) - len(ok)}, answered but missing from the store {len(missing)}")
        if ok:
            print(f"  collector CPU {cpu:.1f} s = {cpu / len(ok) * 1000:.2f} ms per accepted submission "
                  f"(clients {client_cpu / len(ok) * 1000:.2f} ms); "
                  f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if lat:
            p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
            print(f"  latency p50 {statistics.median(lat) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
                  f"max {lat[-1] * 1000:.1f} ms")


def to_processed(args) -> None:
    corpus = SHARED / "corpus" / "linux-crashpad"
    upload = corpus / CASE / "upload.http"
    if not upload.exists():
        upload = REPO / "tests" / "data" / "collector" / CASE / "upload.http"
    symbols = corpus / "symbols"
    extra = ["--workers", "1"] + (["--symbols-path", str(symbols)] if symbols.is_dir() else [])
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        proc, url = start_collector(data_dir, *extra)
        port = int(url.split(":")[2].split("/")[0])
        times = []
        try:
            with CrashStore.open(data_dir) as store:
                for _ in range(args.rounds + 1):
                    t0 = time.perf_counter()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    conn.connect()
                    conn.sock.sendall(upload.read_bytes())
                    resp = http.client.HTTPResponse(conn.sock)
                    resp.begin()
                    crash_id = resp.read().decode().strip().removeprefix("CrashID=bp-")
                    conn.close()
                    while store.get(crash_id)["state"] not in ("processed", "failed"):
                        time.sleep(0.005)
                    times.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(60)
    warm = times[1:]
    print(f"to-processed ({CASE}, symbols {'yes' if symbols.is_dir() else 'no'}): first {times[0]:.2f} s, "
          f"then median {statistics.median(warm):.3f} s, max {max(warm):.3f} s over {len(warm)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument("--server-threads", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--dir", type=Path, default=None,
                    help="keep each run's store in a new folder under DIR instead of deleting it: on a "
                         "journal-less ext4 (this project's CI VM), creating files for minutes after thousands "
                         "were deleted makes the kernel skip each recently freed inode, which slows the next "
                         "run by ~10%%")
    ap.add_argument("--dump-kib", type=int, default=1024, help="dump size before gzip")
    ap.add_argument("--random-fraction", type=float, default=1.0,
                    help="share of the dump that is random (incompressible); the rest compresses well")
    ap.add_argument("--rounds", type=int, default=5, help="to-processed submissions after the warm-up one")
    ap.add_argument("--only", choices=("throughput", "to-processed"))
    args = ap.parse_args()
    if args.only in (None, "throughput"):
        throughput(args)
    if args.only in (None, "to-processed"):
        to_processed(args)


if __name__ == "__main__":
    main()
