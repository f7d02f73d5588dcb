"""``crashdesk process``: run the processing queue in the foreground with progress and a summary."""

from __future__ import annotations

import argparse

from crashdesk.cli.common import (
    Progress,
    add_symbol_source_flags,
    info,
    paths_from,
    print_json,
    symbol_sources,
)


def register(sub) -> None:
    p = sub.add_parser("process", common_options=True, help="process received crashes (stackwalk, sign, index)",
                       description="Stackwalk, sign and index every received crash, in worker processes.")
    p.add_argument("--query", help="only crashes matching this search query")
    p.add_argument("--reprocess", action="store_true",
                   help="process the matching crashes again even if already processed (needs --query or --all)")
    p.add_argument("--all", action="store_true", help="with --reprocess: every stored crash")
    p.add_argument("--missing-symbols", metavar="MODULE",
                   help="reprocess every crash that lacked symbols for MODULE (a file name or a debug id)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: number of cores)")
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds per crash (default 30)")
    p.add_argument("--memory-limit", type=float, default=2.0, help="GB of address space per worker (default 2)")
    add_symbol_source_flags(
        p, paths_help="symbol folder (repeatable); searched before the folders set in Settings (crashdesk config)",
        urls_help="symbol server (repeatable); asked before the servers set in Settings (crashdesk config)",
        debuginfod_help="debuginfod server (repeatable); before Settings' servers and DEBUGINFOD_URLS")
    p.add_argument("--profile", default="auto",
                   help="signature profile: a name or folder (default: auto = the product's row in "
                        "<data-dir>/signature-profiles.json, mozilla for Mozilla products, else the default, generic)")
    p.set_defaults(func=run)


def _matching_ids(store, query: str) -> list[str]:
    result = store.search(query, limit=10_000_000, sort="date")
    return [hit["crash_id"] for hit in result.hits]


def run(args: argparse.Namespace) -> int:
    from crashdesk.errors import UsageError
    from crashdesk.services.processing import ProcessingService, default_worker_config
    from crashdesk.store import CrashStore

    paths = paths_from(args)
    if args.reprocess and not (args.query or args.all):
        raise UsageError("--reprocess needs --query QUERY or --all")
    store = CrashStore.open(paths.data_dir)
    try:
        from crashdesk.cli.common import note_native_support

        note_native_support(args.symbols_path)
        config = default_worker_config(
            paths, **symbol_sources(paths, args.symbols_path, args.symbols_url, args.debuginfod_url),
            profile=args.profile,
            memory_limit=int(args.memory_limit * 1024**3) if args.memory_limit > 0 else None)
        bar = Progress("processing")

        def on_progress(progress) -> None:
            bar.total = progress.done + progress.failed + progress.running + progress.queued
            bar.done = progress.done + progress.failed - 1
            bar.advance()

        service = ProcessingService(store, config, workers=args.workers, time_limit=args.time_limit,
                                    on_progress=on_progress)
        if args.missing_symbols:
            key = args.missing_symbols
            by_id = len(key) >= 32 and all(c in "0123456789abcdefABCDEF" for c in key)
            n = service.reprocess_missing_symbols(debug_id=key if by_id else None,
                                                  filename=None if by_id else key)
            info(f"{n} crashes lacked symbols for {key}; queued for reprocessing")
        selected = None
        if args.query:
            selected = _matching_ids(store, args.query)
            service.restrict_to(selected)
        if args.reprocess:
            ids = selected if selected is not None else [
                r[0] for r in store.db.conn.execute("SELECT crash_id FROM crashes ORDER BY id")]
            service.reprocess(ids)
        try:
            progress = service.run_until_empty()
        except KeyboardInterrupt:
            # the service stopped its workers and gave their claims back on the way out; what finished is kept
            bar.close()
            raise  # crashdesk.cli.main: "interrupted", exit 130
        bar.close()
        counts = store.state_counts()
        summary = {"processed": progress.done, "failed": progress.failed,
                   "rate_per_second": round(progress.rate, 2), "store": counts, "error": service.error}
        if getattr(args, "json", False):
            print_json(summary)
        else:
            print(f"processed {progress.done}, failed {progress.failed} ({progress.rate:.1f} crashes/s); "
                  f"store: {counts['processed']} processed, {counts['failed']} failed, "
                  f"{counts['received']} waiting")
        if service.error:
            info(service.error)
            return 1
        return 0
    finally:
        store.close()
