"""The collector's waitress channel, request parser and server hooks: bodies held within bounds
(:mod:`crashdesk.collector.request_body`), deadlines on headers and bodies, and a connection limit with a
reserve (:class:`~crashdesk.collector.config.ConnectionLimits`).

waitress brings the basics (``channel_timeout`` for idle connections, ``connection_limit``, the body size
limit, ``inbuf_overflow``); what it lacks is added here:

* a header deadline (a request's headers must be complete within ``header_timeout`` seconds of its first
  byte, however slowly they trickle) and body deadlines (no stall longer than ``body_stall_timeout``; after
  ``body_grace`` seconds an average of at least ``body_min_rate`` bytes/s), checked every second;
* past ``max_connections - reserve`` open connections, each new connection closes the connection that has
  been idle or stalled the longest (slow sockets cannot lock out a reporter that sends its request at once);
  at ``max_connections`` with nothing to close, the new connection is answered ``503`` at once instead of
  waiting in the listen backlog;
* ``503`` (with ``Retry-After``) for a body over the client's or the collector's bytes in flight.

Every connection closed or refused this way is recorded in the rejection log with its reason.
"""

from __future__ import annotations

import functools
import socket
import time
from typing import Any

from crashdesk.collector.config import ConnectionLimits
from crashdesk.collector.rejections import RejectionLog
from crashdesk.collector.request_body import BodyGuard, SpillBuffer

#: extra non-blocking reads per readable event (see ``RecordingChannel.handle_read``)
DRAIN_READS = 8
#: seconds a body must have been silent before a new connection may close it to make room
EVICTABLE_STALL = 2.0
RETRY_AFTER = "30"
#: the reason of a close that is not a refusal (an idle kept-alive connection): not logged
QUIET_CLOSE = "keepalive_idle"
_BUSY_BODY = b"Discarded=busy_too_many_connections"
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + RETRY_AFTER.encode()
                 + b"\r\nContent-Type: text/plain\r\nContent-Length: " + str(len(_BUSY_BODY)).encode()
                 + b"\r\nConnection: close\r\n\r\n" + _BUSY_BODY)


def _peer(addr: Any) -> str:
    return str(addr[0]) if isinstance(addr, tuple) and addr else ""


class Guard:
    """One collector's connection policy: its limits, its body guard and where refusals are logged."""

    def __init__(self, limits: ConnectionLimits, bodies: BodyGuard, rejections: RejectionLog,
                 stats: Any = None) -> None:
        self.limits = limits
        self.bodies = bodies
        self.rejections = rejections
        self.stats = stats
        self.closed: dict[str, int] = {}

    def record(self, status: int, reason: str, detail: str, peer: str, path: str = "", user_agent: str = "",
               size: int | None = None) -> None:
        self.closed[reason] = self.closed.get(reason, 0) + 1
        self.rejections.record(status=status, reason=reason, detail=detail, peer=peer, path=path,
                               user_agent=user_agent, size=size)
        if self.stats is not None:
            with self.stats._lock:
                self.stats.rejected[reason] += 1


def waitress_classes(guard: Guard):
    """The channel class to give waitress's server (its parser, error task and body buffer come with it)."""
    from waitress.buffers import OverflowableBuffer
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.task import ErrorTask
    from waitress.utilities import Error

    class ServiceUnavailable(Error):
        code = 503
        reason = "Service Unavailable"

        def __init__(self, body: str, crashdesk_reason: str) -> None:
            super().__init__(body)
            self.crashdesk_reason = crashdesk_reason

        def to_response(self, ident=None):
            status, headers, body = super().to_response(ident)
            return status, [*headers, ("Retry-After", RETRY_AFTER)], body

    class GuardedParser(HTTPRequestParser):
        """waitress's request parser with the body in a :class:`SpillBuffer` charged to the client's bytes
        in flight, and the times the deadlines need."""

        def __init__(self, adj, client: str = "") -> None:
            super().__init__(adj)
            self.client = client
            self.started = time.time()
            self.body_started: float | None = None

        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            self.body_started = time.time()
            receiver = self.body_rcv
            if receiver is None or not isinstance(receiver.buf, OverflowableBuffer) or receiver.buf:
                return
            buf = receiver.buf = guard.bodies.buffer(self.client)
            if not self.chunked and self.content_length > 0 and not buf.reserve(self.content_length):
                self._refuse(buf)

        def received(self, data: bytes) -> int:
            consumed = super().received(data)
            receiver = self.body_rcv
            if not self.completed and receiver is not None:
                buf = receiver.getbuf()
                if isinstance(buf, SpillBuffer) and buf.refused:
                    self._refuse(buf)
            return consumed

        def _refuse(self, buf: SpillBuffer) -> None:
            self.error = ServiceUnavailable(
                "too many bytes in flight; retry later", buf.refused or "busy_in_flight")
            self.completed = True

    class RecordingErrorTask(ErrorTask):
        """HTTP-level errors (413 too large, broken chunking, 503 busy) are recorded like any other refusal."""

        def execute(self) -> None:
            error = self.request.error
            path = getattr(self.request, "path", "") or ""
            reason = getattr(error, "crashdesk_reason", None) or (
                "too_large" if error.code == 413 else f"http_{error.code}")
            guard.record(error.code, reason, str(error.body), _peer(self.channel.addr), path or "/submit",
                         str(self.request.headers.get("USER_AGENT", "")))
            super().execute()

    class GuardedChannel(HTTPChannel):
        error_task_class = RecordingErrorTask

        def __init__(self, server, sock, addr, adj, map=None) -> None:
            self.parser_class = functools.partial(GuardedParser, client=_peer(addr))
            super().__init__(server, sock, addr, adj, map)

        def handle_read(self) -> None:
            """Read what the socket already holds in one go (up to a few buffers) instead of one buffer per
            trip through the I/O loop: a 1 MB dump then costs a handful of loop iterations, not dozens."""
            super().handle_read()
            for _ in range(DRAIN_READS):
                if not self.connected or self.requests or not self.readable():
                    return
                try:
                    data = self.socket.recv(self.adj.recv_bytes)
                except BlockingIOError:
                    return
                except OSError:
                    self.handle_close()
                    return
                if not data:
                    self.connected = False
                    return
                self.last_activity = time.time()
                self.received(data)

        def handle_close(self) -> None:
            # the request being received (not yet handed to a worker) is dropped with its body: its memory,
            # temporary file and bytes in flight are released now, not whenever the channel is collected
            request, self.request = self.request, None
            if request is not None:
                request.close()
            super().handle_close()

    return GuardedChannel


def _state(channel, now: float, limits: ConnectionLimits) -> tuple[str | None, str]:
    """(reason to close now or None, what the channel is doing: serving | idle | header | body | stalled)."""
    if channel.requests or getattr(channel, "close_when_flushed", False) or channel.total_outbufs_len:
        return None, "serving"
    if getattr(channel, "will_close", False):  # closed by maintenance, closing in the loop's next write phase
        return None, "serving"
    request = channel.request
    if request is None or getattr(request, "started", None) is None:
        if now - channel.last_activity > limits.idle_timeout:
            # a kept-alive connection going quiet after its requests is normal: closed, not logged
            silent_since_open = channel.last_activity <= getattr(channel, "creation_time", 0)
            return ("idle_timeout" if silent_since_open else QUIET_CLOSE), "idle"
        return None, "idle"
    if not request.headers_finished:
        if now - request.started > limits.header_timeout:
            return "header_timeout", "header"
        return None, "header"
    if request.completed:
        return None, "serving"
    silent = now - channel.last_activity
    if silent > limits.body_stall_timeout:
        return "body_timeout", "stalled"
    elapsed = now - (request.body_started or request.started)
    if elapsed > limits.body_grace and request.body_bytes_received < limits.body_min_rate * elapsed:
        return "body_too_slow", "stalled"
    return None, "stalled" if silent > EVICTABLE_STALL else "body"


def _close(guard: Guard, channel, reason: str, detail: str, *, at_once: bool = True) -> None:
    """Log and close a channel. ``at_once`` False (the periodic maintenance) only marks it, as waitress's own
    maintenance does, and the I/O loop closes it in its write phase. The maintenance runs inside the loop's
    pass over its channels (``readable()``); closing ~90 channels there at once reset a reporter's connection
    accepted in the same pass (tests/security: 1 of 17 normal submissions, in 2 of 10 runs of the file on a
    2-core machine; none in 12 runs since). Our reading: the closed channels' file descriptor numbers stayed in
    that pass and the new connection got one of them."""
    if reason != QUIET_CLOSE:
        request = channel.request
        path = getattr(request, "path", "") or ""
        size = getattr(request, "content_length", None) if request is not None else None
        guard.record(408, reason, detail, _peer(channel.addr), path, size=size or None)
    if at_once:
        channel.handle_close()
    else:
        channel.will_close = True


def install(server, guard: Guard) -> None:
    """Hook the guard into one waitress listening server (its accept and its periodic maintenance)."""
    limits = guard.limits

    def maintenance(now: float) -> None:
        for channel in list(server.active_channels.values()):
            reason, _ = _state(channel, now, limits)
            if reason is not None:
                _close(guard, channel, reason, f"closed after {limits_text(reason, limits)}", at_once=False)

    def handle_accept() -> None:
        try:
            pair = server.accept()
            if pair is None:
                return
            conn, addr = pair
            server.set_socket_options(conn)
        except OSError:
            return
        addr = server.fix_addr(addr)
        open_now = len(server.active_channels)
        if open_now >= limits.max_connections - limits.reserve:
            if not _make_room(server, guard, open_now):
                _refuse_connection(guard, conn, addr)
                return
        server.channel_class(server, conn, addr, server.adj, map=server._map)

    server.maintenance = maintenance
    server.handle_accept = handle_accept


def limits_text(reason: str, limits: ConnectionLimits) -> str:
    return {
        "idle_timeout": f"{limits.idle_timeout:g} s idle",
        "header_timeout": f"{limits.header_timeout:g} s without complete headers",
        "body_timeout": f"{limits.body_stall_timeout:g} s without a byte of the body",
        "body_too_slow": f"the body arriving below {limits.body_min_rate} bytes/s",
    }.get(reason, reason)


def _make_room(server, guard: Guard, open_now: int) -> bool:
    """Close the connection that has made no progress for the longest, if there is one; True when the new one
    may stay (a slow one was closed, or there is room under ``max_connections``).

    Candidates: idle connections (no request, silent for :data:`EVICTABLE_STALL` seconds or more), requests
    whose headers are still arriving (by when their first byte came: a slowloris trickles for long) and
    bodies stalled for :data:`EVICTABLE_STALL` seconds. A connection that just arrived gets a moment to send
    its request; one being served is never closed."""
    now = time.time()
    victim, since = None, None
    for channel in server.active_channels.values():
        _, doing = _state(channel, now, guard.limits)
        if doing == "header":
            key = channel.request.started
        elif doing in ("idle", "stalled") and now - channel.last_activity >= EVICTABLE_STALL:
            key = channel.last_activity
        else:
            continue
        if since is None or key < since:
            victim, since = channel, key
    if victim is not None and (open_now >= guard.limits.max_connections or now - since >= EVICTABLE_STALL):
        _close(guard, victim, "evicted_slow_connection",
               f"{open_now} connections open: the one without progress the longest ({now - since:.1f} s) "
               "makes room")
        return True
    return open_now < guard.limits.max_connections


def _refuse_connection(guard: Guard, conn: socket.socket, addr: Any) -> None:
    try:
        conn.setblocking(False)
        try:
            conn.recv(65536)  # what already arrived: unread data would turn the close into a reset
        except OSError:
            pass
        conn.send(BUSY_RESPONSE)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass
    guard.record(503, "busy_too_many_connections",
                 f"{guard.limits.max_connections} connections open, none idle or stalled", _peer(addr))
