"""The collector's WSGI application: ``/submit``, the health endpoints and the read API under ``/api/``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from crashdesk.collector.auth import TokenMismatch, has_full_access
from crashdesk.collector.host_check import HostPolicy
from crashdesk.collector.read_api import ApiResponse, ReadApi, json_response
from crashdesk.collector.submit import SubmitHandler
from crashdesk.model.build_info import version_json
from crashdesk.store.crashes import CrashStore

StartResponse = Callable[..., Any]

#: Antenna's own routes and the methods each answers (it is a Falcon app: any other method is a 405 with a JSON
#: body and ``Allow``; ``OPTIONS`` is a 200 naming the methods); the read API under ``/api/`` is CrashDesk's
ANTENNA_ROUTES = {"/submit": ("POST",), "/__heartbeat__": ("GET",), "/__lbheartbeat__": ("GET",),
                  "/__version__": ("GET",)}
#: the content type of Falcon's answers that set none (its error documents, ``OPTIONS``)
FALCON_JSON = "application/json"

_REASONS = {200: "OK", 301: "Moved Permanently", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large", 421: "Misdirected Request",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _status(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Unknown')}"


class CollectorApp:
    """Routes requests; ``token`` protects read-API data (see :mod:`crashdesk.collector.auth`)."""

    def __init__(self, store: CrashStore, submit: SubmitHandler, token: str | None,
                 hosts: HostPolicy | None = None) -> None:
        self.store = store
        self.submit = submit
        self.token = token
        self.hosts = hosts
        self.api = ReadApi(store)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = self._route(environ, start_response)
            if str(environ.get("REQUEST_METHOD", "")).upper() == "HEAD":
                return []  # the headers (Content-Length included) without the body: waitress sends what it gets
            return body
        except Exception as exc:  # noqa: BLE001 - a bug must not go unrecorded; the client gets Falcon's JSON 500
            self._refuse(environ, 500, "internal_error", f"{type(exc).__name__}: {exc}")
            return self._error(start_response, 500)

    def _route(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if self.hosts is not None:
            host = environ.get("HTTP_HOST")
            if not self.hosts.host_allowed(host):
                self._refuse(environ, 421, "host_not_allowed",
                             f"Host {str(host)[:100]!r} is not an address this collector listens on "
                             "(--allow-host adds names)")
                return self._send(start_response, 421, b"Misdirected Request: unknown Host", "text/plain")
            if (path == "/submit" or path.startswith("/api/")) and not self.hosts.origin_allowed(
                    environ.get("HTTP_ORIGIN"), environ.get("HTTP_SEC_FETCH_SITE")):
                self._refuse(environ, 403, "cross_origin",
                             f"Origin {str(environ.get('HTTP_ORIGIN'))[:100]!r}, Sec-Fetch-Site "
                             f"{str(environ.get('HTTP_SEC_FETCH_SITE'))[:20]!r}")
                if path == "/submit":
                    return self._send(start_response, 403, b"Discarded=cross_origin", "text/plain")
                return self._respond(start_response, json_response(403, {"error": "Cross-origin request"}))
        allowed = ANTENNA_ROUTES.get(path)
        if allowed is not None and method not in allowed:
            if method == "OPTIONS":
                return self._send(start_response, 200, b"", FALCON_JSON, [("Allow", ", ".join(allowed))])
            return self._error(start_response, 405, [("Allow", ", ".join((*allowed, "OPTIONS")))])
        if path == "/submit":
            outcome = self.submit.handle(environ)
            return self._send(start_response, outcome.status, outcome.body.encode("utf-8"), "text/plain")
        if path == "/__lbheartbeat__":
            return self._send(start_response, 200, b"", "application/json; charset=utf-8")
        if path == "/__heartbeat__":
            return self._heartbeat(start_response)
        if path == "/__version__":
            body = json.dumps(version_json()).encode()
            return self._send(start_response, 200, body, "application/json; charset=utf-8")
        if path.startswith("/api/"):
            return self._api(environ, path, method, start_response)
        return self._error(start_response, 404)

    def _error(self, start_response: StartResponse, status: int,
               headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
        """Antenna's (Falcon's) answer to a request it has no resource or method for: a JSON document
        ``{"title": "<status> <reason>"}`` (the server leaves the body out for ``HEAD``)."""
        body = json.dumps({"title": _status(status)}).encode()
        return self._send(start_response, status, body, FALCON_JSON, headers)

    def _api(self, environ: dict, path: str, method: str, start_response: StartResponse) -> Iterable[bytes]:
        try:
            full = has_full_access(self.token, environ.get("HTTP_AUTH_TOKEN"), environ.get("REMOTE_ADDR"))
        except TokenMismatch:
            self._refuse(environ, 403, "token_not_matched", "wrong Auth-Token")
            return self._respond(start_response, json_response(403, {"error": "API Token not matched"}))
        rest = path[len("/api/"):]
        if rest == "":
            body = ("CrashDesk collector: Crash Stats API subset. Services: "
                    + ", ".join(f"/api/{n}/" for n in self.api.services) + "\n").encode()
            return self._send(start_response, 200, body, "text/plain; charset=utf-8")
        name, slash, tail = rest.partition("/")
        if tail:
            return self._respond(start_response, json_response(404, {"error": f"No service called '{rest}'"}))
        if not slash:
            query = environ.get("QUERY_STRING", "")
            location = f"/api/{name}/" + (f"?{query}" if query else "")
            return self._send(start_response, 301, b"", "text/plain", [("Location", location)])
        if method not in ("GET", "HEAD"):
            if name in self.api.services:
                return self._respond(start_response, json_response(405, {"error": "Method not allowed"}))
        return self._respond(start_response, self.api.handle(name, environ.get("QUERY_STRING", ""), full))

    def _refuse(self, environ: dict, status: int, reason: str, detail: str) -> None:
        """Log a refused request in the rejection log (the collector panel lists it)."""
        self.submit.rejections.record(
            status=status, reason=reason, detail=detail, peer=environ.get("REMOTE_ADDR", ""),
            user_agent=environ.get("HTTP_USER_AGENT", ""), path=environ.get("PATH_INFO", ""))
        with self.submit.stats._lock:
            self.submit.stats.rejected[reason] += 1

    def _heartbeat(self, start_response: StartResponse) -> Iterable[bytes]:
        errors = []
        try:
            self.store.db.conn.execute("SELECT 1 FROM crashes LIMIT 1").fetchall()
        except Exception as exc:
            errors.append({"name": "crashstore", "msg": str(exc)})
        try:
            probe = self.submit.spool_dir / ".heartbeat"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            errors.append({"name": "spool", "msg": str(exc)})
        status = 503 if errors else 200
        body = json.dumps({"errors": errors}).encode()  # Antenna's shape, healthy or not: {"errors": [...]}
        return self._send(start_response, status, body, "application/json")

    def _respond(self, start_response: StartResponse, resp: ApiResponse) -> Iterable[bytes]:
        return self._send(start_response, resp.status, resp.body, resp.content_type, resp.headers)

    @staticmethod
    def _send(start_response: StartResponse, status: int, body: bytes, content_type: str,
              headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
        start_response(_status(status), [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                         *(headers or [])])
        return [body]
