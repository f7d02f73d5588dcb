"""The local collector: an Antenna-compatible ``POST /submit`` for Breakpad/Crashpad clients that makes each
crash durable before answering, plus the Crash Stats API subset (``RawCrash``, ``ProcessedCrash``,
``SuperSearch``) so others can sync from it.

Use::

    collector = Collector(data_dir, CollectorConfig(port=0, on_received=queue_for_processing))
    url = collector.start()            # background thread; raises CollectorAlreadyRunning
    ...
    collector.stop()

    running = find_running_collector(data_dir)   # the one serving this folder, or None
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crashdesk.collector.defaults import DEFAULT_HOST, DEFAULT_PORT

# Loaded on first use, so that ``crashdesk --help`` and the other commands do not pay for the server stack.
_LAZY = {
    "Collector": "crashdesk.collector.server",
    "CollectorConfig": "crashdesk.collector.config",
    "Limits": "crashdesk.collector.config",
    "CollectorError": "crashdesk.collector.errors",
    "CollectorAlreadyRunning": "crashdesk.collector.errors",
    "RunningCollector": "crashdesk.collector.instance",
    "find_running_collector": "crashdesk.collector.instance",
    "recent_rejections": "crashdesk.collector.rejections",
}

if TYPE_CHECKING:
    from crashdesk.collector.config import CollectorConfig, Limits
    from crashdesk.collector.errors import CollectorAlreadyRunning, CollectorError
    from crashdesk.collector.instance import RunningCollector, find_running_collector
    from crashdesk.collector.rejections import recent_rejections
    from crashdesk.collector.server import Collector


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crashdesk.collector' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Collector", "CollectorConfig", "Limits", "CollectorError", "CollectorAlreadyRunning",
    "RunningCollector", "find_running_collector", "recent_rejections", "DEFAULT_HOST", "DEFAULT_PORT",
]
