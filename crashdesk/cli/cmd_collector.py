"""``crashdesk collector``: run the local crash collector in the foreground.

The first line on stdout is the submit URL (``http://HOST:PORT/submit``); everything else goes to stderr
(with ``--json``, a JSON summary of the run follows the URL on stdout when the collector stops).
One collector serves a data folder at a time: a second start prints the running one's URL on stdout, says so
on stderr, and exits 1.
"""

from __future__ import annotations

import argparse


def _size(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    value = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if value and value[-1] in units:
            return int(float(value[:-1]) * units[value[-1]])
        return int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 25M, 512K, 1G)") from exc


def register(sub) -> None:
    from crashdesk.cli.common import add_symbol_source_flags
    from crashdesk.collector.defaults import DEFAULT_HOST, DEFAULT_PORT

    p = sub.add_parser(
        "collector", common_options=True, help="run the local Breakpad/Crashpad collector",
        description="Accept crash reports on POST /submit (Antenna-compatible) and serve the Crash Stats API "
                    "subset (RawCrash, ProcessedCrash, SuperSearch). Prints the submit URL first. The read "
                    "API token comes from $CRASHDESK_COLLECTOR_TOKEN or the keyring.")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}, fixed so crash reporter URLs survive restarts; 0 = any "
                        "free port)")
    add_symbol_source_flags(
        p, paths_help="symbol folder for processing (repeatable)",
        urls_help="symbol server for processing (repeatable)",
        debuginfod_help="debuginfod server for processing (repeatable; DEBUGINFOD_URLS is read too)")
    p.add_argument("--no-process", action="store_true",
                   help="only collect: leave received crashes for `crashdesk process` or the app")
    p.add_argument("--workers", type=int, default=None, help="processing worker processes (default: cores)")
    p.add_argument("--throttle-rules", metavar="FILE", help="JSON throttle rules (default: accept everything)")
    p.add_argument("--max-request-size", type=_size, default=None, metavar="SIZE",
                   help="largest request body on the wire (default 25M)")
    p.add_argument("--max-decompressed-size", type=_size, default=None, metavar="SIZE",
                   help="largest body once gzip is undone (default 256M)")
    p.add_argument("--max-fields", type=int, default=None, help="most annotation parts (default 2000)")
    p.add_argument("--max-files", type=int, default=None, help="most dump parts (default 32)")
    p.add_argument("--threads", type=int, default=16, help="HTTP worker threads (default 16)")
    p.add_argument("--max-connections", type=int, default=None, metavar="N",
                   help="connections at once (default 500; the last 50 are a reserve: idle or stalled "
                        "connections are closed to make room, and past N new ones are answered 503)")
    p.add_argument("--header-timeout", type=float, default=None, metavar="SECONDS",
                   help="time for a request's headers to arrive (default 10)")
    p.add_argument("--body-timeout", type=float, default=None, metavar="SECONDS",
                   help="longest pause while a body arrives (default 20)")
    p.add_argument("--max-in-flight-per-client", type=_size, default=None, metavar="SIZE",
                   help="request bytes one client address may have on the way at once (default 256M)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another name clients may reach the collector by (Host header; repeatable; "
                        "*.example.org for a domain). The listening address and, on loopback, localhost "
                        "are always allowed; other names are refused (DNS rebinding guard)")
    p.add_argument("--strip-dump-annotations", action="store_true",
                   help="also remove Email and the telemetry ids from the Crashpad annotations inside each "
                        "received dump (default: the export policy's 'strip on receipt', off: the dump is the "
                        "user's evidence)")
    p.set_defaults(func=run)


def _processing_service(args, paths):
    """Build the processing service (started by the caller); returns it and its store, or Nones."""
    from crashdesk.cli.common import info

    try:
        from crashdesk.services.processing import ProcessingService, default_worker_config
        from crashdesk.store import CrashStore
    except ImportError as exc:  # pragma: no cover - the service ships with the package
        info(f"processing is not available ({exc}); crashes stay received")
        return None, None
    store = CrashStore.open(paths.data_dir)
    from crashdesk.cli.common import note_native_support, symbol_sources

    note_native_support(args.symbols_path)
    config = default_worker_config(paths, **symbol_sources(paths, args.symbols_path, args.symbols_url,
                                                           args.debuginfod_url))
    service = ProcessingService(store, config, workers=args.workers)
    return service, store


def _strip_on_receipt(data_dir) -> bool:
    from crashdesk.services.sharing import load_policy

    return load_policy(data_dir).strip_dumps_on_receipt


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import signal
    import sys
    import threading

    from crashdesk.cli.common import info, paths_from
    from crashdesk.collector import Collector, CollectorAlreadyRunning, CollectorConfig, Limits
    from crashdesk.collector.auth import resolve_token
    from crashdesk.collector.config import ConnectionLimits
    from crashdesk.collector.throttle import Throttler, load_rules
    from crashdesk.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {args.port}")
    paths = paths_from(args)
    limits = Limits()
    overrides = {name: getattr(args, name) for name in
                 ("max_request_size", "max_decompressed_size", "max_fields", "max_files")
                 if getattr(args, name) is not None}
    if any(v <= 0 for v in overrides.values()):
        raise UsageError("limits must be positive")
    limits = dataclasses.replace(limits, **overrides)
    throttler = load_rules(args.throttle_rules) if args.throttle_rules else Throttler()
    connections = ConnectionLimits()
    conn_overrides = {name: value for name, value in (
        ("max_connections", args.max_connections), ("header_timeout", args.header_timeout),
        ("body_stall_timeout", args.body_timeout), ("in_flight_per_client", args.max_in_flight_per_client))
        if value is not None}
    if any(v <= 0 for v in conn_overrides.values()):
        raise UsageError("connection limits and timeouts must be positive")
    if conn_overrides.get("max_connections") is not None:
        conn_overrides["reserve"] = max(1, conn_overrides["max_connections"] // 10)
    connections = dataclasses.replace(connections, **conn_overrides)
    config = CollectorConfig(host=args.host, port=args.port, limits=limits, throttler=throttler,
                             connections=connections,
                             token=resolve_token(), threads=max(1, args.threads),
                             allowed_hosts=tuple(args.allow_host),
                             strip_dump_annotations=args.strip_dump_annotations or _strip_on_receipt(paths.data_dir))
    service = service_store = None
    hook: list = []  # the processing service, once it exists (it is built only if this collector starts)
    config.on_received = lambda _crash_id: hook and hook[0].notify()
    collector = Collector(paths.data_dir, config)
    try:
        url = collector.start()
    except CollectorAlreadyRunning as exc:
        if exc.running.submit_url:
            print(exc.running.submit_url, flush=True)
        raise
    print(url, flush=True)
    if not args.no_process:
        service, service_store = _processing_service(args, paths)
        if service is not None:
            hook.append(service)
    info(f"collecting crashes for {paths.data_dir} at {url} (Ctrl-C to stop)")
    if config.token is None and args.host not in ("127.0.0.1", "::1", "localhost"):
        info("note: no read-API token is set ($CRASHDESK_COLLECTOR_TOKEN); protected data is served to "
             "loopback clients only")
    if service is not None:
        service.release_dead_claims()
        service.start()
        service.notify()
    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        info("stopping the collector")
        summary = collector.stats()
        collector.stop()
        if getattr(args, "json", False):  # after the URL line: what this run received
            from crashdesk.cli.common import print_json

            print_json(summary)
        if service is not None:
            service.cancel()
            service.join(30)
        if service_store is not None:
            service_store.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
    return 0
