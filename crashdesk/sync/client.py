"""An HTTP client (asyncio API, httpx underneath) for the Socorro (Crash Stats) API subset a sync needs.

What it does for every request:

* at most ``concurrency`` requests in flight, and an optional client-side budget per server
  (:class:`~crashdesk.sync.ratelimit.RateLimiter`);
* timeouts, and retries with exponential backoff and jitter on ``5xx``, connection errors, timeouts,
  bodies cut short and malformed JSON; ``429`` waits ``Retry-After`` when the server sends it (Crash Stats
  does not) and otherwise backs off on its own, starting at a few seconds;
* the API token goes in ``Auth-Token`` only to the server's own origin (scheme, host, port): redirects are
  followed here, not by httpx (which strips only ``Authorization`` on a cross-host redirect), and a hop to any
  other origin is made without the token. The token is held in a :class:`Secret` whose ``repr`` hides it
  and is never put in a log message, an exception or the client's default headers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import logging
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from crashdesk import __version__
from crashdesk.model.jsonbound import loads as bounded_json
from crashdesk.sync.errors import AuthError, Cancelled, NotFound, PermissionDenied, ServerError
from crashdesk.sync.ratelimit import RateLimiter

log = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
TOKEN_ERRORS = ("API Token not matched", "API Token found but expired", "User of API token not active")
USER_AGENT = f"CrashDesk/{__version__} (+sync)"

Params = Sequence[tuple[str, str]] | Mapping[str, str]


class CancelToken(Protocol):
    """Anything with ``is_set()`` (``threading.Event`` fits)."""

    def is_set(self) -> bool: ...


class Secret:
    """A token that does not show itself in ``repr``/``str`` (logs, tracebacks, debuggers)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request tries before it is reported as failed.

    Backoff for attempt ``n`` (1-based) is drawn uniformly from ``[d/2, d]`` with
    ``d = min(cap, base * 2**(n-1))``
    ("equal jitter"), so clients that failed together do not come back together.
    """

    attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    rate_limited_attempts: int = 12
    rate_limited_base: float = 5.0
    rate_limited_cap: float = 60.0
    retry_after_cap: float = 300.0

    def backoff(self, attempt: int, *, rate_limited: bool = False) -> float:
        base, cap = (self.rate_limited_base, self.rate_limited_cap) if rate_limited else (self.base, self.cap)
        ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class ClientStats:
    """Counters for progress reports and the end-of-sync summary."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    redirects: int = 0
    bytes: int = 0
    waited_for_budget: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)

    def fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit: the unit a token is bound to."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, (url.host or "").lower(), port


def normalize_base_url(text: str) -> str:
    """``https://host[:port][/prefix]`` without a trailing ``/`` or ``/api``; raises ``ValueError``."""
    url = httpx.URL(text.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"not an http(s) server address: {text!r}")
    path = url.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return str(url.copy_with(path=path or "", query=None, fragment=None)).rstrip("/")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_message(response: httpx.Response) -> str:
    """The ``error`` (or form ``errors``) of a Socorro JSON error body; the status line otherwise."""
    try:
        body = bounded_json(response.content)
    except (ValueError, UnicodeDecodeError):
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return body["error"]
        if isinstance(body.get("errors"), dict):
            return "; ".join(
                f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in body["errors"].items()
            )
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


class _Transient(Exception):
    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class SocorroClient:
    """Talks to one server. Use as ``async with SocorroClient(...) as client:``."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | Secret | None = None,
        concurrency: int = 24,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate_limit: int | None = None,
        rate_period: float = 60.0,
        cancel: CancelToken | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self._origin = origin(httpx.URL(self.base_url))
        if isinstance(token, str):
            token = Secret(token) if token else None
        self._token: Secret | None = token
        self.concurrency = max(1, int(concurrency))
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(rate_limit, rate_period) if rate_limit else None
        self.cancel = cancel
        self.stats = ClientStats()
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._user_agent = user_agent
        self._sem: asyncio.Semaphore | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._http: httpx.HTTPTransport | None = None

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def __repr__(self) -> str:
        return f"SocorroClient({self.base_url!r}, token={'set' if self._token else 'none'})"

    async def __aenter__(self) -> SocorroClient:
        self._sem = asyncio.Semaphore(self.concurrency)
        # Requests run on httpx's blocking transport in a pool of `concurrency` threads, driven from asyncio:
        # measured on loopback, that costs about half the CPU per request of httpx.AsyncClient (no anyio
        # layer) and keeps the event loop free for scheduling, rate limiting and the store. The transport is
        # used directly: this client follows redirects itself and needs no cookies, auth flows or hooks, and
        # skipping httpx.Client's layers saves about a third of the CPU per request again.
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self.concurrency, thread_name_prefix="crashdesk-http"
        )
        self._http = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            retries=0,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        pool, http = self._pool, self._http
        self._pool = self._http = None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
        if http is not None:
            http.close()

    # ------------------------------------------------------------------ API

    async def supersearch(self, params: Params) -> dict[str, Any]:
        body = await self.get_json("SuperSearch", params)
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise ServerError("SuperSearch answered without a hits list", url=self.api_url("SuperSearch"))
        return body

    async def processed_crash(self, crash_id: str) -> dict[str, Any]:
        body = await self.get_json("ProcessedCrash", [("crash_id", crash_id)])
        if not isinstance(body, dict):
            raise ServerError(f"ProcessedCrash for {crash_id} is not a JSON object")
        return body

    async def raw_crash(self, crash_id: str) -> dict[str, Any]:
        body = await self.get_json("RawCrash", [("crash_id", crash_id), ("format", "meta")])
        if not isinstance(body, dict):
            raise ServerError(f"RawCrash for {crash_id} is not a JSON object")
        return body

    async def raw_dump(self, crash_id: str, name: str) -> bytes:
        return await self.get_bytes("RawCrash", [("crash_id", crash_id), ("format", "raw"), ("name", name)])

    def api_url(self, endpoint: str) -> str:
        return f"{self.base_url}/api/{endpoint}/"

    async def get_json(self, endpoint: str, params: Params) -> Any:
        return await self._request(endpoint, params, want_json=True)

    async def get_bytes(self, endpoint: str, params: Params) -> bytes:
        return await self._request(endpoint, params, want_json=False)

    # ------------------------------------------------------------------ machinery

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            self._check_cancel()
            left = end - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.1))

    async def _request(self, endpoint: str, params: Params, *, want_json: bool) -> Any:
        if self._http is None or self._sem is None:
            raise RuntimeError("use SocorroClient as an async context manager")
        url = httpx.URL(
            self.api_url(endpoint),
            params=list(params.items()) if isinstance(params, Mapping) else list(params),
        )
        failures = 0
        limited = 0
        while True:
            self._check_cancel()
            try:
                async with self._sem:
                    if self.limiter is not None:
                        waited = await self.limiter.acquire()
                        self.stats.waited_for_budget += waited
                    response = await self._send(url)
                return self._accept(response, want_json)
            except _Transient as exc:
                if exc.kind == "429":
                    limited += 1
                    self.stats.rate_limited += 1
                    if limited >= self.retry.rate_limited_attempts:
                        raise ServerError(
                            f"{_short(url)}: still rate limited (429) after {limited} tries",
                            status=429,
                            url=_short(url),
                            transient=True,
                        ) from None
                    wait = _retry_after(getattr(exc, "retry_after", None))
                    if wait is None:
                        wait = self.retry.backoff(limited, rate_limited=True)
                    wait = min(wait, self.retry.retry_after_cap)
                    log.info("429 from %s, waiting %.1f s", _short(url), wait)
                else:
                    failures += 1
                    self.stats.fault(exc.kind)
                    if failures >= self.retry.attempts:
                        raise ServerError(
                            f"{_short(url)}: {exc} (gave up after {failures} attempts)",
                            status=exc.status,
                            url=_short(url),
                            transient=True,
                        ) from None
                    wait = self.retry.backoff(failures)
                    told = _retry_after(getattr(exc, "retry_after", None))  # a 503 may say when to come back
                    if told is not None:
                        wait = min(max(wait, told), self.retry.retry_after_cap)
                    log.info("%s from %s; retry %d of %d in %.1f s", exc, _short(url), failures,
                             self.retry.attempts - 1, wait)
                self.stats.retries += 1
                await self._sleep(wait)

    async def _send(self, url: httpx.URL) -> httpx.Response:
        """One logical request: follow redirects by hand, sending the token only to the server's origin."""
        assert self._http is not None and self._pool is not None
        loop = asyncio.get_running_loop()
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            headers = {}
            if self._token and origin(current) == self._origin:
                headers["Auth-Token"] = self._token.reveal()
            self.stats.requests += 1
            try:
                response = await loop.run_in_executor(self._pool, self._get, current, headers)
            except httpx.TimeoutException as exc:
                raise _Transient("timeout", f"timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise _Transient("connection", f"connection error ({type(exc).__name__}: {exc})") from None
            self.stats.bytes += len(response.content)
            if response.status_code in REDIRECTS and "location" in response.headers:
                self.stats.redirects += 1
                current = current.join(response.headers["location"])
                if origin(current) != self._origin:
                    log.info("redirected to another origin %s; the token is not sent there", _short(current))
                continue
            return response
        raise ServerError(f"{_short(url)}: more than {MAX_REDIRECTS} redirects", url=_short(url))

    def _get(self, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
        """(HTTP thread) One GET, body read completely (a body cut short raises here)."""
        assert self._http is not None
        request = httpx.Request(
            "GET",
            url,
            headers={"User-Agent": self._user_agent, "Accept": "application/json", **headers},
            extensions={"timeout": self._timeout.as_dict()},
        )
        response = self._http.handle_request(request)
        response.request = request
        try:
            response.read()
        finally:
            response.close()
        return response

    def _accept(self, response: httpx.Response, want_json: bool) -> Any:
        status = response.status_code
        where = _short(response.request.url)
        if status == 200:
            if not want_json:
                return response.content
            try:
                # bounded like every untrusted JSON (a processed crash nests ~8 deep): a hostile server's answer
                # nested hundreds deep would parse, be stored, and break whatever walks it later
                return bounded_json(response.content)
            except (ValueError, UnicodeDecodeError):  # JsonTooDeep is a ValueError
                raise _Transient("bad-json", "malformed JSON", status) from None
        if status == 429:
            exc = _Transient("429", "rate limited (429)", status)
            exc.retry_after = response.headers.get("retry-after")  # type: ignore[attr-defined]
            raise exc
        if status >= 500:
            exc = _Transient("5xx", f"HTTP {status}", status)
            exc.retry_after = response.headers.get("retry-after")  # type: ignore[attr-defined]
            raise exc
        message = _error_message(response)
        if status == 403:
            if self._token and any(text in message for text in TOKEN_ERRORS):
                raise AuthError(f"the server refused the API token: {message}", status=status, url=where)
            raise PermissionDenied(message, status=status, url=where)
        if status == 404:
            raise NotFound(message, status=status, url=where)
        raise ServerError(f"{where}: {message}", status=status, url=where)


def _short(url: httpx.URL | str) -> str:
    """A URL for messages: never carries a token (tokens are headers), trimmed to a sane length."""
    text = str(url)
    return text if len(text) <= 200 else text[:197] + "..."


def supersearch_params(filters: Iterable[tuple[str, str]], **control: Any) -> list[tuple[str, str]]:
    """Filters plus control parameters; list values repeat the key (``_columns=uuid&_columns=date``)."""
    out = list(filters)
    for key, value in control.items():
        if isinstance(value, list | tuple):
            out.extend((key, str(v)) for v in value)
        else:
            out.append((key, str(value)))
    return out
