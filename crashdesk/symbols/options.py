"""Settings for symbol downloads (kept apart from the HTTP code so importing them does not import httpx)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_USER_AGENT = "CrashDesk-symbols/1.0"


@dataclass(slots=True)
class HttpOptions:
    """Limits for downloads."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # between bytes
    total_timeout: float = 1000.0  # per file, like minidump-stackwalk's default
    retries: int = 3  # extra attempts after the first, for 5xx/429/network errors
    backoff: float = 0.5  # seconds; doubles each retry
    max_bytes: int = 4 * 1024**3  # decoded size cap
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
