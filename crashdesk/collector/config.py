"""The collector's settings: where it listens, its limits, its throttle rules and its read-API token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crashdesk.collector.defaults import DEFAULT_HOST, DEFAULT_PORT
from crashdesk.collector.throttle import Throttler

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "CollectorConfig", "ConnectionLimits", "Limits", "REMOVED_FIELDS"]

MiB = 1024 * 1024

#: Annotations Antenna removes before saving (each leaves a collector note).
REMOVED_FIELDS = ("Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId")


@dataclass(frozen=True)
class Limits:
    """Size and count limits of one submission."""

    #: request body as sent on the wire (compressed when gzipped); more is ``413`` (Antenna's nginx: 25 MiB)
    max_request_size: int = 25 * MiB
    #: the multipart document after gzip inflation (zip-bomb guard), enforced while inflating
    max_decompressed_size: int = 256 * MiB
    #: inflated bytes allowed per byte on the wire (a gzip bomb inflates ~1000:1, a minidump ~3-30:1); a body
    #: may always inflate to ``max_request_size``, the most an uncompressed upload could store
    max_inflate_ratio: int = 100
    #: annotation parts (form fields and the JSON part)
    max_fields: int = 2000
    #: dump/attachment parts
    max_files: int = 32
    #: one annotation value, and all annotation bytes together (Antenna buffers up to 20 MiB)
    max_annotation_size: int = 20 * MiB
    #: one part's header block
    max_part_header_size: int = 8192
    #: nesting depth of the JSON ``extra`` part (Python's parser recurses once per level)
    max_json_depth: int = 64
    #: JSON values (containers, members, elements) in the ``extra`` part: bounds the parsed objects' memory
    #: (a few dozen bytes each) whatever their wire size
    max_json_values: int = 20_000


@dataclass(frozen=True)
class ConnectionLimits:
    """What connections may hold and for how long (the practice of servers facing the internet: deadlines on
    headers and bodies, a connection limit with a reserve, bounded bytes in flight)."""

    #: connections at once; past ``max_connections - reserve`` the slowest idle or stalled one is closed to
    #: make room for each new one, and at ``max_connections`` with nothing to close a new one is answered 503
    max_connections: int = 500
    reserve: int = 50
    #: seconds from a request's first byte to the end of its headers
    header_timeout: float = 10.0
    #: seconds a body may go without receiving a byte
    body_stall_timeout: float = 20.0
    #: after ``body_grace`` seconds, a body must have arrived at ``body_min_rate`` bytes/s on average
    body_grace: float = 30.0
    body_min_rate: int = 4096
    #: seconds an idle (keep-alive, or silent new) connection is kept
    idle_timeout: float = 15.0
    #: a body is held in memory up to this size, and all bodies in memory together up to ``memory_total``;
    #: beyond either it goes to an (unlinked) temporary file in the spool folder
    memory_per_request: int = 4 * MiB
    memory_total: int = 64 * MiB
    #: bytes of bodies received and not yet answered, per client address and in all; each request's first
    #: ``in_flight_free_each`` bytes do not count (ordinary crash reports are never refused by a flood of big
    #: uploads); past a bound the request is answered 503
    in_flight_per_client: int = 256 * MiB
    in_flight_total: int = 1024 * MiB
    in_flight_free_each: int = 2 * MiB


@dataclass
class CollectorConfig:
    """Everything a :class:`~crashdesk.collector.server.Collector` needs besides its data folder."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    limits: Limits = field(default_factory=Limits)
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)
    throttler: Throttler = field(default_factory=Throttler)
    #: read-API token (``Auth-Token``) and submit bearer token for client-chosen ids; None = open on loopback
    token: str | None = None
    #: more names ``Host`` may carry (a collector behind a proxy or reached by a DNS name; ``*.example.org``
    #: for a domain); the addresses it listens on and, on loopback, ``localhost`` are always allowed
    allowed_hosts: tuple[str, ...] = ()
    #: annotations dropped before saving, as Antenna does
    removed_fields: tuple[str, ...] = REMOVED_FIELDS
    #: also remove ``removed_fields`` from the Crashpad annotations inside each received dump (issue 23's
    #: "strip on receipt"; off by default: the dump is the user's evidence)
    strip_dump_annotations: bool = False
    #: worker threads of the HTTP server (requests in flight; group commit batches across them)
    threads: int = 16
    #: called with each stored crash id after its commit (the processing service's hook); must not block
    on_received: Callable[[str], None] | None = None
