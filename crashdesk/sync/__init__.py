"""Sync from Socorro-compatible servers (Crash Stats, a team's Socorro, another CrashDesk collector).

``SyncRunner(store, ServerTarget(...), SyncQuery.build([...]), SyncOptions(...)).run()`` lists the query's
crashes with SuperSearch, fetches each one's processed crash, raw crash and (optionally) minidumps with
:class:`~crashdesk.sync.client.SocorroClient`, and stores them. Saved servers and tokens are resolved by the
caller (``crashdesk.config.servers`` / ``crashdesk.config.secrets``): this layer gets plain values.
"""

from crashdesk.sync.client import RetryPolicy, Secret, SocorroClient, normalize_base_url
from crashdesk.sync.errors import AuthError, BadQuery, Cancelled, PermissionDenied, ServerError, SyncError
from crashdesk.sync.query import SyncQuery
from crashdesk.sync.ratelimit import RateLimiter, default_rate_limit
from crashdesk.sync.runner import ServerTarget, SyncOptions, SyncProgress, SyncRunner, SyncSummary

__all__ = [
    "AuthError",
    "BadQuery",
    "Cancelled",
    "PermissionDenied",
    "RateLimiter",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "ServerTarget",
    "SocorroClient",
    "SyncError",
    "SyncOptions",
    "SyncProgress",
    "SyncQuery",
    "SyncRunner",
    "SyncSummary",
    "default_rate_limit",
    "normalize_base_url",
]
