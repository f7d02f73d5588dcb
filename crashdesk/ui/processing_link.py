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


def settings_sources(settings: Any) -> dict[str, Any]:
    """The symbol sources Settings give processing (read on the GUI thread; QSettings lists as lists)."""
    def as_list(key: str) -> list[str]:
        value = settings.value(key, []) or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    return {"symbol_paths": as_list("symbols/paths"), "symbol_urls": as_list("symbols/urls"),
            "debuginfod_urls": as_list("symbols/debuginfod"),
            "mozilla_symbols": str(settings.value("symbols/mozilla_for_mozilla_products", "true")).lower() != "false"}


def worker_config(paths: Any, sources: dict[str, Any]) -> Any:
    """The processing configuration for ``sources`` (:func:`settings_sources`), as the app's service uses it;
    None when this build has no processing service. Reads the data folder's profile choice: off the GUI
    thread."""
    try:
        from crashdesk.services.processing import default_worker_config
    except ImportError:
        return None
    from crashdesk.symbols.sources import MOZILLA_SYMBOL_SERVER

    return default_worker_config(paths, symbol_paths=sources["symbol_paths"], symbol_urls=sources["symbol_urls"],
                                 mozilla_symbol_urls=[MOZILLA_SYMBOL_SERVER] if sources["mozilla_symbols"] else [],
                                 debuginfod_urls=sources["debuginfod_urls"])


def current_symbol_sources(paths: Any, sources: dict[str, Any]) -> dict[str, list[str]] | None:
    """What a crash processed now would be processed with (the ``symbol_sources`` a processed crash records)."""
    config = worker_config(paths, sources)
    if config is None:
        return None
    from crashdesk.services.processing import symbol_sources_of

    return symbol_sources_of(config)


def describe(progress: Any) -> str:
    """One status-bar line for the service's progress object."""
    queued = getattr(progress, "queued", 0) or 0
    running = getattr(progress, "running", 0) or 0
    done = getattr(progress, "done", 0) or 0
    failed = getattr(progress, "failed", 0) or 0
    if not queued and not running:
        return f"Processing: idle ({done} done{f', {failed} failed' if failed else ''})" if done or failed else ""
    return f"Processing: {running} running, {queued} queued, {done} done" + (f", {failed} failed" if failed else "")


def end_helper_processes() -> None:
    """After the workers have ended: stop multiprocessing's resource tracker, the helper process that spawning
    workers started, so that nothing of CrashDesk runs once the window is gone (it would otherwise end only
    after this process exits). Skipped while any child process still runs."""
    import multiprocessing
    from multiprocessing import resource_tracker

    if multiprocessing.active_children():
        return
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)  # noqa: SLF001 - no public way
    if stop is not None:
        try:
            stop()
        except Exception:  # noqa: BLE001 - best effort at exit: it ends with this process anyway
            pass
