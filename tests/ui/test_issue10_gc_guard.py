"""The GUI-thread garbage collector: automatic collection is off while a window is open, cyclic garbage is
still freed (from the GUI thread), and closing the window restores the previous state."""

from __future__ import annotations

import gc
import threading
import weakref


class _Node:
    pass


def test_guard_collects_on_the_gui_thread_and_restores(qtbot):
    from crashdesk.ui.gc_guard import GuiThreadGarbageCollector

    gc.enable()
    try:
        guard = GuiThreadGarbageCollector()
        guard.start()
        assert not gc.isenabled()
        freed_on: list[str] = []
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle only the collector frees
        probe = weakref.ref(a, lambda _r: freed_on.append(threading.current_thread().name))
        del a, b
        junk = [_Node() for _ in range(50)]  # allocations that would trigger automatic collection
        assert probe() is not None  # nothing collected it automatically
        qtbot.waitUntil(lambda: probe() is None, timeout=5000)
        assert freed_on == [threading.main_thread().name]
        del junk
        guard.stop()
        assert gc.isenabled()
    finally:
        gc.enable()


def test_guard_keeps_collection_off_when_it_was_off(qtbot):
    from crashdesk.ui.gc_guard import GuiThreadGarbageCollector

    gc.disable()
    guard = GuiThreadGarbageCollector()
    guard.start()
    guard.stop()
    assert not gc.isenabled()
