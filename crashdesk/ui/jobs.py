"""Background work for the UI: nothing slow runs on the GUI thread.

``Jobs.submit(fn, ...)`` runs ``fn(cancel, report)`` on a pool thread and delivers the result, the failure or
progress back on the GUI thread through Qt signals. Reads go to a general pool; anything that writes to the
store goes to a one-thread pool so writes are serialised. ``Jobs`` also keeps the list of running jobs so the
status bar can show what is going on.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from crashdesk.ui.qt import QObject, QRunnable, Qt, QThreadPool, Signal, Slot, emit

_QUEUED = Qt.ConnectionType.QueuedConnection


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set."""


class CancelToken:
    """A flag a job checks between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def is_set(self) -> bool:
        """``threading.Event`` spelling, for services that take an event as their cancel flag."""
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


ProgressFn = Callable[[float, str], None]


class JobSignals(QObject):
    finished = Signal(object)  # the callable's return value
    failed = Signal(object)  # the exception instance
    progress = Signal(float, str)  # fraction 0..1 (negative: unknown), status text
    done = Signal()  # after finished or failed


class Job(QRunnable):
    """Run ``fn(cancel, report)`` on a pool thread and report back by signals."""

    def __init__(self, fn: Callable[[CancelToken, ProgressFn], Any], title: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python keeps the reference (Jobs._running) until `done`
        self.signals = JobSignals()
        self.cancel = CancelToken()
        self.title = title
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn(self.cancel, lambda fraction, text="": emit(self.signals.progress, fraction, text))
        except Exception as exc:  # noqa: BLE001 - boundary: hand it to the UI
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            emit(self.signals.failed, exc)
        else:
            emit(self.signals.finished, result)
        emit(self.signals.done)


class Jobs(QObject):
    """The UI's job runner: a read pool, a serial write pool, and the set of visible jobs."""

    changed = Signal()  # a visible job started, progressed or ended
    failed = Signal(str, object)  # title, exception of a visible job that failed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.read_pool = QThreadPool(self)
        self.read_pool.setMaxThreadCount(max(2, min(4, QThreadPool.globalInstance().maxThreadCount())))
        self.write_pool = QThreadPool(self)
        self.write_pool.setMaxThreadCount(1)
        self._running: set[Job] = set()
        self.visible: dict[Job, tuple[float, str]] = {}
        self._callbacks: dict[JobSignals, tuple[Job, Any, Any, Any]] = {}

    def submit(
        self,
        fn: Callable[[CancelToken, ProgressFn], Any],
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        title: str = "",
        write: bool = False,
        visible: bool = False,
    ) -> Job:
        """Start ``fn`` in the background; callbacks run on the GUI thread."""
        job = Job(fn, title)
        self._callbacks[job.signals] = (job, on_done, on_error, on_progress)
        # Connect to this QObject's own slots (queued): when the owner (and so this object) is deleted, Qt
        # drops the connections and no callback runs against a dead widget.
        job.signals.finished.connect(self._on_job_finished, _QUEUED)
        job.signals.failed.connect(self._on_job_failed, _QUEUED)
        job.signals.progress.connect(self._on_job_progress, _QUEUED)
        job.signals.done.connect(self._on_job_done, _QUEUED)
        if visible:
            self.visible[job] = (-1.0, title)
            emit(self.changed)
        self._running.add(job)
        (self.write_pool if write else self.read_pool).start(job)
        return job

    def _entry(self) -> tuple[Job, Any, Any, Any] | None:
        return self._callbacks.get(self.sender())

    @Slot(object)
    def _on_job_finished(self, result: object) -> None:
        entry = self._entry()
        if entry and entry[1] is not None:
            entry[1](result)

    @Slot(object)
    def _on_job_failed(self, exc: object) -> None:
        entry = self._entry()
        if entry is None:
            return
        if entry[0] in self.visible:
            emit(self.failed, entry[0].title, exc)
        if entry[2] is not None:
            entry[2](exc)

    @Slot(float, str)
    def _on_job_progress(self, fraction: float, text: str) -> None:
        entry = self._entry()
        if entry is None:
            return
        self._on_progress(entry[0], fraction, text)
        if entry[3] is not None:
            entry[3](fraction, text)

    @Slot()
    def _on_job_done(self) -> None:
        entry = self._callbacks.pop(self.sender(), None)
        if entry is not None:
            self._on_done(entry[0])

    def _on_progress(self, job: Job, fraction: float, text: str) -> None:
        if job in self.visible:
            self.visible[job] = (fraction, text or job.title)
            emit(self.changed)

    def _on_done(self, job: Job) -> None:
        self._running.discard(job)
        if self.visible.pop(job, None) is not None:
            emit(self.changed)

    def cancel_all(self) -> None:
        for job in list(self._running):
            job.cancel.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until both pools are idle (tests and shutdown)."""
        ok = self.read_pool.waitForDone(msecs)
        return self.write_pool.waitForDone(msecs) and ok

    @property
    def busy(self) -> bool:
        return bool(self._running)
