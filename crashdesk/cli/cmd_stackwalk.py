"""``crashdesk stackwalk DUMP [SYMBOLS_PATH...]``: a drop-in ``minidump-stackwalk`` 0.25.0.

The reference's flags, defaults and exit codes (``../shared/design/cli-conventions.md`` pins where the
symbol cache lives): the human-readable report by default (``--human``, ``--brief``), ``--json`` (``--pretty``),
``--cyborg FILE`` (report on stdout, compact or ``--pretty`` JSON into FILE), ``--output-file``, ``--verbose
LEVEL`` / ``--log-file``, ``--evil-json``, ``--features``; positional arguments after the dump are symbol
folders. CrashDesk's own: ``--jsonl DUMP...`` (every positional is a dump; JSON Lines ``{"dump", "result"}`` /
``{"dump", "error"}``, exit 1 if any failed), ``--crashing-thread-only``, ``--debuginfod-url``, ``--data-dir``.
Without ``--symbols-url`` nothing touches the network (``--debuginfod-url`` counts as one; ``DEBUGINFOD_URLS``
is not read here); without any symbol option no symbol lookup happens at all (as the reference).
"""

from __future__ import annotations

import argparse
import os
import sys

_LEVELS = ("off", "error", "warn", "info", "debug", "trace")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stackwalk",
        common_options=True,
        help="unwind and symbolicate minidumps (a drop-in minidump-stackwalk 0.25.0)",
        description="Analyze a minidump and produce a report (human-readable by default, or JSON in the "
        "minidump-stackwalk --json schema), with minidump-stackwalk 0.25.0's flags.",
        usage="%(prog)s [FLAGS] [OPTIONS] DUMP [SYMBOLS_PATH...]   |   %(prog)s --jsonl DUMP...",
    )  # fmt: skip
    parser.add_argument("paths", nargs="*", metavar="DUMP [SYMBOLS_PATH...]",
                        help="the minidump, then symbol folders (as --symbols-path); with --jsonl: dumps")
    out = parser.add_argument_group("output (minidump-stackwalk)")
    out.add_argument("--human", action="store_true", help="human-readable report (the default)")
    out.add_argument("--cyborg", metavar="FILE", help="the human-readable report, and the --json output into FILE")
    out.add_argument("--dump", action="store_true",
                     help="the raw contents of the minidump, stream by stream (the old minidump_dump)")
    out.add_argument("--pretty", action="store_true", help="pretty-print --json (or --cyborg) output")
    out.add_argument("--brief", action="store_true",
                     help="--human: only the summary and the crashing thread")
    out.add_argument("--output-file", metavar="FILE", help="write the output to FILE instead of stdout")
    out.add_argument("--features", choices=("stable-basic", "stable-all", "unstable-all"), default="stable-basic",
                     help="how much analysis to do (default: stable-basic; unstable-all = --recover-function-args)")
    out.add_argument("--evil-json", metavar="FILE",
                     help="Mozilla's legacy side file: module certificates (ModuleSignatureInfo), CPU microcode")
    out.add_argument("--recover-function-args", action="store_true",
                     help="accepted; function arguments are not recovered (unstable in the reference)")
    log = parser.add_argument_group("logging")
    log.add_argument("--verbose", choices=_LEVELS, default="error", metavar="LEVEL",
                     help="log level: off, error (default), warn, info, debug, trace")
    log.add_argument("--log-file", metavar="FILE", help="write the log to FILE instead of stderr")
    log.add_argument("--no-color", action="store_true", help="no ANSI colours (CrashDesk never colours)")
    log.add_argument("--no-interactive", action="store_true", help="no progress feedback on stderr")
    sym = parser.add_argument_group("symbols")
    sym.add_argument(
        "--symbols-path", action="append", default=[], metavar="DIR",
        help="symbol folder: a store (<debug_file>/<DEBUG_ID>/<name>.sym) or a build folder whose native debug "
        "files (ELF/DWARF, PDB/PE, dSYM) are matched by debug id; repeatable, searched in order",
    )  # fmt: skip
    sym.add_argument(
        "--symbols-url", action="append", default=[], metavar="URL",
        help="symbol server base URL (Tecken layout); repeatable, tried in order; the only way this command "
        "uses the network (a value that is not an http(s) URL is ignored, as the reference ignores it)",
    )  # fmt: skip
    sym.add_argument(
        "--debuginfod-url", action="append", default=[], metavar="URL",
        help="debuginfod server base URL (ELF debug files by build id); repeatable, tried in order after the "
        "symbol servers (DEBUGINFOD_URLS is not read by this command)",
    )  # fmt: skip
    sym.add_argument(
        "--symbols-cache", default=None, metavar="DIR",
        help="symbol cache root: downloads go to DIR/symbols, indexes to DIR/symindex "
        "(default: the cache folder of the data folder)",
    )  # fmt: skip
    sym.add_argument("--symbols-tmp", metavar="DIR",
                     help="accepted; downloads are written into the cache folder then renamed")
    sym.add_argument("--symbols-download-timeout-secs", type=int, default=1000, metavar="SECS",
                     help="longest time one symbol file download may take (default: 1000)")
    sym.add_argument("--use-local-debuginfo", action="store_true",
                     help="also read native debug files from the folders of the modules the dump names, "
                     "where they exist on this machine")
    own = parser.add_argument_group("CrashDesk")
    own.add_argument("--jsonl", action="store_true",
                     help="every positional is a dump: JSON Lines, one {dump, result|error} line per dump")
    own.add_argument("--crashing-thread-only", action="store_true", help="unwind only the crashing thread")
    parser.add_argument("-V", "--version", action="version", version=_version())
    parser.add_argument("--help-markdown", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run, positionals_anywhere=True)


def _version() -> str:
    from crashdesk import __version__

    return f"crashdesk stackwalk {__version__} (minidump-stackwalk 0.25.0 compatible)"


class _Usage(Exception):
    """A flag combination the reference refuses after parsing (it exits 1 for these)."""


def _check(args) -> None:
    as_json = getattr(args, "json", False)
    for a, b in (("json", "human"), ("cyborg", "json"), ("cyborg", "human"), ("dump", "json"), ("dump", "human"),
                 ("dump", "cyborg")):  # fmt: skip
        if getattr(args, a, None) and getattr(args, b, None):
            raise _Usage(f"the argument '--{a}' cannot be used with '--{b}'")
    if args.pretty and not (as_json or args.cyborg or args.jsonl):
        raise _Usage("Humans must be hideous! (The --pretty and --human flags cannot both be set)")
    if args.brief and (as_json or args.jsonl):
        raise _Usage("Robots cannot be brief! (The --brief flag is only valid for --human, --cyborg, and --dump)")
    if not args.paths:
        raise _Usage("the following required arguments were not provided: DUMP")


class _ErrorsOnly:
    """The log at the default level (``error``, on stderr) without importing :mod:`logging` (start-up time)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def error(self, message: str, *values) -> None:
        if not self.quiet:
            print("ERROR " + (message % values if values else message), file=sys.stderr)

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging.Logger's name
        return False

    def warning(self, *_a) -> None:
        pass

    info = debug = warning

    def log(self, *_a) -> None:
        pass


def _logger(args):
    """The walk's log: stderr or --log-file, at --verbose's level (``trace`` below DEBUG)."""
    if args.verbose in ("error", "off") and not args.log_file:
        return _ErrorsOnly(quiet=args.verbose == "off")
    import logging

    log = logging.getLogger("crashdesk.stackwalk.cli")
    log.propagate = False
    log.handlers.clear()
    if args.verbose == "off":
        log.setLevel(logging.CRITICAL + 1)
        return log
    level = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG,
             "trace": 5}[args.verbose]  # fmt: skip
    logging.addLevelName(5, "TRACE")
    handler = logging.FileHandler(args.log_file, encoding="utf-8") if args.log_file else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    return log


def _symbol_sources(args, log) -> tuple[list[str], list[str]]:
    paths = list(args.symbols_path)
    if not args.jsonl:
        paths += args.paths[1:]
    urls = []
    for url in args.symbols_url:
        if url.lower().startswith(("http://", "https://")):
            urls.append(url)
        else:
            log.warning("ignoring --symbols-url %s: not an http(s) URL", url)
    return paths, urls


def _local_debuginfo_folders(dump_path: str) -> list[str]:
    """The folders of the modules' code and debug files that exist on this machine (--use-local-debuginfo)."""
    from pathlib import Path  # with symbols only (a stackwalk without them does without pathlib)

    from crashdesk.engine.minidump import Minidump, MinidumpError

    folders: dict[str, None] = {}
    try:
        with Minidump.open(dump_path) as dump:
            for m in dump.modules:
                for name in (m.code_file, m.debug_file):
                    if name and ("/" in name or "\\" in name) and Path(name).is_file():
                        folders[str(Path(name).parent)] = None
    except MinidumpError:
        return []
    return list(folders)


def _provider(args, paths: list[str], urls: list[str], log):
    """The symbol provider chain, or None when no symbol source was given (no lookups, as the reference).
    ``--symbols-cache`` alone is no source: the reference reads its cache only for ``--symbols-url``, and
    without a folder or a server it looks nothing up (every module ``missing_symbols: false``)."""
    if not paths and not urls and not args.debuginfod_url:
        return None
    from crashdesk.symbols import HttpOptions, build_provider

    if args.symbols_cache:
        cache_root = os.path.expanduser(args.symbols_cache)
    else:
        from crashdesk.config.paths import resolve_paths

        cache_root = resolve_paths(getattr(args, "data_dir", None)).cache_dir
    for p in paths:
        if not os.path.exists(p):
            # The reference accepts a missing folder silently; the log says so.
            log.warning("symbols path %s: no such file or folder", p)
    from crashdesk.engine.native import SUPPORT_MISSING_NOTE, native_support

    if paths and not native_support():
        log.warning(SUPPORT_MISSING_NOTE)
    options = HttpOptions(total_timeout=float(args.symbols_download_timeout_secs))
    return build_provider(paths, urls, cache_root, debuginfod_urls=list(args.debuginfod_url), options=options)


def _dumps_json(obj, pretty: bool) -> str:
    """serde_json's text of the reference's ``serde_json::Value``: keys sorted (its maps are ordered by key),
    compact ``,``/``:`` or two-space indentation, non-ASCII as is."""
    import json

    if pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True)
    # A document of ASCII text alone (nearly every dump's) is the same text either way, and the C encoder
    # writes it in half the time with ensure_ascii (~1.3 ms of a 140 KB document): that text holds a "\u"
    # wherever the document has a character past "~" or a control character, and only then is it written again.
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True)
    if "\\u" in text:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return text


def _log_walk(log, dump: str, result: dict) -> None:
    """What the walk did, for --verbose (CrashDesk's own wording)."""
    for note in result.get("notes") or []:  # what the reader noticed (the reference's JSON has no place for it)
        log.warning("%s: %s", dump, note)
    if not log.isEnabledFor(20):  # logging.INFO
        return
    si = result.get("system_info") or {}
    log.info("%s: %s %s, %d threads, %d modules", dump, si.get("os"), si.get("cpu_arch"),
             result.get("thread_count", 0), len(result.get("modules") or []))  # fmt: skip
    for m in result.get("modules") or []:
        if m.get("loaded_symbols") or m.get("missing_symbols"):
            state = "corrupt" if m.get("corrupt_symbols") else "loaded" if m.get("loaded_symbols") else "missing"
            log.info("symbols %s for %s (%s %s)%s", state, m["filename"], m.get("debug_file"), m.get("debug_id"),
                     f" from {m['symbol_url']}" if m.get("symbol_url") else "")  # fmt: skip
    skipped = set((result.get("_report") or {}).get("skipped_threads") or ())
    for i, t in enumerate(result.get("threads") or []):
        if i in skipped:
            log.debug("unwind: thread %d (tid %d) wrote the dump: not walked", i, t["thread_id"])
            continue
        log.debug("unwind: thread %d (tid %d): %d frames", i, t["thread_id"], len(t["frames"]))
        for f in t["frames"]:
            where = f.get("function") or f.get("module_offset") or f.get("offset")
            log.log(5, "unwind:   frame %d %s %s found by %s", f["frame"], f.get("module") or "?", where, f["trust"])


def _naming(dump: str, exc: Exception) -> str:
    """The error's message with the dump's path in front, unless the message already names it."""
    message = str(exc)
    return message if dump in message else f"{dump}: {message}"


def _fail(args, log, message: str) -> None:
    """One line on stderr (into --log-file instead when one is given, as the reference logs it)."""
    if args.log_file:
        log.error("%s", message)
    else:
        print(f"crashdesk stackwalk: {message}", file=sys.stderr)


def run(args) -> int:
    log = _logger(args)
    try:
        _check(args)
    except _Usage as exc:
        _fail(args, log, str(exc))
        return 2 if "cannot be used with" in str(exc) or "required" in str(exc) else 1
    if args.help_markdown:
        _fail(args, log, "--help-markdown is not provided: see `crashdesk stackwalk --help`")
        return 1
    if args.dump:
        return _raw_dump(args, log)
    if args.recover_function_args or args.features == "unstable-all":
        log.info("--recover-function-args: function arguments are not recovered by CrashDesk")
    paths, urls = _symbol_sources(args, log)
    if args.use_local_debuginfo and not args.jsonl:
        paths += _local_debuginfo_folders(args.paths[0])
    provider = _provider(args, paths, urls, log)
    try:
        if args.jsonl:
            return _batch(args, provider, log)
        return _single(args, provider, log)
    finally:
        close = getattr(provider, "close", None)
        if callable(close):
            close()


def _raw_dump(args, log) -> int:
    """``--dump``: the minidump's streams printed raw, as the reference's ``minidump_dump`` mode."""
    from crashdesk.engine.minidump import Minidump, MinidumpError
    from crashdesk.engine.minidump.dump_printer import render_dump

    dump = args.paths[0]
    try:
        with Minidump.open(dump) as md:
            text = render_dump(md, brief=args.brief)
    except MinidumpError as exc:
        _fail(args, log, _naming(dump, exc))
        return 1
    if args.output_file:
        with open(args.output_file, "wb") as f:
            f.write(text.encode("utf-8", errors="surrogateescape"))
    else:
        sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
        sys.stdout.flush()
    return 0


def _single(args, provider, log) -> int:
    from crashdesk.engine.stackwalk import json_view, process_minidump
    from crashdesk.errors import CrashDeskError

    as_json = getattr(args, "json", False)
    certs: dict[str, str] = {}
    microcode = None
    if args.evil_json:
        from crashdesk.engine.evil_json import load_evil_json

        evil = load_evil_json(args.evil_json)
        if evil.problem:
            log.error("%s", evil.problem)  # the reference logs it and goes on
        certs, microcode = evil.certs, evil.microcode
    dump = args.paths[0]
    try:
        result = process_minidump(dump, provider, crashing_thread_only=args.crashing_thread_only, report=not as_json,
                                  cert_info=certs, microcode=microcode)  # fmt: skip
    except CrashDeskError as exc:
        _fail(args, log, _naming(dump, exc))
        return 1
    _log_walk(log, dump, result)
    if as_json:
        text = _dumps_json(json_view(result), args.pretty)  # no newline after it, as the reference
    else:
        from crashdesk.engine.human_report import render_human

        text = render_human(result, brief=args.brief, cert_info=certs)
        if args.cyborg:
            with open(args.cyborg, "w", encoding="utf-8") as f:
                f.write(_dumps_json(json_view(result), args.pretty))
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def _batch(args, provider, log) -> int:
    import json

    from crashdesk.cli.common import Progress
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.errors import CrashDeskError

    failed = 0
    progress = Progress("stackwalk", len(args.paths))
    if args.no_interactive:
        progress.enabled = False
    out = open(args.output_file, "w", encoding="utf-8") if args.output_file else sys.stdout  # noqa: SIM115
    try:
        for dump in args.paths:
            try:
                result = process_minidump(dump, provider, crashing_thread_only=args.crashing_thread_only)
                _log_walk(log, dump, result)
                line = {"dump": dump, "result": result}
            except CrashDeskError as exc:
                failed += 1
                log.warning("%s: %s", dump, exc)
                line = {"dump": dump, "error": _naming(dump, exc)}
            out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            out.flush()
            progress.advance()
    finally:
        progress.close()
        if out is not sys.stdout:
            out.close()
    return 1 if failed else 0
