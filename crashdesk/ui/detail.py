"""Everything the crash view shows about one crash, read and prepared on a background thread."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.ui.models.modules import merge_modules


@dataclass
class CrashDetail:
    crash_id: str
    data: dict[str, Any]  # CrashStore.get()
    modules: list[dict[str, Any]]
    processed_html: str
    annotations_html: str
    server_html: str | None
    streams: dict[str, list[tuple[str, int, int]] | str] = field(default_factory=dict)
    #: what a crash processed now would be processed with (None: not known here, e.g. no data folder)
    current_symbol_sources: dict[str, list[str]] | None = None

    @property
    def symbol_sources(self) -> dict[str, list[str]] | None:
        """The symbol sources that processed this crash (recorded since issue 29; None before)."""
        recorded = (self.processed or {}).get("symbol_sources")
        return recorded if isinstance(recorded, dict) else None

    @property
    def added_symbol_sources(self) -> dict[str, list[str]]:
        """The symbol sources of the settings that did not process this crash, by kind (``folders``,
        ``servers``, ``debuginfod``, ``mozilla_servers``; empty kinds left out). Only these can give it symbols
        it lacked: a source taken out of the settings cannot. Empty for a crash processed before the sources were
        recorded (or elsewhere, e.g. a synced or reference-processed crash): nothing says what processed it.
        Mozilla's servers count only for a Mozilla product's crash (processing asks them for nothing else)."""
        if self.processed is None or self.current_symbol_sources is None or self.symbol_sources is None:
            return {}
        from crashdesk.engine.signature.choice import is_mozilla

        recorded = self.symbol_sources
        keys = ["folders", "servers", "debuginfod"]
        if is_mozilla(self.data.get("annotations") or {}):
            keys.append("mozilla_servers")
        added = {}
        for key in keys:
            before = set(recorded.get(key) or [])
            new = [s for s in self.current_symbol_sources.get(key) or [] if s not in before]
            if new:
                added[key] = new
        return added

    @property
    def lacks_symbols(self) -> bool:
        """Some module of the crash had no symbols (missing, corrupt, a failed fetch) or symbols without source
        lines: what another symbol source could give."""
        return any(m.get("symbol_status") in ("missing", "corrupt", "error")
                   or (m.get("symbol_status") == "loaded" and m.get("source_lines") is False) for m in self.modules)

    @property
    def may_gain_symbols(self) -> bool:
        """Processing this crash again may find symbols it lacked: it lacks some (:attr:`lacks_symbols`) and the
        settings have symbol sources that did not process it (:attr:`added_symbol_sources`)."""
        return self.lacks_symbols and bool(self.added_symbol_sources)

    @property
    def processed(self) -> dict[str, Any] | None:
        return self.data.get("processed")


def dump_streams(path: str | Path) -> list[tuple[str, int, int]] | str:
    """The stream directory of a minidump as (name, size, offset), or a message saying why not."""
    try:
        from crashdesk.engine.minidump.reader import Minidump
    except ImportError:
        return "the minidump reader is not available in this build"
    try:
        with Minidump.open(path) as dump:
            return [(s.name, s.size, s.rva) for s in dump.streams]
    except Exception as exc:  # noqa: BLE001 - any unreadable dump is shown, not raised
        return f"cannot read the stream list: {exc}"


def load_detail(store: Any, crash_id: str) -> CrashDetail:
    """Read one crash and pre-render its JSON views (pygments is too slow for the GUI thread on big crashes)."""
    from crashdesk.ui import highlight  # pygments: imported on a worker thread, not at start-up

    data = store.get(crash_id)
    processed = data.get("processed")
    modules = merge_modules(processed, data.get("modules"))
    streams: dict[str, Any] = {}
    for dump in data.get("dumps") or []:
        streams[dump["name"]] = dump_streams(dump["path"])
    processed_html = highlight.json_html(processed) if processed is not None else ""
    server = data.get("server_processed")
    return CrashDetail(
        crash_id=crash_id,
        data=data,
        modules=modules,
        processed_html=processed_html,
        annotations_html=highlight.json_html(data.get("annotations") or {}),
        server_html=(server_diff_html(processed, server) + highlight.json_html(server)) if server is not None
        else None,
        streams=streams,
    )


def summary_fields(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows for the Summary tab, from ``CrashStore.get()`` output."""
    from crashdesk.model.summary import describe_uptime

    proc = data.get("processed") or {}
    info = proc.get("crash_info") or {}
    system = proc.get("system_info") or {}
    ann = data.get("annotations") or {}

    def join(*parts: Any) -> str:
        return " ".join(str(p) for p in parts if p not in (None, ""))

    crashing = info.get("crashing_thread", data.get("crashing_thread"))
    thread_name = ""
    threads = proc.get("threads") or []
    if isinstance(crashing, int) and 0 <= crashing < len(threads):
        thread_name = (threads[crashing] or {}).get("thread_name") or ""
    rows = [
        ("Crash ID", data.get("crash_id") or ""),
        ("Product", data.get("product") or ""),
        ("Version", data.get("version") or ""),
        ("Build ID", data.get("build_id") or ""),
        ("Channel", data.get("channel") or ""),
        ("OS", join(data.get("os") or system.get("os"), data.get("os_version") or system.get("os_ver"))),
        ("CPU", join(data.get("cpu") or system.get("cpu_arch"), system.get("cpu_info"),
                     f"({system.get('cpu_count')} CPUs)" if system.get("cpu_count") else "")),
        ("Crash reason", data.get("reason") or info.get("type") or ""),
        ("Crash address", data.get("address") or info.get("address") or ""),
        *instruction_rows(info),
        ("Crashing thread", join(crashing if crashing is not None else "", thread_name)),
        ("Assertion", info.get("assertion") or ""),
        ("Submitted", display_time(data.get("submitted_at"))),
        ("Received", display_time(data.get("received_at"))),
        ("Processed", display_time(data.get("processed_at")) or "not yet"),
        ("Symbol sources", describe_symbol_sources(proc["symbol_sources"] if isinstance(proc.get("symbol_sources"),
                                                                                      dict) else None)
         if proc else ""),
        ("State", data.get("state") or ""),
        ("Source", data.get("source") or ""),
        ("Signature profile", data.get("signature_profile") or ""),
        ("Server signature", data.get("server_signature") or ""),
        ("Stackwalk status", proc.get("status") or ""),
        ("Process ID", str(proc.get("pid") or "")),
        ("Uptime", describe_uptime(ann, proc)),
    ]
    return [(k, v) for k, v in rows if v not in ("", None)]


_INCONSISTENCIES = {
    "int_div_by_zero_not_possible": "the crash is a division by zero but the instruction does not divide",
    "priv_instruction_crash_without_priv_instruction": "the crash is a privileged instruction but this one is not",
    "non_canonical_address_falsely_reported": "reported as a non-canonical address but the accesses are canonical",
    "access_violation_when_access_allowed": "access violation although the memory map allows the access",
    "crashing_access_not_found_in_memory_accesses": "the crash address is not among the instruction's accesses",
}


def best_bit_flip(info: dict[str, Any]) -> dict[str, Any] | None:
    """The most likely bit flip the reference lists (highest confidence, then lowest address), or None."""
    flips = [f for f in info.get("possible_bit_flips") or [] if isinstance(f, dict)]
    if not flips:
        return None
    return min(flips, key=lambda f: (-(f.get("confidence") or 0.0), str(f.get("address"))))


def instruction_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    """Summary rows from the crash_info fields the faulting instruction gives (issue 21)."""
    rows = []
    adjusted = info.get("adjusted_address") or {}
    if adjusted.get("kind") == "null-pointer":
        rows.append(("Adjusted address", f"null pointer + {adjusted.get('offset')}"))
    elif adjusted.get("kind") == "non-canonical":
        rows.append(("Adjusted address", f"non-canonical {adjusted.get('address')}"))
    if info.get("instruction"):
        rows.append(("Instruction", str(info["instruction"])))
    accesses = info.get("memory_accesses")
    if isinstance(accesses, list):
        parts = []
        for a in accesses:
            size = f"{a['size']} bytes" if a.get("size") else "unknown size"
            text = f"{a.get('access_type') or 'access'} {size} at {a.get('address')}"
            parts.append(text + (" (likely guard page)" if a.get("is_likely_guard_page") else ""))
        rows.append(("Memory accesses", "; ".join(parts) or "none"))
    update = info.get("instruction_pointer_update")
    if update:
        rows.append(("Jumps to", str(update.get("address"))))
    flip = best_bit_flip(info)
    if flip is not None:
        source = f", from {flip['source_register']}" if flip.get("source_register") else ""
        rows.append(("Possible bit flip", f"{flip.get('address')} (confidence {flip.get('confidence', 0):.2f}{source})"))
    for item in info.get("crash_inconsistencies") or []:
        rows.append(("Inconsistent crash", _INCONSISTENCIES.get(item, str(item))))
    return rows


def describe_symbol_sources(sources: dict[str, list[str]] | None) -> str:
    """One line: the symbol folders and servers a crash was processed with."""
    if sources is None:
        return "not recorded (processed before CrashDesk recorded them)"
    parts = []
    for key, title in (("folders", "folders"), ("servers", "servers"), ("debuginfod", "debuginfod"),
                       ("mozilla_servers", "for Mozilla products")):
        if sources.get(key):
            parts.append(f"{title}: {', '.join(sources[key])}")
    return "; ".join(parts) or "none (no symbol folder or server)"


def display_time(value: str | None) -> str:
    """``2026-11-28T11:53:00.123456+00:00`` -> ``2026-11-28 11:53:00 UTC`` (the store keeps UTC)."""
    if not value:
        return ""
    text = value.replace("T", " ")
    for sep in ("+00:00", "Z"):
        text = text.split(sep)[0]
    return text.split(".")[0] + " UTC"


def signature_notes(data: dict[str, Any]) -> list[str]:
    for entry in reversed(data.get("signature_history") or []):
        if entry.get("active") and entry.get("notes"):
            return list(entry["notes"])
    return []


def processing_notes(data: dict[str, Any]) -> list[str]:
    notes = data.get("notes") or []
    if isinstance(notes, str):
        try:
            notes = json.loads(notes)
        except ValueError:
            notes = [notes]
    return [str(n) for n in notes]


def server_diff_html(processed: dict | None, server: dict | None) -> str:
    """The crashing thread re-walked here against the server's, frame by frame; differing fields highlighted."""
    import html

    from crashdesk.model.threads import STACK_FIELDS, stack_diff

    if processed is None or server is None:
        return ""
    rows = stack_diff(processed, server)
    differing = sum(1 for r in rows if r["differs"])
    out = [f"<h3>Crashing thread: here against the server ({differing} of {len(rows)} frames differ)</h3>",
           "<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>",
           "<tr><th>#</th>" + "".join(f"<th>here: {f}</th>" for f in STACK_FIELDS)
           + "".join(f"<th>server: {f}</th>" for f in STACK_FIELDS) + "</tr>"]
    for r in rows:
        cells = [f"<td>{r['index']}</td>"]
        for side in ("local", "server"):
            frame = r[side] or {}
            for f in STACK_FIELDS:
                style = " style='background:#ffe08a'" if f in r["differs"] else ""
                cells.append(f"<td{style}>{html.escape(frame.get(f) or '') if r[side] else '—'}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)
