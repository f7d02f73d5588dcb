"""Downloading ``.sym`` files from HTTP symbol servers in the store layout (Tecken, static buckets, mirrors).

One :class:`HttpSymbolServer` per base URL. Downloads stream into a temporary file (never into memory), decode
``Content-Encoding: gzip``/``deflate`` themselves (and gzip bodies sent without the header), stop at a size cap,
notice truncated bodies, and retry server errors (429, 5xx), timeouts and broken connections with exponential
backoff. 404 and other 4xx answers are definite misses.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from crashdesk.engine.record_class import replace
from crashdesk.symbols.layout import StorePath, UnsafeName, check_component, check_id
from crashdesk.symbols.options import HttpOptions

CHUNK = 256 * 1024
_PIECE = 1024 * 1024
MAX_RETRY_AFTER = 30.0
RATIO_GRACE = 16 * 1024 * 1024  # decoded bytes allowed before the compression ratio is checked


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (HTTP dates are ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


@dataclass(slots=True)
class Download:
    """The outcome of one download attempt chain.

    ``status``: ``ok`` (``temp_path`` holds the decoded file), ``not_found`` (a definite miss), ``redirect``
    (code-id lookup: ``location`` names the debug path), ``error`` (server/network trouble, retry later) or
    ``cancelled``.
    """

    status: str
    url: str
    note: str = ""
    http_status: int | None = None
    temp_path: Path | None = None
    location: str | None = None
    size: int = 0
    retry_after: float | None = None  # seconds the server asked us to wait (429/503 Retry-After)


class Cancelled(Exception):
    """Raised inside a download when the caller's cancel flag is set (internal)."""


class _Truncated(Exception):
    pass


class _TooLarge(Exception):
    pass


class _Bomb(Exception):
    pass


class _TotalTimeout(Exception):
    pass


class _Watchdog:
    """Ends one download attempt at its deadline, whatever it is waiting for: at the deadline it shuts down the
    attempt's socket, which makes a blocked read return at once (a per-read timeout alone lets a server that
    sends a byte now and then hold a download for as long as it likes). The socket is learnt from httpcore's
    ``connect_tcp``/``start_tls`` trace events (new connections, before the headers) and from the response."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._socks: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def trace(self, name: str, info: dict) -> None:
        if name.endswith(("connect_tcp.complete", "start_tls.complete")):
            self.watch(info.get("return_value"))

    def watch(self, stream) -> None:
        sock = None
        try:
            sock = stream.get_extra_info("socket") if stream is not None else None
        except Exception:  # noqa: BLE001 - a backend without the extra info: only the read timeout applies
            sock = None
        if sock is None:
            return
        with self._lock:
            self._socks.append(sock)
            fired = self.fired
        if fired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)


def _shutdown(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def make_client(options: HttpOptions) -> httpx.Client:
    """An httpx client set up for symbol downloads (redirects followed, no credentials carried across hosts)."""
    timeout = httpx.Timeout(options.read_timeout, connect=options.connect_timeout)
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=options.max_redirects,
        headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"},
        limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
    )


class _Decoder:
    """Streaming decoder chosen by Content-Encoding, sniffing gzip magic on undeclared bodies."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.strip().lower()
        self._d = None
        self._sniffed = self.encoding not in ("", "identity")
        if self.encoding in ("gzip", "x-gzip"):
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._d = zlib.decompressobj()
        elif self.encoding not in ("", "identity"):
            raise _Truncated(f"unsupported Content-Encoding {encoding!r}")

    def feed(self, chunk: bytes):
        """Yield the decoded bytes of ``chunk`` in pieces of at most 1 MiB (a small compressed body can decode
        to a huge one, so the caller checks its size cap piece by piece)."""
        if not self._sniffed and chunk:
            self._sniffed = True
            if chunk[:2] == b"\x1f\x8b":
                self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._d is None:
            if chunk:
                yield chunk
            return
        data = chunk
        while data:
            try:
                piece = self._d.decompress(data, _PIECE)
            except zlib.error as exc:
                raise _Truncated(f"corrupt compressed body: {exc}") from exc
            if piece:
                yield piece
            if self._d.eof:
                # the member ended: what follows is the next one (concatenated gzip members). Checked first:
                # once a member has ended, feeding its decompressor the rest again consumes nothing and only
                # grows unused_data (an endless loop)
                data = self._d.unused_data or self._d.unconsumed_tail
                if data:
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif self._d.unconsumed_tail:
                data = self._d.unconsumed_tail
            else:
                data = b""

    def finish(self) -> bytes:
        if self._d is None:
            return b""
        if not self._d.eof:
            raise _Truncated("compressed body ends early")
        return self._d.flush()


class HttpSymbolServer:
    """A symbol server at ``base_url`` serving ``<debug_file>/<DEBUG_ID>/<sym_file>``."""

    def __init__(self, base_url: str, client: httpx.Client, options: HttpOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UnsafeName(f"not an http(s) symbol server URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.options = options or HttpOptions()
        self._sleep = sleep

    def url_for(self, rel: StorePath) -> str:
        return "/".join([self.base_url] + [quote(p, safe="") for p in rel.parts])

    def download(self, rel: StorePath, temp_factory: Callable[[], tuple[int, Path]], *,
                 follow_redirects: bool = True, on_bytes: Callable[[int, int | None], None] | None = None,
                 cancel=None, append_url: bool = True) -> Download:
        """Fetch ``rel`` into a new temporary file (retrying transient failures)."""
        return self.fetch(self.url_for(rel), temp_factory, follow_redirects=follow_redirects, on_bytes=on_bytes,
                          cancel=cancel, append_url=append_url)

    def fetch(self, url: str, temp_factory: Callable[[], tuple[int, Path]], *, follow_redirects: bool = True,
              on_bytes: Callable[[int, int | None], None] | None = None, cancel=None,
              append_url: bool = True, max_bytes: int | None = None) -> Download:
        """Fetch ``url`` (any path on this server, e.g. a debuginfod or Microsoft symbol-server path) into a new
        temporary file, with the same limits and retries as :meth:`download`. ``append_url=False`` for binary
        files; ``max_bytes`` lowers the size cap for this file."""
        opts = self.options
        if max_bytes is not None and max_bytes < opts.max_bytes:
            opts = replace(opts, max_bytes=max_bytes)
        deadline = time.monotonic() + opts.total_timeout
        last: Download | None = None
        for attempt in range(opts.retries + 1):
            if cancel is not None and cancel.is_set():
                return Download("cancelled", url, "cancelled")
            if attempt:
                wait = opts.backoff * (2 ** (attempt - 1))
                if last is not None and last.retry_after is not None:
                    wait = max(wait, min(last.retry_after, MAX_RETRY_AFTER))
                self._sleep(min(wait, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                break
            last = self._attempt(url, temp_factory, follow_redirects, on_bytes, cancel, deadline, append_url,
                                 opts)
            if last.status != "error" or last.http_status in (413,) or last.note.startswith(("larger than",
                                                                                              "took longer")):
                return last
        return last or Download("error", url, "download timed out")

    def _attempt(self, url, temp_factory, follow_redirects, on_bytes, cancel, deadline, append_url,
                 opts: HttpOptions | None = None) -> Download:
        opts = opts or self.options
        remaining = deadline - time.monotonic()
        too_slow = Download("error", url, f"took longer than the {opts.total_timeout:g} s limit for one file")
        if remaining <= 0:
            return too_slow
        timeout = httpx.Timeout(min(opts.read_timeout, remaining), connect=min(opts.connect_timeout, remaining))
        with _Watchdog(remaining) as watchdog:
            try:
                result = self._exchange(url, temp_factory, follow_redirects, on_bytes, cancel, deadline,
                                        append_url, timeout, watchdog, opts)
            except _TotalTimeout:
                return too_slow
        if watchdog.fired and result.status == "error":
            return too_slow  # the read the watchdog cut short failed as a broken connection
        return result

    def _exchange(self, url, temp_factory, follow_redirects, on_bytes, cancel, deadline, append_url, timeout,
                  watchdog, opts: HttpOptions | None = None) -> Download:
        try:
            with self.client.stream("GET", url, follow_redirects=follow_redirects, timeout=timeout,
                                    extensions={"trace": watchdog.trace}) as r:
                watchdog.watch(r.extensions.get("network_stream"))
                status = r.status_code
                if 300 <= status < 400 and not follow_redirects:
                    return Download("redirect", url, f"redirect {status}", status,
                                    location=r.headers.get("location"))
                if status == 200:
                    return self._save_body(r, url, temp_factory, on_bytes, cancel, deadline, append_url,
                                           opts or self.options)
                if status in (408, 429) or status >= 500:
                    return Download("error", url, f"server error {status}", status,
                                    retry_after=_retry_after(r.headers.get("retry-after")))
                return Download("not_found", url, "not found" if status == 404 else f"HTTP {status}", status)
        except Cancelled:
            return Download("cancelled", url, "cancelled")
        except httpx.TimeoutException as exc:
            return Download("error", url, f"timed out ({type(exc).__name__})")
        except httpx.TooManyRedirects:
            return Download("not_found", url, "too many redirects")
        except (httpx.TransportError, httpx.StreamError) as exc:
            return Download("error", url, f"connection failed: {type(exc).__name__}: {exc}")
        except httpx.HTTPError as exc:
            return Download("error", url, f"HTTP failure: {exc}")

    def _save_body(self, r: httpx.Response, url, temp_factory, on_bytes, cancel, deadline, append_url, opts):
        declared = r.headers.get("content-length")
        try:
            total_raw = int(declared) if declared is not None else None
        except ValueError:
            total_raw = None
        if total_raw is not None and not r.headers.get("content-encoding") and total_raw > opts.max_bytes:
            return Download("error", url, f"larger than the {opts.max_bytes} byte cap", r.status_code)
        fd, tmp = temp_factory()
        ok = False
        try:
            with os.fdopen(fd, "wb") as f:
                decoder = _Decoder(r.headers.get("content-encoding", ""))
                raw_seen = 0
                written = 0
                last_byte = b"\n"
                for chunk in r.iter_raw(CHUNK):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled()
                    if time.monotonic() > deadline:
                        raise _TotalTimeout()
                    raw_seen += len(chunk)
                    for data in decoder.feed(chunk):
                        written += len(data)
                        if written > opts.max_bytes:
                            raise _TooLarge()
                        if written > RATIO_GRACE and written > opts.max_ratio * raw_seen:
                            raise _Bomb(f"decodes to over {opts.max_ratio:g} times its {raw_seen} bytes on the "
                                        f"wire (a compression bomb?)")
                        f.write(data)
                        last_byte = data[-1:]
                    if on_bytes is not None:
                        on_bytes(raw_seen, total_raw)
                tail = decoder.finish()
                if tail:
                    written += len(tail)
                    if written > opts.max_bytes:
                        raise _TooLarge()
                    f.write(tail)
                    last_byte = tail[-1:]
                if total_raw is not None and raw_seen != total_raw:
                    raise _Truncated(f"body has {raw_seen} of {total_raw} bytes")
                if append_url and written:
                    f.write((b"" if last_byte == b"\n" else b"\n") + b"INFO URL " + url.encode() + b"\n")
            ok = True
            return Download("ok", url, "downloaded", r.status_code, temp_path=tmp, size=written)
        except _TooLarge:
            return Download("error", url, f"larger than the {opts.max_bytes} byte cap", r.status_code)
        except _Bomb as exc:
            return Download("error", url, f"larger than allowed: {exc}", r.status_code)
        except _Truncated as exc:
            return Download("error", url, f"truncated body: {exc}", r.status_code)
        finally:
            if not ok:
                try:
                    tmp.unlink()
                except OSError:
                    pass


def parse_code_redirect(location: str | None) -> StorePath | None:
    """The debug store path named by a code-id lookup's ``Location`` (``.../<debug_file>/<ID>/<sym_file>``)."""
    if not location:
        return None
    path = urlsplit(location).path
    segs = [s for s in path.split("/") if s]
    if len(segs) < 3:
        return None
    from urllib.parse import unquote

    try:
        debug_file = check_component(unquote(segs[-3]))
        debug_id = check_id(unquote(segs[-2]))
        sym = check_component(unquote(segs[-1]))
    except UnsafeName:
        return None
    return StorePath(debug_file, debug_id, sym)
