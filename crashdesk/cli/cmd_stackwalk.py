"""``crashdesk stackwalk DUMP...``: process minidumps into the ``minidump-stackwalk --json`` schema.

One dump: one JSON object (``--json``, ``--pretty``) or a human-readable report close to
minidump-stackwalk's default output. Several dumps or ``--jsonl``: JSON Lines ``{"dump", "result"}`` /
``{"dump", "error"}`` in the order given, exit 1 if any failed. Without ``--symbols-url`` nothing touches
the network (``--debuginfod-url`` counts as one; ``DEBUGINFOD_URLS`` is not read here); without any symbol option no symbol lookup happens at all (as the reference).
"""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers, common) -> None:
    parser = subparsers.add_parser(
        "stackwalk",
        parents=[common],
        help="unwind and symbolicate minidumps (minidump-stackwalk --json schema)",
        description="Process minidumps offline into the minidump-stackwalk --json schema.",
    )
    parser.add_argument("dumps", nargs="+", metavar="DUMP", help="minidump file(s)")
    parser.add_argument(
        "--symbols-path", action="append", default=[], metavar="DIR",
        help="symbol folder: a store (<debug_file>/<DEBUG_ID>/<name>.sym) or a build folder whose native debug "
        "files (ELF/DWARF, PDB/PE, dSYM) are matched by debug id; repeatable, searched in order",
    )  # fmt: skip
    parser.add_argument(
        "--symbols-url", action="append", default=[], metavar="URL",
        help="symbol server base URL; repeatable, tried in order (the only way this command uses the network)",
    )  # fmt: skip
    parser.add_argument(
        "--debuginfod-url", action="append", default=[], metavar="URL",
        help="debuginfod server base URL (ELF debug files by build id); repeatable, tried in order after the "
        "symbol servers (DEBUGINFOD_URLS is not read by this command)",
    )  # fmt: skip
    parser.add_argument(
        "--symbols-cache", default=None, metavar="DIR",
        help="symbol cache root: downloads go to DIR/symbols, indexes to DIR/symindex "
        "(default: the cache folder of the data folder)",
    )  # fmt: skip
    parser.add_argument("--pretty", action="store_true", help="indent the single JSON object")
    parser.add_argument("--jsonl", action="store_true", help="JSON Lines output, one line per dump")
    parser.add_argument("--crashing-thread-only", action="store_true", help="unwind only the crashing thread")
    parser.set_defaults(func=run)


def _provider(args):
    """The symbol provider chain, or None when no symbol source was given (no lookups, as the reference)."""
    if not args.symbols_path and not args.symbols_url and not args.symbols_cache and not args.debuginfod_url:
        return None
    from crashdesk.symbols import build_provider

    if args.symbols_cache:
        cache_root = Path(args.symbols_cache).expanduser()
    else:
        from crashdesk.config.paths import resolve_paths

        cache_root = resolve_paths(getattr(args, "data_dir", None)).cache_dir
    for p in args.symbols_path:
        if not Path(p).exists():
            # The reference accepts a missing folder silently; say so, but go on without it.
            print(f"crashdesk stackwalk: warning: --symbols-path {p}: no such file or folder", file=sys.stderr)
    from crashdesk.cli.common import note_native_support

    note_native_support(args.symbols_path)
    return build_provider([Path(p) for p in args.symbols_path], list(args.symbols_url), cache_root,
                          debuginfod_urls=list(args.debuginfod_url))


def run(args) -> int:
    import json

    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.errors import CrashDeskError

    provider = _provider(args)
    try:
        if len(args.dumps) == 1 and not args.jsonl:
            as_json = getattr(args, "json", False) or args.pretty
            try:
                result = process_minidump(args.dumps[0], provider, crashing_thread_only=args.crashing_thread_only,
                                          all_registers=not as_json)
            except CrashDeskError as exc:
                raise CrashDeskError(_naming(args.dumps[0], exc)) from None
            if as_json:
                sys.stdout.write(json.dumps(result, indent=2 if args.pretty else None, ensure_ascii=False))
                sys.stdout.write("\n")
                sys.stdout.flush()
            else:
                sys.stdout.write(render_text(result))
                sys.stdout.flush()
            return 0

        from crashdesk.cli.common import Progress

        failed = 0
        progress = Progress("stackwalk", len(args.dumps))
        for dump in args.dumps:
            try:
                result = process_minidump(dump, provider, crashing_thread_only=args.crashing_thread_only)
                line = {"dump": dump, "result": result}
            except CrashDeskError as exc:
                failed += 1
                line = {"dump": dump, "error": _naming(dump, exc)}
            sys.stdout.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            sys.stdout.flush()
            progress.advance()
        progress.close()
        return 1 if failed else 0
    finally:
        close = getattr(provider, "close", None)
        if callable(close):
            close()


def _naming(dump: str, exc: Exception) -> str:
    """The error's message with the dump's path in front, unless the message already names it."""
    message = str(exc)
    return message if dump in message else f"{dump}: {message}"


_REGISTER_ORDER = (
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15", "rip", "eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags",
    *(f"x{i}" for i in range(29)), *(f"r{i}" for i in range(13)), "fp", "lr", "sp", "pc",
)  # fmt: skip

_TRUST_TEXT = {
    "context": "given as instruction pointer in context",
    "cfi": "call frame info",
    "cfi_scan": "call frame info with scanning",
    "frame_pointer": "previous frame's frame pointer",
    "scan": "stack scanning",
    "prewalked": "recovered by external stack walker",
    "inlined": "inlining",
    "non": "unknown",
}


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _frame_lines(frame: dict, number: int) -> tuple[list[str], int]:
    """The report lines of one frame (inlined calls first, each with its own number); the next number."""
    lines = []
    trust = _TRUST_TEXT.get(frame["trust"], frame["trust"])
    for inline in frame.get("inlines") or []:
        where = f" [{_basename(inline['file'])} : {inline['line']}]" if inline.get("file") else ""
        lines.append(f"{number:2d}  {frame['module']}!{inline['function']}{where}")
        lines.append("    Found by: inlining")
        number += 1
    if frame["module"] is None:
        text = f"{frame['offset']}"
    elif frame["function"] is None:
        text = f"{frame['module']} + {int(frame['module_offset'], 16):#x}"
    else:
        text = f"{frame['module']}!{frame['function']}"
        if frame.get("file"):
            text += f" [{_basename(frame['file'])} : {frame['line']}"
            if frame.get("source_line_offset") is not None:
                text += f" + {frame['source_line_offset']:#x}"
            text += "]"
        else:
            text += f" + {int(frame['function_offset'], 16):#x}"
    lines.append(f"{number:2d}  {text}")
    regs = frame.get("registers")
    if regs:
        rank: dict[str, int] = {}
        for i, name in enumerate(_REGISTER_ORDER):
            rank.setdefault(name, i)
        items = sorted(regs.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
        for i in range(0, len(items), 2):
            pair = "    ".join(f"{k:>3s} = {v}" for k, v in items[i : i + 2])
            lines.append(f"     {pair}")
    lines.append(f"    Found by: {trust}")
    return lines, number + 1


def render_text(result: dict) -> str:
    """A human-readable report close to minidump-stackwalk's default output."""
    si = result.get("system_info") or {}
    ci = result.get("crash_info") or {}
    out = [f"Operating system: {si.get('os')}", f"                  {si.get('os_ver')}"]
    out.append(f"CPU: {si.get('cpu_arch')}")
    if si.get("cpu_info"):
        out.append(f"     {si['cpu_info']}")
    out.append(f"     {si.get('cpu_count')} CPU{'s' if si.get('cpu_count') != 1 else ''}")
    out.append("")
    if ci.get("type"):
        out.append(f"Crash reason:  {ci['type']}")
        out.append(f"Crash address: {ci.get('address')}")
    else:
        out.append("No crash")
    if result.get("process_uptime") is not None:
        out.append(f"Process uptime: {result['process_uptime']} seconds")
    for note in result.get("notes") or []:
        out.append(f"Note: {note}")
    out.append("")
    crashing = result.get("crashing_thread")
    threads = result.get("threads") or []
    order = list(range(len(threads)))
    if crashing is not None:
        ci_index = crashing["threads_index"]
        order.remove(ci_index)
        order.insert(0, ci_index)
    for idx in order:
        crashed = crashing is not None and idx == crashing["threads_index"]
        t = crashing if crashed else threads[idx]
        name = f" {t['thread_name']}" if t.get("thread_name") else ""
        out.append(f"Thread {idx}{name}{' (crashed)' if crashed else ''} - tid: {t['thread_id']}")
        number = 0
        for frame in t["frames"]:
            lines, number = _frame_lines(frame, number)
            out.extend(lines)
        if crashed:
            out.append("")
    out.append("")
    out.append("Loaded modules:")
    modules = result.get("modules") or []
    for i, m in sorted(enumerate(modules), key=lambda im: int(im[1]["base_addr"], 16)):
        base = int(m["base_addr"], 16)
        end = int(m["end_addr"], 16) - 1
        line = f"{base:#x} - {end:#x}  {m['filename']}  {m.get('version') or '???'}"
        if i == result.get("main_module"):
            line += "  (main)"
        if m.get("corrupt_symbols"):
            line += f"  (WARNING: Corrupt symbols, {m['debug_file']}, {m['debug_id']})"
        elif m.get("missing_symbols"):
            line += f"  (WARNING: No symbols, {m['debug_file']}, {m['debug_id']})"
        out.append(line)
    out.append("")
    out.append("Unloaded modules:")
    for m in result.get("unloaded_modules") or []:
        name = m["filename"]
        name = name[max(name.rfind("/"), name.rfind("\\")) + 1 :]  # the report shows the basename
        out.append(f"{int(m['base_addr'], 16):#x} - {int(m['end_addr'], 16) - 1:#x}  {name}")
    return "\n".join(out) + "\n"
