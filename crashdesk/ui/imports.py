"""File -> Open minidump and drag and drop: read dumps, store them as ``import`` crashes (background thread).

Uses the import service (``crashdesk.services.importing``) when this build has it; otherwise stores the dump
directly with annotations found next to it (``<name>.json`` or a Crashpad/Breakpad ``<name>.extra``) or inside
it (Crashpad's annotations stream). Processing then happens in the processing service when it runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.errors import CrashDeskError

MINIDUMP_MAGIC = b"MDMP"
MAX_DUMP_BYTES = 2 * 1024 ** 3


class ImportFailed(CrashDeskError):
    """A file could not be imported (not a minidump, unreadable)."""


@dataclass
class ImportResult:
    crash_ids: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def sidecar_annotations(path: Path) -> dict[str, Any]:
    """Annotations stored beside a dump: ``crash.json`` / ``crash.extra`` (JSON or ``key=value`` lines)."""
    for candidate in (path.with_suffix(".json"), path.with_suffix(".extra"), Path(str(path) + ".json")):
        if not candidate.is_file() or candidate == path:
            continue
        text = candidate.read_text(encoding="utf-8", errors="replace")
        try:
            data = json.loads(text)
        except ValueError:
            data = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        if isinstance(data, dict):
            return {str(k): v for k, v in data.items()}
    return {}


def embedded_annotations(data: bytes) -> dict[str, Any]:
    """Crashpad's annotations from inside the minidump, when the engine's reader can read them."""
    try:
        from crashdesk.engine.minidump import extras
        from crashdesk.engine.minidump.reader import Minidump
    except ImportError:
        return {}
    try:
        return dict(extras.annotations(Minidump.from_bytes(data)))
    except Exception:  # noqa: BLE001 - annotations are a bonus; a bad stream must not stop the import
        return {}


def read_minidump(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_DUMP_BYTES:
            raise ImportFailed(f"{path.name}: {size:,} bytes is larger than the 2 GiB limit")
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"{path.name}: cannot read it ({exc.strerror or exc})") from exc
    if not data.startswith(MINIDUMP_MAGIC):
        raise ImportFailed(f"{path.name}: not a minidump (no MDMP signature)")
    return data


def import_minidumps(store: Any, paths: Iterable[str | Path], cancel: Any = None,
                     report: Callable[[float, str], None] | None = None, *,
                     symbols_dir: Path | None = None) -> ImportResult:
    """Store each dump in ``paths`` as a received ``import`` crash; bad files are listed, not raised. A
    reproduction packet's symbol files go to ``symbols_dir`` (the symbol cache) when given."""
    paths = [Path(p) for p in paths]
    result = ImportResult()
    service = _import_service(symbols_dir)
    for n, path in enumerate(paths):
        if cancel is not None:
            cancel.check()
        if report:
            report(n / max(1, len(paths)), f"Importing {path.name} ({n + 1}/{len(paths)})")
        try:
            if service is not None:
                result.crash_ids.extend(service(store, path))
                continue
            data = read_minidump(path)
            annotations = {**embedded_annotations(data), **sidecar_annotations(path)}
            from crashdesk.model.crash_time import crash_date, minidump_header_time

            crash_id = store.add_crash(annotations, {"upload_file_minidump": data}, source="import",
                                       submitted_at=crash_date(annotations, minidump_header_time(data[:32])))
            result.crash_ids.append(crash_id)
        except CrashDeskError as exc:
            result.failures.append((str(path), str(exc)))
    if report:
        report(1.0, f"Imported {len(result.crash_ids)} of {len(paths)}")
    return result


def _import_service(symbols_dir: Path | None = None) -> Callable[[Any, Path], list[str]] | None:
    """The import service's one-file entry point, when this build has one."""
    try:
        from crashdesk.services import importing  # type: ignore[attr-defined]
    except ImportError:
        return None
    fn = getattr(importing, "import_path", None) or getattr(importing, "import_file", None)
    if fn is None:
        return None

    def run(store: Any, path: Path) -> list[str]:
        if symbols_dir is not None and fn is getattr(importing, "import_path", None):
            out = fn(store, path, symbols_dir=symbols_dir)
        else:
            out = fn(store, path)
        items = out if isinstance(out, list | tuple) else [out]
        ids = []
        for item in items:
            crash_id = item if isinstance(item, str) else getattr(item, "crash_id", None)
            if crash_id:
                ids.append(crash_id)
        return ids

    return run
