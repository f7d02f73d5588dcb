"""Finding (or starting) the local collector for the status bar and the first-run screen.

One collector per data folder: if one is running, the app attaches to it (shows its URL); otherwise it starts
one in the background on loopback when the collector package offers a way to. Every failure becomes a
message for the status bar ("collector not running: ...") — the app works without a collector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class CollectorState:
    url: str | None
    message: str
    handle: Any = None  # what to stop on exit, when the app started it

    def stop(self) -> None:
        for name in ("stop", "shutdown", "close"):
            fn = getattr(self.handle, name, None)
            if callable(fn):
                try:
                    fn()
                except Exception:  # noqa: BLE001 - best effort at exit
                    pass
                return


def find_or_start(paths: Any, *, start: bool = True) -> CollectorState:
    """Attach to the data folder's running collector, or start one in the background (off the GUI thread)."""
    try:
        import crashdesk.collector as collector
    except Exception as exc:  # noqa: BLE001 - a broken collector must not stop the app
        return CollectorState(None, f"collector not running ({exc})")
    try:
        for name in ("running_collector", "find_running", "running_url"):
            fn = getattr(collector, name, None)
            if callable(fn):
                found = fn(paths.data_dir)
                url = _url_of(found)
                if url:
                    return CollectorState(url, "attached to the running collector")
        if start:
            for name in ("start_background", "start_in_background", "start_collector"):
                fn = getattr(collector, name, None)
                if callable(fn):
                    handle = fn(paths)
                    url = _url_of(handle)
                    if url:
                        return CollectorState(url, "started the local collector", handle)
    except Exception as exc:  # noqa: BLE001 - shown in the status bar
        return CollectorState(None, f"collector not running: {exc}")
    return CollectorState(None, "collector not running")


def _url_of(obj: Any) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    for name in ("submit_url", "url"):
        value = getattr(obj, name, None)
        if isinstance(value, str) and value:
            return value
    if isinstance(obj, dict):
        return obj.get("submit_url") or obj.get("url")
    return None
