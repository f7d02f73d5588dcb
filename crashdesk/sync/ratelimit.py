"""A client-side request budget per server: at most ``limit`` requests in any ``period`` seconds.

Crash Stats counts requests per client address in fixed one-minute windows (100 anonymous, 1,000 with a
token). A sliding window that never lets more than ``limit`` requests start within any ``period`` seconds is
under every fixed window of that length too, so keeping to it avoids ``429`` instead of recovering from it.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

CRASH_STATS_HOST = "crash-stats.mozilla.org"
CRASH_STATS_ANONYMOUS_PER_MIN = 100
CRASH_STATS_TOKEN_PER_MIN = 1000
SAFETY = 0.95  # stay a little under the published numbers: other tools may share the address


class RateLimiter:
    """Sliding-window limiter shared by all requests to one server (asyncio)."""

    def __init__(
        self, limit: int, period: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period > 0")
        self.limit = int(limit)
        self.period = float(period)
        self._clock = clock
        self._starts: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Wait until one more request may start; return the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.period:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return waited
                delay = self.period - (now - self._starts[0]) + 0.001
                waited += delay
                await asyncio.sleep(delay)

    def __repr__(self) -> str:
        return f"RateLimiter({self.limit}/{self.period:g}s)"


def default_rate_limit(host: str, *, has_token: bool) -> int | None:
    """Requests per minute to keep under by default for ``host``, or ``None`` for no limit.

    On for Crash Stats (its published limits, with a safety margin), off for everything else: loopback, a
    team's own Socorro or a colleague's CrashDesk collector (their limits, if any, are theirs to publish;
    ``429`` is honoured anyway).
    """
    if host.lower().rstrip(".") == CRASH_STATS_HOST:
        per_min = CRASH_STATS_TOKEN_PER_MIN if has_token else CRASH_STATS_ANONYMOUS_PER_MIN
        return int(per_min * SAFETY)
    return None
