"""From a processed crash (minidump-stackwalk JSON + crash annotations) to siggen-style crash data.

Mirrors Socorro's conversion (``shared/protocols/signatures.md`` section 9): the stackwalk document gives
``crashing_thread``, ``reason``, ``threads`` and ``os``; annotations give the special-rule fields.
"""

from __future__ import annotations

import json

from crashdesk.model.summary import MODULE_PATHS_KEY  # processing's module paths (module rules read them)

#: Crash annotation name (as Breakpad/Crashpad clients send it) -> crash data key.
ANNOTATION_FIELDS = {
    "Hang": "hang",
    "OOMAllocationSize": "oom_allocation_size",
    "JSLargeAllocationFailure": "js_large_allocation_failure",
    "AbortMessage": "abort_message",
    "AsyncShutdownTimeout": "async_shutdown_timeout",
    "ipc_channel_error": "ipc_channel_error",
    "IPCMessageName": "ipc_message_name",
    "JavaStackTrace": "java_stack_trace",
    "JavaException": "java_exception",
    "additional_minidumps": "additional_minidumps",
}
_PROCESSED_NAMES = set(ANNOTATION_FIELDS.values()) | {"mdsw_status_string"}
_ALWAYS = ("hang", "oom_allocation_size", "js_large_allocation_failure", "abort_message", "mdsw_status_string",
           "async_shutdown_timeout", "ipc_channel_error", "ipc_message_name")


def lookup_path(value, keys):
    """Follow dict keys / list positions; ``None`` when a step is missing or the value has the wrong type."""
    for key in keys:
        if isinstance(value, dict):
            if key not in value:
                return None
            value = value[key]
        elif isinstance(value, list):
            try:
                value = value[int(key)]
            except (ValueError, IndexError):
                return None
        else:
            return None
    return value


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def processed_fields(stackwalk, annotations, *, mdsw_status: bool = True) -> dict:
    """The processed-crash fields Socorro would hold for this stackwalk document and annotations."""
    processed: dict = {"json_dump": stackwalk if isinstance(stackwalk, dict) else {}}
    if mdsw_status:
        status = stackwalk.get("status") if isinstance(stackwalk, dict) else None
        processed["mdsw_status_string"] = status if status is not None else "unknown error"
    if isinstance(annotations, dict):
        for key, value in annotations.items():
            target = ANNOTATION_FIELDS.get(key, key if key in _PROCESSED_NAMES else None)
            if target is None:
                continue
            if target == "java_exception" and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            if target == "additional_minidumps" and isinstance(value, str):
                value = [item.strip() for item in value.split(",") if item.strip()]
            processed[target] = value
    return processed


def crash_data_from_processed(processed: dict) -> dict:
    """Crash data from a Socorro-shaped processed crash (``json_dump`` + processed annotation fields)."""
    crash = {key: processed.get(key) for key in _ALWAYS}
    crash["oom_allocation_size"] = _int_or_none(crash["oom_allocation_size"])
    crash["additional_minidumps"] = processed.get("additional_minidumps", [])
    crash["original_signature"] = processed.get("signature", "")
    if "json_dump" in processed:
        dump = processed["json_dump"]
        crash["crashing_thread"] = lookup_path(dump, ("crash_info", "crashing_thread"))
        crash["reason"] = lookup_path(dump, ("crash_info", "type"))
        crash["threads"] = lookup_path(dump, ("threads",))
        crash["os"] = lookup_path(dump, ("system_info", "os"))
        paths = lookup_path(dump, (MODULE_PATHS_KEY,))
        if isinstance(paths, dict):  # only CrashDesk's own processing adds it; siggen never reads it
            crash["module_paths"] = paths
    if "java_exception" in processed:
        crash["java_exception"] = processed["java_exception"]
    if "java_stack_trace" in processed:
        crash["java_stack_trace"] = processed["java_stack_trace"]
    return crash


def crash_data_from_stackwalk(stackwalk, annotations=None, *, mdsw_status: bool = True) -> dict:
    """Crash data from ``minidump-stackwalk --json`` output plus crash annotations (raw or processed names).

    ``mdsw_status`` sets ``mdsw_status_string`` from the document's ``status`` (``"unknown error"`` when
    absent) as Socorro does, so empty stacks read ``EMPTY: no frame data available; OK``.
    """
    return crash_data_from_processed(processed_fields(stackwalk, annotations, mdsw_status=mdsw_status))


def crash_data_from_input(obj):
    """Crash data from any accepted shape: ``{"crash_data": ...}`` (wins), ``{"stackwalk", "annotations"}``,
    a processed crash with ``json_dump``, or bare crash data (returned as is, even if malformed)."""
    if isinstance(obj, dict):
        if "crash_data" in obj:
            return obj["crash_data"]
        if "stackwalk" in obj:
            return crash_data_from_stackwalk(obj["stackwalk"], obj.get("annotations"))
        if "json_dump" in obj:
            return crash_data_from_processed(obj)
    return obj
