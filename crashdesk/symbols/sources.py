"""Symbol source settings: the well-known servers and ``_NT_SYMBOL_PATH``-style source strings.

A source string is a ``;``-separated list, searched left to right: a plain folder (a store read directly),
``srv*<store>*...*<url>`` (local stores, then a server; the leftmost local store doubles as the download
cache), ``cache*<dir>`` (the download cache), or a bare ``http(s)://`` URL. Every server is asked for a Breakpad ``.sym`` first, then (for Windows
modules) for the PDB/PE in the Microsoft symbol-server layout. ``DEBUGINFOD_URLS`` names debuginfod servers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crashdesk.errors import UsageError

MOZILLA_SYMBOL_SERVER = "https://symbols.mozilla.org/"


@dataclass(slots=True)
class SymbolSources:
    paths: list[Path] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    cache: Path | None = None
    debuginfod: list[str] = field(default_factory=list)


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


def parse_debuginfod_urls(text: str) -> list[str]:
    """``DEBUGINFOD_URLS``: server base URLs separated by white space (non-http(s) entries are skipped, as
    elfutils' client does with ones it cannot use)."""
    out: list[str] = []
    for part in (text or "").split():
        url = part.strip().rstrip("/")
        if _is_url(url) and url not in out:
            out.append(url)
    return out


def environment_sources(environ: Mapping[str, str]) -> SymbolSources:
    """The symbol sources the environment names: ``DEBUGINFOD_URLS`` (debuginfod servers) and
    ``_NT_SYMBOL_PATH`` (folders and Microsoft-style servers; its ``srv*`` download store is read as a folder).
    An ``_NT_SYMBOL_PATH`` that cannot be parsed is ignored (the caller may warn)."""
    out = SymbolSources(debuginfod=parse_debuginfod_urls(environ.get("DEBUGINFOD_URLS", "")))
    nt = environ.get("_NT_SYMBOL_PATH", "").strip()
    if nt:
        try:
            parsed = parse_symbol_path(nt)
        except UsageError:
            return out
        out.urls = parsed.urls
        out.paths = parsed.paths + ([parsed.cache] if parsed.cache is not None else [])
    return out
