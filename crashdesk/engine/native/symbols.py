"""A native debug file answering as the engine's :class:`~crashdesk.engine.symbols_api.SymbolFile`.

Conversion happens once per debug id: ``symbolic`` turns the object into a *SymCache* (functions, inlined
calls, file/line) and a *CfiCache* (Breakpad ``STACK CFI`` / ``STACK WIN`` text, from ``.eh_frame``/
``.debug_frame``, PE x64 unwind info or PDB frame data). Both are written into the symbol index folder::

    <index_dir>/native/<DEBUG_ID>/meta.json     format version, sources (path, size, mtime), sha256 of each file
                                  symbols.symcache  memory-mapped by symbolic for lookups
                                  cfi.sym       a Breakpad file with only STACK records, read through the
                                                ``.sym`` index like any other symbol file

and reused while the sources are unchanged, the versions match and the checksums hold; anything else
rebuilds. The files sit under the cache's index folder, so the cache's LRU size limit covers them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from bisect import bisect_right
from collections import OrderedDict
from pathlib import Path

from crashdesk.engine.build_lock import build_lock
from crashdesk.engine.native.errors import NativeFileError
from crashdesk.engine.native.identify import _objects, open_archive
from crashdesk.engine.native.ids import breakpad_debug_id, normalize_breakpad_id
from crashdesk.engine.native.names import display_name
from crashdesk.engine.symbols_api import (
    CfiRules,
    FunctionInfo,
    InlineInfo,
    ModuleKey,
    SourceLine,
    StackWinInfo,
)
from crashdesk.engine.symfile import DebugIdMismatch, SymbolFileError, load_symbol_file

FORMAT_VERSION = 5
_LOOKUP_CACHE = 4096
# How far back a line or inlined call's start is looked for, a byte at a time (see
# NativeSymbolFile._range_start). A line of code is rarely more than a few dozen bytes; in libc.so.6's 118,666
# line records the longest is 6,014 bytes.
_RANGE_WALK = 8192
_OS_BY_KIND = {"elf": "Linux", "pe": "windows", "pdb": "windows", "macho": "mac", "breakpad": "unknown"}


def _symcache_version() -> int:
    from symbolic.symcache import SYMCACHE_LATEST_VERSION

    return int(SYMCACHE_LATEST_VERSION)


def _identity(p: Path) -> dict:
    st = os.stat(p)
    return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class _Source:
    """One native file opened with symbolic, with the object of the wanted debug id."""

    def __init__(self, path: Path, debug_id: str) -> None:
        self.path = path
        self.archive, self.kind, self.sections = open_archive(path)
        found = []
        self.obj = None
        for _i, obj in _objects(self.archive, path, self.kind):
            try:
                oid = breakpad_debug_id(obj.debug_id)
            except Exception as exc:
                raise NativeFileError(f"{path}: damaged object: {exc}") from exc
            if oid == debug_id:
                self.obj = obj
                break
            found.append(oid)
        if self.obj is None:
            raise DebugIdMismatch(str(path), debug_id, ", ".join(found) or "none")
        try:
            self.features = self.obj.features
            self.arch = self.obj.arch
            self.code_id = (self.obj.code_id or "").upper()
        except Exception as exc:
            raise NativeFileError(f"{path}: damaged object: {exc}") from exc


def _cfi_text(sources: list[_Source]) -> tuple[bytes, _Source | None]:
    """Breakpad STACK records from the first source with unwind tables (``.eh_frame``, PE x64 unwind info, PDB
    frame data)."""
    for s in sorted(sources, key=lambda s: "unwind" not in s.features):
        try:
            text = s.obj.make_cficache().open_stream().read()
        except Exception:
            continue  # a file without unwind tables: try the next one
        if text.strip():
            return text, s
    return b"", None


def _write_cfi(entry: Path, main: _Source, sources: list[_Source], module: ModuleKey,
               index_dir: Path | None) -> _Source | None:
    """cfi.sym (a MODULE line and the STACK records), and its index when ``index_dir`` is given."""
    cfi_text, cfi_from = _cfi_text(sources)
    os_name = _OS_BY_KIND.get(main.kind, "unknown")
    name = (module.debug_file or main.path.name).replace("\\", "/").split("/")[-1] or main.path.name
    head = f"MODULE {os_name} {main.arch} {module.debug_id.upper()} {name}\n".encode()
    tmp = entry / f"cfi.sym.{os.getpid()}.part"
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(cfi_text)
        if cfi_text and not cfi_text.endswith(b"\n"):
            f.write(b"\n")
    os.replace(tmp, entry / "cfi.sym")
    if index_dir is not None:  # build the .sym index now, beside the SymCache conversion
        load_symbol_file(entry / "cfi.sym", module.debug_id.upper(), index_dir).close()
    return cfi_from


def _convert(entry: Path, main: _Source, companions: list[_Source], module: ModuleKey,
             index_dir: Path | None = None) -> None:
    """Write the SymCache, the CFI .sym, the symbol table and meta.json of one module into ``entry`` (each file
    atomically). The CFI and symbol-table work runs beside the SymCache's (symbolic releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    entry.mkdir(parents=True, exist_ok=True)
    sources = [main, *companions]
    # Functions and lines: the object with debug info, else the one with a symbol table.
    sym_src = next((s for s in sources if "debug" in s.features), None) or \
        next((s for s in sources if "symtab" in s.features), main)
    with ThreadPoolExecutor(2, thread_name_prefix="native-convert") as pool:
        cfi_job = pool.submit(_write_cfi, entry, main, sources, module, index_dir)
        publics_job = None
        if sym_src.kind == "elf":
            from crashdesk.engine.native.elfsyms import function_symbols

            # All function symbols; which of them Breakpad would write as PUBLIC (no FUNC at the same address)
            # is decided at lookup time, for the few addresses that fall in a gap between functions.
            publics_job = pool.submit(function_symbols, sym_src.path)
        try:
            symcache = sym_src.obj.make_symcache()
            tmp = entry / f"symbols.symcache.{os.getpid()}.part"
            with open(tmp, "wb") as f:
                symcache.dump_into(f)
            os.replace(tmp, entry / "symbols.symcache")
        except NativeFileError:
            raise
        except Exception as exc:
            raise NativeFileError(f"{sym_src.path}: cannot read functions and lines: {exc}") from exc
        cfi_from = cfi_job.result()
        publics = {"publics": publics_job.result() if publics_job is not None else []}
    # dump_syms writes a PUBLIC "<.plt ELF section in FILE>" at the (unrelocated) address of each executable
    # section where no symbol starts; frames in PLT stubs are named after them.
    section_publics = []
    for addr, sec in sym_src.sections:
        try:
            at = symcache.lookup(addr)
        except Exception:
            at = []
        if at and at[-1].sym_addr == addr:
            continue
        section_publics.append([addr, f"<{sec} ELF section in {sym_src.path.name}>"])
    tmp = entry / f"publics.json.{os.getpid()}.part"
    tmp.write_text(json.dumps(publics))
    os.replace(tmp, entry / "publics.json")
    meta = {
        "format": FORMAT_VERSION, "symcache_version": _symcache_version(), "debug_id": module.debug_id.upper(),
        "sources": [_identity(s.path) for s in sources],
        "symbols_from": str(sym_src.path), "cfi_from": str(cfi_from.path) if cfi_from else None,
        "sha256": {name: _sha256(entry / name) for name in ("symbols.symcache", "cfi.sym", "publics.json")},
        "features": sorted(set().union(*(s.features for s in sources))),
        "arch": main.arch, "kind": main.kind, "code_id": main.code_id,
        "section_publics": sorted(section_publics),
    }
    tmp = entry / f"meta.json.{os.getpid()}.part"
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, entry / "meta.json")


def _valid_entry(entry: Path, paths: list[Path], debug_id: str, *, check_sums: bool = True) -> dict | None:
    try:
        meta = json.loads((entry / "meta.json").read_text())
        if (meta.get("format") != FORMAT_VERSION or meta.get("symcache_version") != _symcache_version()
                or meta.get("debug_id") != debug_id):
            return None
        if meta.get("sources") != [_identity(p) for p in paths]:
            return None
        for name, digest in meta["sha256"].items():
            if not check_sums:  # just written by the conversion child: present is enough
                if not (entry / name).is_file():
                    return None
            elif _sha256(entry / name) != digest:
                return None
        return meta
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


class NativeSymbolFile:
    """Lookups answered from a SymCache (functions, lines, inlines) and a CFI ``.sym`` (unwind rules)."""

    def __init__(self, path: Path, module: ModuleKey, symcache, cfi, meta: dict, entry: Path,
                 state: str, inlines: bool, temp_dir: Path | None) -> None:
        self.path = path
        self.debug_file = module.debug_file
        self.debug_id = module.debug_id.upper()
        self.code_file = module.code_file
        self.code_id = meta.get("code_id", "")
        self.arch = meta.get("arch", "")
        self.kind = meta.get("kind", "")
        self.malformed_lines = 0
        self.corrupt = False
        self.urls: list[str] = []
        self.index_state = state  # "built" | "reused" | "memory"
        self.entry = entry
        self.meta = meta
        self.with_inlines = inlines
        self._symcache = symcache
        self._cfi = cfi
        self._temp_dir = temp_dir
        self._memo: OrderedDict[int, list] = OrderedDict()
        self._starts: dict[tuple, int | None] = {}  # (rva, key) -> start of its line or inlined call's range
        publics = meta.get("section_publics") or []
        self._sec_addrs = [int(a) for a, _n in publics]
        self._sec_names = [str(n) for _a, n in publics]
        self._sym_addrs: list[int] | None = None  # symbol-table functions, loaded on the first gap lookup
        self._sym_names: list[str] = []

    # -- lookups ----------------------------------------------------------------------------------------
    def _locations(self, rva: int) -> list:
        hit = self._memo.get(rva)
        if hit is not None:
            return hit
        try:
            locs = self._symcache.lookup(rva) if self._symcache is not None else []
        except Exception:
            locs = []
        self._memo[rva] = locs
        if len(self._memo) > _LOOKUP_CACHE:
            self._memo.popitem(last=False)
        return locs

    def function_at(self, rva: int) -> FunctionInfo | None:
        """The function covering ``rva``; for a symbol-table hit (Breakpad's PUBLIC) the nearest symbol or
        executable-section start at or below it."""
        locs = self._locations(rva)
        outer = locs[-1] if locs else None
        is_public = outer is None or (outer.lang == "unknown" and not outer.full_path and outer.line == 0)
        if not is_public:
            return FunctionInfo(display_name(outer.symbol), outer.sym_addr, 0, 0, False)
        best = (outer.sym_addr, outer.symbol, False) if outer is not None else None
        if outer is None:  # past a symbol's size: the nearest symbol-table entry at or below, as Breakpad does
            addrs, names = self._symbols()  # (its PUBLIC records have no size)...
            i = bisect_right(addrs, rva) - 1
            if i >= 0:
                at = self._locations(addrs[i])
                # ... unless a function with debug info starts there: Breakpad has a FUNC, not a PUBLIC, at that
                # address, and a PUBLIC further down does not reach past a FUNC start
                if not (at and at[-1].sym_addr == addrs[i] and (at[-1].full_path or at[-1].lang != "unknown")):
                    best = (addrs[i], names[i], False)
        i = bisect_right(self._sec_addrs, rva) - 1
        if i >= 0 and (best is None or self._sec_addrs[i] > best[0]):
            best = (self._sec_addrs[i], self._sec_names[i], True)
        if best is None:
            return None
        name = best[1] if best[2] else display_name(best[1])
        return FunctionInfo(name, best[0], 0, 0, True)

    def _symbols(self) -> tuple[list[int], list[str]]:
        if self._sym_addrs is None:
            try:
                pairs = json.loads((self.entry / "publics.json").read_text())["publics"]
            except (OSError, ValueError, KeyError, TypeError):
                pairs = []
            self._sym_addrs = [int(a) for a, _n in pairs]
            self._sym_names = [str(n) for _a, n in pairs]
        return self._sym_addrs, self._sym_names

    def line_at(self, rva: int) -> SourceLine | None:
        """The source line at ``rva``: with inlines the innermost (inside the inlined function), without them
        the line of the physical function (the outermost call site), as ``dump_syms`` writes line records with
        and without ``--inlines``."""
        locs = self._locations(rva)
        if not locs:
            return None
        loc = locs[0] if self.with_inlines else locs[-1]
        if not loc.full_path:
            return None
        return SourceLine(loc.full_path, loc.line, None)  # its start: line_start

    def inlines_at(self, rva: int) -> list[InlineInfo]:
        """Inlined calls covering ``rva``, outermost first; where their range starts is :meth:`line_start`'s
        (the SymCache's ``sym_addr`` of an inlined function is no address)."""
        if not self.with_inlines:
            return []
        locs = self._locations(rva)
        out = []
        for depth, i in enumerate(range(len(locs) - 2, -1, -1)):
            caller = locs[i + 1]
            out.append(InlineInfo(depth, display_name(locs[i].symbol), caller.full_path, caller.line, None))
        return out

    def line_start(self, rva: int, inlined: bool) -> int | None:
        """Where the line record (or the outermost inlined call's range) covering ``rva`` starts, as the
        ``dump_syms`` records of this file would say; see :meth:`_range_start`."""
        if self._symcache is None or not self._locations(rva):
            return None
        if inlined:
            return self._range_start(rva, _outer_call_key) if self.with_inlines else None
        return self._range_start(rva, _chain_key if self.with_inlines else _outer_line_key)

    def _range_start(self, rva: int, key) -> int | None:
        """The lowest address of the run of addresses ending at ``rva`` whose locations have ``rva``'s
        ``key`` (the SymCache merges neighbouring ranges of one location, as ``dump_syms`` does with line
        records). The SymCache keeps no range starts, so the bytes before ``rva`` are asked one at a time;
        None when the run is longer than :data:`_RANGE_WALK` bytes (a search by halving steps would be
        wrong wherever a line has a gap, and a wrong offset is worse than none)."""
        memo = self._starts
        if (rva, key) in memo:
            return memo[(rva, key)]
        wanted = key(self._locations(rva))
        lookup = self._symcache.lookup
        start: int | None = rva
        while start > 0:
            if rva - start >= _RANGE_WALK:
                start = None
                break
            try:
                before = lookup(start - 1)
            except Exception:
                break
            if not before or key(before) != wanted:
                break
            start -= 1
        if len(memo) > _LOOKUP_CACHE:
            memo.clear()
        memo[(rva, key)] = start
        return start

    def cfi_at(self, rva: int) -> CfiRules | None:
        return self._cfi.cfi_at(rva) if self._cfi is not None else None

    def stack_win_at(self, rva: int) -> StackWinInfo | None:
        return self._cfi.stack_win_at(rva) if self._cfi is not None else None

    def counts(self) -> dict[str, int]:
        return self._cfi.counts() if self._cfi is not None else {}

    def close(self) -> None:
        self._memo.clear()
        self._symcache = None
        if self._cfi is not None:
            self._cfi.close()
            self._cfi = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> NativeSymbolFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _chain_key(locs: list) -> tuple:
    """A line record's identity with inlined calls: every location of the inline chain."""
    return tuple((loc.symbol, loc.full_path, loc.line) for loc in locs)


def _outer_line_key(locs: list) -> tuple:
    """A line record's identity without inlined calls: the physical function's file and line."""
    return (locs[-1].full_path, locs[-1].line) if locs else ()


def _outer_call_key(locs: list) -> tuple:
    """An outermost inlined call's identity: the inlined function and where the physical function calls it."""
    return (locs[-2].symbol, locs[-1].full_path, locs[-1].line) if len(locs) > 1 else ()


def convert_in_process(entry: Path, main_path: Path, companion_paths: list[Path], module: ModuleKey,
                       debug_id: str, index_dir: Path | None = None) -> None:
    """Read the native file(s) and write the conversion into ``entry``. Runs in an isolated child."""
    main = _Source(main_path, debug_id)
    comps = []
    for c in companion_paths:
        try:
            comps.append(_Source(c, debug_id))
        except SymbolFileError:
            continue  # a companion of another id or a damaged one is simply not used
    try:
        _convert(entry, main, comps, module, index_dir)
    except OSError as exc:
        raise NativeFileError(f"{main_path}: cannot write the converted symbols: {exc}") from exc


def cache_entry_dir(index_dir: Path, debug_id: str) -> Path:
    return Path(index_dir) / "native" / normalize_breakpad_id(debug_id)


def load_native_symbols(path: str | os.PathLike[str], module: ModuleKey, index_dir: Path | None = None, *,
                        companions: tuple | list = (), inlines: bool = True,
                        rebuild: bool = False) -> NativeSymbolFile:
    """Open a native debug file (ELF, PE, PDB, Mach-O; a fat Mach-O's slice is picked by debug id) as the
    symbols of ``module``.

    ``companions`` are other files of the same module (the PE beside its PDB, the stripped library beside
    its separate ``.debug`` file): functions come from the one with debug info, CFI from the one with unwind
    tables. Raises :class:`DebugIdMismatch` when a file holds no object with the module's debug id (it is never
    used then), :class:`NativeFileError` for files that are not usable object files. With ``index_dir`` the
    conversion is kept there and reused; without it, it lives in a temporary folder removed on ``close()``.
    """
    from crashdesk.engine.native.identify import _require_symbolic

    _require_symbolic()
    main_path = Path(path)
    debug_id = normalize_breakpad_id(module.debug_id)
    paths = [main_path, *(Path(c) for c in companions)]
    temp_dir = None
    if index_dir is not None:
        entry = cache_entry_dir(Path(index_dir), debug_id)
        meta = None if rebuild else _valid_entry(entry, paths, debug_id)
    else:
        temp_dir = Path(tempfile.mkdtemp(prefix="crashdesk-native-"))
        entry, meta = temp_dir, None
    state = "reused" if meta is not None else ("built" if index_dir is not None else "memory")
    try:
        if meta is None:
            # one process per machine converts it; the others wait, then use what it wrote
            with build_lock(entry) if index_dir is not None else contextlib.nullcontext():
                if index_dir is not None and not rebuild:
                    meta = _valid_entry(entry, paths, debug_id)
                    state = "reused" if meta is not None else state
                if meta is None:
                    from crashdesk.engine.native.isolate import run_isolated

                    run_isolated(convert_in_process, (entry, main_path, paths[1:], module, debug_id,
                                                      entry if index_dir is None else Path(index_dir)),
                                 what=str(main_path))
                    meta = _valid_entry(entry, paths, debug_id, check_sums=False)
                    if meta is None:
                        raise NativeFileError(f"{main_path}: the converted symbols did not verify")
        from symbolic.symcache import SymCache

        try:
            symcache = SymCache.open(str(entry / "symbols.symcache"))
        except Exception as exc:
            raise NativeFileError(f"{main_path}: cannot open converted symbols: {exc}") from exc
        cfi = load_symbol_file(entry / "cfi.sym", debug_id, entry if index_dir is None else index_dir)
        if index_dir is not None:
            try:
                os.utime(entry / "symbols.symcache")  # recently used, for the cache's LRU eviction
            except OSError:
                pass
        return NativeSymbolFile(main_path, module, symcache, cfi, meta, entry, state, inlines, temp_dir)
    except BaseException:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
