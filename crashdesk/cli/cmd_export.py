"""``crashdesk export``: write crashes as a portable bundle in the ``crashstats-tools fetch-data`` layout
(``raw_crash/``, ``dump_names/``, ``<dump name>/``, ``processed_crash/``), as a folder or a zip."""

from __future__ import annotations

import argparse

from crashdesk.cli.common import info, open_store, print_json


def register(sub, common) -> None:
    p = sub.add_parser("export", parents=[common], help="export crashes as a bundle (folder or zip)",
                       description="Export crashes, given by id and/or a search query, as a bundle in the "
                                   "crashstats-tools fetch-data layout.")
    p.add_argument("crash_ids", nargs="*", metavar="CRASH_ID")
    p.add_argument("-o", "--output", required=True, metavar="DEST",
                   help="bundle folder, or a .zip file (written atomically)")
    p.add_argument("--query", metavar="QUERY", help="also export every crash matching this search query")
    p.add_argument("--zip", action="store_true", help="write a zip even if DEST does not end in .zip")
    p.add_argument("--no-dumps", action="store_true", help="leave the dumps out")
    p.add_argument("--no-processed", action="store_true", help="leave the processed crashes out")
    p.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crashdesk.errors import UsageError
    from crashdesk.services.importing import export_crashes

    if not args.crash_ids and args.query is None:
        raise UsageError("give crash ids and/or --query")
    store = open_store(args, write=False)
    try:
        ids = list(args.crash_ids)
        if args.query is not None:
            result = store.search(args.query, sort="date", limit=store.count() or 1)
            ids.extend(h["crash_id"] for h in result.hits)
        ids = list(dict.fromkeys(i.strip().lower().removeprefix("bp-") for i in ids))
        count = export_crashes(store, ids, Path(args.output), as_zip=True if args.zip else None,
                               dumps=not args.no_dumps, processed=not args.no_processed,
                               overwrite=args.overwrite)
    finally:
        store.close()
    if getattr(args, "json", False):
        print_json({"exported": count, "output": str(args.output), "crash_ids": ids})
    else:
        info(f"exported {count} crash{'es' if count != 1 else ''} to {args.output}")
    return 0
