"""Global bounds on what requests in flight may hold: :class:`ByteBudget`.

A budget is a number of bytes shared by every request; each request may use ``free_each`` bytes without
asking (so that ordinary submissions never wait on it), and takes the rest from the shared pool, without
blocking: when the pool is empty the request is refused (``503``, the client retries later) instead of
letting a burst of large requests take the collector's memory or disk.
"""

from __future__ import annotations

import threading


class ByteBudget:
    """``total`` bytes shared by all holders; thread-safe."""

    def __init__(self, total: int, free_each: int = 0) -> None:
        self.total = total
        self.free_each = free_each
        self.used = 0
        self.peak = 0
        self._lock = threading.Lock()

    def hold(self) -> BudgetHold:
        return BudgetHold(self)

    def _take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.total:
                return False
            self.used += n
            if self.used > self.peak:
                self.peak = self.used
            return True

    def _give(self, n: int) -> None:
        with self._lock:
            self.used -= n


class BudgetHold:
    """One request's share of a :class:`ByteBudget`: :meth:`grow` to ``size`` bytes in all, :meth:`release`
    when done (idempotent)."""

    def __init__(self, budget: ByteBudget) -> None:
        self.budget = budget
        self.size = 0
        self.taken = 0

    def grow(self, size: int) -> bool:
        """Make room for ``size`` bytes in all; False (nothing taken) when the shared pool has no room."""
        need = max(0, size - self.budget.free_each) - self.taken
        if need > 0:
            if not self.budget._take(need):
                return False
            self.taken += need
        self.size = max(self.size, size)
        return True

    def release(self) -> None:
        taken, self.taken = self.taken, 0
        if taken:
            self.budget._give(taken)
