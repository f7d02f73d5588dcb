"""The symbol folders and servers set in the app's Settings, shared with the command line.

They live in ``<data-dir>/symbol-sources.json`` so that ``crashdesk process`` and ``crashdesk collector`` use what
the app's Settings hold (after their own ``--symbols-path``/``--symbols-url`` flags), and ``crashdesk config``
shows and sets them. The app keeps its QSettings keys (``symbols/paths``, ``symbols/urls``,
``symbols/mozilla_for_mozilla_products``, ``symbols/debuginfod``) in step with this file: it writes the file when Settings are saved and
reads it at start. ``stackwalk`` does not read it: like ``minidump-stackwalk`` it uses only what it is given.
The file is written atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crashdesk.errors import CrashDeskError

FILE_NAME = "symbol-sources.json"


class SymbolSettingsError(CrashDeskError):
    """The symbol-sources file cannot be read or written."""


@dataclass(frozen=True)
class SymbolSources:
    """Symbol folders and servers in lookup order; ``mozilla_for_mozilla_products`` adds Mozilla's symbol
    server for Mozilla products (the app's checkbox)."""

    paths: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    mozilla_for_mozilla_products: bool = True
    debuginfod: list[str] = field(default_factory=list)  # debuginfod servers (DEBUGINFOD_URLS is added too)

    def to_json(self) -> dict:
        return asdict(self)


def settings_file(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def load(data_dir: Path) -> SymbolSources | None:
    """The saved sources, or None when none were ever saved."""
    path = settings_file(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SymbolSettingsError(f"{path}: cannot read the symbol settings: {exc}") from None
    if not isinstance(raw, dict):
        raise SymbolSettingsError(f"{path}: not a JSON object")

    def strings(key: str) -> list[str]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SymbolSettingsError(f"{path}: {key!r} must be a list of strings")
        return list(value)

    return SymbolSources(strings("paths"), strings("urls"), bool(raw.get("mozilla_for_mozilla_products", True)),
                         strings("debuginfod"))


def save(data_dir: Path, sources: SymbolSources) -> Path:
    path = settings_file(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(sources.to_json(), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise SymbolSettingsError(f"{path}: cannot write the symbol settings: {exc.strerror or exc}") from None
    return path


def merged(first: Iterable[str], then: Iterable[str]) -> list[str]:
    """``first`` (the command's flags) then ``then`` (the settings), each source once, in that order."""
    return list(dict.fromkeys([*first, *then]))
