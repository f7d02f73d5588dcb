""""Fetch missing symbols" for one crash: ask the symbol supplier chain (folders, cache, servers) for each
module the crash lacks symbols for, in a background job with progress and cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.errors import CrashDeskError
from crashdesk.ui.models.modules import merge_modules


class NoSymbolSources(CrashDeskError):
    """No symbol folder or server is configured."""


@dataclass
class FetchReport:
    crash_id: str
    found: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (module, why)
    cancelled: bool = False

    def summary(self) -> str:
        if self.cancelled:
            return "Symbol fetch cancelled"
        text = f"Symbols: {len(self.found)} found, {len(self.missing)} still missing"
        if self.missing:
            text += " (" + "; ".join(f"{m}: {why}" for m, why in self.missing[:3]) + ")"
        return text


def missing_modules(detail_data: dict[str, Any]) -> list[dict[str, Any]]:
    modules = merge_modules(detail_data.get("processed"), detail_data.get("modules"))
    return [m for m in modules if m.get("symbol_status") in ("missing", "error")
            and m.get("debug_file") and m.get("debug_id")]


def fetch_missing_symbols(store: Any, crash_id: str, *, symbol_paths: Iterable[str], symbol_urls: Iterable[str],
                          cache_dir: Path | None, cancel: Any = None,
                          report: Callable[[float, str], None] | None = None,
                          debuginfod_urls: Iterable[str] = (), environ: Any = None) -> FetchReport:
    """Fetch symbols for ``crash_id``'s modules that lack them ("Retry now": remembered misses are asked
    again); the processing service re-processes after. The environment's ``DEBUGINFOD_URLS`` and
    ``_NT_SYMBOL_PATH`` add to the given sources, as for processing."""
    import os

    from crashdesk.engine.symbols_api import ModuleKey
    from crashdesk.symbols import build_provider
    from crashdesk.symbols.sources import environment_sources

    env = environment_sources(os.environ if environ is None else environ)
    paths = [Path(p) for p in dict.fromkeys([*map(str, symbol_paths), *map(str, env.paths)])]
    urls = list(dict.fromkeys([*symbol_urls, *env.urls]))
    debuginfod = list(dict.fromkeys([*debuginfod_urls, *env.debuginfod]))
    if not paths and not urls and not debuginfod:
        raise NoSymbolSources("no symbol folders or servers are configured (View → Symbol sources…)")
    wanted = missing_modules(store.get(crash_id))
    out = FetchReport(crash_id)
    if not wanted:
        return out
    keys = {ModuleKey(m["debug_file"], m["debug_id"], m.get("filename") or "", m.get("code_id") or ""): m
            for m in wanted}

    def progress(event: Any) -> None:
        if report is not None:
            total = max(1, event.files_total)
            what = {"start": "looking up", "bytes": "downloading", "done": event.status or "done"}[event.kind]
            size = f" {event.bytes_done:,} B" if event.kind == "bytes" else ""
            report(event.files_done / total, f"Symbols for {event.module.debug_file}: {what}{size}")

    chain = build_provider(paths, urls, cache_dir, debuginfod_urls=debuginfod)
    try:
        results = chain.fetch_many(list(keys), progress=progress, cancel=cancel, retry_misses=True)
    finally:
        chain.close()
    for key, res in results.items():
        if res.status == "loaded":
            out.found.append(key.debug_file)
        elif (res.extra or {}).get("reason") == "cancelled":
            out.cancelled = True
        else:
            out.missing.append((key.debug_file, res.note or res.status))
    return out
