"""Native debug files from servers: PDB/PE from Microsoft-style symbol servers, ELF from debuginfod.

Used by :class:`~crashdesk.symbols.chain.SymbolChain` after the ``.sym`` lookups (``.sym`` first wherever a
server serves both, as Tecken does). Every downloaded file is checked against the module (debug id, or code id
for a PE image) before it is kept: a file that is another module's is deleted, never cached, never used, and
its attempt says why. Accepted files go to the cache beside the ``.sym`` files
(``<cache>/symbols/<debug_file>/<DEBUG_ID>/<name>``), so the next run finds them with no request and the
cache's LRU limit covers them.
"""

from __future__ import annotations

import os

from crashdesk.engine.record_class import Record
from crashdesk.engine.symbols_api import ModuleKey, SymbolLookup
from crashdesk.symbols.layout import (
    StorePath,
    leaf_name,
    native_kind,
    native_supported,
    symstore_pdb_key,
    symstore_pe_key,
)
from crashdesk.symbols.remote_native import (
    CAB_MAGIC,
    RemoteFileRejected,
    compressed_name,
    debuginfod_targets,
    parse_file_ptr,
    unpack_cab,
    verify_native,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from pathlib import Path

    from crashdesk.symbols.chain import SymbolChain
    from crashdesk.symbols.http import HttpSymbolServer


class _Got(Record, slots=True):
    path: str | os.PathLike[str]  # a cache file (str), or a download's temporary file (Path) without a cache
    url: str | None
    features: frozenset
    source: str
    arch: str = ""


class NativeRemote:
    """The native part of one chain's lookups (shares the chain's cache, temporary files and servers)."""

    def __init__(self, chain: SymbolChain, local: list[str] | tuple = ()) -> None:
        self.chain = chain
        # the module's files in the symbol folders (a stripped library's symbol table and unwind tables), read
        # as companions of what the cache or a server gives (its debug information)
        self.local = list(local)

    def _cached_names(self, module: ModuleKey, rel: StorePath) -> tuple[list[str], list[str]]:
        """(debug-file names, unwind-file names) this module's native files have in the cache folder."""
        kind = native_kind(module)
        if kind == "pdb":
            pe = symstore_pe_key(module)
            return [rel.debug_file], [pe[0]] if pe else []
        if kind == "elf":
            return [f"{rel.debug_file}.debug"], [rel.debug_file]
        return [], []

    # -- the cache ------------------------------------------------------------------------------------
    def from_cache(self, module: ModuleKey, rel: StorePath, attempts: list) -> SymbolLookup | None:
        """The module's native files in its cache folder (the chain has checked the module wants one, native files
        are supported and the folder may exist: ``SymbolChain._native_from_cache``)."""
        cache = self.chain.cache
        assert cache is not None
        folder = os.path.join(cache.files, rel.debug_file, rel.debug_id)
        debug_names, unwind_names = self._cached_names(module, rel)
        primary = next((p for n in debug_names if os.path.isfile(p := os.path.join(folder, n))), None)
        unwind = next((p for n in unwind_names if os.path.isfile(p := os.path.join(folder, n))), None)
        if primary is None and unwind is None:
            attempts.append({"source": "cache (native)", "result": "not_found", "path": folder})
            return None
        main = primary or unwind
        assert main is not None
        got = [_Got(main, None, frozenset(), "cache")]
        if primary is not None and unwind is not None:
            got.append(_Got(unwind, None, frozenset(), "cache"))
        found = self._load(module, got, "cache", attempts)
        if found is None:
            for g in got:
                self.chain._discard(g.path)
        else:
            cache.touch(main)
        return found

    # -- servers --------------------------------------------------------------------------------------
    def from_servers(self, module: ModuleKey, rel: StorePath, on_bytes, cancel, attempts: list):
        kind = native_kind(module)
        if kind is None:
            return None
        servers = self.chain.servers if kind == "pdb" else self.chain.debuginfod
        if not servers:
            return None
        if not native_supported():
            from crashdesk.engine.native import SUPPORT_MISSING_NOTE

            attempts.append({"source": "native debug files", "result": "unsupported", "note": SUPPORT_MISSING_NOTE})
            return None
        if kind == "pdb":
            return self._windows(module, rel, servers, on_bytes, cancel, attempts)
        return self._elf(module, rel, servers, on_bytes, cancel, attempts)

    def _windows(self, module, rel, servers, on_bytes, cancel, attempts):
        name, key = symstore_pdb_key(module)
        pdb = None
        for server in servers:
            pdb = self._symstore(server, name, key, "pdb", module, rel, on_bytes, cancel, attempts)
            if pdb is not None or _cancelled(attempts):
                break
        if pdb is None:
            return None
        got = [pdb]
        pe_key = symstore_pe_key(module)
        if pe_key is not None and self._needs_image(pdb):
            for server in servers:
                pe = self._symstore(server, pe_key[0], pe_key[1], "pe", module, rel, on_bytes, cancel, attempts)
                if pe is not None:
                    got.append(pe)
                    break
                if _cancelled(attempts):
                    return None
        return self._load(module, got, pdb.source, attempts)

    @staticmethod
    def _needs_image(pdb: _Got) -> bool:
        """x64 (and ARM64) unwind tables live in the PE image, not the PDB; x86 frame data is in the PDB."""
        return "unwind" not in pdb.features or pdb.arch != "x86"

    def _elf(self, module, rel, servers, on_bytes, cancel, attempts):
        targets = debuginfod_targets(module, rel.debug_file)
        debuginfo, executable = targets
        got: list[_Got] = []
        for server in servers:
            g = self._one(server, debuginfo.path, "debuginfo", debuginfo.cache_name, module, rel, on_bytes, cancel,
                          attempts)
            if g is not None:
                got.append(g)
                break
            if _cancelled(attempts):
                return None
        if not got or "unwind" not in got[0].features:
            for server in servers:
                g = self._one(server, executable.path, "executable", executable.cache_name, module, rel, on_bytes,
                              cancel, attempts)
                if g is not None:
                    got.append(g)
                    break
                if _cancelled(attempts):
                    return None
        if not got:
            return None
        return self._load(module, got, got[0].source, attempts)

    def _symstore(self, server, name, key, role, module, rel, on_bytes, cancel, attempts) -> _Got | None:
        """``name/key/name``, then the CAB-compressed ``name/key/nam_``, then ``name/key/file.ptr``."""
        from urllib.parse import quote  # a server lookup only (urllib.parse imports ipaddress)

        base = f"{quote(name, safe='')}/{quote(key, safe='')}/"
        got = self._one(server, base + quote(name, safe=""), role, name, module, rel, on_bytes, cancel, attempts)
        if got is not None or attempts[-1]["result"] != "not_found":
            return got
        got = self._one(server, base + quote(compressed_name(name), safe=""), role, name, module, rel, on_bytes,
                        cancel, attempts, cab_member=name)
        if got is not None or attempts[-1]["result"] != "not_found":
            return got
        url = f"{server.base_url}/{base}file.ptr"
        dl = server.fetch(url, self.chain._temp_factory(), on_bytes=None, cancel=cancel, append_url=False,
                          max_bytes=4096)
        entry = {"source": server.base_url, "http": True, "kind": role, "url": url, "http_status": dl.http_status}
        if dl.status == "ok" and dl.temp_path is not None:
            text = dl.temp_path.read_bytes()[:4096].decode("utf-8", "replace")
            dl.temp_path.unlink(missing_ok=True)
            attempts.append({**entry, "result": "not_found", "note": parse_file_ptr(text)})
        else:
            attempts.append({**entry, "result": dl.status, "note": dl.note})
        return None

    def _one(self, server: HttpSymbolServer, path: str, role: str, cache_name: str, module: ModuleKey,
             rel: StorePath, on_bytes, cancel, attempts: list, cab_member: str | None = None) -> _Got | None:
        url = f"{server.base_url}/{path}"
        dl = server.fetch(url, self.chain._temp_factory(), on_bytes=on_bytes, cancel=cancel, append_url=False)
        entry = {"source": server.base_url, "http": True, "kind": role, "url": url, "http_status": dl.http_status}
        if dl.status != "ok" or dl.temp_path is None:
            attempts.append({**entry, "result": dl.status, "note": dl.note})
            return None
        tmp = dl.temp_path
        try:
            if cab_member is not None or _starts_with(tmp, CAB_MAGIC):
                unpacked = unpack_cab(tmp, cab_member or leaf_name(cache_name), self.chain._temp_factory(),
                                      self.chain.options.max_bytes)
                tmp.unlink(missing_ok=True)
                tmp = unpacked
            features, arch = verify_native(tmp, module, role)
        except RemoteFileRejected as exc:
            tmp.unlink(missing_ok=True)
            attempts.append({**entry, "result": "corrupt", "note": f"rejected {role} file: {exc}"})
            return None
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            attempts.append({**entry, "result": "error", "note": f"cannot read the download: {exc}"})
            return None
        dest = self._keep(tmp, rel, cache_name)
        if dest is None:
            attempts.append({**entry, "result": "error", "note": "cannot store the download in the cache"})
            return None
        attempts.append({**entry, "result": "downloaded", "path": str(dest), "bytes": dl.size})
        return _Got(dest, url, features, server.base_url, arch)

    def _keep(self, tmp: Path, rel: StorePath, cache_name: str) -> str | Path | None:
        chain = self.chain
        if chain.cache is None:
            with chain._guard:
                chain._temps.append(tmp)
            return tmp
        dest = os.path.join(chain.cache.files, rel.debug_file, rel.debug_id, cache_name)
        try:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.replace(tmp, dest)
        except OSError:
            tmp.unlink(missing_ok=True)
            if not os.path.isfile(dest):
                return None
        chain.cache.touch(dest)
        if chain.cache.max_bytes is not None:
            chain.cache.prune(keep={dest})
        return dest

    # -- loading --------------------------------------------------------------------------------------
    def _load(self, module: ModuleKey, got: list[_Got], source: str, attempts: list) -> SymbolLookup | None:
        from crashdesk.engine.native.symbols import load_native_symbols
        from crashdesk.engine.symfile import SymbolFileError

        try:
            # functions and lines from the file with debug info, CFI from the one with unwind tables
            symbols = load_native_symbols(got[0].path, module, self.chain.index_dir,
                                          companions=[*(g.path for g in got[1:]), *self.local],
                                          inlines=self.chain._inlines_for(module))
        except (SymbolFileError, OSError) as exc:  # NativeFileError, DebugIdMismatch, an unreadable file
            attempts.append({"source": source, "result": "corrupt", "kind": "native", "path": str(got[0].path),
                             "note": f"cannot convert {os.path.basename(got[0].path)}: {exc}"})
            return None
        files = [str(g.path) for g in got] + self.local
        where = "cache" if source == "cache" else source
        note = f"loaded native {', '.join(os.path.basename(f) for f in files)} from {where}"
        url = got[0].url
        return SymbolLookup(symbols, "loaded", note, url,
                            extra={"source": source, "path": files[0], "files": files, "kind": "native", "native": True,
                                   "attempts": attempts, "malformed_lines": 0, "reason": "loaded"})


def _cancelled(attempts: list) -> bool:
    return bool(attempts) and attempts[-1].get("result") == "cancelled"


def _starts_with(path: str | os.PathLike[str], magic: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(magic)) == magic
    except OSError:
        return False
