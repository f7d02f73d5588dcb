"""The user's symbol cache: ``<cache>/symbols/<debug_file>/<DEBUG_ID>/<sym_file>`` plus ``<cache>/symindex/``.

The files use the standard store layout, so ``minidump-stackwalk --symbols-path <cache>/symbols`` can read them
too. Each entry folder holds an empty ``.last-used`` marker whose modification time is refreshed whenever the
entry is used; eviction removes the least recently used entries until the cache fits its size limit. (The
``.sym`` file's own mtime is left alone because its index is keyed on it.)
"""

from __future__ import annotations

import os
import time

from crashdesk.engine.record_class import Record
from crashdesk.engine.symfile import index_path_for
from crashdesk.symbols.layout import StorePath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from pathlib import Path

MARKER = ".last-used"
TMP_DIR = ".tmp"
TEMP_PREFIX = "dl-"
UNOWNED_TEMP_AGE = 3600.0  # a temporary file without a process id (older versions) is an orphan after this


class CacheEntry(Record, frozen=True, slots=True):
    path: str  # the .sym file
    size: int
    last_used: float


class SymbolCache:
    """Files in the standard layout under ``root/symbols`` and their indexes under ``root/symindex``."""

    def __init__(self, root: str | os.PathLike[str], max_bytes: int | None = None) -> None:
        self.root = os.fspath(root)
        self.files = os.path.join(self.root, "symbols")
        self.indexes = os.path.join(self.root, "symindex")
        self.max_bytes = max_bytes

    def path_for(self, rel: StorePath) -> str:
        return os.path.join(self.files, *rel.parts)

    def tmp_dir(self) -> str:
        d = os.path.join(self.files, TMP_DIR)
        os.makedirs(d, exist_ok=True)
        return d

    def new_temp(self) -> tuple[int, Path]:
        """A new ``.part`` file for a download, named with this process's id so that a later start can tell
        a file left by a killed process from one still being written (:func:`remove_orphan_temps`)."""
        import tempfile  # only for a download (with random and weakref, ~2 ms of a stackwalk's start)
        from pathlib import Path  # a download's file is a Path (the HTTP client's); the chain's own are str

        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".part", dir=self.tmp_dir())
        return fd, Path(name)

    def clean_temps(self) -> int:
        """Remove the ``.part`` files of downloads whose process is gone (killed mid-download); returns how
        many. Run when a symbol chain starts."""
        return remove_orphan_temps(os.path.join(self.files, TMP_DIR), TEMP_PREFIX)

    def touch(self, sym_path: str | os.PathLike[str]) -> None:
        """Mark the entry of ``sym_path`` as just used."""
        marker = os.path.join(os.path.dirname(sym_path), MARKER)
        try:
            os.utime(marker)
        except FileNotFoundError:
            try:
                os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o666))
            except OSError:
                pass
        except OSError:
            pass

    def entries(self) -> list[CacheEntry]:
        out = []
        if not os.path.isdir(self.files):
            return out
        for first in os.scandir(self.files):
            if first.name == TMP_DIR or not first.is_dir():
                continue
            for second in os.scandir(first.path):
                if not second.is_dir():
                    continue
                try:
                    marker_time = os.stat(os.path.join(second.path, MARKER)).st_mtime
                except OSError:
                    marker_time = 0.0
                for f in os.scandir(second.path):
                    if f.name == MARKER or not f.is_file():
                        continue
                    st = f.stat()
                    out.append(CacheEntry(f.path, st.st_size, max(marker_time, st.st_mtime)))
        return out

    def total_bytes(self) -> int:
        """Bytes held by symbol files and indexes."""
        return sum(e.size for e in self.entries()) + sum(size for _p, size, _m in self._index_files())

    def remove(self, entry_path: str | os.PathLike[str]) -> None:
        """Delete a cached ``.sym`` file, its index and (when empty) its folders."""
        try:
            os.unlink(index_path_for(self.indexes, entry_path))
        except OSError:
            pass
        try:
            os.unlink(entry_path)
        except OSError:
            pass
        folder = os.path.dirname(entry_path)
        if not any(name != MARKER for name in os.listdir(folder)):
            import shutil  # only when evicting (it imports bz2 and lzma)

            shutil.rmtree(folder, ignore_errors=True)
            try:
                os.rmdir(os.path.dirname(folder))
            except OSError:
                pass

    def prune(self, max_bytes: int | None = None, keep: set[str] | None = None) -> list[CacheEntry]:
        """Evict least recently used entries until the cache holds at most ``max_bytes``; return the evicted.

        When the symbol files are gone and it is still too big, the least recently used indexes of files kept
        elsewhere (local symbol folders) go too. Also removes stale temporary files (older than a day).
        ``keep`` protects files in use (paths as :meth:`path_for` spells them).
        """
        keep = {os.fspath(k) for k in keep} if keep else None
        limit = self.max_bytes if max_bytes is None else max_bytes
        self._clean_tmp()
        if limit is None:
            return []
        entries = sorted(self.entries(), key=lambda e: e.last_used)
        total = self.total_bytes()
        evicted = []
        for e in entries:
            if total <= limit:
                break
            if keep and e.path in keep:
                continue
            try:
                idx_size = os.stat(index_path_for(self.indexes, e.path)).st_size
            except OSError:
                idx_size = 0
            self.remove(e.path)
            total -= e.size + idx_size
            evicted.append(e)
        if total > limit:
            # Indexes of files outside the cache (local symbol folders) are rebuildable: drop the oldest.
            keep_idx = {index_path_for(self.indexes, k) for k in keep or ()}
            for idx, size, _mtime in sorted(self._index_files(), key=lambda t: t[2]):
                if total <= limit:
                    break
                if idx in keep_idx:
                    continue
                try:
                    os.unlink(idx)
                    total -= size
                except OSError:
                    pass
        return evicted

    def _index_files(self) -> list[tuple[str, int, float]]:
        out = []
        if os.path.isdir(self.indexes):
            for dirpath, _dirs, names in os.walk(self.indexes):
                for n in names:
                    p = os.path.join(dirpath, n)
                    try:
                        st = os.stat(p)
                    except OSError:
                        continue
                    out.append((p, st.st_size, st.st_mtime))
        return out

    def _clean_tmp(self) -> None:
        tmp = os.path.join(self.files, TMP_DIR)
        if not os.path.isdir(tmp):
            return
        cutoff = time.time() - 86400
        for f in os.scandir(tmp):
            try:
                if f.stat().st_mtime < cutoff:
                    os.unlink(f.path)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no cheap, safe liveness check: the age rule below applies
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, under another user
        return True
    return True


def remove_orphan_temps(folder: str | os.PathLike[str], prefix: str, *, max_age: float = 86400.0) -> int:
    """Delete ``<prefix><pid>-*`` files in ``folder`` whose process no longer runs, files with that prefix but
    no process id older than an hour, and any of them older than ``max_age``. Returns how many went."""
    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return 0
    now = time.time()
    for name in names:
        path = os.path.join(folder, name)
        head = name[len(prefix):].split("-", 1)[0]
        try:
            age = now - os.stat(path).st_mtime
        except OSError:
            continue
        if head.isdigit() and "-" in name[len(prefix):]:
            orphan = not _alive(int(head)) or age > max_age
        else:
            orphan = age > UNOWNED_TEMP_AGE
        if orphan:
            try:
                os.unlink(path)
                removed += 1
            except OSError:
                pass
    return removed
