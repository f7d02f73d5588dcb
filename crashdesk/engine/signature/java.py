"""Java signatures: from a ``JavaStackTrace`` text or a structured ``JavaException`` value.

Facts: ``shared/protocols/signatures.md`` section 7. Each function returns ``(signature, notes)``.
"""

from __future__ import annotations

import re

_LINE_NUMBER = re.compile(r"\.java\:\d+\)$")
_HEX_ADDRESS = re.compile(r"@[0-9a-f]{8}")
MAX_DESCRIPTION_SIGNATURE = 255

TEXT_TOOL = "JavaSignatureTool"
STRUCTURED_TOOL = "JavaExceptionSignatureTool"


def _join_nonempty(sep: str, parts) -> str:
    return sep.join(p for p in parts if p)


def from_stack_trace(trace) -> tuple[str, list[str]]:
    """Signature from a Java stack trace text: exception class, description and the first method."""
    if not isinstance(trace, str):
        return "EMPTY: Java stack trace not in expected format", [
            f"{TEXT_TOOL}: stack trace not in expected format"
        ]
    lines = [line.strip() for line in trace.splitlines()]
    if not lines:
        return "EMPTY: Java stack trace not in expected format", [
            f"{TEXT_TOOL}: stack trace not in expected format"
        ]
    notes: list[str] = []
    first = lines[0]
    if ":" in first:
        exc_class, description = first.split(":", 1)
        exc_class = exc_class.strip()
        description = _HEX_ADDRESS.sub("@<addr>", description).strip()
    else:
        exc_class, description = first, ""
        notes.append(f"{TEXT_TOOL}: stack trace line 1 is not in the expected format")
    if len(lines) > 1:
        method = _LINE_NUMBER.sub(".java)", lines[1])
        if not method:
            notes.append(f"{TEXT_TOOL}: stack trace line 2 is empty")
    else:
        notes.append(f"{TEXT_TOOL}: stack trace line 2 is missing")
        method = ""
    if description.endswith("<addr>"):
        signature = _join_nonempty(": ", (exc_class, description, method))
    else:
        signature = _join_nonempty(": ", (exc_class, _join_nonempty(" ", (description, method))))
    if len(signature) > MAX_DESCRIPTION_SIGNATURE:
        signature = ": ".join((exc_class, method))
        notes.append(f"{TEXT_TOOL}: dropped Java exception description due to length")
    return signature, notes


def _lookup_path(value, keys):
    """Follow dict keys / list indexes; ``None`` when any step is missing (lists accept digit strings)."""
    for key in keys:
        if isinstance(value, dict):
            if key not in value:
                return None
            value = value[key]
        elif isinstance(value, (list, tuple)):
            try:
                value = value[int(key)]
            except (ValueError, IndexError):
                return None
        else:
            return None
    return value


def _frame_text(frame) -> str:
    module = frame.get("module", "")
    function = frame.get("function", "")
    if module and function:
        text = ".".join([module, function])
    elif module:
        text = module
    elif function:
        text = function
    else:
        text = ""
    filename = frame.get("filename", "")
    if text and filename:
        return f"{text}({filename})"
    if text:
        return text
    return "unknown"


def from_exception(value) -> tuple[str, list[str]]:
    """Signature from a structured Java exception (``exception.values[0].stacktrace``)."""
    stacktrace = _lookup_path(value, ("exception", "values", "0", "stacktrace")) if isinstance(value, dict) else None
    if not isinstance(value, dict) or not stacktrace:
        return "EMPTY: Java exception not in expected format", [
            f"{STRUCTURED_TOOL}: value not in expected format"
        ]
    module = stacktrace.get("module", "")
    exc_type = stacktrace.get("type", "Unknown")
    exc_class = f"{module}.{exc_type}" if module and exc_type else exc_type
    frames = stacktrace.get("frames") or []
    if frames:
        texts = [_frame_text(frame) for frame in frames]
        return f"{exc_class}: at {texts[0]}", []
    return f"{exc_class}", []
