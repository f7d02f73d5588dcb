"""Saved servers: name -> base URL (+ optional client-side rate limit), in ``<data-dir>/servers.json``.

Tokens are not here: they live in the OS keyring (:mod:`crashdesk.config.secrets`). The file is written
atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from crashdesk.errors import CrashDeskError, UsageError

FILE_NAME = "servers.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CRASH_STATS_URL = "https://crash-stats.mozilla.org"


class ServerConfigError(CrashDeskError):
    """The saved-servers file cannot be read or written."""


@dataclass(frozen=True)
class ServerConfig:
    """A server to sync from. ``rate_limit``: requests/minute; ``None`` = CrashDesk's default for the host
    (on for Crash Stats, off elsewhere), ``0`` = off."""

    name: str
    url: str
    rate_limit: int | None = None

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host or ""


def normalize_url(text: str) -> str:
    """``https://host[:port][/prefix]`` without a trailing ``/`` or ``/api``."""
    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise UsageError(f"not a server address: {text!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise UsageError(f"not an http(s) server address: {text!r}")
    path = url.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return str(url.copy_with(path=path or "", query=None, fragment=None)).rstrip("/")


def looks_like_url(text: str) -> bool:
    return "://" in text


def name_for_url(url: str) -> str:
    """The source name for a plain-URL sync: ``host`` or ``host:port``."""
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port}" if parsed.port else (parsed.host or url)


class ServerRegistry:
    """The saved servers of one data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME

    def _load(self) -> list[ServerConfig]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ServerConfigError(f"cannot read {self.path}: {exc}") from exc
        out = []
        for entry in data.get("servers", []) if isinstance(data, dict) else []:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("name"), str)
                and isinstance(entry.get("url"), str)
            ):
                rate = entry.get("rate_limit")
                out.append(ServerConfig(entry["name"], entry["url"], rate if isinstance(rate, int) else None))
        return out

    def _save(self, servers: list[ServerConfig]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"servers": [asdict(s) for s in servers]}, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".servers-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ServerConfigError(f"cannot write {self.path}: {exc}") from exc

    def list(self) -> list[ServerConfig]:
        return self._load()

    def get(self, name: str) -> ServerConfig | None:
        return next((s for s in self._load() if s.name == name), None)

    def add(
        self, name: str, url: str, *, rate_limit: int | None = None, replace: bool = False
    ) -> ServerConfig:
        if not _NAME_RE.match(name):
            raise UsageError(f"server name {name!r}: use letters, digits, '.', '_' or '-' (up to 64)")
        if rate_limit is not None and rate_limit < 0:
            raise UsageError("the rate limit must be >= 0 requests per minute (0 = off)")
        server = ServerConfig(name, normalize_url(url), rate_limit)
        servers = self._load()
        if any(s.name == name for s in servers) and not replace:
            raise UsageError(f"a server named {name!r} is already saved (remove it first, or use --replace)")
        servers = [s for s in servers if s.name != name] + [server]
        self._save(servers)
        return server

    def remove(self, name: str) -> ServerConfig:
        servers = self._load()
        found = next((s for s in servers if s.name == name), None)
        if found is None:
            raise UsageError(f"no saved server named {name!r}")
        self._save([s for s in servers if s.name != name])
        return found

    def resolve(self, name_or_url: str) -> ServerConfig:
        """A saved server by name, or an ad-hoc one for a plain base URL."""
        if looks_like_url(name_or_url):
            url = normalize_url(name_or_url)
            saved = next((s for s in self._load() if s.url == url), None)
            return saved or ServerConfig(name_for_url(url), url)
        found = self.get(name_or_url)
        if found is None:
            names = ", ".join(s.name for s in self._load()) or "none saved"
            raise UsageError(
                f"no saved server named {name_or_url!r} ({names}); give a URL or "
                "`crashdesk server add NAME URL`"
            )
        return found
