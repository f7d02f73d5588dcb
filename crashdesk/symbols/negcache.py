"""A negative cache: which modules were *not found* on the symbol servers, and until when to believe it.

Only definite misses (HTTP 404 and other 4xx answers) are remembered; server errors, rate limiting and network
failures are not, so the next attempt retries them. The record is one small JSON file shared by processes
(written to a temporary name, then renamed); a damaged file is treated as empty.
"""

from __future__ import annotations

import _thread  # threading.Lock is _thread.allocate_lock: the lock without importing threading (~0.7 ms)
import json
import os
import time

DEFAULT_TTL = 12 * 3600.0


class NegativeCache:
    """Misses keyed by ``<debug_file>/<DEBUG_ID>``, each with an expiry time."""

    def __init__(self, path: str | os.PathLike[str] | None, ttl: float = DEFAULT_TTL, clock=time.time) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.ttl = ttl
        self._clock = clock
        self._lock = _thread.allocate_lock()
        self._mem: dict[str, dict] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.path is None:
            return
        try:
            with open(self.path, encoding="utf-8") as f:
                obj = json.loads(f.read())
            if isinstance(obj, dict):
                self._mem = {k: v for k, v in obj.items() if isinstance(v, dict) and "until" in v}
        except (OSError, ValueError):
            self._mem = {}

    def _save(self) -> None:
        if self.path is None:
            return
        now = self._clock()
        live = {k: v for k, v in self._mem.items() if float(v.get("until", 0)) > now}
        self._mem = live
        import tempfile  # only when a server's miss is recorded (it imports random and weakref)

        try:
            folder = os.path.dirname(self.path)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".neg-", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(live, f)
            os.replace(tmp, self.path)
        except OSError:
            pass

    def get(self, key: str) -> dict | None:
        """The live miss record for ``key`` (``{"until", "reason", "sources"}``), else None."""
        with self._lock:
            self._load()
            rec = self._mem.get(key)
            if rec is None:
                return None
            if float(rec.get("until", 0)) <= self._clock():
                return None
            return dict(rec)

    def add(self, key: str, reason: str, sources: int, servers: list[str] | None = None) -> None:
        """Remember a miss; ``servers`` (the URLs asked) lets a caller with more servers ask again."""
        with self._lock:
            self._loaded = False
            self._load()  # merge with what other processes wrote
            rec = {"until": self._clock() + self.ttl, "reason": reason, "sources": sources}
            if servers is not None:
                rec["servers"] = list(servers)
            self._mem[key] = rec
            self._save()

    def forget(self, key: str | None = None) -> None:
        """Drop one record, or all with ``key=None`` (e.g. "fetch missing symbols" retries)."""
        with self._lock:
            self._loaded = False
            self._load()
            if key is None:
                self._mem.clear()
            else:
                self._mem.pop(key, None)
            self._save()
