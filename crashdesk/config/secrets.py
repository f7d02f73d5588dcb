"""API tokens: in the OS keyring (``keyring``), one per server URL, or ``$CRASHDESK_API_TOKEN`` for scripts.

Tokens are never command-line arguments, never written to SQLite or any CrashDesk file, never logged.
The environment variable wins over the keyring, so a script can override what an interactive user stored.
Tests choose a keyring backend explicitly (``PYTHON_KEYRING_BACKEND``), never the user's real keyring.
"""

from __future__ import annotations

import os

from crashdesk.errors import CrashDeskError

SERVICE = "CrashDesk API token"
ENV_TOKEN = "CRASHDESK_API_TOKEN"


class SecretsError(CrashDeskError):
    """The keyring cannot store or read the token (no backend, locked, refused)."""


def _keyring():
    import keyring

    return keyring


def validate_token(token: str) -> str:
    value = token.strip()
    if not value:
        raise SecretsError("the token is empty")
    if any(c.isspace() for c in value) or len(value) > 4096:
        raise SecretsError("a token is one word without spaces")
    return value


def token_from_env() -> str | None:
    value = os.environ.get(ENV_TOKEN, "").strip()
    return value or None


def get_token(url: str, *, use_env: bool = True) -> tuple[str | None, str | None]:
    """``(token, where)`` for the server at ``url``: ``where`` is ``"env"``, ``"keyring"`` or ``None``.

    A keyring without a usable backend reads as "no token" (anonymous access), not as an error.
    """
    if use_env:
        token = token_from_env()
        if token:
            return token, "env"
    try:
        token = _keyring().get_password(SERVICE, url)
    except Exception:  # keyring backends raise many things (NoKeyringError, KeyringLocked, DBus errors...)
        return None, None
    return (token, "keyring") if token else (None, None)


def set_token(url: str, token: str) -> None:
    value = validate_token(token)
    try:
        _keyring().set_password(SERVICE, url, value)
    except Exception as exc:
        raise SecretsError(
            f"the keyring refused to store the token ({type(exc).__name__}); scripts can set "
            f"{ENV_TOKEN} instead"
        ) from None


def delete_token(url: str) -> bool:
    """Remove the stored token; True when there was one."""
    try:
        kr = _keyring()
        if kr.get_password(SERVICE, url) is None:
            return False
        kr.delete_password(SERVICE, url)
        return True
    except Exception as exc:
        raise SecretsError(f"the keyring refused to delete the token ({type(exc).__name__})") from None


def keyring_backend_name() -> str:
    try:
        backend = _keyring().get_keyring()
    except Exception:
        return "unavailable"
    return f"{type(backend).__module__}.{type(backend).__name__}"
