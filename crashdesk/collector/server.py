"""``Collector``: the HTTP server (waitress) around the WSGI app, the crash store, the group committer, the
instance lock and the rejection log — started in a background thread by the app, or in the foreground by
``crashdesk collector``.

waitress reads each request (undoing chunked transfer-encoding and enforcing the wire size limit while it
reads, ``413`` past it) on its I/O thread before a worker thread runs the application, so a slow client
holds no worker; :mod:`crashdesk.collector.connections` bounds what a request may hold there and for how
long.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from crashdesk.collector import spool as spool_files
from crashdesk.collector.config import CollectorConfig
from crashdesk.collector.connections import Guard, install, waitress_classes
from crashdesk.collector.durable import GroupCommitter
from crashdesk.collector.errors import CollectorError, ListenError
from crashdesk.collector.host_check import HostPolicy
from crashdesk.collector.instance import InstanceLock
from crashdesk.collector.memory import keep_freed_memory
from crashdesk.collector.rejections import RejectionLog
from crashdesk.collector.request_body import BodyGuard
from crashdesk.collector.submit import SubmitHandler
from crashdesk.model.build_info import COLLECTOR_NAME
from crashdesk.store.crashes import CrashStore

SPOOL_FOLDER = ".incoming"


def _wire_allowance(limit: int) -> int:
    """waitress refuses a body of ``>=`` its limit and counts chunk framing as body; allow for both, then
    the application checks the exact decoded length against ``limit``."""
    return limit + 1 + limit // 64 + 64 * 1024


def display_host(host: str) -> str:
    """The host to put into the submit URL (a wildcard bind shows this machine's name)."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host


class Collector:
    """A running (or startable) collector for one data folder."""

    def __init__(self, data_dir: Path, config: CollectorConfig | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.config = config or CollectorConfig()
        self.store: CrashStore | None = None
        self._lock = InstanceLock(self.data_dir)
        self._server = None
        self._thread: threading.Thread | None = None
        self._committer: GroupCommitter | None = None
        self.submit_handler: SubmitHandler | None = None
        self.rejections: RejectionLog | None = None
        self.app = None
        self.bodies: BodyGuard | None = None
        self.guard: Guard | None = None
        self.host: str | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ life cycle

    @property
    def submit_url(self) -> str:
        if self.port is None:
            raise CollectorError("the collector is not started")
        return f"http://{display_host(self.host or '')}:{self.port}/submit"

    @property
    def base_url(self) -> str:
        return self.submit_url.removesuffix("/submit")

    def start(self, *, background: bool = True) -> str:
        """Take the data folder's lock, open the store, bind, and (``background``) serve in a thread.
        Returns the submit URL. Raises :class:`~crashdesk.collector.errors.CollectorAlreadyRunning`."""
        self._lock.acquire()
        try:
            self._open()
        except BaseException:
            self._teardown()
            raise
        if background:
            self._thread = threading.Thread(target=self._serve, name="collector-http", daemon=True)
            self._thread.start()
        return self.submit_url

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (or Ctrl-C)."""
        try:
            self._serve()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish and be answered, then close everything, finish
        pending commits and release the lock. Sockets are closed by the I/O loop's own thread."""
        server, self._server = self._server, None
        if server is not None:
            loop_alive = self._thread is not None and self._thread.is_alive()

            def in_loop(action) -> None:
                done = threading.Event()

                def thunk() -> None:
                    try:
                        action()
                    finally:
                        done.set()

                if loop_alive:
                    server.trigger.pull_trigger(thunk)
                    done.wait(10)
                else:
                    thunk()

            def close_listeners() -> None:
                from waitress import wasyncore

                for d in list(server._map.values()):
                    if hasattr(d, "effective_port"):
                        wasyncore.dispatcher.close(d)  # the server's own close() would shut the trigger too

            def close_all() -> None:
                for d in list(server._map.values()):
                    if d is not server.trigger:
                        d.close()
                server.trigger.close()

            in_loop(close_listeners)  # no new connections from here on
            server.task_dispatcher.shutdown(cancel_pending=False, timeout=30)  # requests in flight finish
            deadline = time.monotonic() + 5  # the I/O loop flushes the last answers
            while loop_alive and time.monotonic() < deadline and any(
                    getattr(d, "total_outbufs_len", 0) for d in list(server._map.values())):
                time.sleep(0.02)
            in_loop(close_all)
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=10)
        self._teardown()

    def __enter__(self) -> Collector:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_token(self, token: str | None) -> None:
        """Use ``token`` for the read API (and client-chosen crash ids) from the next request on."""
        self.config.token = token
        if self.app is not None:
            self.app.token = token

    def stats(self) -> dict[str, Any]:
        """Counters for the collector panel (accepted, rejected by reason, last crash...)."""
        out = self.submit_handler.stats.snapshot() if self.submit_handler else {}
        out["submit_url"] = self.submit_url if self.port is not None else None
        out["commit_groups"] = self._committer.groups if self._committer else 0
        if self.bodies is not None:
            out["bodies_spilled"] = self.bodies.spilled
            out["in_flight_peak"] = self.bodies.in_flight.peak
        return out

    # ------------------------------------------------------------------ internals

    def _open(self) -> None:
        from waitress.server import create_server

        cfg = self.config
        conn = cfg.connections
        keep_freed_memory()
        self.store = CrashStore.open(self.data_dir)
        spool = self.store.blobs.root / SPOOL_FOLDER
        spool.mkdir(parents=True, exist_ok=True)
        for stale in spool.glob(f"{spool_files.PREFIX}*{spool_files.SUFFIX}"):  # left by a killed collector
            try:
                stale.unlink()
            except OSError:
                pass
        self.rejections = RejectionLog(self.data_dir)
        self.bodies = BodyGuard(spool, memory_per_request=conn.memory_per_request,
                                memory_total=conn.memory_total, in_flight_per_client=conn.in_flight_per_client,
                                in_flight_total=conn.in_flight_total, free_each=conn.in_flight_free_each)

        def notify(ids: list[str]) -> None:
            if cfg.on_received is not None:
                for crash_id in ids:
                    cfg.on_received(crash_id)

        self._committer = GroupCommitter(self.store, notify)
        self.submit_handler = SubmitHandler(self.store, cfg, self._committer, self.rejections, spool)
        from crashdesk.collector.app import CollectorApp

        app = self.app = CollectorApp(self.store, self.submit_handler, cfg.token)
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        # waitress reads ``asyncore_loop_timeout`` as whole seconds (``int``): 0.2 became 0, a poll loop that
        # never slept and burned a core (and the GIL) whenever no socket was ready
        try:
            server = create_server(
                app, host=cfg.host, port=cfg.port, threads=cfg.threads, ident=COLLECTOR_NAME,
                max_request_body_size=_wire_allowance(cfg.limits.max_request_size),
                inbuf_overflow=conn.memory_per_request, recv_bytes=256 * 1024,
                # idle connections and deadlines are checked every second by connections.install's
                # maintenance; waitress stops accepting only past the guard's own limit (it counts its
                # listening socket and trigger too)
                channel_timeout=conn.idle_timeout, cleanup_interval=1,
                connection_limit=conn.max_connections + 8,
                asyncore_loop_timeout=1, asyncore_use_poll=True, expose_tracebacks=False,
                clear_untrusted_proxy_headers=True)
        except OSError as exc:
            raise ListenError(exc.errno, f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise ListenError(None, f"cannot listen on {cfg.host}:{cfg.port}: {exc}") from exc
        self.guard = Guard(cfg.connections, self.bodies, self.rejections, self.submit_handler.stats)
        channel_class = waitress_classes(self.guard)
        servers = [server] if hasattr(server, "effective_port") else list(getattr(server, "map", {}).values())
        for s in servers:
            if hasattr(s, "channel_class"):
                s.channel_class = channel_class
                install(s, self.guard)
            if hasattr(s, "adj"):  # bigger receive buffers: fewer trips through the I/O loop per dump
                s.adj.socket_options = [*s.adj.socket_options,
                                        (socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)]
        first = next(s for s in servers if hasattr(s, "effective_port"))
        self._server = server if hasattr(server, "_map") else first
        self.host = cfg.host
        self.port = int(first.effective_port)
        app.hosts = HostPolicy(cfg.host, self.port, cfg.allowed_hosts)
        self._lock.publish(self.host, self.port, self.submit_url)

    def _serve(self) -> None:
        server = self._server
        if server is None:
            raise CollectorError("the collector is not started")
        try:
            server.run()
        except Exception:  # the loop ends when stop() closes its sockets
            pass

    def _teardown(self) -> None:
        if self._committer is not None:
            self._committer.close()
            self._committer = None
        if self.store is not None:
            self.store.close()
            self.store = None
        self._lock.release()
        self.port = None if self._server is None else self.port


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
