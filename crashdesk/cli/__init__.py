"""The ``crashdesk`` command.

No sub-command opens the desktop app. Every sub-command lives in its own module ``crashdesk/cli/cmd_*.py``
that defines ``register(subparsers)`` (its parsers made with ``common_options=True``); this module finds them, so
adding a command never touches a shared list. Conventions (``../shared/design/cli-conventions.md``): ``--data-dir`` before or after the
sub-command, ``--json`` for machine output on stdout, human text on stderr, exit 0 / 1 (handled failure,
one line) / 2 (bad usage).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from crashdesk.errors import CrashDeskError, UsageError


class _VersionAction(argparse.Action):
    """``--version``: ``crashdesk X.Y.Z`` on the first line (what scripts read), then the facts the collector's
    ``/__version__`` leaves out (argparse's own version action would re-wrap the lines)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from crashdesk.model.build_info import about_lines

        sys.stdout.write("\n".join(about_lines()) + "\n")
        parser.exit()


def _help_width() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` reads it (``$COLUMNS``, else stdout's terminal,
    else 80), without importing :mod:`shutil` (~2.5 ms: it imports ``bz2`` and ``lzma``): argparse's formatter asks
    for it on every ``add_argument``, not only when help is printed."""
    try:
        columns = int(os.environ.get("COLUMNS", 0))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, its width from :func:`_help_width`."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _help_width() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """The CLI's parsers (sub-commands' too: ``add_parser`` builds the parent's class) with :class:`_HelpFormatter`
    unless they name their own. ``common_options=True`` (every sub-command) adds the options a sub-command takes
    after its name as well as before it, ``--data-dir`` and ``--json``, where argparse's ``parents=`` would copy
    them from one more parser built on every run."""

    def __init__(self, *args, formatter_class=_HelpFormatter, common_options: bool = False, **kwargs) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)
        if common_options:
            self.add_argument(
                "--data-dir",
                default=argparse.SUPPRESS,
                help="data folder (default: $CRASHDESK_HOME, else the platform user-data folder)",
            )
            self.add_argument(
                "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output on stdout"
            )


def _requested_command(argv: Sequence[str]) -> str | None:
    """Which sub-command modules to import (start-up: only what this run uses): the sub-command named on the
    command line; ``""`` for none (``--version``, or no sub-command: the app); None for all (``--help``, or
    an unknown name, whose error lists them)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token == "--data-dir":
            skip = True
            continue
        if token.startswith("-"):
            if token in ("-h", "--help"):
                return None
            if token == "--version":
                return ""
            continue
        if token.isidentifier() and _is_command(token):
            return token
        return None
    return ""


def _is_command(name: str) -> bool:
    """Whether ``crashdesk/cli/cmd_<name>.py`` exists, asked by importing it (:func:`build_parser` imports it
    next anyway; ``importlib.util.find_spec`` would import ``contextlib``, ~1 ms of every command)."""
    module = f"crashdesk.cli.cmd_{name}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return False
        raise  # the command exists but needs something missing: its error, as its import would raise it
    return True


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, just that sub-command's module is imported and registered (``""``:
    none)."""
    parser = _Parser(
        prog="crashdesk",
        description="CrashDesk: triage native crash reports offline. Without a sub-command, opens the app.",
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version (and the collector's) and exit")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $CRASHDESK_HOME, else the platform one)")
    parser.add_argument("--json", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only is None:
        import pkgutil  # the whole list: for --help only (pkgutil imports inspect)

        names = sorted(m.name[4:] for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_"))
    else:
        names = [only] if only else []
    for name in names:
        importlib.import_module(f"crashdesk.cli.cmd_{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse(list(sys.argv[1:] if argv is None else argv)))


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line read; argparse ends the process here (:class:`SystemExit`) for ``--help``,
    ``--version`` and a usage error, before any command has run."""
    parser = build_parser(_requested_command(argv))
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "positionals_anywhere", False) and not any(e.startswith("-") for e in extra):
        args.paths += extra  # positionals after options (stackwalk: DUMP [SYMBOLS_PATH...], as clap reads them)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def run(args: argparse.Namespace) -> int:
    """The sub-command (or the app) that :func:`parse` read, its exit status."""
    if args.command is None:
        from crashdesk.ui.app import run_app  # the only path from the CLI into Qt

        return run_app(data_dir=args.data_dir)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"crashdesk {args.command}: {exc}", file=sys.stderr)
        return 2
    except CrashDeskError as exc:
        print(f"crashdesk {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"crashdesk {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


#: Sub-commands whose process ends as soon as their output is flushed (:func:`entry`): each closes (and renames)
#: every file it writes before it returns, and writes no database.
ONE_SHOT_COMMANDS = frozenset({"stackwalk"})


def entry() -> None:
    """The ``crashdesk`` command as a process (console script, ``python -m crashdesk``): :func:`main`, then exit.

    After a sub-command the process only ends, so everything it holds is frozen first (:func:`gc.freeze`):
    Python's last collections at exit would pass over every module, class and function it imported, ~4 ms of
    a ~25 ms ``crashdesk stackwalk``, to find next to nothing; the memory goes back with the process. The app
    (no sub-command) exits as usual: Qt objects are released by those passes. A stackwalk of one dump (not
    ``--jsonl``) runs without the cyclic collector (:func:`gc.disable`): its ~20 collections pass over the
    modules being imported and the walk's short-lived records, ~2.5 ms of CPU of a cold run, and the process
    ends after the one dump (reference counting still frees everything else).

    A one-shot sub-command (:data:`ONE_SHOT_COMMANDS`), and ``--help``, ``--version`` or a usage error of any
    command (argparse ends those before anything runs), end with :func:`_end_now`: stdout and stderr flushed,
    then :func:`os._exit` without Python's finalization (tearing down every module: ~3 ms of ``--version``,
    ~1-2 ms of a stackwalk), when that loses nothing: no ``atexit`` handler registered (logging's flush, a
    worker pool's join, ``weakref.finalize``'s temporary folders register one) and no other non-daemon
    thread. Otherwise, and for every other command (the store's SQLite connections close at exit), Python
    exits as usual. Tests call :func:`main` in their own process, which is never frozen nor ended.
    """
    argv = sys.argv[1:]
    command = _requested_command(argv)
    if command == "stackwalk" and "--jsonl" not in argv:
        gc.disable()
    try:
        args = parse(argv)
    except SystemExit as exc:  # --help, --version, a usage error: nothing has run
        if isinstance(exc.code, int):
            _end_now(exc.code)
        raise
    status = run(args)
    if args.command:
        gc.freeze()
    if args.command in ONE_SHOT_COMMANDS:
        _end_now(status)
    sys.exit(status)


def _end_now(status: int) -> None:
    """End the process at once (:func:`os._exit`) after flushing stdout and stderr, unless ending it so would
    skip work Python's exit still does: an ``atexit`` handler, a non-daemon thread to wait for; or a flush
    fails (a closed pipe), which Python's exit then reports as it always did. Returns in those cases."""
    if atexit._ncallbacks():  # noqa: SLF001 - the one way to ask whether any are registered
        return
    threading = sys.modules.get("threading")  # imported only if some thread may have been started
    if threading is not None and any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(status)
