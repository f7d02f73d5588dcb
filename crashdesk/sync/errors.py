"""The sync layer's exception tree. Messages are fit for the user and never contain a token."""

from __future__ import annotations

from crashdesk.errors import CrashDeskError, UsageError


class SyncError(CrashDeskError):
    """A sync could not be done (unreachable server, refused query, ...)."""


class BadQuery(UsageError):
    """The sync query itself is wrong (bad ``--param``, bad date); exit status 2."""


class ServerError(SyncError):
    """The server answered with an error that retrying will not fix, or kept failing after every retry."""

    def __init__(
        self, message: str, *, status: int | None = None, url: str | None = None, transient: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.transient = transient


class AuthError(ServerError):
    """The server rejected the API token itself (not matched, expired, inactive user)."""


class PermissionDenied(ServerError):
    """The token (or anonymous access) lacks a permission this request needs (``403``)."""


class NotFound(ServerError):
    """The server does not have the crash (``404 CrashIDNotFound``)."""


class Cancelled(SyncError):
    """The sync was cancelled by the user."""

    def __init__(self) -> None:
        super().__init__("the sync was cancelled")
