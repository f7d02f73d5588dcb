"""The symbol supplier chain: local folders, then the user's cache, then HTTP servers, in the user's order.

:class:`SymbolChain` implements the engine's :class:`~crashdesk.engine.symbols_api.SymbolProvider`. Every
``lookup`` answers with a :class:`~crashdesk.engine.symbols_api.SymbolLookup` whose ``status`` says what
happened (``loaded``, ``missing``, ``corrupt``, ``error``) and whose ``note`` says why; ``extra`` carries the
source, a machine-readable ``reason`` and every attempt. Results are remembered for the life of the chain, and
definite misses on the servers go to a negative cache with an expiry.
"""

from __future__ import annotations

import _thread  # threading.Lock is _thread.allocate_lock: the lock without importing threading (~0.7 ms)
import os
from collections.abc import Callable, Collection, Iterable

from crashdesk.engine.native import SUPPORT_MISSING_NOTE, NativeFileError, native_support
from crashdesk.engine.record_class import Record
from crashdesk.engine.symbols_api import ModuleKey, SymbolLookup
from crashdesk.engine.symfile import DebugIdMismatch, SymbolFileError, load_symbol_file, parse_module_line
from crashdesk.symbols.cache import SymbolCache, remove_orphan_temps
from crashdesk.symbols.folder_names import FolderNames
from crashdesk.symbols.layout import (
    StorePath,
    UnsafeName,
    check_component,
    check_id,
    code_store_path,
    native_kind,
    native_supported,
    store_path,
)
from crashdesk.symbols.negcache import DEFAULT_TTL, NegativeCache
from crashdesk.symbols.options import HttpOptions

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from pathlib import Path

    from crashdesk.symbols.folder_index import FolderIndex, IndexedFile
    from crashdesk.symbols.http import Download, HttpSymbolServer


class FetchEvent(Record, slots=True):
    """Progress of a fetch: ``kind`` is ``start``, ``bytes`` or ``done``."""

    kind: str
    module: ModuleKey
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int | None = None
    status: str = ""
    note: str = ""


ProgressCallback = Callable[[FetchEvent], None]
SYSTEM_TEMP_PREFIX = "crashdesk-sym-"  # downloads without a cache folder: <system temp>/crashdesk-sym-<pid>-*


def has_source_lines(symbols) -> bool:
    """Whether loaded symbols map addresses to source lines: a native file read with debug info (DWARF, a PDB),
    or a ``.sym`` file with FILE records; not symbols from a symbol table alone (a stripped library)."""
    meta = getattr(symbols, "meta", None)
    if isinstance(meta, dict):  # a native debug file's conversion
        return "debug" in meta.get("features", ())
    counts = getattr(symbols, "counts", None)
    return bool(counts is not None and counts().get("files"))


def _key(rel: StorePath) -> str:
    return f"{rel.debug_file}/{rel.debug_id}"


def _folder_text(folder: str | os.PathLike[str]) -> str:
    """A folder's path as the chain records it: :func:`os.path.normpath`'s spelling (``./a/b/`` is ``a/b``)."""
    return os.path.normpath(folder)


def _child_prefix(folder: str) -> str:
    """What the chain puts before ``os.sep.join(parts)`` for a file in ``folder`` (``""`` for ``.``): paths of
    places tried are recorded without joining them for every miss."""
    return "" if folder == os.curdir else os.path.join(folder, "")


class SymbolChain:
    """Finds, downloads, caches and opens symbol files. Thread-safe; close it when done."""

    def __init__(self, symbol_paths: Iterable[str | os.PathLike[str]] = (), symbol_urls: Iterable[str] = (),
                 cache_dir: str | os.PathLike[str] | None = None, *, options: HttpOptions | None = None,
                 negative_ttl: float = DEFAULT_TTL, max_cache_bytes: int | None = None,
                 max_parallel: int = 4, client=None, sleep=None,
                 native_inlines: bool | Callable[[ModuleKey], bool] = True,
                 debuginfod_urls: Iterable[str] = ()) -> None:
        self.symbol_paths = [_folder_text(p) for p in symbol_paths]
        # top-level names of the symbol folders and the cache, held briefly: a miss costs set lookups
        self._names = FolderNames()
        self._roots = [(root, _child_prefix(root)) for root in self.symbol_paths]
        # inlined frames from native debug files (dump_syms --inlines); a callable decides per module
        self.native_inlines = native_inlines
        self._folder_indexes: dict[str, FolderIndex] = {}
        self.options = options or HttpOptions()
        self.cache = SymbolCache(cache_dir, max_cache_bytes) if cache_dir is not None else None
        self._cache_files = (self.cache.files, _child_prefix(self.cache.files)) if self.cache else ("", "")
        self.index_dir = self.cache.indexes if self.cache else None
        urls = list(symbol_urls)
        dbg_urls = list(dict.fromkeys(debuginfod_urls))
        if urls or dbg_urls:  # httpx is imported only when a server is configured (start-up time)
            from crashdesk.symbols.http import HttpSymbolServer, make_client
        self._own_client = client is None and bool(urls or dbg_urls)
        self.client = client if client is not None else (make_client(self.options) if urls or dbg_urls else None)
        kwargs = {"sleep": sleep} if sleep is not None else {}
        self.servers = [HttpSymbolServer(u, self.client, self.options, **kwargs) for u in urls]
        # debuginfod servers: asked for ELF debug files and executables by build id (native files only)
        self.debuginfod = [HttpSymbolServer(u, self.client, self.options, **kwargs) for u in dbg_urls]
        self.negative = NegativeCache(os.path.join(cache_dir, "symbols-misses.json") if cache_dir is not None
                                      else None, negative_ttl)
        self.max_parallel = max(1, max_parallel)
        self._results: dict[tuple, SymbolLookup] = {}
        self._locks: dict[tuple, _thread.LockType] = {}
        self._guard = _thread.allocate_lock()
        self._temps: list[Path] = []
        # downloads a killed process left behind (SIGKILL, power cut) go now, not a day later
        if self.cache is not None:
            self.cache.clean_temps()
        if self.servers:
            import tempfile

            remove_orphan_temps(tempfile.gettempdir(), SYSTEM_TEMP_PREFIX)

    # -- public API -----------------------------------------------------------------------------------
    def lookup(self, module: ModuleKey, *, on_bytes=None, cancel=None) -> SymbolLookup:
        """Symbols for ``module`` from the first source that has a usable file (remembered per chain)."""
        k = self._memo_key(module)
        with self._guard:
            if k in self._results:
                return self._results[k]
            lock = self._locks.setdefault(k, _thread.allocate_lock())
        with lock:
            with self._guard:
                if k in self._results:
                    return self._results[k]
            result = self._lookup(module, on_bytes, cancel)
            if result.extra.get("reason") != "cancelled":
                with self._guard:
                    self._results[k] = result
            return result

    def notes(self, only: Collection[tuple[str, str]] | None = None) -> dict[tuple[str, str], str]:
        """Why each remembered lookup found no usable symbols: (debug file, DEBUG ID) -> note; with ``only``,
        just for those modules (a long-lived worker remembers many crashes' modules)."""
        with self._guard:
            return {(k[0], k[1]): r.note or r.status for k, r in self._results.items()
                    if r.symbols is None and (only is None or (k[0], k[1]) in only)}

    def lookups(self, only: Collection[tuple[str, str]] | None = None) -> dict[tuple[str, str], dict]:
        """Every remembered lookup (with ``only``, those of these modules), for the explainer: (debug file,
        DEBUG ID) -> status, note, the source and file(s) used, and each place tried in order
        (:data:`SymbolLookup.extra` ``attempts``)."""
        from crashdesk.symbols.explain import record_from_lookup

        with self._guard:
            items = [(k, r) for k, r in self._results.items() if only is None or (k[0], k[1]) in only]
        return {(k[0], k[1]): record_from_lookup(r) for k, r in items}

    def forget_misses(self) -> int:
        """Drop remembered lookups that found no usable symbols, so the next lookup looks again (a long-lived
        worker must see a symbol file added since). Loaded files stay open and warm; HTTP misses are still
        held back by the negative cache. Returns how many were dropped."""
        with self._guard:
            misses = [k for k, r in self._results.items() if r.symbols is None]
            for k in misses:
                del self._results[k]
        self._names.clear()
        return len(misses)

    @staticmethod
    def _memo_key(module: ModuleKey) -> tuple:
        return (module.debug_file, module.debug_id.upper(), module.code_file, module.code_id.upper())

    def fetch_many(self, modules: Iterable[ModuleKey], *, progress: ProgressCallback | None = None,
                   cancel=None, retry_misses: bool = False) -> dict[ModuleKey, SymbolLookup]:
        """Look up many modules, downloading up to ``max_parallel`` at a time; report progress."""
        mods = list(dict.fromkeys(modules))
        total = len(mods)
        done = 0
        done_lock = _thread.allocate_lock()
        out: dict[ModuleKey, SymbolLookup] = {}
        if retry_misses:
            self._names.clear()
            for m in mods:
                try:
                    self.negative.forget(_key(store_path(m)))
                except UnsafeName:
                    pass
                with self._guard:  # forget this chain's own answer too, unless it had symbols
                    k = self._memo_key(m)
                    if k in self._results and self._results[k].symbols is None:
                        del self._results[k]

        def one(m: ModuleKey) -> None:
            nonlocal done
            if cancel is not None and cancel.is_set():
                out[m] = SymbolLookup(None, "missing", "cancelled", extra={"reason": "cancelled"})
                return
            if progress:
                progress(FetchEvent("start", m, done, total))

            def on_bytes(n: int, of: int | None) -> None:
                if progress:
                    progress(FetchEvent("bytes", m, done, total, n, of))

            res = self.lookup(m, on_bytes=on_bytes, cancel=cancel)
            out[m] = res
            with done_lock:
                done += 1
                d = done
            if progress:
                progress(FetchEvent("done", m, d, total, status=res.status, note=res.note))

        if self.max_parallel == 1 or total <= 1:
            for m in mods:
                one(m)
        else:
            from concurrent.futures import ThreadPoolExecutor  # only here: it imports logging

            with ThreadPoolExecutor(self.max_parallel, thread_name_prefix="symfetch") as pool:
                for f in [pool.submit(one, m) for m in mods]:
                    f.result()
        return {m: out[m] for m in mods}

    def prune_cache(self, max_bytes: int | None = None):
        """Evict least recently used cache entries (see :meth:`SymbolCache.prune`)."""
        if self.cache is None:
            return []
        with self._guard:
            keep = {r.extra["path"] for r in self._results.values() if r.symbols and "path" in r.extra}
        return self.cache.prune(max_bytes, keep)

    def close(self) -> None:
        with self._guard:
            results, self._results = self._results, {}
        for r in results.values():
            if r.symbols is not None and hasattr(r.symbols, "close"):
                r.symbols.close()
        if self._own_client and self.client is not None:
            self.client.close()
        for tmp in self._temps:
            try:
                tmp.unlink()
            except OSError:
                pass
        self._temps = []

    def __enter__(self) -> SymbolChain:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the chain ------------------------------------------------------------------------------------
    def _open(self, path: str | os.PathLike[str], expected_id: str, source: str, attempts: list, url: str | None = None, *,
              keep_corrupt: bool = True):
        try:
            sym = load_symbol_file(path, expected_id, self.index_dir)
        except DebugIdMismatch as exc:
            attempts.append({"source": source, "result": "corrupt", "note": f"MODULE line mismatch: {exc.found}"})
            return None
        except SymbolFileError as exc:
            attempts.append({"source": source, "result": "corrupt", "note": str(exc)})
            return None
        note = "loaded from " + source
        if sym.malformed_lines:
            # minidump-stackwalk does not use a file with a line it cannot parse: it reports the module's
            # symbols as corrupt (the stackwalk does the same with this file); the note says where
            first = sym.malformed_examples[0] if sym.malformed_examples else "unparsable line"
            more = f" (and {sym.malformed_lines - 1} more)" if sym.malformed_lines > 1 else ""
            note = f"corrupt symbol file {path}: {first}{more}"
            if not keep_corrupt:  # a download or a cache entry: not kept, so that a fixed file is fetched
                attempts.append({"source": source, "result": "corrupt", "url": url, "note": note})
                sym.close()
                return None
        symbol_url = url or (sym.urls[-1] if sym.urls else None)
        return SymbolLookup(sym, "loaded", note, symbol_url,
                            extra={"source": source, "path": str(path), "attempts": attempts,
                                   "malformed_lines": sym.malformed_lines, "reason": "loaded"})

    def folder_index(self, root: str | os.PathLike[str]) -> FolderIndex:
        """The (persisted) index of native debug files in one symbol folder."""
        # only a module without a .sym file in the folders looks at their native files
        from crashdesk.symbols.folder_index import FolderIndex

        root = _folder_text(root)
        with self._guard:
            idx = self._folder_indexes.get(root)
            if idx is None:
                store = os.path.join(self.cache.root, "folder-index") if self.cache is not None else None
                idx = self._folder_indexes[root] = FolderIndex(root, store)
        return idx

    def _native_from_cache(self, module: ModuleKey, rel: StorePath, attempts: list,
                           local: list[str] | tuple = ()) -> SymbolLookup | None:
        """The module's native debug files from the cache. Most modules have no cache folder: that is answered
        here, and the native fetcher (:mod:`~crashdesk.symbols.native_fetch`) is imported only when there is one."""
        if native_kind(module) is None or not native_supported():
            return None
        if not self.cache_may_hold(rel.debug_file):  # the module has no folder in the cache
            attempts.append({"source": "cache (native)", "result": "not_found", "path": self.cache_folder_text(rel)})
            return None
        # the module's cache folder exists
        from crashdesk.symbols.native_fetch import NativeRemote

        return NativeRemote(self, local).from_cache(module, rel, attempts)

    def cache_may_hold(self, debug_file: str) -> bool:
        """False when the cache folder certainly has no ``debug_file`` folder. Only a chain without servers
        trusts a listing of the cache: a chain with servers writes downloads there itself."""
        if self.cache is None:
            return False
        if self.servers or self.debuginfod:
            return True
        return self._names.may_hold(self._cache_files[0], debug_file)

    def cache_folder_text(self, rel: StorePath) -> str:
        """``str(cache.files / debug_file / debug_id)``, spelled without building the path."""
        return self._cache_files[1] + rel.debug_file + os.sep + rel.debug_id

    def _inlines_for(self, module: ModuleKey) -> bool:
        return bool(self.native_inlines(module)) if callable(self.native_inlines) else bool(self.native_inlines)

    def _build_folder_files(self, module: ModuleKey, attempts: list) -> list[tuple[str, str, IndexedFile]]:
        """The files of the symbol folders' indexes for the module, matched by debug id, else code id, never by
        file name: (source, path, entry), best first. The files of every folder are ranked together
        (:func:`folder_index.rank`): a .sym, then debug information, then a symbol table, then unwind tables."""
        roots = [r for r, _ in self._roots if self._names.is_dir(r)]
        if not roots:
            return []
        if not native_support():
            attempts.append({"source": "native debug files", "result": "unsupported", "native": True,
                             "note": SUPPORT_MISSING_NOTE})
        from crashdesk.symbols.folder_index import rank  # with folder_index() below

        found: list[tuple[str, str, IndexedFile]] = []  # (source, absolute path, entry), folder by folder
        for root in roots:
            source = f"build folder {root}"
            idx = self.folder_index(root)
            entries = rank(idx.find(module.debug_id, module.code_id))
            if not entries:
                note = "no file with this debug id or code id in the folder index"
                bad = idx.stats.errors
                if bad:
                    note += f" ({len(bad)} damaged object file{'s' if len(bad) != 1 else ''} skipped: " \
                            f"{bad[0]['path']}: {bad[0]['error']}{', ...' if len(bad) > 1 else ''})"
                attempts.append({"source": source, "result": "not_found", "native": True, "note": note,
                                 "damaged_files": bad[:20]})
                continue
            found += [(source, idx.abspath(e), e) for e in entries]
        best = {id(e): n for n, e in enumerate(rank([e for _, _, e in found]))}  # stable: folder order on ties
        found.sort(key=lambda item: best[id(item[2])])
        return found

    def _from_build_folders(self, module: ModuleKey, found: list[tuple[str, str, IndexedFile]],
                            attempts: list) -> SymbolLookup | None:
        """The first usable file of :meth:`_build_folder_files`. A file whose debug id is not the module's is
        never used. A native file is read with the others of its debug id as companions, wherever they are: a
        stripped library in one folder and its detached debug file in a ``.build-id`` tree in another
        (``/usr/lib`` and ``/usr/lib/debug``) give names and lines from the one and unwind tables from the
        other."""
        for source, path, e in found:
            if e.kind == "breakpad":
                opened = self._open(path, module.debug_id, source, attempts)
                if opened:
                    return opened
                continue
            from crashdesk.engine.native.symbols import load_native_symbols  # a native file, not a .sym

            companions = [p for _, p, x in found if x is not e and x.kind != "breakpad" and x.debug_id == e.debug_id]
            try:
                sym = load_native_symbols(path, module, self.index_dir, companions=companions,
                                          inlines=self._inlines_for(module))
            except DebugIdMismatch as exc:
                attempts.append({"source": source, "result": "corrupt", "native": True, "path": path,
                                 "note": f"{os.path.basename(path)}: debug id {exc.found}, not {exc.expected} "
                                         "(matched by code id; not used)"})
                continue
            except NativeFileError as exc:
                attempts.append({"source": source, "result": "corrupt", "native": True, "path": path,
                                 "note": str(exc)})
                continue
            except Exception as exc:  # anything else the native reader raises: this file only
                attempts.append({"source": source, "result": "error", "native": True, "path": path,
                                 "note": f"{os.path.basename(path)}: cannot convert: {type(exc).__name__}: {exc}"})
                continue
            attempts.append({"source": source, "result": "loaded", "native": True, "path": path,
                             "kind": e.kind, "conversion": sym.index_state, "companions": companions})
            # the files it was made of: functions and lines from one, unwind tables from the same or another
            used = [f for f in dict.fromkeys((sym.meta.get("symbols_from"), sym.meta.get("cfi_from"))) if f]
            return SymbolLookup(sym, "loaded", f"loaded from native {e.kind.upper()} file {path}", None,
                                extra={"source": source, "path": path, "files": used or [path], "native": True,
                                       "kind": e.kind, "conversion": sym.index_state, "attempts": attempts,
                                       "malformed_lines": 0, "reason": "loaded"})
        return None

    def _lookup(self, module: ModuleKey, on_bytes, cancel) -> SymbolLookup:
        attempts: list[dict] = []
        try:
            rel: StorePath | None = store_path(module)
        except UnsafeName as exc:
            rel = None
            unsafe = str(exc)
        code_rel = code_store_path(module)
        if rel is None and code_rel is None:
            return SymbolLookup(None, "missing", f"unusable module identifiers: {unsafe}",
                                extra={"reason": "unsafe_name", "attempts": attempts})
        if not self.symbol_paths and self.cache is None and not self.servers and not self.debuginfod:
            return SymbolLookup(None, "missing", "no symbol sources configured",
                                extra={"reason": "no_sources", "attempts": attempts})

        if rel is not None:
            for root, prefix in self._roots:
                p = prefix + os.sep.join(rel.parts)
                if not self._names.may_hold(root, rel.debug_file):  # no such folder: nothing to stat
                    attempts.append({"source": f"folder {root}", "result": "not_found", "path": p})
                    continue
                if os.path.isfile(p):
                    found = self._open(p, rel.debug_id, f"folder {root}", attempts)
                    if found:
                        return found
                else:
                    attempts.append({"source": f"folder {root}", "result": "not_found", "path": p})
            files = self._build_folder_files(module, attempts)
            if files and not (files[0][2].kind == "breakpad" or files[0][2].has_debug_info) and (
                    self.cache is not None or self.servers or self.debuginfod):
                # the best local file holds a symbol table alone (a stripped library): the cache and the servers
                # may have the module's debug information, which is used when they do; else the local file
                local = [p for _, p, e in files if e.kind != "breakpad"]
                other = self._after_folders(module, rel, code_rel, on_bytes, cancel, attempts, local)
                if other.symbols is not None and has_source_lines(other.symbols):
                    return other
                found = self._from_build_folders(module, files, attempts)
                if found is None:
                    return other
                if other.symbols is not None:
                    other.symbols.close()
                return found
            found = self._from_build_folders(module, files, attempts)
            if found:
                return found
        return self._after_folders(module, rel, code_rel, on_bytes, cancel, attempts)

    def _after_folders(self, module: ModuleKey, rel: StorePath | None, code_rel: StorePath | None, on_bytes,
                       cancel, attempts: list, local: list[str] | tuple = ()) -> SymbolLookup:
        """The lookup after the symbol folders: the cache, then the servers. ``local``: the module's native files
        in the symbol folders, read as companions of a native file from the cache or a server."""
        if rel is not None:
            if self.cache is not None and not self.cache_may_hold(rel.debug_file):
                attempts.append({"source": "cache", "result": "not_found",
                                 "path": self._cache_files[1] + os.sep.join(rel.parts)})
                found = self._native_from_cache(module, rel, attempts, local)
                if found:
                    return found
            elif self.cache is not None:
                p = self.cache.path_for(rel)
                if os.path.isfile(p):
                    found = self._open(p, rel.debug_id, "cache", attempts, keep_corrupt=False)
                    if found:
                        self.cache.touch(p)
                        return found
                    self._discard(p)  # a bad cached file is not used again
                else:
                    attempts.append({"source": "cache", "result": "not_found", "path": p})
                found = self._native_from_cache(module, rel, attempts, local)
                if found:
                    return found

        if self.servers or self.debuginfod:
            neg_key = _key(rel) if rel is not None else _key(code_rel)
            miss = self.negative.get(neg_key)
            asked = [s.base_url for s in self.servers] + [f"debuginfod {s.base_url}" for s in self.debuginfod]
            if miss is not None and "servers" in miss and not set(asked) <= set(miss["servers"]):
                miss = None  # a server added since the miss was remembered: ask again
            if miss is not None:
                attempts.append({"source": "negative cache", "result": "cached_miss", "until": miss["until"],
                                 "note": "the servers did not have it when last asked"})
                return self._finish_missing(attempts, cached_miss=miss)
            for server in self.servers:
                found = self._from_server(server, rel, code_rel, on_bytes, cancel, attempts)
                if found is not None:
                    return found
                if attempts and attempts[-1]["result"] == "cancelled":
                    return SymbolLookup(None, "missing", "cancelled", extra={"reason": "cancelled",
                                                                             "attempts": attempts})
            if rel is not None:  # native debug files (.sym first, as above, wherever a server has both)
                # servers are asked: the native fetcher
                from crashdesk.symbols.native_fetch import NativeRemote

                found = NativeRemote(self, local).from_servers(module, rel, on_bytes, cancel, attempts)
                if found is not None:
                    return found
                if attempts and attempts[-1]["result"] == "cancelled":
                    return SymbolLookup(None, "missing", "cancelled", extra={"reason": "cancelled",
                                                                             "attempts": attempts})
            if all(a["result"] in ("not_found",) for a in attempts if a.get("http")):
                self.negative.add(neg_key, "not found", len(self.servers) + len(self.debuginfod), servers=asked)
        return self._finish_missing(attempts)

    def _from_server(self, server: HttpSymbolServer, rel, code_rel, on_bytes, cancel, attempts):
        targets = []
        if rel is not None:
            targets.append((rel, True))
        if code_rel is not None:
            targets.append((code_rel, False))
        for target, direct in targets:
            dl = server.download(target, self._temp_factory(), follow_redirects=direct, on_bytes=on_bytes,
                                 cancel=cancel)
            if dl.status == "redirect":
                from crashdesk.symbols.http import parse_code_redirect

                debug_rel = parse_code_redirect(dl.location)
                if debug_rel is None:
                    attempts.append({"source": server.base_url, "http": True, "result": "not_found",
                                     "url": dl.url, "note": "code-id redirect without a usable location"})
                    continue
                dl = server.download(debug_rel, self._temp_factory(), on_bytes=on_bytes, cancel=cancel)
                target = debug_rel
            if dl.status != "ok":
                attempts.append({"source": server.base_url, "http": True, "result": dl.status, "url": dl.url,
                                 "note": dl.note, "http_status": dl.http_status})
                if dl.status == "cancelled":
                    return None
                continue
            found = self._accept_download(dl, target, rel, attempts, server)
            if found is not None:
                return found
        return None

    def _accept_download(self, dl: Download, target: StorePath, rel: StorePath | None, attempts, server):
        tmp = dl.temp_path
        assert tmp is not None
        try:
            with open(tmp, "rb") as f:
                head = parse_module_line(f.readline(4096), dl.url)
            debug_file = check_component(head.debug_file.replace("\\", "/").split("/")[-1])
            debug_id = check_id(head.debug_id)
        except (SymbolFileError, UnsafeName, OSError) as exc:
            tmp.unlink(missing_ok=True)
            attempts.append({"source": server.base_url, "http": True, "result": "corrupt", "url": dl.url,
                             "note": f"not a usable symbol file: {exc}"})
            return None
        want_id = rel.debug_id if rel is not None else target.debug_id
        if debug_id != want_id:
            tmp.unlink(missing_ok=True)
            attempts.append({"source": server.base_url, "http": True, "result": "corrupt", "url": dl.url,
                             "note": f"MODULE line mismatch: {debug_id}"})
            return None
        final_rel = rel if rel is not None else StorePath(debug_file, debug_id, target.sym_file)
        if self.cache is not None:
            dest = self.cache.path_for(final_rel)
            try:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.replace(tmp, dest)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                if not os.path.isfile(dest):  # e.g. a folder in the way, or the disk is full
                    attempts.append({"source": server.base_url, "http": True, "result": "error", "url": dl.url,
                                     "note": f"cannot store the download in the cache: {exc}"})
                    return None
                # another process stored the same file meanwhile (Windows refuses to replace a mapped file)
            self.cache.touch(dest)
            if self.cache.max_bytes is not None:
                self.cache.prune(keep={dest})
        else:
            dest = tmp  # no cache folder: use the temporary file directly, delete it on close()
            with self._guard:
                self._temps.append(tmp)
        found = self._open(dest, want_id, server.base_url, attempts, url=dl.url, keep_corrupt=False)
        if found is None:
            attempts[-1]["http"] = True
            self._discard(dest)
        return found

    def _temp_factory(self):
        if self.cache is not None:
            return self.cache.new_temp
        import tempfile
        from pathlib import Path  # downloads only

        def factory():
            fd, name = tempfile.mkstemp(prefix=f"{SYSTEM_TEMP_PREFIX}{os.getpid()}-", suffix=".sym")
            return fd, Path(name)

        return factory

    def _discard(self, path: str | os.PathLike[str]) -> None:
        """Remove a bad file from the cache (a file elsewhere is left alone)."""
        if self.cache is not None and os.fspath(path).startswith(self._cache_files[1]):
            self.cache.remove(path)

    def _finish_missing(self, attempts: list[dict], cached_miss: dict | None = None) -> SymbolLookup:
        corrupt = [a for a in attempts if a["result"] == "corrupt"]
        errors = [a for a in attempts if a["result"] == "error"]
        sources = len(self.symbol_paths) + (1 if self.cache else 0) + len(self.servers) + len(self.debuginfod)
        if corrupt:
            return SymbolLookup(None, "corrupt", corrupt[0].get("note", "corrupt symbol file"),
                                corrupt[0].get("url"), extra={"reason": "corrupt", "attempts": attempts})
        if errors:
            return SymbolLookup(None, "missing", errors[0].get("note", "download failed"), errors[0].get("url"),
                                extra={"reason": "server_error", "attempts": attempts})
        if cached_miss is not None:
            return SymbolLookup(None, "missing", "not found (remembered miss on the symbol servers)",
                                extra={"reason": "cached_miss", "attempts": attempts, "until": cached_miss["until"]})
        note = f"not found in {sources} source{'s' if sources != 1 else ''}"
        damaged = sum(len(a.get("damaged_files", ())) for a in attempts)
        if damaged:
            note += f"; {damaged} damaged native file{'s' if damaged != 1 else ''} skipped in the build folders"
        if any(a["result"] == "unsupported" for a in attempts):
            note += f"; {SUPPORT_MISSING_NOTE}"
        return SymbolLookup(None, "missing", note, extra={"reason": "not_found", "attempts": attempts})
