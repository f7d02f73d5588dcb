"""Human-readable explanation of a frame walk: what each frame became and why it was kept or skipped.

Only used when generation runs with ``explain=True`` (it matches list entries one by one to name the entry
responsible, which is too slow for bulk regeneration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crashdesk.engine.signature.lists import LIST_FILES
from crashdesk.engine.signature.normalize import source_path

if TYPE_CHECKING:
    from crashdesk.engine.signature.frames import FrameWalker, WalkTrace


def _raw_frames(thread) -> list[tuple[str, object]]:
    """(kind, raw value) per expanded frame, mirroring the expansion used for normalisation."""
    out: list[tuple[str, object]] = []
    try:
        for frame in thread.get("frames", []):
            for inline in frame.get("inlines") or []:
                out.append(_describe(inline.get("function"), inline.get("file"), inline.get("line"),
                                     frame.get("module"), None, frame.get("offset")))
            out.append(_describe(frame.get("function"), frame.get("file"), frame.get("line"),
                                 frame.get("module"), frame.get("unloaded_modules"), frame.get("offset")))
            if len(out) >= 40:
                break
    except (AttributeError, TypeError):
        pass
    return out[:40]


def _describe(function, file, line, module, unloaded, offset) -> tuple[str, object]:
    if function:
        path = source_path(file) if isinstance(file, str) else None
        rust = bool(file) and (path or "").endswith(".rs")
        return ("Rust symbol" if rust else "C/C++ symbol"), function
    if file and line:
        return "file and line", f"{file}:{line}"
    if module:
        return "module name", module
    if unloaded:
        return "unloaded module", unloaded
    if offset:
        return "address", offset
    return "nothing usable", None


def _entry(walker: FrameWalker, list_name: str, text: str) -> str:
    found = walker.entry_for(list_name, text)
    origin = walker.lists.origins.get(list_name, LIST_FILES[list_name])
    if found is None:
        return origin
    entry, line = found
    return f"{origin} line {line}: {entry!r}" if line else f"{origin}: {entry!r}"


def explain_walk(rule: str, walker: FrameWalker, thread, crash, strings: list[str], trace: WalkTrace,
                 index: int) -> list[str]:
    """Lines describing normalisation, the sentinel cut and each walked frame's fate."""
    lines = [f"{rule}: crashing thread {index}, {len(strings)} frame(s) considered (max 40, inlines count)"]
    if isinstance(crash, dict) and crash.get("os") == "Windows NT":
        lines.append(f"{rule}: os is 'Windows NT': module names lowercased")
    for i, (kind, raw) in enumerate(_raw_frames(thread)):
        if i >= len(strings):
            break
        if raw is not None and kind.endswith("symbol") and raw != strings[i]:
            lines.append(f"{rule}: frame {i}: {kind} {raw!r} normalised to {strings[i]!r}")
        elif kind in ("address", "module name", "file and line", "unloaded module"):
            lines.append(f"{rule}: frame {i}: no function; {kind} {raw!r} gives {strings[i]!r}")
    if trace.sentinel_index is not None:
        s = trace.sentinel_index
        lines.append(f"{rule}: frame {s} {strings[s]!r} is a sentinel ({_entry(walker, 'sentinels', strings[s])});"
                     f" frames 0-{s - 1} dropped" if s else
                     f"{rule}: frame 0 {strings[0]!r} is a sentinel ({_entry(walker, 'sentinels', strings[0])})")
    for i, fate in trace.fates:
        text = strings[i]
        if fate == "empty":
            lines.append(f"{rule}: frame {i}: empty, skipped")
        elif fate == "irrelevant":
            lines.append(f"{rule}: frame {i} {text!r} skipped: irrelevant ({_entry(walker, 'irrelevant', text)})")
        elif fate == "merged":
            lines.append(f"{rule}: frame {i} {text!r} combined with the identical module frame before it")
        elif fate == "prefix":
            lines.append(f"{rule}: frame {i} {text!r} kept; prefix ({_entry(walker, 'prefix', text)}), continue")
        else:
            lines.append(f"{rule}: frame {i} {text!r} kept; not a prefix, stop")
    if trace.fates and trace.fates[-1][1] == "stop" and trace.fates[-1][0] + 1 < len(strings):
        lines.append(f"{rule}: frames {trace.fates[-1][0] + 1}-{len(strings) - 1} not used")
    if trace.fallback:
        lines.append(f"{rule}: no frame kept; the first frame after the sentinel cut is used as is")
    return lines
