"""Settings for symbol downloads (kept apart from the HTTP code so importing them does not import httpx)."""

from __future__ import annotations

from crashdesk.engine.record_class import Record

DEFAULT_USER_AGENT = "CrashDesk-symbols/1.0"


class HttpOptions(Record, slots=True):
    """Limits for downloads."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # between bytes
    # per file, all attempts and every phase together (connect, headers, body); a watchdog ends a read that
    # would outlast it, so a server trickling bytes cannot stretch it
    total_timeout: float = 300.0
    retries: int = 3  # extra attempts after the first, for 5xx/429/network errors
    backoff: float = 0.5  # seconds; doubles each retry
    max_bytes: int = 2 * 1024**3  # decoded size cap: bytes on disk per file, checked while writing
    # decoded bytes per byte on the wire, once past the first 16 MiB: Breakpad .sym text gzips 3-10:1, a gzip
    # bomb ~1000:1, so a bomb is stopped after a few MiB instead of filling the disk up to max_bytes
    max_ratio: float = 100.0
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
