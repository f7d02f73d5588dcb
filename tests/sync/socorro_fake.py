"""A small Socorro (Crash Stats) API server for tests and benchmarks: real HTTP on 127.0.0.1.

Written from the protocol facts in ``shared/protocols/socorro-api.md`` (SuperSearch paging and filters,
ProcessedCrash, RawCrash meta/raw, token permissions, the trailing-slash 301, error bodies), serving crashes
built from real minidumps and their reference stackwalks in ``tests/data/sync/``. Faults can be switched on
per endpoint: 429 (with or without ``Retry-After``), 5xx, slow answers, a connection dropped mid-body,
malformed JSON, a redirect to another host, and a fixed-window rate limit like Crash Stats'.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "sync"
UTC = dt.UTC
TOKEN_ERRORS = {"expired": "API Token found but expired", "inactive": "User of API token not active"}
PROTECTED_PROCESSED = ("user_comments", "url", "collector_metadata", "signature_debug", "remote_type")
PROTECTED_RAW = ("Comments", "URL", "metadata", "RemoteType")
COLUMNS = {"uuid", "date", "signature", "product", "version", "platform", "build_id", "release_channel"}
CRASH_ID_RE = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6}$")


# ---------------------------------------------------------------------------------------------- crashes


@dataclass
class FakeCrash:
    crash_id: str
    date: dt.datetime
    product: str
    version: str
    case: str
    processed: dict[str, Any]
    raw: dict[str, Any]
    dumps: dict[str, bytes]

    @property
    def signature(self) -> str:
        return self.processed["signature"]

    def hit(self, columns: list[str]) -> dict[str, Any]:
        values = {
            "uuid": self.crash_id,
            "date": iso(self.date),
            "signature": self.signature,
            "product": self.product,
            "version": self.version,
            "platform": "Linux",
            "build_id": int(self.raw["BuildID"]),
            "release_channel": self.raw.get("ReleaseChannel"),
        }
        return {c: values.get(c) for c in columns}


def iso(when: dt.datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def load_cases() -> dict[str, dict[str, Any]]:
    sigs = json.loads((DATA / "signatures.json").read_text())
    cases = {}
    for folder in sorted((DATA / "cases").iterdir()):
        cases[folder.name] = {
            "dump": (folder / "dump.dmp").read_bytes(),
            "json_dump": json.loads((folder / "expected.json").read_text()),
            "annotations": json.loads((folder / "annotations.json").read_text()),
            **sigs[folder.name],
        }
    return cases


def make_crashes(
    n: int,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    seed: int = 1,
    products: tuple[str, ...] = ("CrashFactoryDemo", "CrashFactoryTools"),
    versions: tuple[str, ...] = ("1.4.2", "1.5.0"),
    extra_dump_every: int = 10,
    timing: bool = False,
) -> list[FakeCrash]:
    """``n`` crashes spread over ``[start, end)`` (default: the last 3 days), deterministic for ``seed``.
    ``timing`` adds start-up and install times (raw ``StartupTime``/``CrashTime``/``InstallTime``, processed
    ``uptime``/``install_time`` as Socorro derives them) for the top-crashers tests."""
    rng = random.Random(seed)
    timing_rng = random.Random(seed + 1)
    end = end or dt.datetime.now(UTC) - dt.timedelta(minutes=1)
    start = start or end - dt.timedelta(days=3)
    cases = load_cases()
    names = sorted(cases)
    template = json.loads((DATA / "processed_crash_public.json").read_text())
    span = (end - start).total_seconds()
    crashes = []
    for i in range(n):
        when = start + dt.timedelta(seconds=rng.random() * span)
        crash_id = f"{rng.getrandbits(128):032x}"
        crash_id = (
            f"{crash_id[:8]}-{crash_id[8:12]}-4{crash_id[13:16]}-{crash_id[16:20]}-{crash_id[20:25]}"
            f"0{when:%y%m%d}"
        )
        case_name = names[i % len(names)]
        case = cases[case_name]
        product = products[i % len(products)]
        version = versions[(i // len(products)) % len(versions)]
        dumps = {"upload_file_minidump": case["dump"]}
        if extra_dump_every and i % extra_dump_every == extra_dump_every - 1:
            dumps["upload_file_minidump_browser"] = cases[names[(i + 1) % len(names)]]["dump"]
        ann = dict(case["annotations"])
        ann.update(ProductName=product, Version=version)
        raw = {
            **ann,
            "submitted_timestamp": iso(when),
            "uuid": crash_id,
            "version": 2,
            "Comments": f"crash number {i}",
            "URL": "https://example.com/private",
            "metadata": {
                "collector_notes": [],
                "payload": "multipart",
                "throttle_rule": "accept_everything",
                "dump_checksums": {k: hashlib.sha256(v).hexdigest() for k, v in dumps.items()},
                "user_agent": "Crashpad/0.8.0",
            },
        }
        jd = case["json_dump"]
        info = jd.get("crash_info") or {}
        processed = copy.copy(template)
        processed.update(
            uuid=crash_id,
            crash_id=crash_id,
            signature=case["signature"],
            proto_signature=case["proto_signature"],
            product=product,
            version=version,
            major_version=int(version.split(".")[0]),
            build=ann.get("BuildID"),
            release_channel=ann.get("ReleaseChannel"),
            os_name="Linux",
            os_pretty_version="Linux",
            cpu_arch=(jd.get("system_info") or {}).get("cpu_arch"),
            date_processed=iso(when),
            submitted_timestamp=iso(when),
            reason=info.get("type"),
            address=info.get("address"),
            crashing_thread=info.get("crashing_thread"),
            json_dump=jd,
            minidump_sha256_hash=hashlib.sha256(case["dump"]).hexdigest(),
            additional_minidumps=[k for k in dumps if k != "upload_file_minidump"],
            user_comments=f"crash number {i}",
            url="https://example.com/private",
        )
        if timing:
            crash_time = int(when.timestamp())
            uptime = timing_rng.choice([3, 30, 59, 60, 61, 600, 7200])
            install_time = 1_700_000_000 + 86400 * timing_rng.randrange(6)
            raw.update(CrashTime=str(crash_time), StartupTime=str(crash_time - uptime), InstallTime=str(install_time))
            processed.update(uptime=uptime, install_time=install_time, crash_time=crash_time)
        crashes.append(FakeCrash(crash_id, when, product, version, case_name, processed, raw, dumps))
    crashes.sort(key=lambda c: (c.date, c.crash_id))
    return crashes


# ---------------------------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """Make matching requests fail. ``kind``: ``500``/``502``/``503``/``504``, ``429``, ``slow``, ``drop``
    (connection closed mid-body), ``badjson``, ``deepjson`` (valid JSON nested 500 deep), ``deeperror`` (a 400
    with an error body nested 5,000 deep), ``redirect`` (to ``FakeSocorro.redirect_to``).

    ``endpoint``: ``SuperSearch``, ``ProcessedCrash``, ``RawCrash`` (meta), ``RawCrash.raw`` or ``*``.
    Fires on the matching requests number ``after+1``, ``after+1+every``, ... at most ``times`` times
    (``None`` = always).
    """

    kind: str
    endpoint: str = "*"
    times: int | None = 1
    every: int = 1
    after: int = 0
    crash_id: str | None = None
    retry_after: str | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, endpoint: str, crash_id: str | None) -> bool:
        if self.endpoint != "*" and self.endpoint != endpoint:
            return False
        if self.crash_id is not None and self.crash_id != crash_id:
            return False
        self.seen += 1
        n = self.seen - self.after
        if n <= 0 or (n - 1) % self.every:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    status: int = 0

    def param(self, key: str) -> str | None:
        return next((v for k, v in self.query if k == key), None)


# ---------------------------------------------------------------------------------------------- server


@dataclass
class FakeSocorro:
    """The server. ``tokens`` maps token -> set of permissions (``view_pii``, ``view_rawdump``) or one of
    ``"expired"``/``"inactive"``; no token = anonymous."""

    crashes: list[FakeCrash]
    tokens: dict[str, Any] = field(default_factory=dict)
    result_window: int = 10_000
    latency: float = 0.0
    slow_seconds: float = 3.0
    rate_limit: tuple[int, float] | None = None  # (requests, window seconds), fixed windows
    rate_limit_retry_after: str | None = None
    faults: list[Fault] = field(default_factory=list)
    redirect_to: str | None = None
    host: str = "127.0.0.1"
    products: tuple[str, ...] = ("CrashFactoryDemo", "CrashFactoryTools")
    missing: set[str] = field(default_factory=set)  # listed by SuperSearch but 404 on fetch

    def __post_init__(self) -> None:
        self.by_id = {c.crash_id: c for c in self.crashes}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self._window: tuple[float, int] = (0.0, 0)
        self._encoded: dict[tuple[str, str, bool], bytes] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> FakeSocorro:
        handler = type("Handler", (_Handler,), {"app": self})
        server_cls = type(
            "Server", (ThreadingHTTPServer,), {"request_queue_size": 256, "daemon_threads": True}
        )
        self._httpd = server_cls((self.host, 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeSocorro:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def encoded(self, crash: FakeCrash, kind: str, full: bool) -> bytes:
        """A crash's processed or raw document as JSON (reduced without ``view_pii``), encoded once."""
        key = (crash.crash_id, kind, full)
        body = self._encoded.get(key)
        if body is None:
            doc, protected = (
                (crash.processed, PROTECTED_PROCESSED) if kind == "processed" else (crash.raw, PROTECTED_RAW)
            )
            if not full:
                doc = {k: v for k, v in doc.items() if k not in protected}
            body = json.dumps(doc).replace("</", "<\\/").encode()
            self._encoded[key] = body
        return body

    def requests_to(self, endpoint: str) -> list[Seen]:
        return [s for s in self.seen if s.path == f"/api/{endpoint}/"]

    # -- helpers used by the handler
    def fault_for(self, endpoint: str, crash_id: str | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(endpoint, crash_id):
                    return fault
        return None

    def over_rate_limit(self) -> bool:
        if not self.rate_limit:
            return False
        limit, window = self.rate_limit
        with self.lock:
            start, count = self._window
            now = time.monotonic()
            if now - start >= window:
                start, count = now, 0
            count += 1
            self._window = (start, count)
            return count > limit

    def search(self, query: list[tuple[str, str]], perms: set[str]) -> tuple[int, Any]:
        params: dict[str, list[str]] = {}
        for k, v in query:
            params.setdefault(k, []).append(v)

        def one(key: str, default: str) -> str:
            return params.get(key, [default])[-1]

        try:
            number, offset = int(one("_results_number", "100")), int(one("_results_offset", "0"))
        except ValueError:
            return 400, {"errors": {"_results_number": ["Enter a whole number."]}}
        if number > 1000:
            return 400, _bad("_results_number cannot be greater than 1,000")
        if number < 0 or offset < 0:
            return 400, _bad("_results_number and _results_offset must be positive")
        if offset + number > self.result_window:
            return 400, _bad(
                f"_results_offset + _results_number cannot be greater than {self.result_window:,}"
            )
        columns = params.get("_columns", ["uuid", "date", "signature", "product", "version"])
        for c in columns:
            if c not in COLUMNS:
                return 400, _bad(f"Unknown field '{c}'")
        for p in params.get("product", []):
            if p not in self.products:
                return 400, _bad(f"Bad value for parameter(s) 'Not valid products: {p}'")
        lo, hi = None, None
        for value in params.get("date", []):
            m = re.match(r"^(>=|<=|>|<)(.+)$", value)
            if not m:
                return 400, _bad("date must have a prefix operator")
            try:
                when = dt.datetime.fromisoformat(m.group(2).replace("Z", "+00:00").replace(" ", "T"))
            except ValueError:
                return 400, _bad(f"Bad value for parameter date: {m.group(2)}")
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if m.group(1).startswith(">"):
                bound = (when, m.group(1) == ">=")
                lo = bound if lo is None or bound[0] > lo[0] else lo
            else:
                bound = (when, m.group(1) == "<=")
                hi = bound if hi is None or bound[0] < hi[0] else hi
        now = dt.datetime.now(UTC)
        hi = hi or (now, True)
        lo = lo or (hi[0] - dt.timedelta(days=7), True)
        if hi[0] - lo[0] > dt.timedelta(days=365):
            return 400, _bad("Date range is bigger than 365 days")

        def keep(c: FakeCrash) -> bool:
            if c.date < lo[0] or (c.date == lo[0] and not lo[1]):
                return False
            if c.date > hi[0] or (c.date == hi[0] and not hi[1]):
                return False
            for key, attr in (("product", "product"), ("version", "version")):
                if key in params and getattr(c, attr) not in params[key]:
                    return False
            if "platform" in params and "Linux" not in params["platform"]:
                return False
            for value in params.get("signature", []):
                if value.startswith("="):
                    if c.signature != value[1:]:
                        return False
                elif value.startswith("~"):
                    if value[1:] not in c.signature:
                        return False
                elif not set(re.findall(r"\w+", value.lower())) & set(
                    re.findall(r"\w+", c.signature.lower())
                ):
                    return False
            return True

        hits = [c for c in self.crashes if keep(c)]
        for key in reversed(params.get("_sort", [])):
            desc = key.startswith("-")
            name = key.lstrip("-")
            if name in ("date", "uuid"):
                hits.sort(key=(lambda c: c.date) if name == "date" else (lambda c: c.crash_id), reverse=desc)
        facets: dict[str, Any] = {}
        if one("_facets_size", "50") != "0":
            counts: dict[str, int] = {}
            for c in hits:
                counts[c.signature] = counts.get(c.signature, 0) + 1
            facets["signature"] = [
                {"term": t, "count": n} for t, n in sorted(counts.items(), key=lambda x: -x[1])
            ]
            subs = params.get("_aggs.signature", [])
            if subs:
                interval = int(one("_histogram_interval.uptime", "1"))
                for bucket in facets["signature"]:
                    mine = [c for c in hits if c.signature == bucket["term"]]
                    bucket["facets"] = _sub_aggregations(mine, subs, interval)
        page = hits[offset : offset + number]
        return 200, {
            "hits": [c.hit(columns) for c in page],
            "total": len(hits),
            "facets": facets,
            "errors": [],
        }


def _sub_aggregations(crashes: list[FakeCrash], fields: list[str], uptime_interval: int) -> dict[str, Any]:
    """The sub-aggregations of one ``_aggs.signature`` bucket: ``platform`` terms, ``_cardinality.install_time``
    and ``_histogram.uptime`` (bucket starts, empty buckets omitted), from the processed crashes."""
    out: dict[str, Any] = {}
    for name in fields:
        if name == "platform":
            counts: dict[str, int] = {}
            for c in crashes:
                plat = c.processed.get("os_name") or ""
                counts[plat] = counts.get(plat, 0) + 1
            out["platform"] = [{"term": t, "count": n} for t, n in sorted(counts.items(), key=lambda x: -x[1])]
        elif name == "_cardinality.install_time":
            out["cardinality_install_time"] = {
                "value": len({c.processed["install_time"] for c in crashes if c.processed.get("install_time")})}
        elif name == "_histogram.uptime":
            buckets: dict[int, int] = {}
            for c in crashes:
                if c.processed.get("uptime") is not None:
                    start = c.processed["uptime"] // uptime_interval * uptime_interval
                    buckets[start] = buckets.get(start, 0) + 1
            out["histogram_uptime"] = [{"term": t, "count": n} for t, n in sorted(buckets.items())]
    return out


def _bad(message: str) -> dict[str, str]:
    return {"error": f"Bad request: BadArgumentError: {message}"}


class _Handler(BaseHTTPRequestHandler):
    app: FakeSocorro
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict | None = None,
        *,
        drop_after: int | None = None,
    ) -> None:
        if self.app.latency:
            time.sleep(self.app.latency)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if drop_after is not None:
            self.wfile.write(body[:drop_after])
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        self.wfile.write(body)
        self._seen.status = status

    def _json(self, status: int, obj: Any, **kw: Any) -> None:
        self._send(
            status,
            json.dumps(obj).replace("</", "<\\/").encode(),
            "application/json; charset=UTF-8" if status == 200 else "application/json",
            **kw,
        )

    def do_GET(self) -> None:  # noqa: N802
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        seen = Seen("GET", parsed.path, query, {k.lower(): v for k, v in self.headers.items()})
        self._seen = seen
        with self.app.lock:
            self.app.seen.append(seen)
        app = self.app
        m = re.fullmatch(r"/api/([A-Za-z]+)(/?)", parsed.path)
        if not m:
            return self._send(404, b"<h1>Not Found</h1>", "text/html")
        name, slash = m.groups()
        if not slash:
            return self._send(301, b"", "text/html", {"Location": f"/api/{name}/?{parsed.query}"})
        if name not in ("SuperSearch", "ProcessedCrash", "RawCrash"):
            return self._json(404, {"error": f"No service called '{name}'"})
        token = self.headers.get("Auth-Token")
        perms: set[str] = set()
        if token is not None:
            known = app.tokens.get(token)
            if known is None:
                return self._json(403, {"error": "API Token not matched"})
            if isinstance(known, str):
                return self._json(403, {"error": TOKEN_ERRORS[known]})
            perms = set(known)
        params = dict(query)
        crash_id = params.get("crash_id")
        endpoint = "RawCrash.raw" if name == "RawCrash" and params.get("format") == "raw" else name
        fault = app.fault_for(endpoint, crash_id)
        if fault is not None:
            return self._fault(fault, name, parsed)
        if app.over_rate_limit():
            headers = {"Retry-After": app.rate_limit_retry_after} if app.rate_limit_retry_after else {}
            return self._send(429, b"Too Many Requests", "text/plain", headers)
        if name == "SuperSearch":
            status, body = app.search(query, perms)
            return self._json(status, body)
        if name == "RawCrash":
            fmt = params.get("format", "meta")
            if fmt not in ("meta", "raw"):
                return self._json(400, _bad("Bad value for parameter(s) 'format'"))
        if not crash_id:
            return self._json(400, {"errors": {"crash_id": ["This field is required."]}})
        if not CRASH_ID_RE.match(crash_id):
            return self._json(400, _bad("Bad value for parameter(s) 'uuid'"))
        crash = app.by_id.get(crash_id)
        if crash is None or crash_id in app.missing:
            return self._json(404, {"error": f"Not found: CrashIDNotFound {crash_id}"})
        if name == "ProcessedCrash" or params.get("format", "meta") == "meta":
            kind = "processed" if name == "ProcessedCrash" else "raw"
            return self._send(
                200, app.encoded(crash, kind, "view_pii" in perms), "application/json; charset=UTF-8"
            )
        dump_name = params.get("name", "")
        if dump_name in ("", "dump"):
            dump_name = "upload_file_minidump"
        data = crash.dumps.get(dump_name)
        if data is None:
            return self._json(404, {"error": f"Not found: CrashIDNotFound {crash_id}"})
        if "view_rawdump" not in perms:
            return self._json(403, {"error": "Binary response requires permissions: View Raw Dumps"})
        filename = f"{crash_id}.dmp" if not params.get("name") else f"{crash_id}-{params['name']}.dmp"
        return self._send(
            200,
            data,
            "application/octet-stream",
            {"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def _fault(self, fault: Fault, name: str, parsed: urllib.parse.SplitResult) -> None:
        kind = fault.kind
        if kind in ("500", "502", "503", "504"):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._send(int(kind), b"<html><body>Server Error</body></html>", "text/html", headers)
        if kind == "429":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._send(429, b"Too Many Requests", "text/plain", headers)
        if kind == "slow":
            time.sleep(self.app.slow_seconds)
            return self._send(503, b"late", "text/plain")
        if kind == "drop":
            body = json.dumps({"padding": "x" * 4000}).encode()
            return self._send(200, body, "application/json", drop_after=100)
        if kind == "badjson":
            return self._send(200, b'{"hits": [{"uuid": "trunc', "application/json; charset=UTF-8")
        if kind == "deepjson":  # valid JSON nested 500 deep (under Python's recursion limit)
            return self._send(200, b'{"uuid": ' + b"[" * 500 + b"]" * 500 + b"}", "application/json; charset=UTF-8")
        if kind == "deeperror":  # a 400 whose JSON error body nests past Python's recursion limit
            return self._send(400, b'{"error": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json")
        if kind == "redirect":
            target = self.app.redirect_to or ""
            return self._send(302, b"", "text/html", {"Location": f"{target}{parsed.path}?{parsed.query}"})
        raise ValueError(f"unknown fault {kind}")
