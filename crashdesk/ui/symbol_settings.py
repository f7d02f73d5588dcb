"""The app's symbol Settings (QSettings ``symbols/paths``, ``symbols/urls``, ``symbols/mozilla_for_mozilla_products``)
kept in step with ``<data-dir>/symbol-sources.json``, which the command line reads
(:mod:`crashdesk.config.symbol_sources`)."""

from __future__ import annotations

from pathlib import Path

from crashdesk.config.symbol_sources import SymbolSettingsError, SymbolSources, load, save

KEYS = ("symbols/paths", "symbols/urls", "symbols/mozilla_for_mozilla_products", "symbols/debuginfod")


def _list(settings, key: str) -> list[str]:
    value = settings.value(key, []) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def from_settings(settings) -> SymbolSources:
    mozilla = str(settings.value(KEYS[2], "true")).lower() != "false"
    return SymbolSources(_list(settings, KEYS[0]), _list(settings, KEYS[1]), mozilla, _list(settings, KEYS[3]))


def push(settings, data_dir: Path | None) -> None:
    """After Settings are saved: write them where the command line reads them."""
    if data_dir is not None:
        save(Path(data_dir), from_settings(settings))


def pull(settings, data_dir: Path, *, writable: bool = True) -> None:
    """At start: take the data folder's file (``crashdesk config`` may have changed it) into QSettings; when
    there is none yet, write the app's current settings there (for the command line)."""
    try:
        saved = load(Path(data_dir))
    except SymbolSettingsError:
        return  # a damaged file: the app keeps its own settings; `crashdesk config` reports the problem
    if saved is None:
        if writable and any(settings.contains(k) for k in KEYS):
            try:
                push(settings, data_dir)
            except SymbolSettingsError:
                pass
        return
    settings.setValue(KEYS[0], saved.paths)
    settings.setValue(KEYS[1], saved.urls)
    settings.setValue(KEYS[2], "true" if saved.mozilla_for_mozilla_products else "false")
    settings.setValue(KEYS[3], saved.debuginfod)
