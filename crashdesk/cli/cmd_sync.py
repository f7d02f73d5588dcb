"""``crashdesk sync`` and ``crashdesk server add/list/remove/token``.

``crashdesk sync --server NAME|URL [--param KEY=VALUE]... [--since DATE] [--until DATE] [--with-dumps]``
``[--json]`` syncs the crashes matching SuperSearch parameters into the local store. It retries through
transient faults and either completes (exit 0) or exits 1 with a summary of what is missing; running it
again resumes.
The token comes from ``$CRASHDESK_API_TOKEN`` or the keyring (``crashdesk server token NAME``), never from the
command line.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sync",
        common_options=True,
        help="sync crashes from a Socorro-compatible server",
        description="Sync the crashes matching SuperSearch parameters from a server (Crash Stats, a team's "
        "Socorro, another CrashDesk collector) into the local store. Token: $CRASHDESK_API_TOKEN "
        "or the keyring (`crashdesk server token NAME`).",
    )
    p.add_argument("--server", help="a saved server name or a base URL (https://crash-stats.mozilla.org)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a SuperSearch parameter (repeatable): product=Firefox, version=133.0, "
        "signature==OOM | small, platform=Linux, date=>=2024-10-01 ...",
    )
    p.add_argument(
        "--since",
        help="earliest submission time: YYYY-MM-DD, ISO-8601, or 6h / 7d / 2w ago "
        "(default: where the last run of this sync stopped, else 7 days)",
    )
    p.add_argument("--until", help="latest submission time (default: now)")
    p.add_argument(
        "--with-dumps", action="store_true", help="also download minidumps (token with View Raw Dumps)"
    )
    p.add_argument("--concurrency", type=int, default=24, help="requests in flight (default 24)")
    p.add_argument(
        "--rate-limit",
        metavar="N|off",
        help="client-side requests/minute (default: Crash Stats' published limits there, off elsewhere)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.add_argument(
        "--retries",
        type=int,
        default=8,
        help="attempts per request through 5xx, timeouts and dropped connections (default 8)",
    )
    p.add_argument("--list", action="store_true", help="list saved syncs and their state instead of syncing")
    p.set_defaults(func=run_sync)

    s = subparsers.add_parser(
        "server",
        common_options=True,
        help="saved servers for sync and their tokens",
        description="Saved servers (name -> URL) and their API tokens in the OS keyring.",
    )
    ssub = s.add_subparsers(dest="server_command", metavar="ACTION")
    add = ssub.add_parser("add", common_options=True, help="save a server under a name")
    add.add_argument("name")
    add.add_argument("url")
    add.add_argument("--rate-limit", metavar="N|off", help="requests/minute (default: per host)")
    add.add_argument("--replace", action="store_true", help="replace a server saved under the same name")
    ssub.add_parser("list", common_options=True, help="list saved servers")
    rm = ssub.add_parser("remove", common_options=True, help="forget a server and its stored token")
    rm.add_argument("name")
    tok = ssub.add_parser(
        "token",
        common_options=True,
        help="store the server's API token in the keyring (read from a prompt or stdin)",
    )
    tok.add_argument("name")
    tok.add_argument("--delete", action="store_true", help="remove the stored token instead")
    s.set_defaults(func=run_server)


def _rate_limit_arg(value: str | None) -> int | None:
    """None = default for the host; 0 = off; N = N/min."""
    from crashdesk.errors import UsageError

    if value is None:
        return None
    if value.strip().lower() in ("off", "none", "0"):
        return 0
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"--rate-limit {value!r}: a number of requests per minute, or 'off'") from None
    if n < 0:
        raise UsageError("--rate-limit must be >= 0")
    return n


class _ProgressLine:
    """One line of progress on stderr, only when it is a terminal."""

    def __init__(self, label: str) -> None:
        import time

        self.label = label
        self.enabled = sys.stderr.isatty()
        self._last = 0.0
        self._time = time.monotonic
        self._shown = False

    def clear(self) -> None:
        """Blank the line so a log line can be printed; the next update draws it again."""
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def __call__(self, p) -> None:
        if not self.enabled:
            return
        now = self._time()
        if now - self._last < 0.1 and p.phase != "done":
            return
        self._last = now
        rate = p.fetched / p.elapsed if p.elapsed > 0 else 0.0
        if p.phase == "scan":
            text = f"{self.label}: listing... found {p.found} ({p.new} new)"
        else:
            done = p.fetched + p.already + p.failed
            total = max(p.to_fetch, 1)
            width = 24
            filled = min(width, int(width * done / total))
            text = (
                f"{self.label}: [{'#' * filled}{'-' * (width - filled)}] {done}/{p.to_fetch} "
                f"failed {p.failed}  {p.bytes / 1e6:.1f} MB  {rate:.1f}/s"
            )
        sys.stderr.write("\r" + text[:160].ljust(80))
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


@contextlib.contextmanager
def _cancel_on_interrupt(cancel: threading.Event) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): finish what is in flight, store it, print the summary. Second: stop now."""

    def handler(signum, frame) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        sys.stderr.write("\ncancelling: finishing requests in flight (Ctrl-C again to stop at once)\n")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def run_sync(args) -> int:
    from crashdesk.cli.common import paths_from, print_json
    from crashdesk.config.secrets import get_token
    from crashdesk.config.servers import ServerRegistry
    from crashdesk.errors import UsageError
    from crashdesk.store import CrashStore
    from crashdesk.store.syncstate import SyncState
    from crashdesk.sync import (
        RetryPolicy,
        Secret,
        ServerTarget,
        SyncOptions,
        SyncQuery,
        SyncRunner,
        default_rate_limit,
    )

    as_json = getattr(args, "json", False)
    paths = paths_from(args)
    if args.list:
        with CrashStore.open(paths.data_dir) as store:
            jobs = SyncState(store).jobs()
        if as_json:
            print_json(jobs)
        else:
            for j in jobs:
                filters = " ".join(f"{k}={v}" for k, v in j["filters"]) or "everything"
                print(
                    f"{j['key']}  {j['server']}  {filters}  listed {j['covered_from']} .. {j['watermark']}  "
                    f"{j['items']}  last: {j['last_status']}"
                )
        return 0
    if not args.server:
        raise UsageError("--server NAME|URL is required")
    if args.concurrency < 1 or args.concurrency > 64:
        raise UsageError("--concurrency must be between 1 and 64")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if args.retries < 1 or args.retries > 100:
        raise UsageError("--retries must be between 1 and 100")
    server = ServerRegistry(paths.data_dir).resolve(args.server)
    token, _where = get_token(server.url)
    rate = _rate_limit_arg(args.rate_limit)
    if rate is None:
        rate = server.rate_limit
    if rate is None:
        rate = default_rate_limit(server.host, has_token=bool(token))
    query = SyncQuery.build(args.param, since=args.since, until=args.until)
    target = ServerTarget(
        name=server.name,
        base_url=server.url,
        token=Secret(token) if token else None,
        rate_limit=rate or None,
        concurrency=args.concurrency,
        timeout=args.timeout,
    )
    progress = _ProgressLine(f"sync {server.name}")
    cancel = threading.Event()
    options = SyncOptions(with_dumps=args.with_dumps, retry=RetryPolicy(attempts=args.retries))
    with CrashStore.open(paths.data_dir) as store, _cancel_on_interrupt(cancel), _retries_on_stderr(progress):
        runner = SyncRunner(store, target, query, options, progress=progress, cancel=cancel)
        try:
            summary = runner.run()
        finally:
            progress.close()
    if as_json:
        print_json(summary.to_json())
    for line in summary.lines():  # the report: stdout, unless --json put the JSON there
        print(line, file=sys.stderr if as_json else sys.stdout)
    if not summary.complete:
        what = "cancelled" if summary.cancelled else f"{len(summary.failures)} part(s) could not be fetched"
        print(f"crashdesk sync: failed: {what}; run the same sync again to retry", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _retries_on_stderr(progress):
    """Each retry of a request (connection refused, timeout, 5xx, 429) as a line on stderr while it waits, so
    a sync against an unreachable server is not silent for the minute its retries take."""
    import logging

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            clear = getattr(progress, "clear", None)
            if callable(clear):
                clear()
            print(f"crashdesk sync: {record.getMessage()}", file=sys.stderr, flush=True)

    logger = logging.getLogger("crashdesk.sync.client")
    handler = _Handler(logging.INFO)
    previous = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def run_server(args) -> int:
    from crashdesk.cli.common import paths_from, print_json
    from crashdesk.config import secrets
    from crashdesk.config.servers import ServerRegistry
    from crashdesk.errors import UsageError

    as_json = getattr(args, "json", False)
    registry = ServerRegistry(paths_from(args).data_dir)
    action = args.server_command
    if action is None:
        raise UsageError("give an action: add, list, remove or token")
    if action == "add":
        server = registry.add(
            args.name, args.url, rate_limit=_rate_limit_arg(args.rate_limit), replace=args.replace
        )
        if as_json:
            print_json({"name": server.name, "url": server.url, "rate_limit": server.rate_limit})
        else:
            print(f"saved server {server.name}: {server.url}", file=sys.stderr)
        return 0
    if action == "list":
        rows = []
        for s in registry.list():
            _token, where = secrets.get_token(s.url, use_env=False)
            rows.append(
                {"name": s.name, "url": s.url, "rate_limit": s.rate_limit, "token": where is not None}
            )
        if as_json:
            print_json(rows)
        else:
            for r in rows:
                rate = {None: "default", 0: "off"}.get(r["rate_limit"], f"{r['rate_limit']}/min")
                print(
                    f"{r['name']}\t{r['url']}\trate limit {rate}\ttoken {'stored' if r['token'] else 'none'}"
                )
        return 0
    if action == "remove":
        server = registry.remove(args.name)
        had_token = secrets.delete_token(server.url) if not registry_uses_url(registry, server.url) else False
        if as_json:
            print_json({"removed": server.name, "token_deleted": had_token})
        else:
            print(f"removed server {server.name}" + (" and its token" if had_token else ""), file=sys.stderr)
        return 0
    if action == "token":
        server = registry.get(args.name)
        if server is None:
            raise UsageError(f"no saved server named {args.name!r}")
        if args.delete:
            deleted = secrets.delete_token(server.url)
            print(f"{'deleted' if deleted else 'no'} token for {server.name}", file=sys.stderr)
            return 0
        token = _read_token(server.name)
        secrets.set_token(server.url, token)
        print(
            f"stored the token for {server.name} in the keyring ({secrets.keyring_backend_name()})",
            file=sys.stderr,
        )
        return 0
    raise UsageError(f"unknown action {action!r}")


def registry_uses_url(registry, url: str) -> bool:
    """Another saved server still points at the same URL (then its token stays)."""
    return any(s.url == url for s in registry.list())


def _read_token(name: str) -> str:
    """From a hidden prompt on a terminal, else the first line of standard input."""
    from crashdesk.config.secrets import validate_token

    if sys.stdin.isatty():
        import getpass

        token = getpass.getpass(f"API token for {name} (input hidden): ")
    else:
        token = sys.stdin.readline()
    return validate_token(token)
