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

from crashdesk.collector.config import DEFAULT_HOST, DEFAULT_PORT, CollectorConfig, Limits
from crashdesk.collector.errors import CollectorAlreadyRunning, CollectorError
from crashdesk.collector.instance import RunningCollector, find_running_collector
from crashdesk.collector.rejections import recent_rejections
from crashdesk.collector.server import Collector

__all__ = [
    "Collector", "CollectorConfig", "Limits", "CollectorError", "CollectorAlreadyRunning",
    "RunningCollector", "find_running_collector", "recent_rejections", "DEFAULT_HOST", "DEFAULT_PORT",
]
