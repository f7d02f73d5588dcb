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


def _entry_fields(walker: FrameWalker, list_name: str, text: str) -> dict:
    found = walker.entry_for(list_name, text)
    origin = walker.lists.origins.get(list_name, LIST_FILES[list_name])
    if found is None:
        return {"list": origin, "entry": None, "line": None}
    return {"list": origin, "entry": found[0], "line": found[1] or None}


def frame_details(walker: FrameWalker, thread, strings: list[str], trace: WalkTrace) -> list[dict]:
    """One dict per considered frame: ``index``, ``kind`` (what the text came from), ``raw``, ``text`` (the
    normalised string), ``fate`` and, for list decisions, ``list`` / ``entry`` / ``line`` of the entry.

    Fates: ``cut`` (above the sentinel), ``empty``, ``irrelevant``, ``merged`` (same module as the frame
    kept before), ``prefix`` (kept, walk continues), ``stop`` (kept, walk ends), ``fallback`` (nothing was
    kept, this frame became the signature), ``unused`` (after the walk ended).
    """
    raws = _raw_frames(thread)
    details = []
    for i, text in enumerate(strings):
        kind, raw = raws[i] if i < len(raws) else ("unknown", None)
        details.append({"index": i, "kind": kind, "raw": raw if raw is None or isinstance(raw, (str, int, float)) else repr(raw),
                        "text": text, "fate": "unused"})
    start = trace.sentinel_index or 0
    for i in range(start):
        details[i]["fate"] = "cut"
    if trace.sentinel_index is not None:
        details[start]["sentinel"] = _entry_fields(walker, "sentinels", strings[start])
    for i, fate in trace.fates:
        details[i]["fate"] = fate
        if fate in ("irrelevant", "prefix"):
            details[i].update(_entry_fields(walker, fate, strings[i]))
    if trace.fallback and start < len(details):
        details[start]["fate"] = "fallback"
    return details


def explain_walk(rule: str, walker: FrameWalker, thread, crash, strings: list[str], trace: WalkTrace,
                 index: int) -> tuple[list[str], list[dict]]:
    """Lines describing normalisation, the sentinel cut and each walked frame's fate, plus the same as
    structured :func:`frame_details`."""
    details = frame_details(walker, thread, strings, trace)
    lines = [f"{rule}: crashing thread {index}, {len(strings)} frame(s) considered (max 40, inlines count)"]
    if isinstance(crash, dict) and crash.get("os") == "Windows NT":
        lines.append(f"{rule}: os is 'Windows NT': module names lowercased")
    for d in details:
        i, kind, raw, text = d["index"], d["kind"], d["raw"], d["text"]
        if raw is not None and kind.endswith("symbol") and raw != text:
            lines.append(f"{rule}: frame {i}: {kind} {raw!r} normalised to {text!r}")
        elif kind in ("address", "module name", "file and line", "unloaded module"):
            lines.append(f"{rule}: frame {i}: no function; {kind} {raw!r} gives {text!r}")

    def where(d: dict) -> str:
        if d.get("entry") is None:
            return d.get("list", "")
        return f"{d['list']} line {d['line']}: {d['entry']!r}" if d.get("line") else f"{d['list']}: {d['entry']!r}"

    s = trace.sentinel_index
    if s is not None:
        text = f"{rule}: frame {s} {strings[s]!r} is a sentinel ({where(details[s]['sentinel'])})"
        lines.append(text + (f"; frames 0-{s - 1} dropped" if s else ""))
    for i, fate in trace.fates:
        text = strings[i]
        if fate == "empty":
            lines.append(f"{rule}: frame {i}: empty, skipped")
        elif fate == "irrelevant":
            lines.append(f"{rule}: frame {i} {text!r} skipped: irrelevant ({where(details[i])})")
        elif fate == "merged":
            lines.append(f"{rule}: frame {i} {text!r} combined with the identical module frame before it")
        elif fate == "prefix":
            lines.append(f"{rule}: frame {i} {text!r} kept; prefix ({where(details[i])}), continue")
        else:
            lines.append(f"{rule}: frame {i} {text!r} kept; not a prefix, stop")
    if trace.fates and trace.fates[-1][1] == "stop" and trace.fates[-1][0] + 1 < len(strings):
        lines.append(f"{rule}: frames {trace.fates[-1][0] + 1}-{len(strings) - 1} not used")
    if trace.fallback:
        lines.append(f"{rule}: no frame kept; the first frame after the sentinel cut is used as is")
    return lines, details
