"""The processing service for the app: received crashes (collector, imports) get stackwalked and signed in
worker processes while the window stays responsive. Call :func:`start_processing` off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def start_processing(store: Any, paths: Any, *, on_result: Callable[[str, bool], None] | None = None,
                     on_progress: Callable[[Any], None] | None = None, symbol_paths: Iterable[str] = (),
                     symbol_urls: Iterable[str] = (), mozilla_symbols: bool = True, workers: int = 2,
                     debuginfod_urls: Iterable[str] = ()) -> Any:
    """Start a :class:`~crashdesk.services.processing.ProcessingService` in the background; return it, or None
    when this build has no processing service."""
    try:
        from crashdesk.services.processing import ProcessingService, default_worker_config
    except ImportError:
        return None
    from crashdesk.symbols.sources import MOZILLA_SYMBOL_SERVER

    # the app's default: Mozilla's symbol server for Mozilla products (Settings can turn it off)
    config = default_worker_config(paths, symbol_paths=list(symbol_paths), symbol_urls=list(symbol_urls),
                                   mozilla_symbol_urls=[MOZILLA_SYMBOL_SERVER] if mozilla_symbols else [],
                                   debuginfod_urls=list(debuginfod_urls))  # + DEBUGINFOD_URLS, _NT_SYMBOL_PATH
    service = ProcessingService(store, config, workers=workers, on_result=on_result, on_progress=on_progress)
    service.start()
    return service


def describe(progress: Any) -> str:
    """One status-bar line for the service's progress object."""
    queued = getattr(progress, "queued", 0) or 0
    running = getattr(progress, "running", 0) or 0
    done = getattr(progress, "done", 0) or 0
    failed = getattr(progress, "failed", 0) or 0
    if not queued and not running:
        return f"Processing: idle ({done} done{f', {failed} failed' if failed else ''})" if done or failed else ""
    return f"Processing: {running} running, {queued} queued, {done} done" + (f", {failed} failed" if failed else "")
