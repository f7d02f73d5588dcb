"""The user's symbol cache: ``<cache>/symbols/<debug_file>/<DEBUG_ID>/<sym_file>`` plus ``<cache>/symindex/``.

The files use the standard store layout, so ``minidump-stackwalk --symbols-path <cache>/symbols`` can read them
too. Each entry folder holds an empty ``.last-used`` marker whose modification time is refreshed whenever the
entry is used; eviction removes the least recently used entries until the cache fits its size limit. (The
``.sym`` file's own mtime is left alone because its index is keyed on it.)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from crashdesk.engine.record_class import record
from crashdesk.engine.symfile import index_path_for
from crashdesk.symbols.layout import StorePath

MARKER = ".last-used"
TMP_DIR = ".tmp"
TEMP_PREFIX = "dl-"
UNOWNED_TEMP_AGE = 3600.0  # a temporary file without a process id (older versions) is an orphan after this


@record(frozen=True, slots=True)
class CacheEntry:
    path: Path  # the .sym file
    size: int
    last_used: float


class SymbolCache:
    """Files in the standard layout under ``root/symbols`` and their indexes under ``root/symindex``."""

    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.files = self.root / "symbols"
        self.indexes = self.root / "symindex"
        self.max_bytes = max_bytes

    def path_for(self, rel: StorePath) -> Path:
        return self.files.joinpath(*rel.parts)

    def tmp_dir(self) -> Path:
        d = self.files / TMP_DIR
        d.mkdir(parents=True, exist_ok=True)
        return d

    def new_temp(self) -> tuple[int, Path]:
        """A new ``.part`` file for a download, named with this process's id so that a later start can tell
        a file left by a killed process from one still being written (:func:`remove_orphan_temps`)."""
        import tempfile  # only for a download (with random and weakref, ~2 ms of a stackwalk's start)

        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".part", dir=self.tmp_dir())
        return fd, Path(name)

    def clean_temps(self) -> int:
        """Remove the ``.part`` files of downloads whose process is gone (killed mid-download); returns how
        many. Run when a symbol chain starts."""
        return remove_orphan_temps(self.files / TMP_DIR, TEMP_PREFIX)

    def touch(self, sym_path: Path) -> None:
        """Mark the entry of ``sym_path`` as just used."""
        marker = sym_path.parent / MARKER
        try:
            marker.touch()
            os.utime(marker)
        except OSError:
            pass

    def entries(self) -> list[CacheEntry]:
        out = []
        if not self.files.is_dir():
            return out
        for first in self.files.iterdir():
            if first.name == TMP_DIR or not first.is_dir():
                continue
            for second in first.iterdir():
                if not second.is_dir():
                    continue
                try:
                    marker_time = (second / MARKER).stat().st_mtime
                except OSError:
                    marker_time = 0.0
                for f in second.iterdir():
                    if f.name == MARKER or not f.is_file():
                        continue
                    st = f.stat()
                    out.append(CacheEntry(f, st.st_size, max(marker_time, st.st_mtime)))
        return out

    def total_bytes(self) -> int:
        """Bytes held by symbol files and indexes."""
        return sum(e.size for e in self.entries()) + sum(size for _p, size, _m in self._index_files())

    def remove(self, entry_path: Path) -> None:
        """Delete a cached ``.sym`` file, its index and (when empty) its folders."""
        try:
            index_path_for(self.indexes, entry_path).unlink()
        except OSError:
            pass
        try:
            entry_path.unlink()
        except OSError:
            pass
        folder = entry_path.parent
        if not any(p.name != MARKER for p in folder.iterdir()):
            import shutil  # only when evicting (it imports bz2 and lzma)

            shutil.rmtree(folder, ignore_errors=True)
            try:
                folder.parent.rmdir()
            except OSError:
                pass

    def prune(self, max_bytes: int | None = None, keep: set[Path] | None = None) -> list[CacheEntry]:
        """Evict least recently used entries until the cache holds at most ``max_bytes``; return the evicted.

        When the symbol files are gone and it is still too big, the least recently used indexes of files kept
        elsewhere (local symbol folders) go too. Also removes stale temporary files (older than a day).
        ``keep`` protects files in use.
        """
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
                idx_size = index_path_for(self.indexes, e.path).stat().st_size
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
                    idx.unlink()
                    total -= size
                except OSError:
                    pass
        return evicted

    def _index_files(self) -> list[tuple[Path, int, float]]:
        out = []
        if self.indexes.is_dir():
            for dirpath, _dirs, names in os.walk(self.indexes):
                for n in names:
                    p = Path(dirpath) / n
                    try:
                        st = p.stat()
                    except OSError:
                        continue
                    out.append((p, st.st_size, st.st_mtime))
        return out

    def _clean_tmp(self) -> None:
        tmp = self.files / TMP_DIR
        if not tmp.is_dir():
            return
        cutoff = time.time() - 86400
        for f in tmp.iterdir():
            try:
                if f.stat().st_mtime < cutoff:
                    f.unlink()
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


def remove_orphan_temps(folder: Path, prefix: str, *, max_age: float = 86400.0) -> int:
    """Delete ``<prefix><pid>-*`` files in ``folder`` whose process no longer runs, files with that prefix but
    no process id older than an hour, and any of them older than ``max_age``. Returns how many went."""
    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return 0
    now = time.time()
    for name in names:
        path = Path(folder) / name
        head = name[len(prefix):].split("-", 1)[0]
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        if head.isdigit() and "-" in name[len(prefix):]:
            orphan = not _alive(int(head)) or age > max_age
        else:
            orphan = age > UNOWNED_TEMP_AGE
        if orphan:
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
    return removed
