"""Pausing Python's automatic (cyclic) garbage collection, shared by everything in the process that wants it off.

Two users: the desktop UI keeps it off while a window is open (``ui.gc_guard``: garbage holding Qt objects must
not be collected on a worker thread), and bulk writes to the store keep it off while they build rows (tens of
thousands of short-lived tuples and strings without cycles per batch; collections that find nothing took about a
tenth of bulk ingest time in ``benchmarks/bench_store.py``). Pauses nest and overlap across threads: automatic
collection comes back when the last one ends, and only if it was on before the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = True


def hold() -> None:
    """Turn automatic collection off until the matching :func:`release`."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
        _holders += 1
        gc.disable()


def release() -> None:
    """End one :func:`hold`; the last one turns automatic collection back on if it was on before."""
    global _holders
    with _lock:
        if _holders == 0:
            raise RuntimeError("gc_pause.release() without a hold()")
        _holders -= 1
        if _holders == 0 and _was_enabled:
            gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    hold()
    try:
        yield
    finally:
        release()
