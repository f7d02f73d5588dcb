"""Helpers shared by the sub-commands: paths, JSON output, progress on stderr."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from crashdesk.config.paths import Paths, resolve_paths


def paths_from(args, *, write: bool = True) -> Paths:
    """The folders for ``args``, created; ``write=False`` for reading commands, which accept a read-only data
    folder (see :func:`open_store`)."""
    return resolve_paths(getattr(args, "data_dir", None)).ensure(write=write)


def open_store(args, *, write: bool):
    """The crash store for ``args``: read-only when the command only reads and the folder cannot be written."""
    from crashdesk.store import CrashStore

    paths = paths_from(args, write=write)
    return CrashStore.open(paths.data_dir, read_only=not write and not paths.writable)


def symbol_sources(paths: Paths, flag_paths, flag_urls, flag_debuginfod=()) -> dict[str, list[str]]:
    """The symbol sources of ``process`` and ``collector``: their ``--symbols-path``/``--symbols-url``/
    ``--debuginfod-url`` flags first, then the folders and servers set in the app's Settings (``crashdesk config``), each once; plus
    Mozilla's symbol server for Mozilla products when Settings ask for it. Keyword arguments for
    :func:`crashdesk.services.processing.default_worker_config`."""
    from crashdesk.config.symbol_sources import load, merged

    saved = load(paths.data_dir)
    mozilla: list[str] = []
    if saved is not None and saved.mozilla_for_mozilla_products:
        from crashdesk.symbols.sources import MOZILLA_SYMBOL_SERVER

        mozilla = [MOZILLA_SYMBOL_SERVER]
    return {"symbol_paths": merged(flag_paths, saved.paths if saved else []),
            "symbol_urls": merged(flag_urls, saved.urls if saved else []),
            "debuginfod_urls": merged(flag_debuginfod, saved.debuginfod if saved else []),
            "mozilla_symbol_urls": mozilla}


def add_symbol_source_flags(parser, *, paths_help: str, urls_help: str, debuginfod_help: str | None = None) -> None:
    """Add the repeatable ``--symbols-path DIR``, ``--symbols-url URL`` and (when ``debuginfod_help`` is given)
    ``--debuginfod-url URL`` flags to ``parser``, each collecting a list (default empty); the help texts say
    how the command uses them."""
    parser.add_argument("--symbols-path", action="append", default=[], metavar="DIR", help=paths_help)
    parser.add_argument("--symbols-url", action="append", default=[], metavar="URL", help=urls_help)
    if debuginfod_help is not None:
        parser.add_argument("--debuginfod-url", action="append", default=[], metavar="URL", help=debuginfod_help)


def print_json(obj: Any, *, pretty: bool = False) -> None:
    sys.stdout.write(json.dumps(obj, indent=2 if pretty else None, ensure_ascii=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()


def info(message: str) -> None:
    print(message, file=sys.stderr)


class Progress:
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            rate = self.done / max(now - self.started, 1e-9)
            if self.total:
                width = 30
                filled = int(width * self.done / self.total)
                bar = "#" * filled + "-" * (width - filled)
                text = f"\r{self.label} [{bar}] {self.done}/{self.total} {rate:.1f}/s"
            else:
                text = f"\r{self.label} {self.done} {rate:.1f}/s"
            sys.stderr.write(text)
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def note_native_support(symbol_paths) -> None:
    """One line on stderr when symbol folders are given but native debug files cannot be read here."""
    if not symbol_paths:
        return
    from crashdesk.engine.native import SUPPORT_MISSING_NOTE, native_support

    if not native_support():
        print(f"note: {SUPPORT_MISSING_NOTE}", file=sys.stderr)
