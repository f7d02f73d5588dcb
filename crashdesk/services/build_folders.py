"""Adding a build folder: scan it once for native debug files and .sym files (debug id / code id -> path),
re-walk every stored crash that has a module with one of those ids and missing symbols, or symbols without
source lines where the folder has debug info for it (a stripped system library, then its detached debug file
under ``.build-id``), through the processing service with the folder as a symbol folder, and report what
changed: signatures old -> new with crash counts, and which crashes gained symbols for which modules.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.engine.native import SUPPORT_MISSING_NOTE, native_support
from crashdesk.engine.native.ids import normalize_breakpad_id
from crashdesk.errors import CrashDeskError, UsageError
from crashdesk.services.processing import ProcessingService, default_worker_config
from crashdesk.store import CrashStore
from crashdesk.symbols.folder_index import FolderIndex

ScanProgress = Callable[[int, str], None]  # files seen, current path


@dataclass(slots=True)
class BuildFolderReport:
    folder: str
    scan: dict[str, Any]
    ids: int  # distinct debug ids found in the folder
    # stored modules the folder has symbols for: "reason" "missing" (symbols missing) or "no_lines" (loaded
    # without source lines from the other sources, and the folder has debug info)
    modules: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)  # crashes re-walked
    gained: list[dict[str, Any]] = field(default_factory=list)  # {"crash_id", "modules": [names]}
    gained_lines: list[dict[str, Any]] = field(default_factory=list)  # frames with source lines, same shape
    changes: list[dict[str, Any]] = field(default_factory=list)  # {"old", "new", "crashes", "crash_ids"}
    unchanged: int = 0
    failed: int = 0
    note: str = ""
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "scan": self.scan, "ids": self.ids, "modules": self.modules,
                "crashes": self.crashes, "gained_symbols": self.gained, "gained_lines": self.gained_lines,
                "signature_changes": self.changes,
                "unchanged": self.unchanged, "failed": self.failed, "note": self.note, "cancelled": self.cancelled}


def folder_index_store(symbols_cache: Path) -> Path:
    """Where the symbol chain keeps folder indexes for a ``symbols_cache`` (``<cache>/folder-index``)."""
    root = Path(symbols_cache)
    if root.name == "symbols":
        root = root.parent
    return root / "folder-index"


@dataclass(slots=True)
class _CrashState:
    signature: str | None
    statuses: dict[str, str]  # symbol status per module ("debug file/debug id")
    loaded: set[str]  # the file names of the modules whose symbols loaded
    framed: set[str]  # the modules (file names) of its frames
    lined: set[str]  # ... of its frames that have a source line


def _state(store: CrashStore, crash_id: str) -> _CrashState:
    data = store.get(crash_id)
    modules = data.get("modules", [])
    threads = (data.get("processed") or {}).get("threads")
    frames = [f for t in (threads if isinstance(threads, list) else []) if isinstance(t, dict)
              for f in (t.get("frames") if isinstance(t.get("frames"), list) else []) if isinstance(f, dict)
              and f.get("module")]
    return _CrashState(data.get("signature"),
                       {f"{m['debug_file'] or m['filename']}/{m['debug_id']}": (m["symbol_status"] or "")
                        for m in modules},
                       {m["filename"] for m in modules if m["symbol_status"] == "loaded"},
                       {str(f["module"]) for f in frames}, {str(f["module"]) for f in frames if f.get("line")})


def add_build_folder(store: CrashStore, paths, folder: Path, *, symbol_paths: Iterable[Path] = (),
                     symbol_urls: Iterable[str] = (), debuginfod_urls: Iterable[str] = (),
                     mozilla_symbol_urls: Iterable[str] = (), workers: int | None = None,
                     on_scan: ScanProgress | None = None, on_progress: Callable[[Any], None] | None = None,
                     cancel: threading.Event | None = None) -> BuildFolderReport:
    """Scan ``folder`` (incrementally when it was scanned before) and re-walk the stored crashes it can
    symbolicate, or give source lines to, with ``folder`` first and then the other sources (those processing
    uses: ``symbol_paths``, the servers). ``paths`` is the data folder's :class:`~crashdesk.config.paths.Paths`."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    index = FolderIndex(folder, folder_index_store(paths.symbols_cache))
    stats = index.load_or_scan(on_scan, cancel)
    scan = {"files": stats.files_seen, "objects": stats.objects, "identified": stats.identified,
            "reused": stats.reused, "skipped": stats.skipped, "damaged": stats.errors,
            "seconds": round(stats.seconds, 3), "from_disk": stats.from_disk}
    ids = index.ids()
    code_ids = set(index.by_code_id)
    report = BuildFolderReport(str(index.folder), scan, len(ids))
    if not native_support():
        report.note = SUPPORT_MISSING_NOTE
    others = [Path(p) for p in symbol_paths if Path(p).absolute() != folder.absolute()]
    richer = {normalize_breakpad_id(e.debug_id) for entries in index.by_debug_id.values() for e in entries
              if e.kind == "breakpad" or e.has_debug_info}
    return _rewalk(report, store, paths, set(ids), code_ids, [folder, *others], symbol_urls,
                   without_lines=_without_lines(store, paths, richer, others),
                   extra_sources={"debuginfod_urls": list(debuginfod_urls),
                                  "mozilla_symbol_urls": list(mozilla_symbol_urls)},
                   workers=workers, on_progress=on_progress, cancel=cancel)


def _without_lines(store: CrashStore, paths, debug_ids: set[str], others: list[Path]) -> list[dict[str, Any]]:
    """The stored modules with one of ``debug_ids`` (those the new folder has debug info or a .sym for) whose
    symbols, as the other folders and the symbol cache give them (what processing had), have no source lines:
    a stripped library's symbol table. Looked up offline; conversions and indexes are the ones processing
    made, so this reads no file twice."""
    rows = store.modules_with_debug_ids(debug_ids) if debug_ids else []
    if not rows:
        return []
    from crashdesk.engine.symbols_api import ModuleKey
    from crashdesk.symbols import build_provider
    from crashdesk.symbols.chain import has_source_lines

    out = []
    with build_provider([str(p) for p in others], [], paths.symbols_cache) as chain:
        verdict: dict[tuple[str, str], bool] = {}  # (debug file, debug id) -> improvable
        for row in rows:
            key = (row["debug_file"] or row["filename"] or "", normalize_breakpad_id(row["debug_id"]))
            if key not in verdict:
                res = chain.lookup(ModuleKey(key[0], key[1], row["filename"] or "", row["code_id"] or ""))
                verdict[key] = res.status == "loaded" and not has_source_lines(res.symbols)
            if verdict[key]:
                out.append(row)
    return out


def install_sym_file(path: Path, symbols_cache: Path, *, also_as: Iterable[str] = ()) -> tuple[str, str, Path]:
    """Copy one Breakpad ``.sym`` file into the symbol store layout under ``symbols_cache``
    (``<debug_file>/<DEBUG_ID>/<debug_file minus .pdb>.sym``), named after its MODULE line, not after the
    file's own name, and also under each name in ``also_as`` (other debug file names of that id); returns
    (debug file, debug id, the stored path). A file already stored there with the
    same bytes is left alone; a different one is replaced (the dropped file is the user's newer choice).
    Raises :class:`~crashdesk.engine.symfile.errors.SymbolFileError` for a file that is not a .sym file and
    :class:`~crashdesk.symbols.layout.UnsafeName` for a MODULE line naming an unusable path."""
    from crashdesk.engine.symfile.errors import SymbolFileError
    from crashdesk.engine.symfile.module_info import parse_module_line
    from crashdesk.symbols.layout import UnsafeName, check_component, check_id, leaf_name, sym_file_name

    path = Path(path)
    try:
        with open(path, "rb") as f:
            first = f.readline(4096)
    except OSError as exc:
        raise SymbolFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    mod = parse_module_line(first, str(path))
    debug_file = check_component(leaf_name(mod.debug_file))
    debug_id = check_id(normalize_breakpad_id(mod.debug_id))
    names = [debug_file] + [n for n in dict.fromkeys(leaf_name(a) for a in also_as if a) if n != debug_file]
    first = None
    for name in names:
        try:
            check_component(name)
        except UnsafeName:
            continue
        target = Path(symbols_cache) / name / debug_id / sym_file_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        try:
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SymbolFileError(f"{path}: cannot store it in {target.parent}: {exc.strerror or exc}") from exc
        first = first or target
    return debug_file, debug_id, first


def add_symbol_file(store: CrashStore, paths, sym_path: Path, *, symbol_paths: Iterable[Path] = (),
                    symbol_urls: Iterable[str] = (), debuginfod_urls: Iterable[str] = (),
                    mozilla_symbol_urls: Iterable[str] = (), workers: int | None = None,
                    on_progress: Callable[[Any], None] | None = None,
                    cancel: threading.Event | None = None) -> BuildFolderReport:
    """Install one ``.sym`` file into the data folder's symbol cache (:func:`install_sym_file`), then re-walk
    the stored crashes whose module with that debug id lacked symbols and report as :func:`add_build_folder`."""
    from crashdesk.engine.symfile.module_info import parse_module_line

    with open(sym_path, "rb") as f:  # install_sym_file checks the line; here only the id is wanted
        try:
            wanted_id = normalize_breakpad_id(parse_module_line(f.readline(4096), str(sym_path)).debug_id)
        except CrashDeskError:
            wanted_id = ""
    # a dump names the module by its own debug file ("abort"), dump_syms by the file it read ("abort.debug"):
    # the store is looked up by the dump's name, so the file is also stored under the names of the stored
    # modules that lack symbols with this debug id
    aliases = [row.get("debug_file") or row.get("filename") or ""
               for row in store.modules_missing_symbols(None, details=False)
               if wanted_id and normalize_breakpad_id(row.get("debug_id") or "") == wanted_id]
    _debug_file, debug_id, target = install_sym_file(Path(sym_path), paths.symbols_cache, also_as=aliases)
    scan = {"files": 1, "objects": 1, "identified": 1, "reused": 0, "skipped": 0, "damaged": [],
            "seconds": 0.0, "from_disk": False}
    report = BuildFolderReport(str(target), scan, 1)
    return _rewalk(report, store, paths, {debug_id}, set(), list(symbol_paths), symbol_urls,
                   extra_sources={"debuginfod_urls": list(debuginfod_urls),
                                  "mozilla_symbol_urls": list(mozilla_symbol_urls)},
                   workers=workers, on_progress=on_progress, cancel=cancel)


def _rewalk(report: BuildFolderReport, store: CrashStore, paths, ids: set[str], code_ids: set[str],
            symbol_paths: list[Path], symbol_urls: Iterable[str], *, workers: int | None,
            on_progress: Callable[[Any], None] | None, cancel: threading.Event | None,
            without_lines: Sequence[dict[str, Any]] = (), extra_sources: dict[str, list[str]] | None = None
            ) -> BuildFolderReport:
    """Re-walk the stored crashes with a module lacking symbols whose debug id (or code id) is in ``ids``
    (``code_ids``), and those that loaded a module of ``without_lines`` (stored modules whose symbols had no
    source lines), with ``symbol_paths`` as symbol folders; fill ``report`` with what changed."""
    if cancel is not None and cancel.is_set():
        report.cancelled = True
        return report
    wanted: list[dict] = []
    for row in store.modules_missing_symbols(None, details=False):
        did = normalize_breakpad_id(row.get("debug_id") or "")
        if (did and did in ids) or ((row.get("code_id") or "").upper() in code_ids and row.get("code_id")):
            wanted.append(row)
    crash_ids: list[str] = []
    for row in wanted:
        crash_ids.extend(store.crash_ids_missing_symbols(debug_file=row["debug_file"] or None,
                                                         debug_id=row["debug_id"] or None,
                                                         filename=None if row["debug_file"] else row["filename"]))
    lacking = list(dict.fromkeys(crash_ids))
    crash_ids = list(dict.fromkeys([*lacking, *store.crash_ids_loading(row["id"] for row in without_lines)]))
    report.modules = [{**{k: row.get(k) for k in ("debug_file", "debug_id", "filename", "code_id", "crashes")},
                       "reason": "missing"} for row in wanted]
    report.modules += [{**{k: row.get(k) for k in ("debug_file", "debug_id", "filename", "code_id")},
                        "crashes": None, "reason": "no_lines"} for row in without_lines]
    before = {cid: _state(store, cid) for cid in crash_ids}
    # a crash loading a module whose symbols had no source lines is re-walked when it has frames in that module
    # and none of them has a line (not when no frame is there, or an earlier re-walk gave them lines)
    unlined = {row["filename"] for row in without_lines}
    keep = set(lacking)
    crash_ids = [cid for cid in crash_ids if cid in keep or (before[cid].framed - before[cid].lined) & unlined]
    report.crashes = crash_ids
    if not crash_ids:
        return report
    config = default_worker_config(paths, symbol_paths=list(symbol_paths), symbol_urls=list(symbol_urls),
                                   **(extra_sources or {}))
    service = ProcessingService(store, config, workers=workers, on_progress=on_progress)
    finished = threading.Event()
    if cancel is not None:  # any object with is_set() (threading.Event, the UI's CancelToken)
        def watch() -> None:
            while not finished.wait(0.2):
                if cancel.is_set():
                    service.cancel()
                    return

        threading.Thread(target=watch, daemon=True, name="build-folder-cancel").start()
    service.restrict_to(crash_ids)
    service.reprocess(crash_ids)
    try:
        progress = service.run_until_empty()
    finally:
        finished.set()
    report.failed = progress.failed
    report.cancelled = bool(cancel is not None and cancel.is_set())
    changes: dict[tuple, list[str]] = {}
    for cid in crash_ids:
        old, new = before[cid], _state(store, cid)
        old_sig, new_sig = old.signature, new.signature
        gained = sorted(k.split("/")[0] for k, st in new.statuses.items()
                        if st == "loaded" and old.statuses.get(k) != "loaded")
        if gained:
            report.gained.append({"crash_id": cid, "modules": gained})
        lines = (new.lined - old.lined) & old.loaded  # modules that had symbols, not lines (gained: both)
        if lines:
            report.gained_lines.append({"crash_id": cid, "modules": sorted(lines)})
        if old_sig != new_sig:
            changes.setdefault((old_sig, new_sig), []).append(cid)
        else:
            report.unchanged += 1
    report.changes = [{"old": o, "new": n, "crashes": len(ids_), "crash_ids": ids_}
                      for (o, n), ids_ in sorted(changes.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))]
    return report


def summarize(report: BuildFolderReport) -> list[str]:
    """The human report, one line each."""
    s = report.scan
    lines = [f"{report.folder}: {s['files']} files, {s['objects']} with symbols "
             f"({s['identified']} read, {s['reused']} unchanged, {s['skipped']} skipped"
             f"{', ' + str(len(s['damaged'])) + ' damaged' if s['damaged'] else ''}) in {s['seconds']:.2f} s; "
             f"{report.ids} debug ids"]
    if report.note:
        lines.append(report.note)
    missing = sum(1 for m in report.modules if m.get("reason") != "no_lines")
    lines.append(f"{missing} stored modules lacking symbols match; "
                 + (f"{len(report.modules) - missing} loaded without source lines gain them; "
                    if len(report.modules) > missing else "")
                 + f"{len(report.crashes)} crashes re-walked, {report.failed} failed")
    if report.gained:
        lines.append(f"{len(report.gained)} crashes gained symbols:")
        for g in report.gained[:20]:
            lines.append(f"  {g['crash_id']}  {', '.join(g['modules'])}")
        if len(report.gained) > 20:
            lines.append(f"  ... and {len(report.gained) - 20} more (--json lists all)")
    if report.gained_lines:
        lines.append(f"{len(report.gained_lines)} crashes gained source lines in frames of:")
        lines.extend(f"  {g['crash_id']}  {', '.join(g['modules'])}" for g in report.gained_lines[:20])
        if len(report.gained_lines) > 20:
            lines.append(f"  ... and {len(report.gained_lines) - 20} more (--json lists all)")
    if report.changes:
        lines.append("signature changes (crashes, old -> new):")
    for c in report.changes:
        lines.append(f"{c['crashes']:6}  {c['old'] or '(none)'}  ->  {c['new'] or '(none)'}")
    if report.crashes:
        lines.append(f"{report.unchanged} crashes kept their signature")
    return lines
