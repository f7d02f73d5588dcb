"""The symbol-lookup explainer: for one module of a crash, every place tried in order, what was used in the
end, and what the user can do about it.

Input is what processing kept: the module row of the store (``symbol_status``/``symbol_note``) and the
lookup record the worker stored in the processed crash under ``symbol_lookups`` (see
:meth:`crashdesk.symbols.chain.SymbolChain.lookups`), or a fresh :class:`SymbolLookup` from a lookup made now.
Pure data in, data out: the CLI prints it, the Modules tab shows it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols.layout import elf_build_id, is_pdb_module

MS_SYMBOL_SERVER = "https://msdl.microsoft.com/download/symbols"


def record_from_lookup(res) -> dict:
    """The stored form of a :class:`~crashdesk.engine.symbols_api.SymbolLookup` (as the worker keeps it)."""
    extra = res.extra or {}
    return {"status": res.status, "note": res.note, "symbol_url": res.symbol_url, "reason": extra.get("reason"),
            "source": extra.get("source"),
            "kind": "native" if extra.get("native") else ("sym" if res.symbols is not None else None),
            "files": extra.get("files") or ([extra["path"]] if extra.get("path") else []),
            "source_lines": _source_lines(res.symbols),
            "until": extra.get("until"), "attempts": [dict(a) for a in extra.get("attempts", [])]}


def _source_lines(symbols) -> bool | None:
    """Whether loaded symbols give source lines (None: nothing loaded, or no longer readable)."""
    if symbols is None:
        return None
    from crashdesk.engine.symfile import SymbolFileError
    from crashdesk.symbols.chain import has_source_lines

    try:
        return has_source_lines(symbols)
    except (SymbolFileError, OSError, ValueError):
        return None


def lookup_records(processed: dict | None) -> dict[tuple[str, str], dict]:
    """(debug file, DEBUG ID) -> lookup record, from a processed crash's ``symbol_lookups``."""
    out = {}
    for rec in (processed or {}).get("symbol_lookups") or []:
        if isinstance(rec, dict):
            out[(str(rec.get("debug_file") or ""), str(rec.get("debug_id") or "").upper())] = rec
    return out


def _when(ts: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(ts)))
    except (TypeError, ValueError, OverflowError):
        return "?"


def describe_attempt(a: dict) -> str:
    """One line for one place tried."""
    src = a.get("source") or "?"
    result = a.get("result") or "?"
    where = a.get("url") or a.get("path")
    status = a.get("http_status")
    kind = a.get("kind")
    head = src if not a.get("http") else (where or src)
    if a.get("http"):
        head = f"{kind + ' ' if kind else ''}{head}"
    elif where and where != src:
        head = f"{src}: {where}"
    if result == "cached_miss":
        return f"{src}: remembered miss, not asked again until {_when(a.get('until'))}"
    text = {"not_found": "not found", "downloaded": "downloaded", "corrupt": "unusable", "error": "failed",
            "unsupported": "cannot be read here", "cancelled": "cancelled"}.get(result, result)
    if status:
        text = f"HTTP {status}, {text}"
    note = a.get("note")
    if note and note not in ("not found",):
        text += f" ({note})"
    return f"{head}: {text}"


def advice(module: ModuleKey, status: str | None, record: dict | None, context: str | None = None) -> list[str]:
    """What the user can do, most useful first."""
    record = record or {}
    if status == "loaded":
        return _without_lines_advice(module, record) if record.get("source_lines") is False else []
    if context == "not_needed":
        return []
    attempts = record.get("attempts") or []
    tips: list[str] = []
    name = module.debug_file or module.code_file or "this module"
    if record.get("reason") == "no_sources" or context == "no_sources":
        tips.append("No symbol source was configured when this crash was processed: add a build folder or a "
                    "symbol server (Settings > Symbols, or --symbols-path / --symbols-url), then retry now.")
    if record.get("reason") == "cached_miss" or any(a.get("result") == "cached_miss" for a in attempts):
        tips.append("The servers did not have it when last asked; retry now to ask them again "
                    "(Modules tab > Retry now, or `crashdesk symbols fetch --crash ID --retry-missing`).")
    statuses = {a.get("http_status") for a in attempts if a.get("http")}
    if statuses & {401, 403}:
        tips.append("A server refused access (HTTP 401/403): it wants credentials; check the server URL, or "
                    "use a mirror that serves these symbols openly.")
    if any(a.get("result") == "error" for a in attempts):
        tips.append("A server or the network failed (errors above); nothing was remembered as missing, so "
                    "retry now, or later if the server asked to slow down (HTTP 429).")
    if any(a.get("result") == "corrupt" for a in attempts):
        tips.append("A file was found but not used (see above): replace it with the file of this build "
                    f"(debug id {module.debug_id}), or remove the server that serves a wrong one.")
    if any(a.get("result") == "unsupported" for a in attempts):
        tips.append("Install the 'symbolic' package to read native debug files (ELF, PDB, Mach-O).")
    tried_debuginfod = any("/buildid/" in (a.get("url") or "") for a in attempts)
    if elf_build_id(module) is not None and not tried_debuginfod:
        tips.append("A Linux system library can come from a debuginfod server by its build id "
                    f"{elf_build_id(module)}: add one (Settings > Symbols > debuginfod servers, DEBUGINFOD_URLS, "
                    "or --debuginfod-url).")
    tried_pdb = any(a.get("kind") == "pdb" for a in attempts)
    if is_pdb_module(module) and not tried_pdb:
        tips.append(f"Windows modules: add a Microsoft-style symbol server, e.g. {MS_SYMBOL_SERVER} "
                    "(Settings > Symbols > servers, _NT_SYMBOL_PATH, or --symbols-url).")
    if not (module.debug_id or "").strip("0"):
        # no debug id in the dump (a PE without a CodeView record, e.g. built without /DEBUG): every symbol file
        # is found and checked by that id, so none can be matched to it, from any folder or server
        tips.append(f"{name} records no debug identifier (its debug id is empty or all zeros: a build without "
                    "debug information, such as a PE linked without /DEBUG, or a dump that does not keep it), and "
                    "symbol files are found and matched by that identifier: no folder or server can give it "
                    "symbols. Build it with debug information (MSVC /Zi with /DEBUG, gcc or clang -g) so its next "
                    "crashes can be symbolicated.")
        return tips
    tips.append(f"Add a build folder that holds {name} (its .sym, or the native debug file with debug id "
                f"{module.debug_id}; Settings > Symbols, or --symbols-path), then retry now.")
    return tips


def _without_lines_advice(module: ModuleKey, record: dict) -> list[str]:
    """Symbols loaded from a symbol table alone (a stripped library, a .sym without line records)."""
    files = record.get("files") or []
    where = f"{os.path.basename(files[0])}'s" if files else "its"
    tips = [f"Names come from {where} symbol table alone: frames have no source lines, and a function it does not "
            "export may be named after a neighbour."]
    build_id = elf_build_id(module)
    if build_id is not None:
        tips.append(f"Its debug information is usually a detached file, .build-id/{build_id[:2]}/{build_id[2:]}.debug "
                    "under /usr/lib/debug (the distribution's debug package, e.g. libc6-dbg), or on a debuginfod "
                    "server: add that folder (Settings > Symbols > Add build folder, or `crashdesk symbols "
                    "add-folder DIR`) and the crashes whose frames lack lines are re-walked.")
    else:
        tips.append(f"Add a build folder with its full debug information (debug id {module.debug_id or '?'}: a "
                    "private PDB, an unstripped binary, a dSYM) with Settings > Symbols > Add build folder or "
                    "`crashdesk symbols add-folder DIR`.")
    return tips


def explain_module(row: dict, record: dict | None, *, source: str = "processing",
                   context: str | None = None) -> dict:
    """The explanation of one module: ``row`` is a module of ``store.get()['modules']`` (or any dict with
    filename/debug_file/debug_id/code_id/symbol_status/symbol_note), ``record`` its lookup record. ``context``:
    ``not_needed`` (the walk never asked for this module: no frame in it), ``no_sources`` (nothing was
    configured), or None."""
    module = ModuleKey(str(row.get("debug_file") or ""), str(row.get("debug_id") or ""),
                       str(row.get("filename") or ""), str(row.get("code_id") or ""))
    record = record or {}
    status = record.get("status") or row.get("symbol_status")
    note = record.get("note") or row.get("symbol_note")
    if status is None and context == "not_needed":
        note = "no stack frame is in this module, so its symbols were not needed"
    elif status is None and context == "no_sources":
        note = "not looked up: no symbol source was configured"
    used = None
    if status == "loaded":
        used = {"kind": record.get("kind") or "sym", "files": record.get("files") or [],
                "source": record.get("source"), "url": record.get("symbol_url")}
    attempts = record.get("attempts") or []
    return {
        "filename": row.get("filename"), "debug_file": module.debug_file, "debug_id": module.debug_id,
        "code_id": module.code_id, "status": status, "note": note, "explained_from": source,
        "trace_kept": bool(record), "attempts": attempts, "steps": [describe_attempt(a) for a in attempts],
        "used": used, "advice": advice(module, status, record, context),
    }


def _row_key(row: dict) -> tuple[str, str]:
    return (str(row.get("debug_file") or ""), str(row.get("debug_id") or "").upper())


def explain_crash(crash: dict, rows: list[dict] | None = None, records: dict | None = None,
                  source: str = "processing") -> list[dict]:
    """Explanations for ``rows`` (default: every module of ``crash``, a ``store.get()`` result), from the
    records kept at processing, or ``records`` from a lookup made now."""
    all_rows = list(crash.get("modules") or [])
    rows = all_rows if rows is None else rows
    if records is None:
        records = lookup_records(crash.get("processed"))
    nothing_asked = not records and not any(r.get("symbol_status") for r in all_rows)
    out = []
    for row in rows:
        rec = records.get(_row_key(row))
        context = None
        if rec is None and not row.get("symbol_status"):
            context = "no_sources" if nothing_asked else "not_needed"
        out.append(explain_module(row, rec, source=source, context=context))
    return out


def render_text(exp: dict) -> str:
    """A human-readable block for one module."""
    lines = [f"{exp['filename'] or exp['debug_file']}  {exp['debug_file']} {exp['debug_id']}  "
             f"{exp['status'] or 'not looked up'}{': ' + exp['note'] if exp.get('note') else ''}"]
    if exp["steps"]:
        lines.append("  tried, in order:")
        lines.extend(f"   {n}. {step}" for n, step in enumerate(exp["steps"], 1))
    elif exp["status"] == "loaded":
        lines.append("  found at the first place asked")
    elif not exp["trace_kept"] and exp["status"]:
        lines.append("  (no record of the places tried was kept for this crash: processed before CrashDesk "
                     "kept them; use --now to look it up again)")
    if exp["used"]:
        u = exp["used"]
        what = "native debug file" if u["kind"] == "native" else "Breakpad .sym"
        files = ", ".join(u["files"]) or u.get("url") or "?"
        lines.append(f"  used: {what} {files}" + (f" (from {u['source']})" if u.get("source") else ""))
    for tip in exp["advice"]:
        lines.append(f"  - {tip}")
    return "\n".join(lines) + "\n"
