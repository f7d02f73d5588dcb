"""An index of a build folder's native debug files (and loose ``.sym`` files) by debug id and code id.

A folder is walked once: every file's first bytes are sniffed (non-object files cost one small read), object
files are identified with :func:`crashdesk.engine.native.identify`. The index is kept on disk, keyed by the
folder, with the size and mtime of every object file and the mtime of every directory; the next start checks
those (directories for added or removed files, object files for changes) instead of reading the folder again,
and a re-scan reads only what changed.
"""

from __future__ import annotations

import _thread  # threading.Lock is _thread.allocate_lock: the lock without importing threading (~0.7 ms)
import json
import os
import time
from collections.abc import Callable

from crashdesk.engine.native import native_support, sniff_kind
from crashdesk.engine.native.ids import SNIFF_BYTES, normalize_breakpad_id
from crashdesk.engine.record_class import Record, field
from crashdesk.engine.symfile import SymbolFileError, parse_module_line
from crashdesk.engine.symfile.indexfile import name_key

INDEX_VERSION = 1
MAX_FILES = 1_000_000  # a folder larger than this is refused rather than walked for hours

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from threading import Event


class IndexedFile(Record, frozen=True, slots=True):
    path: str  # relative to the folder, "/"-separated
    kind: str  # elf, pe, pdb, macho, breakpad
    debug_id: str
    code_id: str
    arch: str
    has_symbols: bool
    has_unwind: bool
    has_debug_info: bool


class ScanStats(Record, slots=True):
    files_seen: int = 0
    objects: int = 0  # files holding at least one object (or a .sym MODULE line)
    identified: int = 0  # files actually opened this time (new or changed)
    reused: int = 0  # files whose entry was kept (size and mtime unchanged)
    skipped: int = 0  # not an object file
    errors: list[dict] = field(default_factory=list)  # {"path", "error"} for damaged object files
    seconds: float = 0.0
    from_disk: bool = False  # the persisted index was valid and used without walking the folder


Progress = Callable[[int, str], None]  # (files seen so far, current path)


def _dir_key(folder: str) -> str:
    return name_key(str(folder))  # the stored index names its folder, checked on load


class FolderIndex:
    """The debug id / code id -> files map of one folder. Thread-safe for lookups after :meth:`load_or_scan`."""

    def __init__(self, folder: str | os.PathLike[str], store_dir: str | os.PathLike[str] | None = None) -> None:
        self.folder = os.path.realpath(folder)
        self.store_path = (os.path.join(store_dir, f"{_dir_key(self.folder)}.json") if store_dir is not None
                           else None)
        self.files: dict[str, dict] = {}  # rel path -> {"size", "mtime_ns", "objects": [IndexedFile dicts]}
        self.dirs: dict[str, int] = {}  # rel dir -> mtime_ns
        self.by_debug_id: dict[str, list[IndexedFile]] = {}
        self.by_code_id: dict[str, list[IndexedFile]] = {}
        self.stats = ScanStats()
        self._lock = _thread.allocate_lock()
        self._ready = False

    # -- lookups ----------------------------------------------------------------------------------------
    def find(self, debug_id: str = "", code_id: str = "") -> list[IndexedFile]:
        """Files holding an object of ``debug_id`` (else, with no such file, of ``code_id``)."""
        self.load_or_scan()
        if debug_id:
            hit = self.by_debug_id.get(normalize_breakpad_id(debug_id))
            if hit:
                return list(hit)
        if code_id:
            return list(self.by_code_id.get(code_id.upper(), ()))
        return []

    def abspath(self, entry: IndexedFile) -> str:
        return os.path.join(self.folder, entry.path.replace("/", os.sep))

    def ids(self) -> set[str]:
        self.load_or_scan()
        return set(self.by_debug_id)

    # -- building ---------------------------------------------------------------------------------------
    def load_or_scan(self, progress: Progress | None = None, cancel: Event | None = None,
                     force: bool = False) -> ScanStats:
        with self._lock:
            if self._ready and not force:
                return self.stats
            started = time.perf_counter()
            if not force and self._load_valid():
                good = sum(1 for rec in self.files.values() if rec.get("objects"))
                self.stats = ScanStats(files_seen=len(self.files), objects=good, reused=len(self.files),
                                       from_disk=True)
            else:
                self._scan(progress, cancel)
            self._rebuild_maps()
            self.stats.errors = [{"path": rel, "error": rec["error"]} for rel, rec in sorted(self.files.items())
                                 if rec.get("error")]
            self.stats.seconds = time.perf_counter() - started
            self._ready = not (cancel is not None and cancel.is_set())
            return self.stats

    def _load_valid(self) -> bool:
        """Use the persisted index when no directory changed and no object file changed."""
        if self.store_path is None:
            return False
        try:
            data = _read_json(self.store_path)
            if data.get("version") != INDEX_VERSION or data.get("folder") != str(self.folder):
                return False
            if data.get("native_support") != native_support():
                return False
            files, dirs = data["files"], data["dirs"]
            for rel, mtime in dirs.items():
                if os.stat(os.path.join(self.folder, rel)).st_mtime_ns != mtime:
                    return False
            for rel, rec in files.items():
                st = os.stat(os.path.join(self.folder, rel))
                if st.st_size != rec["size"] or st.st_mtime_ns != rec["mtime_ns"]:
                    return False
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        self.files, self.dirs = files, dirs
        return True

    def _scan(self, progress: Progress | None, cancel: Event | None) -> None:
        old = self.files
        if not old and self.store_path is not None:  # a re-scan reuses unchanged entries of the stored index
            try:
                data = _read_json(self.store_path)
                if data.get("version") == INDEX_VERSION and data.get("native_support") == native_support():
                    old = data.get("files", {})
            except (OSError, ValueError, AttributeError):
                old = {}
        stats = ScanStats()
        files: dict[str, dict] = {}
        dirs: dict[str, int] = {}
        support = native_support()
        pending: list[tuple[str, str, os.stat_result]] = []  # object files to identify: (full, rel, stat)
        for dirpath, dirnames, filenames in os.walk(self.folder, followlinks=False):
            if cancel is not None and cancel.is_set():
                break
            dirnames[:] = sorted(d for d in dirnames if d not in (".git", ".svn", "__pycache__", "node_modules"))
            rel_dir = os.path.relpath(dirpath, self.folder)
            try:
                dirs["" if rel_dir == "." else rel_dir.replace(os.sep, "/")] = os.stat(dirpath).st_mtime_ns
            except OSError:
                continue
            for name in filenames:
                if stats.files_seen >= MAX_FILES or (cancel is not None and cancel.is_set()):
                    break
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, self.folder).replace(os.sep, "/")
                stats.files_seen += 1
                if progress is not None and stats.files_seen % 50 == 0:
                    progress(stats.files_seen, rel)
                try:
                    st = os.stat(full)  # a symlinked file counts; symlinked folders are not followed
                except OSError:
                    continue
                if not _is_regular(st) or st.st_size < 16:
                    stats.skipped += 1
                    continue
                prev = old.get(rel)
                if prev is not None and prev["size"] == st.st_size and prev["mtime_ns"] == st.st_mtime_ns:
                    files[rel] = prev
                    stats.reused += 1
                    stats.objects += 1 if prev.get("objects") else 0
                    continue
                kind, objects = _sniff(full, rel)
                if kind is None or (kind != "breakpad" and not support):
                    stats.skipped += 1
                elif objects is not None:  # a .sym file: its MODULE line is all we need
                    files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "objects": objects}
                    stats.identified += 1
                    stats.objects += 1
                else:
                    pending.append((full, rel, st))
        if pending and not (cancel is not None and cancel.is_set()):
            from crashdesk.engine.native.identify import identify_in_process
            from crashdesk.engine.native.isolate import map_isolated

            for i, status, value in map_isolated(identify_in_process, [p[0] for p in pending]):
                _full, rel, st = pending[i]
                if progress is not None and i % 20 == 0:
                    progress(stats.files_seen, rel)
                if status != "ok":  # kept (with its size and mtime) so an unchanged bad file is not read again
                    files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "objects": [],
                                  "error": str(value)}
                    stats.skipped += 1
                    continue
                objects = [{"path": rel, "kind": o.kind, "debug_id": o.debug_id, "code_id": o.code_id,
                            "arch": o.arch, "has_symbols": o.has_symbols, "has_unwind": o.has_unwind,
                            "has_debug_info": o.has_debug_info} for o in value if o.debug_id.strip("0")]
                if not objects:  # relocatable objects (.o) and files without an id cannot be matched
                    stats.skipped += 1
                    continue
                stats.identified += 1
                stats.objects += 1
                files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "objects": objects}
        self.files, self.dirs, self.stats = files, dirs, stats
        if progress is not None:
            progress(stats.files_seen, "")
        if self.store_path is not None and not (cancel is not None and cancel.is_set()):
            try:
                os.makedirs(os.path.dirname(self.store_path), exist_ok=True)
                # a temporary file of this process and thread: workers scan the same folders at once, and a
                # shared name would let one move the other's half-written file into place
                tmp = f"{self.store_path}.{os.getpid()}-{_thread.get_ident()}.part"
                try:
                    with open(tmp, "w", encoding="utf-8") as f:
                        f.write(json.dumps({"version": INDEX_VERSION, "folder": self.folder,
                                            "native_support": support, "files": files, "dirs": dirs}))
                    os.replace(tmp, self.store_path)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            except OSError:
                pass  # an unwritable cache costs a re-walk next time, nothing else

    def _rebuild_maps(self) -> None:
        by_debug: dict[str, list[IndexedFile]] = {}
        by_code: dict[str, list[IndexedFile]] = {}
        for rec in self.files.values():
            for o in rec.get("objects", ()):
                entry = IndexedFile(**o)
                by_debug.setdefault(entry.debug_id, []).append(entry)
                if entry.code_id:
                    by_code.setdefault(entry.code_id, []).append(entry)
        self.by_debug_id, self.by_code_id = by_debug, by_code


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.loads(f.read())


def _sniff(full: str, rel: str) -> tuple[str | None, list[dict] | None]:
    """The file's kind from its first bytes; for a .sym file also its (one) entry from the MODULE line."""
    try:
        with open(full, "rb") as f:
            head = f.read(SNIFF_BYTES)
            kind = sniff_kind(head)
            if kind == "elf" and len(head) >= 18:
                e_type = int.from_bytes(head[16:18], "little" if head[5] == 1 else "big")
                if e_type in (1, 4):  # relocatable objects (.o) and core files: no build id to match
                    return None, None
            if kind != "breakpad":
                return kind, None
            f.seek(0)
            line = f.readline(4096)
    except OSError:
        return None, None
    try:
        mod = parse_module_line(line, rel)
    except SymbolFileError:
        return None, None
    return kind, [{"path": rel, "kind": "breakpad", "debug_id": normalize_breakpad_id(mod.debug_id),
                   "code_id": (mod.code_id or "").upper(), "arch": mod.arch, "has_symbols": True,
                   "has_unwind": True, "has_debug_info": True}]


def _is_regular(st: os.stat_result) -> bool:
    import stat

    return stat.S_ISREG(st.st_mode)


def rank(entries: list[IndexedFile]) -> list[IndexedFile]:
    """Best file first: a Breakpad .sym, then debug info, then a symbol table, then unwind-only files."""
    return sorted(entries, key=lambda e: (e.kind != "breakpad", not e.has_debug_info, not e.has_symbols,
                                          not e.has_unwind, e.path))
