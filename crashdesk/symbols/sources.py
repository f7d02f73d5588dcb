"""Symbol source settings: the well-known servers and ``_NT_SYMBOL_PATH``-style source strings.

A source string is a ``;``-separated list, searched left to right: a plain folder (a store read directly),
``srv*<store>*...*<url>`` (local stores, then a server; the leftmost local store doubles as the download
cache), ``cache*<dir>`` (the download cache), or a bare ``http(s)://`` URL. Microsoft-style stores serve
PDBs rather than ``.sym`` files; CrashDesk only reads Breakpad ``.sym`` files from any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crashdesk.errors import UsageError

MOZILLA_SYMBOL_SERVER = "https://symbols.mozilla.org/"


@dataclass(slots=True)
class SymbolSources:
    paths: list[Path] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    cache: Path | None = None


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def parse_symbol_path(text: str) -> SymbolSources:
    """Parse a source string (``cache*C:\\sym;srv*C:\\store*https://symbols.mozilla.org``) into folders,
    servers and the cache folder. Raises :class:`UsageError` for entries it cannot use."""
    out = SymbolSources()
    for raw in text.split(";"):
        entry = raw.strip()
        if not entry:
            continue
        parts = [p.strip() for p in entry.split("*")]
        head = parts[0].lower()
        if head in ("srv", "symsrv"):
            rest = parts[2:] if head == "symsrv" else parts[1:]
            rest = [p for p in rest if p]
            for p in rest:
                if _is_url(p):
                    if p not in out.urls:
                        out.urls.append(p)
                elif out.cache is None:
                    out.cache = Path(p)
                elif Path(p) not in out.paths:
                    out.paths.append(Path(p))
        elif head == "cache":
            if len(parts) < 2 or not parts[1]:
                raise UsageError(f"symbol path entry {entry!r}: cache* needs a folder")
            out.cache = Path(parts[1])
        elif len(parts) == 1 and _is_url(entry):
            out.urls.append(entry)
        elif len(parts) == 1:
            out.paths.append(Path(entry))
        else:
            raise UsageError(f"symbol path entry {entry!r} is not understood")
    return out
