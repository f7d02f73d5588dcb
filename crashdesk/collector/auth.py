"""Who may read protected data through the read API.

With a token configured (``CRASHDESK_COLLECTOR_TOKEN``, else the one stored in the OS keyring), an
``Auth-Token`` header equal to it unlocks protected data (raw-crash ``metadata``, dumps, protected processed
fields); no header means anonymous (public data only); a wrong header is ``403 API Token not matched``, before
anything else, as Crash Stats does. Without a token the API is open to loopback clients (the header is
ignored) and anonymous for anyone else.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

ENV_TOKEN = "CRASHDESK_COLLECTOR_TOKEN"
KEYRING_SERVICE = "CrashDesk"
KEYRING_USER = "collector-token"


def resolve_token(explicit: str | None = None) -> str | None:
    """The read-API token: ``explicit``, else ``$CRASHDESK_COLLECTOR_TOKEN``, else the keyring's; or None."""
    if explicit:
        return explicit
    env = os.environ.get(ENV_TOKEN)
    if env:
        return env
    try:
        import keyring

        value = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:  # no keyring backend on this machine (headless, CI): no token
        return None
    return value or None


def create_token() -> str:
    """Generate a new read-API token and store it in the OS keyring, where :func:`resolve_token` finds it
    (what the app offers when no token is set). Raises what the keyring raises when it cannot store it."""
    import secrets

    import keyring

    token = secrets.token_urlsafe(32)
    keyring.set_password(KEYRING_SERVICE, KEYRING_USER, token)
    return token


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class TokenMismatch(Exception):
    """The request carried an ``Auth-Token`` that is not the configured one."""


def has_full_access(token: str | None, header: str | None, remote_addr: str | None) -> bool:
    """True when the caller may see protected data; raises :class:`TokenMismatch` for a wrong token."""
    if token is None:
        return is_loopback(remote_addr)
    if header is None or header == "":
        return False
    if hmac.compare_digest(header.strip().encode(), token.encode()):
        return True
    raise TokenMismatch()


def bearer_matches(token: str | None, authorization: str | None) -> bool:
    """``Authorization: Bearer <token>`` with the configured token (lets a client choose its crash id)."""
    if not token or not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
