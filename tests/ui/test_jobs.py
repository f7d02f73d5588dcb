"""Background jobs: results come back on the GUI thread, failures are reported, emits keep refcounts sane."""

from __future__ import annotations

import sys
import threading

from crashdesk.ui.jobs import Jobs
from crashdesk.ui.qt import QObject, Signal, emit


def test_job_result_and_progress_arrive_on_the_gui_thread(qtbot):
    jobs = Jobs()
    seen: dict[str, object] = {}
    gui = threading.get_ident()

    def work(cancel, report):
        seen["worker"] = threading.get_ident()
        report(0.5, "half")
        return 42

    def done(value):
        seen["done_thread"] = threading.get_ident()
        seen["value"] = value

    with qtbot.waitSignal(jobs.changed, timeout=5000):
        jobs.submit(work, on_done=done, on_progress=lambda f, t: seen.setdefault("progress", (f, t)),
                    title="work", visible=True)
    qtbot.waitUntil(lambda: "value" in seen and not jobs.busy, timeout=5000)
    assert seen["value"] == 42
    assert seen["worker"] != gui and seen["done_thread"] == gui
    assert seen["progress"] == (0.5, "half")
    assert jobs.visible == {}


def test_job_failure_is_reported_not_raised(qtbot):
    jobs = Jobs()
    errors = []
    with qtbot.waitSignal(jobs.failed, timeout=5000) as blocker:
        jobs.submit(lambda c, r: 1 / 0, on_error=errors.append, title="divide", visible=True)
    assert blocker.args[0] == "divide"
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ZeroDivisionError)


def test_cancel_token_stops_a_job(qtbot):
    jobs = Jobs()
    started = threading.Event()
    errors = []

    def work(cancel, report):
        started.set()
        while True:
            cancel.check()

    job = jobs.submit(work, on_error=errors.append)
    assert started.wait(5)
    job.cancel.cancel()
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert type(errors[0]).__name__ == "Cancelled"


def test_the_qt_binding_keeps_its_references_to_none_and_true():
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call and to True per emit, which ends a
    long session in "none_dealloc"; pyproject.toml pins PySide6 below 6.12. This fails on such a binding."""

    class Source(QObject):
        fired = Signal(int)

    source = Source()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(2000):
        emit(source.fired, i)
        source.setObjectName(f"s{i}")
    assert none_before - sys.getrefcount(None) < 1000
    assert true_before - sys.getrefcount(True) < 1000
