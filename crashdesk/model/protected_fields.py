"""Crash Stats' protected data: the crash fields only a reader with the right permission may see (Crash
Stats' "View Personal Identifiable Information"; socorro-api.md §2, collector.md "protected data").

This is the one list. The collector's read API removes these fields for anonymous callers and never lets
them be used as anonymous SuperSearch filters, facets, sort keys or columns; an export or sharing policy
starts from the same list. Names are case-sensitive, as Crash Stats' schemas are.
"""

from __future__ import annotations

#: raw-crash annotations (and the whole ``metadata`` object) that are protected
PROTECTED_ANNOTATIONS = frozenset({
    "Comments", "URL", "Email", "MozCrashReason", "JavaStackTrace", "JavaException", "RemoteType",
    "Breadcrumbs", "additional_minidumps", "metadata",
    # identifiers Antenna removes before saving; protected wherever they still appear (imports, syncs)
    "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId",
})
#: annotation name prefixes that are protected (``PHCKind``, ``PHCBaseAddress``...)
PROTECTED_ANNOTATION_PREFIXES = ("PHC",)

#: processed-crash fields that are protected
PROTECTED_PROCESSED = frozenset({
    "user_comments", "url", "email", "collector_metadata", "collector_notes", "signature_debug",
    "remote_type", "dumper_error", "moz_crash_reason_raw", "java_stack_trace_raw", "java_exception_raw",
    "breadcrumbs",
})
#: processed-crash field prefixes that are protected (``phc_kind``...)
PROTECTED_PROCESSED_PREFIXES = ("phc_",)


def annotation_is_protected(name: str) -> bool:
    """Whether the raw-crash annotation ``name`` is protected data."""
    return name in PROTECTED_ANNOTATIONS or name.startswith(PROTECTED_ANNOTATION_PREFIXES)


def processed_field_is_protected(name: str) -> bool:
    """Whether the processed-crash field ``name`` is protected data."""
    return name in PROTECTED_PROCESSED or name.startswith(PROTECTED_PROCESSED_PREFIXES)


def query_field_is_protected(field: str) -> bool:
    """Whether a field of CrashDesk's query language reads protected data: an annotation (``ann.<Name>``)
    that is protected, or a protected processed field."""
    if field.startswith("ann."):
        return annotation_is_protected(field[len("ann."):])
    return processed_field_is_protected(field)
