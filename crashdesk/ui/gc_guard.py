"""Garbage collection on the GUI thread only.

Python's cyclic garbage collector runs in whichever thread happens to allocate when a threshold is crossed.
If the garbage it frees holds Qt objects, they are then destroyed on a worker thread, which can crash the
process (seen in the test suite as a segmentation fault "Garbage-collecting" inside a background job). While
a window is open this guard turns automatic collection off and collects from a timer on the GUI thread
instead (as Anki does); closing the last guarded window restores automatic collection as it was.
"""

from __future__ import annotations

import gc

from crashdesk import gc_pause
from crashdesk.ui.qt import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadGarbageCollector(QObject):
    """Collects garbage from a GUI-thread timer while it is active (automatic collection paused through
    :mod:`crashdesk.gc_pause`, which the store's bulk writes share)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.running = False
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.collect)

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        gc_pause.hold()
        self.timer.start()

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        self.timer.stop()
        gc.collect()
        gc_pause.release()

    def collect(self) -> int:
        """Young objects every tick, the middle generation every 10th, everything every 120th (a minute).

        (Counting allocations as automatic collection does is unreliable from a timer: deallocations lower the
        count between ticks, so a threshold test could keep garbage around indefinitely.)"""
        self._ticks = getattr(self, "_ticks", 0) + 1
        generation = 2 if self._ticks % 120 == 0 else (1 if self._ticks % 10 == 0 else 0)
        return gc.collect(generation)
