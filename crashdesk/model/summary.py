"""What the store indexes about a crash, read off its raw annotations and processed crash.

The processed crash is the ``minidump-stackwalk --json`` document; annotations are the raw crash's
key/value pairs (Breakpad/Crashpad form fields). These functions only read; they never fail on missing or
oddly typed fields (any field of either document may be absent or null).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# annotation keys Breakpad/Crashpad clients use for the columns the store keeps
PRODUCT_KEYS = ("ProductName", "product", "prod", "_productName")
VERSION_KEYS = ("Version", "version", "ver", "_version")
BUILD_KEYS = ("BuildID", "build_id", "buildid")
CHANNEL_KEYS = ("ReleaseChannel", "channel", "release_channel")


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True, slots=True)
class CrashColumns:
    product: str | None = None
    version: str | None = None
    build_id: str | None = None
    channel: str | None = None
    os: str | None = None
    os_version: str | None = None
    cpu: str | None = None
    reason: str | None = None
    address: str | None = None
    crashing_thread: int | None = None


def columns_from(annotations: dict[str, Any] | None, processed: dict[str, Any] | None) -> CrashColumns:
    ann = _dict(annotations)
    proc = _dict(processed)
    system = _dict(proc.get("system_info"))
    info = _dict(proc.get("crash_info"))
    thread = info.get("crashing_thread")
    if not isinstance(thread, int) or isinstance(thread, bool):
        thread = _dict(proc.get("crashing_thread")).get("threads_index")
        if not isinstance(thread, int) or isinstance(thread, bool):
            thread = None
    return CrashColumns(
        product=_first(ann, PRODUCT_KEYS),
        version=_first(ann, VERSION_KEYS),
        build_id=_first(ann, BUILD_KEYS),
        channel=_first(ann, CHANNEL_KEYS),
        os=_str(system.get("os")) or _first(ann, ("os", "platform")),
        os_version=_str(system.get("os_ver")),
        cpu=_str(system.get("cpu_arch")),
        reason=_str(info.get("type")),
        address=_str(info.get("address")),
        crashing_thread=thread,
    )


@dataclass(frozen=True, slots=True)
class FrameRow:
    thread: int
    frame: int
    inline_depth: int
    module: str | None
    function: str | None
    file: str | None
    line: int | None
    offset: str | None
    module_offset: str | None
    function_offset: str | None
    trust: str | None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def frame_rows(processed: dict[str, Any] | None, *, all_threads: bool = False) -> list[FrameRow]:
    """Rows for the crashing thread (or every thread), inline frames included (depth 1.. outermost first)."""
    proc = _dict(processed)
    threads = _list(proc.get("threads"))
    wanted: list[tuple[int, dict]] = []
    if all_threads:
        wanted = [(i, _dict(t)) for i, t in enumerate(threads)]
    else:
        idx = columns_from(None, proc).crashing_thread
        if idx is not None and 0 <= idx < len(threads):
            wanted = [(idx, _dict(threads[idx]))]
        elif isinstance(proc.get("crashing_thread"), dict):
            wanted = [(-1, proc["crashing_thread"])]
    rows: list[FrameRow] = []
    for tindex, thread in wanted:
        for n, frame in enumerate(_list(thread.get("frames"))):
            frame = _dict(frame)
            inlines = _list(frame.get("inlines"))
            for depth, inline in enumerate(inlines, start=1):
                inline = _dict(inline)
                rows.append(FrameRow(
                    tindex, n, depth, _str(frame.get("module")), _str(inline.get("function")),
                    _str(inline.get("file")), _int_or_none(inline.get("line")), _str(frame.get("offset")),
                    _str(frame.get("module_offset")), None, _str(frame.get("trust")),
                ))
            rows.append(FrameRow(
                tindex, n, 0, _str(frame.get("module")), _str(frame.get("function")), _str(frame.get("file")),
                _int_or_none(frame.get("line")), _str(frame.get("offset")), _str(frame.get("module_offset")),
                _str(frame.get("function_offset")), _str(frame.get("trust")),
            ))
    return rows


@dataclass(frozen=True, slots=True)
class ModuleRow:
    filename: str
    debug_file: str
    debug_id: str
    code_id: str
    version: str
    base_addr: str | None
    symbol_status: str | None


def module_rows(processed: dict[str, Any] | None) -> list[ModuleRow]:
    rows = []
    for module in _list(_dict(processed).get("modules")):
        module = _dict(module)
        filename = _str(module.get("filename")) or ""
        if not filename:
            continue
        if module.get("corrupt_symbols"):
            status = "corrupt"
        elif module.get("loaded_symbols"):
            status = "loaded"
        elif module.get("missing_symbols"):
            status = "missing"
        else:
            status = None
        rows.append(ModuleRow(
            filename, _str(module.get("debug_file")) or "", _str(module.get("debug_id")) or "",
            _str(module.get("code_id")) or "", _str(module.get("version")) or "",
            _str(module.get("base_addr")), status,
        ))
    return rows


def signature_input(processed: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a processed crash that signature generation reads: status, crash reason and crashing
    thread index, the OS, and the crashing thread's frames (other threads keep their place as empty entries).

    Stored beside the full document so regenerating signatures over many crashes parses a few KB per crash
    instead of the whole processed crash (about 60 KB with 150 modules)."""
    proc = _dict(processed)
    if not proc:
        return None
    info = _dict(proc.get("crash_info"))
    threads = _list(proc.get("threads"))
    index = info.get("crashing_thread")
    keep = index if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(threads) else 0
    slim_threads = [threads[i] if i == keep else {} for i in range(len(threads))]
    out: dict[str, Any] = {
        "status": proc.get("status"),
        "crash_info": {"type": info.get("type"), "crashing_thread": info.get("crashing_thread"),
                       "address": info.get("address")},
        "system_info": {"os": _dict(proc.get("system_info")).get("os"),
                        "cpu_arch": _dict(proc.get("system_info")).get("cpu_arch")},
        "threads": slim_threads,
    }
    if "status" not in proc:
        del out["status"]
    return out
