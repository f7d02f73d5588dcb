"""Finding a frame's source file on this machine: build paths mapped to local checkouts.

A mapping ``/build/crashfactory-demo -> /home/me/src/demo`` turns the path the symbols recorded at build
time into a local one. Mappings live in QSettings (``sources/mappings``) as ``prefix=folder`` lines.
"""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath

MAX_SOURCE_BYTES = 4 * 1024 * 1024


class SourceMap:
    def __init__(self, mappings: list[tuple[str, str]] | None = None) -> None:
        self.mappings: list[tuple[str, str]] = list(mappings or [])

    @classmethod
    def from_settings(cls, settings) -> SourceMap:
        raw = settings.value("sources/mappings", []) or []
        if isinstance(raw, str):
            raw = [raw]
        pairs = [tuple(item.split("=", 1)) for item in raw if "=" in item]
        return cls([(a, b) for a, b in pairs])

    def save(self, settings) -> None:
        settings.setValue("sources/mappings", [f"{a}={b}" for a, b in self.mappings])

    def resolve(self, build_path: str | None) -> Path | None:
        """The local file for ``build_path``, or None when no mapping (or the path itself) finds it."""
        if not build_path:
            return None
        norm = build_path.replace("\\", "/")
        for prefix, local in self.mappings:
            p = prefix.replace("\\", "/").rstrip("/")
            if norm == p or norm.startswith(p + "/"):
                candidate = Path(local) / PurePosixPath(norm[len(p):].lstrip("/"))
                if candidate.is_file():
                    return candidate
        direct = Path(build_path)
        return direct if direct.is_absolute() and direct.is_file() else None

    def render(self, build_path: str | None, line: int | None) -> str:
        """HTML for the source pane: the highlighted file at ``line``, or why there is none."""
        if not build_path:
            return "<p style='color:#777'>This frame has no source file (no symbols, or no line records).</p>"
        local = self.resolve(build_path)
        if local is None:
            return (f"<p style='color:#777'>Source not found on this machine: <code>{html.escape(build_path)}"
                    f"</code><br>Map its build folder to a local checkout in <i>Settings → Source folders</i>"
                    "</p>")
        try:
            if local.stat().st_size > MAX_SOURCE_BYTES:
                return f"<p>{html.escape(str(local))} is too large to show.</p>"
            text = local.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"<p>Cannot read {html.escape(str(local))}: {html.escape(str(exc))}</p>"
        from crashdesk.ui import highlight

        return (f"<p><code>{html.escape(str(local))}</code></p>"
                + highlight.source_html(text, local.name, line if isinstance(line, int) else None))
