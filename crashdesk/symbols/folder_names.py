"""The top-level names of symbol folders, listed once and held for a short time (issue 24).

Most of a crash's modules have no symbols anywhere (system libraries), and each of them used to cost a ``stat``
of ``<folder>/<debug_file>/<DEBUG_ID>/<sym_file>`` in every symbol folder and in the cache. One listing of a
folder's top level, held for :data:`LISTING_TTL` seconds (and dropped with the chain's remembered misses), turns
those misses into set lookups; a name that is in the listing is still checked on disk as before, so the listing
only ever answers "certainly absent".

The answer errs towards "look on disk": names that are not ASCII are always looked up on disk, the listing is
compared case-insensitively (a case-insensitive file system finds ``XUL.pdb`` for ``xul.pdb``), a folder that
cannot be listed (no read permission) or holds more than :data:`MAX_NAMES` entries is not held at all.
"""

from __future__ import annotations

import _thread  # threading.Lock is _thread.allocate_lock: the lock without importing threading (~0.7 ms)
import os
import time
from collections.abc import Callable

LISTING_TTL = 1.0  # seconds; the worker's miss cache (services.worker.MISS_TTL) holds misses as long
MAX_NAMES = 10_000  # a larger folder is not listed (reading it would cost more than the stats it saves)


class _Listing:
    __slots__ = ("expires", "is_dir", "names")

    def __init__(self, expires: float, is_dir: bool | None, names: frozenset[str] | None) -> None:
        self.expires = expires
        self.is_dir = is_dir  # None: unknown (could not list it)
        self.names = names  # case-folded top-level names; None: not held (unreadable or too large)


def _list(folder: str, max_names: int) -> tuple[bool | None, frozenset[str] | None]:
    try:
        names = set()
        with os.scandir(folder) as it:
            for entry in it:
                if len(names) >= max_names:
                    return True, None
                names.add(entry.name.casefold())
        return True, frozenset(names)
    except (FileNotFoundError, NotADirectoryError):
        return False, frozenset()
    except (OSError, ValueError):  # permission denied (a child may still be reachable), a NUL in the path
        return None, None


class FolderNames:
    """Which names a folder's top level holds, relisted after ``ttl`` seconds or :meth:`clear`. Thread-safe."""

    def __init__(self, ttl: float = LISTING_TTL, max_names: int = MAX_NAMES,
                 clock: Callable[[], float] | None = None) -> None:
        self.ttl = ttl
        self.max_names = max_names
        self.clock = clock  # None: time.monotonic
        self._listings: dict[str, _Listing] = {}
        self._lock = _thread.allocate_lock()

    def _listing(self, folder: str) -> _Listing:
        now = self.clock() if self.clock is not None else time.monotonic()
        got = self._listings.get(folder)
        if got is not None and now < got.expires:
            return got
        is_dir, names = _list(folder, self.max_names)
        got = _Listing(now + self.ttl, is_dir, names)
        with self._lock:
            self._listings[folder] = got
        return got

    def may_hold(self, folder: str, name: str) -> bool:
        """False only when ``folder`` certainly has no entry ``name`` (by a listing at most ``ttl`` old)."""
        if not name.isascii():
            return True
        names = self._listing(folder).names
        return names is None or name.lower() in names

    def is_dir(self, folder: str) -> bool:
        """Whether ``folder`` is a directory (following symbolic links), as of its listing."""
        known = self._listing(folder).is_dir
        return os.path.isdir(folder) if known is None else known

    def clear(self) -> None:
        """Forget every listing: the next question lists the folder again."""
        with self._lock:
            self._listings.clear()
