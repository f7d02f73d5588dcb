"""Finding (or starting) the local collector for the status bar and the first-run screen.

One collector per data folder: if one is running (``crashdesk collector`` in a terminal, another window), the
app attaches to it and shows its URL; otherwise it starts one in the background on loopback on the fixed
default port. Every failure becomes a message for the status bar ("collector not running: ..."); the app
works without a collector.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class CollectorState:
    url: str | None
    message: str
    handle: Any = None  # the collector this app started (stopped on exit), else None
    starting: bool = False  # not known yet: the app is still looking for (or starting) its collector

    def stop(self) -> None:
        if self.handle is not None:
            try:
                self.handle.stop()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass


def find_or_start(paths: Any, *, start: bool = True, on_received: Callable[[str], None] | None = None,
                  port: int | None = None) -> CollectorState:
    """Attach to the data folder's running collector, or start one in the background. Call off the GUI thread
    (finding a starting collector waits up to a second)."""
    try:
        from crashdesk.collector import (
            Collector,
            CollectorAlreadyRunning,
            CollectorConfig,
            find_running_collector,
        )
    except Exception as exc:  # noqa: BLE001 - a broken collector must not stop the app
        return CollectorState(None, f"collector not running ({exc})")
    try:
        running = find_running_collector(paths.data_dir, wait=1.0)
        if running is not None and running.submit_url:
            return CollectorState(running.submit_url, f"attached to the running collector (pid {running.pid})")
        if not start:
            return CollectorState(None, "collector not running")
        from crashdesk.collector.auth import resolve_token

        # the token comes from where the command line's collector takes it ($CRASHDESK_COLLECTOR_TOKEN, else
        # the keyring), so the app's collector protects the read API exactly as ``crashdesk collector`` does
        config = CollectorConfig(on_received=on_received, token=resolve_token())
        try:  # issue 23: Settings → Export policy → strip on receipt (off by default)
            from crashdesk.services.sharing import load_policy

            config.strip_dump_annotations = load_policy(paths.data_dir).strip_dumps_on_receipt
        except Exception:  # noqa: BLE001 - an unreadable policy file leaves the dumps as received
            config.strip_dump_annotations = False
        if port is not None:
            config.port = port
        collector = Collector(paths.data_dir, config)
        try:
            url = collector.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            config.port = 0  # the fixed port is taken by something else: any free port beats none
            collector = Collector(paths.data_dir, config)
            url = collector.start()
            return CollectorState(url, f"default port {CollectorConfig().port} is in use; listening on {url}",
                                  collector)
        return CollectorState(url, "started the local collector", collector)
    except CollectorAlreadyRunning as exc:
        return CollectorState(None, f"collector not running here: {exc}")
    except Exception as exc:  # noqa: BLE001 - shown in the status bar
        return CollectorState(None, f"collector not running: {exc}")


def check_collector(paths: Any, state: CollectorState, on_received: Callable[[str], None] | None = None,
                    port: int | None = None) -> CollectorState | None:
    """What is true now about the data folder's collector, from its lock (held while a collector lives, released
    by the OS however it ends) rather than from a pid remembered at start: None when ``state`` still holds,
    else the state to show. A collector this window was attached to that went away is taken over (this app
    starts its own); a collector started elsewhere after this window gave up is attached to. Call off the GUI
    thread."""
    if state.handle is not None:
        return None  # this app's own collector runs as long as the app
    try:
        from crashdesk.collector import find_running_collector
    except Exception:  # noqa: BLE001 - a broken collector must not stop the app
        return None
    running = find_running_collector(paths.data_dir, wait=0.5)
    if running is not None and running.submit_url:
        if running.submit_url == state.url:
            return None
        return CollectorState(running.submit_url, f"attached to the running collector (pid {running.pid})")
    if not state.url:
        return None  # nothing ran and nothing runs: the message already says why
    new = find_or_start(paths, on_received=on_received, port=port)
    if new.handle is not None:
        new.message = f"took over: the collector at {state.url} stopped, this app started its own"
    return new
