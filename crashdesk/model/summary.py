"""What the store indexes about a crash, read off its raw annotations and processed crash.

The processed crash is the ``minidump-stackwalk --json`` document; annotations are the raw crash's
key/value pairs (Breakpad/Crashpad form fields). These functions only read; they never fail on missing or
oddly typed fields (any field of either document may be absent or null).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

# annotation keys Breakpad/Crashpad clients use for the columns the store keeps
PRODUCT_KEYS = ("ProductName", "product", "prod", "_productName")
# not "version": in a Socorro raw crash (synced, or the collector's own metadata) that is the raw crash format
# version, 2, never the product's
VERSION_KEYS = ("Version", "ver", "_version")
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
    process_uptime: int | None = None  # seconds from process creation to the dump, as the minidump records it


def crashing_thread_index(processed: dict[str, Any] | None) -> int | None:
    """The crashing thread's index as the processed crash gives it (``crash_info.crashing_thread``, else
    ``crashing_thread.threads_index``), or None; not checked against the threads listed."""
    proc = _dict(processed)
    thread = _dict(proc.get("crash_info")).get("crashing_thread")
    if not isinstance(thread, int) or isinstance(thread, bool):
        thread = _dict(proc.get("crashing_thread")).get("threads_index")
        if not isinstance(thread, int) or isinstance(thread, bool):
            thread = None
    return thread


def columns_from(annotations: dict[str, Any] | None, processed: dict[str, Any] | None) -> CrashColumns:
    ann = _dict(annotations)
    proc = _dict(processed)
    system = _dict(proc.get("system_info"))
    info = _dict(proc.get("crash_info"))
    thread = crashing_thread_index(proc)
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
        process_uptime=process_uptime(proc),
    )


def crash_uptime(uptime_ts: Any, crash_time: Any, startup_time: Any,
                 process_uptime: int | None = None) -> tuple[float | None, str]:
    """A crash's uptime in seconds and where it came from: the ``UptimeTS`` annotation, else ``CrashTime -
    StartupTime`` (as Crash Stats reads them), else the process uptime the minidump records (``"minidump"``);
    ``(None, "")`` when there is none (or a bad value and no minidump uptime)."""
    try:
        if uptime_ts not in (None, ""):
            return float(uptime_ts), "UptimeTS"
        if crash_time not in (None, "") and startup_time not in (None, ""):
            return max(0.0, float(crash_time) - float(startup_time)), "CrashTime - StartupTime"
    except (TypeError, ValueError):
        pass
    if process_uptime is not None:
        return float(process_uptime), "minidump"
    return None, ""


def describe_uptime(annotations: dict[str, Any] | None, processed: dict[str, Any] | None) -> str:
    """A crash's uptime for people, with its source: ``"23 s (from the minidump)"``,
    ``"3,623 s = 1 h 0 min (UptimeTS annotation)"``; ``""`` when it has none."""
    ann = _dict(annotations)
    seconds, source = crash_uptime(ann.get("UptimeTS"), ann.get("CrashTime"), ann.get("StartupTime"),
                                   process_uptime(processed))
    if seconds is None or not math.isfinite(seconds):
        return ""
    text = f"{seconds:,.0f} s" if seconds == int(seconds) else f"{seconds:,.1f} s"
    whole = int(seconds)
    if whole >= 86400:
        text += f" = {whole // 86400} d {whole % 86400 // 3600} h"
    elif whole >= 3600:
        text += f" = {whole // 3600} h {whole % 3600 // 60} min"
    elif whole >= 60:
        text += f" = {whole // 60} min {whole % 60} s"
    return f"{text} ({_UPTIME_SOURCES[source]})"


_UPTIME_SOURCES = {"UptimeTS": "UptimeTS annotation", "CrashTime - StartupTime": "CrashTime - StartupTime annotations",
                   "minidump": "from the minidump"}


def process_uptime(processed: dict[str, Any] | None) -> int | None:
    """The processed crash's ``process_uptime`` (seconds, what the stackwalker read from the minidump), or
    None when it has none or it is not an integer from 0 to 2**63 - 1 (a processed crash imported from
    elsewhere may say anything; SQLite's integers end there)."""
    value = _dict(processed).get("process_uptime")
    return value if type(value) is int and 0 <= value < 2**63 else None


class FrameRow(NamedTuple):
    """One stored frame; a plain tuple in the ``frames`` table's column order (after ``crash``)."""

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
    return value if type(value) is int else None


def _s(value: Any) -> str | None:
    # the hot-path spelling of _str: the store calls this ~250 times per crash
    return value if type(value) is str else (None if value is None else str(value))


def frame_rows(processed: dict[str, Any] | None, *, all_threads: bool = False) -> list[FrameRow]:
    """Rows for the crashing thread (or every thread), inline frames included (depth 1.. outermost first)."""
    proc = _dict(processed)
    threads = _list(proc.get("threads"))
    wanted: list[tuple[int, dict]] = []
    if all_threads:
        wanted = [(i, _dict(t)) for i, t in enumerate(threads)]
    else:
        idx = crashing_thread_index(proc)
        if idx is not None and 0 <= idx < len(threads):
            wanted = [(idx, _dict(threads[idx]))]
        elif isinstance(proc.get("crashing_thread"), dict):
            wanted = [(-1, proc["crashing_thread"])]
    rows: list[FrameRow] = []
    for tindex, thread in wanted:
        for n, frame in enumerate(_list(thread.get("frames"))):
            if type(frame) is not dict:
                frame = {}
            get = frame.get
            module, offset, module_offset, trust = _s(get("module")), _s(get("offset")), \
                _s(get("module_offset")), _s(get("trust"))
            inlines = get("inlines")
            if inlines and type(inlines) is list:
                for depth, inline in enumerate(inlines, start=1):
                    inline = _dict(inline)
                    rows.append(FrameRow(
                        tindex, n, depth, module, _s(inline.get("function")), _s(inline.get("file")),
                        _int_or_none(inline.get("line")), offset, module_offset, None, trust,
                    ))
            rows.append(FrameRow(
                tindex, n, 0, module, _s(get("function")), _s(get("file")), _int_or_none(get("line")), offset,
                module_offset, _s(get("function_offset")), trust,
            ))
    return rows


def frame_names(processed: dict[str, Any] | None, *, all_threads: bool = False) -> tuple[list[str], list[str]]:
    """The non-empty function names and source file names of the rows :func:`frame_rows` lists, in its order,
    without building the rows (what the store indexes of the frames: it runs for every stored crash)."""
    proc = _dict(processed)
    threads = _list(proc.get("threads"))
    wanted: list[dict] = []
    if all_threads:
        wanted = [_dict(t) for t in threads]
    else:
        idx = crashing_thread_index(proc)
        if idx is not None and 0 <= idx < len(threads):
            wanted = [_dict(threads[idx])]
        elif isinstance(proc.get("crashing_thread"), dict):
            wanted = [proc["crashing_thread"]]
    functions: list[str] = []
    files: list[str] = []
    for thread in wanted:
        for frame in _list(thread.get("frames")):
            if type(frame) is not dict:
                continue
            inlines = frame.get("inlines")
            if inlines and type(inlines) is list:
                for inline in inlines:
                    if type(inline) is dict:
                        if f := _s(inline.get("function")):
                            functions.append(f)
                        if f := _s(inline.get("file")):
                            files.append(f)
            if f := _s(frame.get("function")):
                functions.append(f)
            if f := _s(frame.get("file")):
                files.append(f)
    return functions, files


def module_links(processed: dict[str, Any] | None) -> tuple[list[tuple[str, str, str, str, str]],
                                                           list[str | None], str]:
    """What the store links per loaded module, in one pass (it runs for every stored crash): the identity
    (filename, debug file, debug id, code id, version), the base address, and one status letter
    (L loaded, M missing, C corrupt, ``.`` not asked) per module, from the ``loaded_symbols``,
    ``missing_symbols`` and ``corrupt_symbols`` flags processing sets. Modules without a file name are left out."""
    keys: list[tuple[str, str, str, str, str]] = []
    bases: list[str | None] = []
    letters: list[str] = []
    for module in _list(_dict(processed).get("modules")):
        if type(module) is not dict:
            continue
        get = module.get
        filename, debug_file, debug_id, code_id, version = (
            get("filename"), get("debug_file"), get("debug_id"), get("code_id"), get("version"))
        if type(filename) is not str:
            filename = _s(filename) or ""
        if not filename:
            continue
        if type(debug_file) is not str:
            debug_file = _s(debug_file) or ""
        if type(debug_id) is not str:
            debug_id = _s(debug_id) or ""
        if type(code_id) is not str:
            code_id = _s(code_id) or ""
        if type(version) is not str:
            version = _s(version) or ""
        base = get("base_addr")
        keys.append((filename, debug_file, debug_id, code_id, version))
        bases.append(base if base is None or type(base) is str else str(base))
        letters.append("C" if get("corrupt_symbols") else "L" if get("loaded_symbols")
                       else "M" if get("missing_symbols") else ".")
    return keys, bases, "".join(letters)


#: processed-crash key CrashDesk's processing adds (module file name -> path; the generic profile's module
#: rules read it); not part of the minidump-stackwalk schema
MODULE_PATHS_KEY = "crashdesk_module_paths"


def signature_input(processed: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a processed crash that signature generation reads: status, crash reason and crashing
    thread index, the OS, the crashing thread's frames (other threads keep their place as empty entries) and
    the module paths processing recorded.

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
    paths = proc.get(MODULE_PATHS_KEY)
    if isinstance(paths, dict) and paths:
        out[MODULE_PATHS_KEY] = paths
    return out

