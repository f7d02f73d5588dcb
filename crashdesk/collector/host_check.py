"""Which ``Host`` and ``Origin`` a request may carry (the guard against DNS rebinding).

A web page can make the user's browser send requests to ``127.0.0.1:8787`` by pointing a name it controls at
that address (DNS rebinding); the browser then treats the collector as part of the page's site and lets the
page read the answers. Such requests carry the attacker's name in ``Host``. The collector answers only
requests whose ``Host`` names an address it listens on: an IP literal it listens on, ``localhost`` when it
listens on loopback, this machine's names when it listens on every interface, or a name on the allow-list
(``--allow-host``, for a collector behind a proxy or reached by a DNS name). The port is not compared: a
rebinding page cannot choose an IP literal, and proxies rewrite ports.

``Origin`` is what a browser adds to a cross-origin request: a read-API request from another origin (any page,
including another port on this machine) is refused, as is one marked ``Sec-Fetch-Site: cross-site`` or
``same-site``; crash reporters and API clients send neither header.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

WILDCARDS = ("", "0.0.0.0", "::")
CROSS_SITE = ("cross-site", "same-site")


def split_host(value: str) -> tuple[str, int | None]:
    """``Host`` header -> (lower-case host without brackets or trailing dot, port or None)."""
    value = value.strip()
    port: int | None = None
    if value.startswith("["):
        end = value.find("]")
        host, rest = (value[1:end], value[end + 1:]) if end > 0 else (value, "")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif value.count(":") == 1:
        host, _, tail = value.partition(":")
        port = int(tail) if tail.isdigit() else None
    else:
        host = value
    return host.lower().rstrip("."), port


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


class HostPolicy:
    """The ``Host`` names and addresses a collector listening on ``bind_host``:``port`` answers to."""

    def __init__(self, bind_host: str, port: int, allowed: Iterable[str] = ()) -> None:
        self.port = port
        self.wildcard = bind_host in WILDCARDS
        bound = _ip(bind_host)
        self.bound_ip = bound
        self.loopback = bound is not None and bound.is_loopback or bind_host.lower() == "localhost"
        names: set[str] = set()
        suffixes: list[str] = []
        for entry in allowed:
            entry = entry.strip().lower().rstrip(".")
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            elif entry:
                names.add(split_host(entry)[0])
        if bound is None and not self.wildcard:
            names.add(bind_host.lower().rstrip("."))
        if self.loopback or self.wildcard:
            names.add("localhost")
        if self.wildcard:
            for name in (socket.gethostname(), socket.getfqdn()):
                if name:
                    names.add(name.lower().rstrip("."))
        self.names = frozenset(names)
        self.suffixes = tuple(suffixes)

    def host_allowed(self, header: str | None) -> bool:
        if header is None:  # HTTP/1.0 without Host: not a browser (browsers always send it)
            return True
        host, _port = split_host(header)
        ip = _ip(host)
        if ip is not None:
            if self.wildcard:
                return True
            if self.loopback and ip.is_loopback:
                return True
            return self.bound_ip is not None and ip == self.bound_ip
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def origin_allowed(self, origin: str | None, fetch_site: str | None) -> bool:
        """Whether a request with these ``Origin``/``Sec-Fetch-Site`` headers may read protected data."""
        if fetch_site is not None and fetch_site.strip().lower() in CROSS_SITE:
            return False
        if origin is None:
            return True
        try:
            parts = urlsplit(origin.strip())
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False  # includes "null" (sandboxed frames, file: pages)
        port = port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        return port == self.port and self.host_allowed(host)
