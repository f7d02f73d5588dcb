"""One collector per data folder: ``<data>/collector/collector.lock``.

The running collector holds an exclusive OS lock on that file (released by the OS however the process ends,
``kill -9`` included) and publishes where it listens in ``<data>/collector/collector.json`` (``host``,
``port``, ``pid``, ``submit_url``, ``started``; written atomically). :func:`find_running_collector` lets the app or a second ``crashdesk collector`` learn it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from crashdesk.collector.errors import CollectorAlreadyRunning, CollectorError

if sys.platform == "win32":  # pragma: no cover - exercised on Windows builds only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / "collector" / "collector.lock"


def info_path(data_dir: Path) -> Path:
    return Path(data_dir) / "collector" / "collector.json"


@dataclass(frozen=True)
class RunningCollector:
    """Where the collector serving a data folder listens."""

    data_dir: Path
    pid: int | None
    host: str | None
    port: int | None
    submit_url: str | None

    @property
    def base_url(self) -> str | None:
        return self.submit_url.removesuffix("/submit") if self.submit_url else None


def _read_info(path: Path, data_dir: Path) -> RunningCollector:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict):
        info = {}
    return RunningCollector(Path(data_dir), info.get("pid"), info.get("host"), info.get("port"),
                            info.get("submit_url"))


def find_running_collector(data_dir: Path, wait: float = 2.0) -> RunningCollector | None:
    """The collector serving ``data_dir``, or None when none runs. Waits up to ``wait`` seconds for a
    collector that is starting to publish its address."""
    path = lock_path(data_dir)
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            _unlock(fd)
            return None
    finally:
        os.close(fd)
    deadline = time.monotonic() + wait
    running = _read_info(info_path(data_dir), data_dir)
    while running.submit_url is None and time.monotonic() < deadline:
        time.sleep(0.05)
        running = _read_info(info_path(data_dir), data_dir)
    return running


class InstanceLock:
    """Held by the running collector for its whole life."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = lock_path(self.data_dir)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`CollectorAlreadyRunning`."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CollectorError(f"cannot create {self.path}: {exc}") from exc
        if not _try_lock(fd):
            os.close(fd)
            running = find_running_collector(self.data_dir)
            if running is None:  # it stopped meanwhile: one more try
                return self.acquire()
            raise CollectorAlreadyRunning(running)
        self._fd = fd
        self.clear()  # left by a collector that was killed

    def publish(self, host: str, port: int, submit_url: str) -> None:
        """Write where this collector listens into the lock file."""
        assert self._fd is not None
        info = {"pid": os.getpid(), "host": host, "port": port, "submit_url": submit_url,
                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        target = info_path(self.data_dir)
        tmp = target.with_name(f".collector-{os.getpid()}.json")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, target)

    def clear(self) -> None:
        """Forget the published address (before taking the lock's address over)."""
        try:
            os.unlink(info_path(self.data_dir))
        except OSError:
            pass

    def release(self) -> None:
        if self._fd is not None:
            self.clear()
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None
