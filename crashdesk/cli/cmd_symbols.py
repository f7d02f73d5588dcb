"""``crashdesk symbols``: fetch symbols for dumps or stored crashes, index a .sym file, manage the cache, and
list the modules that lack symbols across the store.

* ``fetch [DUMP...] [--crash ID...] [--missing]``: look every module up in ``--symbols-path`` folders, the cache
  and the ``--symbols-url`` servers (the command line uses only the servers it is given), downloading into the
  cache. ``--missing`` retries every module that lacked symbols in stored crashes and queues the crashes that
  can now be symbolicated for reprocessing. Exit status 1 when server or network errors kept modules from
  being fetched (misses are not errors).
* ``index FILE``: build (or reuse) the persistent index of one ``.sym`` file and print what it holds.
* ``cache``: size and entry count of the symbol cache; ``--prune`` evicts least recently used entries down to
  ``--max-size``.
* ``add-folder DIR``: scan a build folder for native debug files (and ``.sym`` files) by debug id / code id,
  re-walk every stored crash with a module they cover that lacked symbols, report the signature changes.
* ``missing``: modules whose symbols were missing (or corrupt) in stored crashes, most frequent first.
* ``explain CRASH_ID [MODULE]``: for each module (or the one named), every place its symbols were looked for
  when the crash was processed, what was used, and what to do; ``--now`` looks them up again (folders and
  servers from the flags and the environment, remembered misses forgotten).
"""

from __future__ import annotations

import sys
from pathlib import Path

_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2, "MIB": 1024**2,
          "G": 1024**3, "GB": 1024**3, "GIB": 1024**3, "T": 1024**4, "TB": 1024**4}


def parse_size(text: str) -> int:
    """``500M``, ``2G``, ``1048576`` -> bytes (binary units)."""
    from crashdesk.errors import UsageError

    t = text.strip().upper().replace(" ", "")
    num = t.rstrip("KMGTIB")
    unit = t[len(num):]
    try:
        value = float(num)
    except ValueError:
        raise UsageError(f"not a size: {text!r} (examples: 500M, 2G)") from None
    if unit not in _UNITS or value < 0:
        raise UsageError(f"not a size: {text!r} (examples: 500M, 2G)")
    return int(value * _UNITS[unit])


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def register(subparsers) -> None:
    from crashdesk.cli.common import add_symbol_source_flags

    parser = subparsers.add_parser("symbols", common_options=True, help="fetch, index and manage symbol files",
                                   description=__doc__.split("\n\n")[0].replace("``", ""))  # no RST in --help
    sub = parser.add_subparsers(dest="symbols_command", metavar="ACTION")
    sub.required = True

    fetch = sub.add_parser("fetch", common_options=True, help="download symbols for the modules of dumps or crashes")
    fetch.add_argument("dumps", nargs="*", metavar="DUMP", help="minidump file(s)")
    fetch.add_argument("--crash", action="append", default=[], metavar="ID", help="a stored crash (repeatable)")
    fetch.add_argument("--missing", action="store_true",
                       help="every module whose symbols were missing in stored crashes (asks the servers again); "
                       "crashes whose modules now have symbols are queued for reprocessing")
    add_symbol_source_flags(fetch, paths_help="symbol store folder, searched in order (repeatable)",
                            urls_help="symbol server base URL, tried in order (repeatable)",
                            debuginfod_help="debuginfod server base URL, tried in order (repeatable)")
    fetch.add_argument("--symbols-cache", default=None, metavar="DIR",
                       help="cache root: files in DIR/symbols, indexes in DIR/symindex (default: the cache folder)")
    fetch.add_argument("--parallel", type=int, default=4, metavar="N", help="downloads at a time (default 4)")
    fetch.add_argument("--retry-missing", action="store_true",
                       help="forget remembered misses for these modules and ask the servers again")
    fetch.add_argument("--max-cache-size", default=None, metavar="SIZE", help="evict LRU entries beyond SIZE")
    fetch.set_defaults(func=run_fetch)

    index = sub.add_parser("index", common_options=True, help="build or reuse the index of one .sym file")
    index.add_argument("file", metavar="FILE", help="a Breakpad .sym file")
    index.add_argument("--debug-id", default=None, help="reject the file unless its MODULE line has this id")
    index.add_argument("--rebuild", action="store_true", help="rebuild even if a valid index exists")
    index.add_argument("--symbols-cache", default=None, metavar="DIR", help="cache root (indexes in DIR/symindex)")
    index.set_defaults(func=run_index)

    cache = sub.add_parser("cache", common_options=True, help="symbol cache size; --prune to evict")
    cache.add_argument("--symbols-cache", default=None, metavar="DIR", help="cache root")
    cache.add_argument("--prune", action="store_true", help="evict least recently used entries")
    cache.add_argument("--max-size", default="2G", metavar="SIZE", help="size to prune down to (default 2G)")
    cache.set_defaults(func=run_cache)

    folder = sub.add_parser("add-folder", common_options=True,
                            help="scan a build folder for native debug files and re-walk the crashes it helps")
    folder.add_argument("folder", metavar="DIR", help="a build folder (ELF/DWARF, PDB/PE, dSYM, .sym files)")
    add_symbol_source_flags(folder, paths_help="other symbol folders used when re-walking, before those in "
                                               "Settings (repeatable)",
                            urls_help="symbol servers used when re-walking, before those in Settings (repeatable)")
    folder.add_argument("--workers", type=int, default=None, metavar="N", help="processing workers")
    folder.add_argument("--no-save", action="store_true",
                        help="do not add the folder to the symbol folders in Settings (by default it is added, as "
                             "the app's 'Add build folder' does, so later processing uses it)")
    folder.set_defaults(func=run_add_folder)

    missing = sub.add_parser("missing", common_options=True, help="modules without symbols across the store")
    missing.add_argument("--limit", type=int, default=50, metavar="N", help="at most N modules (default 50)")
    missing.set_defaults(func=run_missing)

    explain = sub.add_parser("explain", common_options=True, help="where each module's symbols were looked for")
    explain.add_argument("crash_id", metavar="CRASH_ID", help="a stored crash")
    explain.add_argument("module", nargs="?", metavar="MODULE",
                         help="file name, debug file or debug id of one module (default: every module)")
    explain.add_argument("--now", action="store_true",
                         help="look the module(s) up again now (retries remembered misses)")
    add_symbol_source_flags(explain, paths_help="with --now: symbol store or build folder (repeatable)",
                            urls_help="with --now: symbol server (repeatable; _NT_SYMBOL_PATH is read too)",
                            debuginfod_help="with --now: debuginfod server (repeatable; DEBUGINFOD_URLS is read too)")
    explain.add_argument("--symbols-cache", default=None, metavar="DIR", help="cache root")
    explain.set_defaults(func=run_explain)


def _cache_root(args) -> Path:
    if getattr(args, "symbols_cache", None):
        return Path(args.symbols_cache).expanduser()
    from crashdesk.config.paths import resolve_paths

    return resolve_paths(getattr(args, "data_dir", None)).ensure().cache_dir


def _json(args) -> bool:
    return bool(getattr(args, "json", False))


# -- fetch --------------------------------------------------------------------------------------------------
def _modules_of_dump(path: str):
    from crashdesk.engine.minidump import Minidump, MinidumpError
    from crashdesk.engine.symbols_api import ModuleKey
    from crashdesk.errors import CrashDeskError

    try:
        with Minidump.open(path) as dump:
            mods = list(dump.modules)
    except MinidumpError as exc:
        raise CrashDeskError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise CrashDeskError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return [ModuleKey(m.debug_file or "", m.debug_id or "", m.filename or "", m.code_id or "") for m in mods]


def _modules_of_crash(args, crash_id: str):
    from crashdesk.engine.symbols_api import ModuleKey

    with _open_store(args) as store:
        rows = store.get(crash_id)["modules"]
    return [ModuleKey(r["debug_file"] or "", r["debug_id"] or "", r["filename"] or "", r["code_id"] or "")
            for r in rows]


def run_fetch(args) -> int:
    from crashdesk.cli.common import Progress, info, print_json
    from crashdesk.errors import UsageError
    from crashdesk.symbols import build_provider

    if not args.dumps and not args.crash and not args.missing:
        raise UsageError("give at least one DUMP, --crash ID or --missing")
    for p in args.symbols_path:
        if not Path(p).is_dir():
            raise UsageError(f"--symbols-path {p}: no such folder")
    if args.parallel < 1:
        raise UsageError("--parallel must be at least 1")
    modules = []
    for d in args.dumps:
        modules.extend(_modules_of_dump(d))
    for c in args.crash:
        modules.extend(_modules_of_crash(args, c))
    if args.missing:
        modules.extend(_missing_modules(args))
    modules = [m for m in dict.fromkeys(modules) if m.debug_id or m.code_id]
    options = {"max_parallel": args.parallel}
    if args.max_cache_size:
        options["max_cache_bytes"] = parse_size(args.max_cache_size)
    bar = Progress("symbols", total=len(modules))

    def progress(ev) -> None:
        if ev.kind == "done":
            bar.advance()

    with build_provider([Path(p) for p in args.symbols_path], list(args.symbols_url), _cache_root(args),
                        debuginfod_urls=list(args.debuginfod_url), **options) as chain:
        results = chain.fetch_many(modules, progress=progress, retry_misses=args.retry_missing or args.missing)
        bar.close()
        rows = []
        for m, r in results.items():
            rows.append({"debug_file": m.debug_file, "debug_id": m.debug_id, "code_file": m.code_file,
                         "code_id": m.code_id, "status": r.status, "reason": r.extra.get("reason"),
                         "note": r.note, "source": r.extra.get("source"), "symbol_url": r.symbol_url,
                         "path": r.extra.get("path"),
                         "kind": "native" if r.extra.get("native") else ("sym" if r.symbols is not None else None)})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    requeued = _requeue(args, rows) if args.missing else []
    if _json(args):
        out = {"modules": rows, "summary": counts}
        if args.missing:
            out["reprocess"] = requeued
        print_json(out)
    else:
        for r in rows:
            name = r["debug_file"] or r["code_file"]
            print(f"{r['status']:8} {name} {r['debug_id'] or r['code_id']}  {r['note']}")
        info(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no modules")
        if args.missing:
            info(f"{len(requeued)} crashes queued for reprocessing")
    failed = sum(1 for r in rows if r["reason"] == "server_error")
    if failed:
        # As sync does: a run that met server or network errors says so; running it again retries them.
        info(f"{failed} modules could not be fetched because of server or network errors; run again to retry")
        return 1
    return 0


def _open_store(args, *, write: bool = False):
    from crashdesk.config.paths import ReadOnlyDataFolder, resolve_paths
    from crashdesk.errors import CrashDeskError
    from crashdesk.store import CrashStore

    paths = resolve_paths(getattr(args, "data_dir", None))
    paths.check()
    if not paths.database.is_file():
        raise CrashDeskError(f"no crash store at {paths.data_dir}")
    if write and not paths.writable:
        raise ReadOnlyDataFolder(f"the data folder {paths.data_dir} is read-only; queueing crashes for "
                                 "reprocessing writes to it")
    return CrashStore.open(paths.data_dir, read_only=not paths.writable)


def _missing_modules(args):
    from crashdesk.engine.symbols_api import ModuleKey

    with _open_store(args) as store:
        rows = store.modules_missing_symbols(None, details=False)
    return [ModuleKey(r["debug_file"] or "", r["debug_id"] or "", r["filename"] or "", r["code_id"] or "")
            for r in rows]


def _requeue(args, rows: list[dict]) -> list[str]:
    """Queue for reprocessing the stored crashes whose missing modules now have symbols."""
    with _open_store(args, write=True) as store:
        ids: list[str] = []
        for r in rows:
            if r["status"] == "loaded" and r["debug_file"]:
                ids.extend(store.crash_ids_missing_symbols(debug_file=r["debug_file"], debug_id=r["debug_id"]))
        ids = list(dict.fromkeys(ids))
        store.mark_for_reprocessing(ids)
    return ids


# -- index --------------------------------------------------------------------------------------------------
def run_index(args) -> int:
    import time

    from crashdesk.cli.common import print_json
    from crashdesk.engine.symfile import load_symbol_file

    path = Path(args.file)
    t = time.perf_counter()
    sym = load_symbol_file(path, args.debug_id, _cache_root(args) / "symindex", rebuild=args.rebuild)
    elapsed = time.perf_counter() - t
    try:
        out = {
            "file": str(path), "size": path.stat().st_size, "module": sym.module.to_json(),
            "counts": sym.counts(), "malformed_lines": sym.malformed_lines,
            "malformed_examples": sym.malformed_examples, "index": str(sym.index_path) if sym.index_path else None,
            "index_state": sym.index_state, "seconds": round(elapsed, 4),
        }
    finally:
        sym.close()
    if _json(args):
        print_json(out)
    else:
        m = out["module"]
        print(f"MODULE {m['os']} {m['arch']} {m['debug_id']} {m['debug_file']}")
        if m["code_id"]:
            print(f"code id {m['code_id']} {m['code_file']}".rstrip())
        print(", ".join(f"{v} {k}" for k, v in out["counts"].items()))
        print(f"malformed lines: {out['malformed_lines']}")
        for ex in out["malformed_examples"]:
            print(f"  e.g. {ex}")
        mb = out["size"] / 1e6
        rate = f", {mb / elapsed:.0f} MB/s" if out["index_state"] == "built" and elapsed > 0 else ""
        print(f"index {out['index_state']} in {elapsed:.3f} s{rate}: {out['index']}")
    return 0


# -- cache --------------------------------------------------------------------------------------------------
def run_cache(args) -> int:
    from crashdesk.cli.common import print_json
    from crashdesk.symbols.cache import SymbolCache

    cache = SymbolCache(_cache_root(args))
    evicted = []
    if args.prune:
        evicted = cache.prune(parse_size(args.max_size))
    entries = cache.entries()
    out = {"root": str(cache.root), "files": len(entries), "bytes": cache.total_bytes(),
           "evicted": [{"path": str(e.path), "bytes": e.size} for e in evicted]}
    if _json(args):
        print_json(out)
    else:
        print(f"{cache.root}: {out['files']} symbol files, {_human(out['bytes'])} with indexes")
        if args.prune:
            freed = sum(e.size for e in evicted)
            print(f"pruned {len(evicted)} files ({_human(freed)}) to stay under {args.max_size}")
    return 0


# -- missing ------------------------------------------------------------------------------------------------
def run_missing(args) -> int:
    from crashdesk.cli.common import print_json

    with _open_store(args) as store:
        rows = store.modules_missing_symbols(args.limit)
    if _json(args):
        print_json({"modules": rows})
    else:
        if not rows:
            print("every module of every stored crash had symbols (or none were looked up)", file=sys.stderr)
        for r in rows:
            print(f"{r['crashes']:6}  {r['debug_file'] or r['filename']} {r['debug_id']}  "
                  f"{'/'.join(r['statuses'])}  {r['note'] or ''}".rstrip())
    return 0


# -- explain ------------------------------------------------------------------------------------------------
def _select_modules(rows: list[dict], wanted: str | None) -> list[dict]:
    from crashdesk.errors import UsageError

    if not wanted:
        return rows
    w = wanted.lower()
    picked = [r for r in rows if w in {str(r.get(k) or "").lower() for k in ("filename", "debug_file", "debug_id")}
              or str(r.get("filename") or "").lower().replace("\\", "/").rsplit("/", 1)[-1] == w]
    if not picked:
        names = ", ".join(sorted({str(r.get("filename") or r.get("debug_file")) for r in rows})[:20])
        raise UsageError(f"no module {wanted!r} in this crash (modules: {names or 'none'})")
    return picked


def run_explain(args) -> int:
    import os

    from crashdesk.cli.common import print_json
    from crashdesk.engine.symbols_api import ModuleKey
    from crashdesk.errors import UsageError
    from crashdesk.model.crash_id import normalize_crash_id
    from crashdesk.symbols import build_provider
    from crashdesk.symbols.explain import explain_crash, record_from_lookup, render_text
    from crashdesk.symbols.sources import environment_sources

    try:
        crash_id = normalize_crash_id(args.crash_id)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    with _open_store(args) as store:
        crash = store.get(crash_id)  # CrashNotFound is a CrashDeskError: one line, exit 1
    rows = _select_modules(list(crash.get("modules") or []), args.module)
    records: dict = {}
    source = "processing"
    if args.now:
        env = environment_sources(os.environ)
        paths = [Path(p) for p in dict.fromkeys([*args.symbols_path, *map(str, env.paths)])]
        urls = list(dict.fromkeys([*args.symbols_url, *env.urls]))
        dbg = list(dict.fromkeys([*args.debuginfod_url, *env.debuginfod]))
        keys = [ModuleKey(r["debug_file"] or "", r["debug_id"] or "", r["filename"] or "", r["code_id"] or "")
                for r in rows]
        with build_provider(paths, urls, _cache_root(args), debuginfod_urls=dbg) as chain:
            found = chain.fetch_many([k for k in keys if k.debug_id or k.code_id], retry_misses=True)
            records = {(k.debug_file, k.debug_id.upper()): record_from_lookup(r) for k, r in found.items()}
        source = "now"
    out = explain_crash(crash, rows, records if args.now else None, source)
    if _json(args):
        print_json({"crash_id": crash_id, "explained_from": source, "modules": out})
    else:
        sys.stdout.write("\n".join(render_text(e) for e in out))
    return 0


# -- add-folder ---------------------------------------------------------------------------------------------
def _save_symbol_folder(paths, folder: Path) -> None:
    """Add ``folder`` to the symbol folders in Settings (``crashdesk config``), once."""
    from dataclasses import replace

    from crashdesk.cli.common import info
    from crashdesk.config.symbol_sources import SymbolSources, load, save

    saved = load(paths.data_dir) or SymbolSources()
    if str(folder) not in saved.paths:
        save(paths.data_dir, replace(saved, paths=[*saved.paths, str(folder)]))
        info(f"{folder}: added to the symbol folders in Settings (crashdesk config)")


def run_add_folder(args) -> int:
    from crashdesk.cli.common import Progress, info, print_json
    from crashdesk.errors import UsageError
    from crashdesk.services.build_folders import add_build_folder, summarize

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    for p in args.symbols_path:
        if not Path(p).is_dir():
            raise UsageError(f"--symbols-path {p}: no such folder")
    scan_bar = Progress("scanning")

    def on_scan(seen: int, _path: str) -> None:
        scan_bar.advance(seen - scan_bar.done)

    walk_bar = Progress("re-walking")

    def on_progress(progress) -> None:
        walk_bar.total = progress.done + progress.failed + progress.running + progress.queued
        walk_bar.advance(progress.done + progress.failed - walk_bar.done)

    from crashdesk.cli.common import symbol_sources
    from crashdesk.config.paths import resolve_paths
    from crashdesk.store import CrashStore

    paths = resolve_paths(getattr(args, "data_dir", None)).ensure()
    folder = Path(args.folder).expanduser().absolute()
    if not folder.is_dir():
        raise UsageError(f"{args.folder}: no such folder")
    # the re-walk is processing: the flags' sources, then those in Settings, as `crashdesk process` uses them
    sources = symbol_sources(paths, args.symbols_path, args.symbols_url)
    if not args.no_save:
        _save_symbol_folder(paths, folder)
    store = CrashStore.open(paths.data_dir)
    try:
        report = add_build_folder(store, paths, folder, symbol_paths=[Path(p) for p in sources["symbol_paths"]],
                                  symbol_urls=sources["symbol_urls"], debuginfod_urls=sources["debuginfod_urls"],
                                  mozilla_symbol_urls=sources["mozilla_symbol_urls"], workers=args.workers,
                                  on_scan=on_scan, on_progress=on_progress)
    finally:
        scan_bar.close()
        walk_bar.close()
        store.close()
    if _json(args):
        print_json(report.to_json())
    else:
        for line in summarize(report):
            print(line)
    if report.note:
        info(report.note)
    return 1 if report.failed else 0
