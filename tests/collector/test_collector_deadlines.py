"""Issue 19 item 4 in detail (a collector in this process with short deadlines, real sockets on 127.0.0.1):
each deadline closes the connection that broke it and logs why; a kept-alive connection going quiet after its
request is closed without a log line; bodies over the bytes-in-flight bounds are refused with 503."""

from __future__ import annotations

import socket
import time

import pytest
from collector_helpers import rejection_log

from crashdesk.collector.config import ConnectionLimits
from crashdesk.collector.request_body import BodyGuard, InFlight

FAST = ConnectionLimits(header_timeout=1.0, body_stall_timeout=1.0, body_grace=1.0, body_min_rate=100_000,
                        idle_timeout=1.0)


def _closed_within(sock: socket.socket, seconds: float, feed: bytes | None = None) -> bytes:
    """Wait for the server to close ``sock`` (feeding ``feed`` every 0.2 s); what it answered, if anything."""
    sock.settimeout(0.2)
    end = time.monotonic() + seconds
    got = b""
    while time.monotonic() < end:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            if feed:
                try:
                    sock.sendall(feed)
                except OSError:
                    return got
            continue
        except OSError:
            return got
        if not data:
            return got
        got += data
    raise AssertionError("the server kept the connection open")


@pytest.fixture
def fast(make_collector):
    return make_collector(connections=FAST)


def _open(collector) -> socket.socket:
    return socket.create_connection(("127.0.0.1", collector.port), timeout=5)


@pytest.mark.parametrize("case, head, feed, reason", [
    ("silent", b"", None, "idle_timeout"),
    ("slow headers", b"POST /submit HTTP/1.1\r\n", b"X-A: b\r\n", "header_timeout"),
    ("stalled body", b"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\nab", None,
     "body_timeout"),
    ("slow body", b"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500000\r\n\r\n", b"x",
     "body_too_slow"),
], ids=lambda v: v if isinstance(v, str) and " " in v or v == "silent" else "")
def test_deadline_closes_and_logs(fast, data_dir, case, head, feed, reason):
    with _open(fast) as sock:
        if head:
            sock.sendall(head)
        _closed_within(sock, 15, feed)
    entries = [e for e in rejection_log(data_dir) if e["reason"] == reason]
    assert entries and entries[-1]["status"] == 408 and entries[-1]["peer"] == "127.0.0.1"


def test_kept_alive_connection_closes_quietly(fast, data_dir):
    with _open(fast) as sock:
        sock.sendall(b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = _closed_within(sock, 15)
    assert answer.startswith(b"HTTP/1.1 200")
    assert rejection_log(data_dir) == []


def test_body_over_the_client_bound_is_503_before_it_is_sent(make_collector, data_dir):
    collector = make_collector(connections=ConnectionLimits(in_flight_per_client=8 << 20))
    with _open(collector) as sock:
        sock.sendall(b"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                     b"boundary=x\r\nContent-Length: 20000000\r\n\r\n")
        answer = _closed_within(sock, 15)
    assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 30" in answer
    assert rejection_log(data_dir)[-1]["reason"] == "busy_client_in_flight"


def test_spill_buffer_bounds_memory_and_releases_everything(tmp_path):
    guard = BodyGuard(tmp_path, memory_per_request=1000, memory_total=1500, in_flight_per_client=10_000,
                      in_flight_total=15_000, free_each=500)
    a, b = guard.buffer("10.0.0.1"), guard.buffer("10.0.0.1")
    a.append(b"a" * 900)
    b.append(b"b" * 900)  # the shared memory budget is full: b goes to a file
    assert not a.spilled and b.spilled and guard.memory.used == 900
    a.append(b"a" * 200)  # over the per-request bound: the rest of a goes to a file
    a.append(b"c" * 50)
    assert a.spilled and guard.memory.used == 900
    reader = a.getfile()
    got = []
    while piece := reader.read(300):
        assert len(piece) <= 300
        got.append(piece)
    assert b"".join(got) == b"a" * 1100 + b"c" * 50 and b.getfile().read() == b"b" * 900
    assert guard.in_flight.by_client == {"10.0.0.1": 650 + 400}
    assert not guard.buffer("10.0.0.1").reserve(10_000)  # over the client's bound
    c = guard.buffer("10.0.0.2")
    assert c.reserve(9_000)
    d = guard.buffer("10.0.0.3")
    d.append(b"d" * 7_000)  # 1,050 + 8,500 + 6,500 over the total: refused, dropped
    assert d.refused == "busy_in_flight" and len(d) == 0
    for buf in (a, b, c, d):
        buf.close()
    assert guard.in_flight.used == 0 and guard.in_flight.by_client == {} and guard.memory.used == 0
    assert list(tmp_path.iterdir()) == []  # the temporary files were never named there


def test_in_flight_accounting():
    flight = InFlight(per_client=100, total=150, free_each=0)
    assert flight.take("a", 100) is None
    assert flight.take("a", 1) == "busy_client_in_flight"
    assert flight.take("b", 60) == "busy_in_flight"
    flight.give("a", 100)
    assert flight.take("b", 60) is None and flight.used == 60
