"""Adding a build folder: scan it once for native debug files and .sym files (debug id / code id -> path),
re-walk every stored crash that has a module with one of those ids and missing symbols (through the processing
service, with the folder as a symbol folder), and report what changed: signatures old -> new with crash
counts, and which crashes gained symbols for which modules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.engine.native import SUPPORT_MISSING_NOTE, native_support
from crashdesk.engine.native.ids import normalize_breakpad_id
from crashdesk.errors import UsageError
from crashdesk.services.processing import ProcessingService, default_worker_config
from crashdesk.store import CrashStore
from crashdesk.symbols.folder_index import FolderIndex

ScanProgress = Callable[[int, str], None]  # files seen, current path


@dataclass(slots=True)
class BuildFolderReport:
    folder: str
    scan: dict[str, Any]
    ids: int  # distinct debug ids found in the folder
    modules: list[dict[str, Any]] = field(default_factory=list)  # stored modules missing symbols, matched
    crashes: list[str] = field(default_factory=list)  # crashes re-walked
    gained: list[dict[str, Any]] = field(default_factory=list)  # {"crash_id", "modules": [names]}
    changes: list[dict[str, Any]] = field(default_factory=list)  # {"old", "new", "crashes", "crash_ids"}
    unchanged: int = 0
    failed: int = 0
    note: str = ""
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "scan": self.scan, "ids": self.ids, "modules": self.modules,
                "crashes": self.crashes, "gained_symbols": self.gained, "signature_changes": self.changes,
                "unchanged": self.unchanged, "failed": self.failed, "note": self.note, "cancelled": self.cancelled}


def folder_index_store(symbols_cache: Path) -> Path:
    """Where the symbol chain keeps folder indexes for a ``symbols_cache`` (``<cache>/folder-index``)."""
    root = Path(symbols_cache)
    if root.name == "symbols":
        root = root.parent
    return root / "folder-index"


def _state(store: CrashStore, crash_id: str) -> tuple[str | None, dict[str, str]]:
    data = store.get(crash_id)
    mods = {f"{m['debug_file'] or m['filename']}/{m['debug_id']}": (m["symbol_status"] or "")
            for m in data.get("modules", [])}
    return data.get("signature"), mods


def add_build_folder(store: CrashStore, paths, folder: Path, *, symbol_paths: Iterable[Path] = (),
                     symbol_urls: Iterable[str] = (), workers: int | None = None,
                     on_scan: ScanProgress | None = None, on_progress: Callable[[Any], None] | None = None,
                     cancel: threading.Event | None = None) -> BuildFolderReport:
    """Scan ``folder`` (incrementally when it was scanned before) and re-walk the stored crashes it can
    symbolicate. ``paths`` is the data folder's :class:`~crashdesk.config.paths.Paths`."""
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
    crash_ids = list(dict.fromkeys(crash_ids))
    report.modules = [{k: row.get(k) for k in ("debug_file", "debug_id", "filename", "code_id", "crashes")}
                      for row in wanted]
    report.crashes = crash_ids
    if not crash_ids:
        return report
    before = {cid: _state(store, cid) for cid in crash_ids}
    config = default_worker_config(paths, symbol_paths=[folder, *symbol_paths], symbol_urls=list(symbol_urls))
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
        old_sig, old_mods = before[cid]
        new_sig, new_mods = _state(store, cid)
        gained = sorted(k.split("/")[0] for k, st in new_mods.items()
                        if st == "loaded" and old_mods.get(k) != "loaded")
        if gained:
            report.gained.append({"crash_id": cid, "modules": gained})
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
    lines.append(f"{len(report.modules)} stored modules lacking symbols match; "
                 f"{len(report.crashes)} crashes re-walked, {report.failed} failed")
    if report.gained:
        lines.append(f"{len(report.gained)} crashes gained symbols:")
        for g in report.gained[:20]:
            lines.append(f"  {g['crash_id']}  {', '.join(g['modules'])}")
        if len(report.gained) > 20:
            lines.append(f"  ... and {len(report.gained) - 20} more (--json lists all)")
    if report.changes:
        lines.append("signature changes (crashes, old -> new):")
    for c in report.changes:
        lines.append(f"{c['crashes']:6}  {c['old'] or '(none)'}  ->  {c['new'] or '(none)'}")
    if report.crashes:
        lines.append(f"{report.unchanged} crashes kept their signature")
    return lines
