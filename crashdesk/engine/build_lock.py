"""One builder per machine for files kept in the cache (``.sym`` indexes, native SymCache conversions).

Several worker processes meet the same module on a first pass. Without coordination each would scan the same
``.sym`` file or convert the same debug file and write the same result. :func:`build_lock` is an exclusive
advisory lock on a ``.lock`` file beside the result: the first process builds, the others wait for it and
then find the result valid (callers check again after taking the lock). The lock is released when the
process lets go of it or dies (the kernel drops it with the descriptor), so a killed builder never blocks
the others. Where the folder cannot hold a lock file the build goes ahead unlocked, as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def build_lock(target: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the machine-wide lock for building ``target`` (lock file ``<target>.lock``)."""
    lock_path = f"{target}.lock"
    try:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:  # the folder is made on the first build in it, not checked on every one
            os.makedirs(os.path.dirname(lock_path), exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield
        return
    try:
        _lock(fd)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock(fd: int) -> None:
    """Block until the exclusive lock on ``fd`` is held."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # gives up after about 10 s: try again
                return
            except OSError:
                continue
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)
