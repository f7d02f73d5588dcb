"""The collector's settings: where it listens, its limits, its throttle rules and its read-API token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crashdesk.collector.defaults import DEFAULT_HOST, DEFAULT_PORT
from crashdesk.collector.throttle import Throttler

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "CollectorConfig", "Limits", "REMOVED_FIELDS"]

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
    max_json_values: int = 250_000


@dataclass
class CollectorConfig:
    """Everything a :class:`~crashdesk.collector.server.Collector` needs besides its data folder."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    limits: Limits = field(default_factory=Limits)
    throttler: Throttler = field(default_factory=Throttler)
    #: read-API token (``Auth-Token``) and submit bearer token for client-chosen ids; None = open on loopback
    token: str | None = None
    #: more names ``Host`` may carry (a collector behind a proxy or reached by a DNS name; ``*.example.org``
    #: for a domain); the addresses it listens on and, on loopback, ``localhost`` are always allowed
    allowed_hosts: tuple[str, ...] = ()
    #: annotations dropped before saving, as Antenna does
    removed_fields: tuple[str, ...] = REMOVED_FIELDS
    #: worker threads of the HTTP server (requests in flight; group commit batches across them)
    threads: int = 16
    #: called with each stored crash id after its commit (the processing service's hook); must not block
    on_received: Callable[[str], None] | None = None
