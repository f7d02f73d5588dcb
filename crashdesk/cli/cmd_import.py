"""``crashdesk import FILE...``: minidumps, Socorro raw/processed crash JSON, and crash bundles (fetch-data
layout, folder or zip). Imported crashes wait in state ``received`` for processing.

Every file is tried; each failure is one line on stderr naming the file, and the exit status is 1 if any
failed. ``--json`` prints ``{"imported": [...], "errors": [...]}``.
"""

from __future__ import annotations

import argparse

from crashdesk.cli.common import Progress, info, paths_from, print_json


def register(sub) -> None:
    p = sub.add_parser("import", common_options=True, help="import minidumps, Socorro crash JSON or crash bundles",
                       description="Import crashes: FILE.dmp (with optional annotations), Socorro raw or "
                                   "processed crash JSON, or a bundle folder/zip in the crashstats-tools "
                                   "fetch-data layout.")
    p.add_argument("files", nargs="+", metavar="FILE")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--annotations", metavar="JSON", help="annotations for a minidump, as a JSON object")
    group.add_argument("--extra", metavar="FILE", help="annotations for a minidump from a file (JSON object or "
                                                       "key=value lines)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crashdesk.errors import CrashDeskError, UsageError
    from crashdesk.services.importing import import_path, load_extra, parse_annotations_text
    from crashdesk.store import CrashStore

    annotations = None
    if args.annotations is not None:
        annotations = parse_annotations_text(args.annotations, "--annotations")
    elif args.extra is not None:
        annotations = load_extra(Path(args.extra))
    if annotations is not None and len(args.files) != 1:
        raise UsageError("--annotations/--extra need exactly one minidump")
    paths = paths_from(args)
    store = CrashStore.open(paths.data_dir)
    imported, errors = [], []
    bar = Progress("importing", total=len(args.files))
    try:
        for name in args.files:
            try:
                # a reproduction packet's symbol files go to the symbol cache
                results = import_path(store, Path(name), annotations=annotations, symbols_dir=paths.symbols_cache)
            except UsageError:
                raise
            except CrashDeskError as exc:
                errors.append({"file": name, "error": str(exc)})
                info(f"crashdesk import: {exc}")
            else:
                imported.extend(results)
                if not getattr(args, "json", False):
                    for r in results:
                        print(f"{r.crash_id}  {r.describe()}  {r.file}")
            bar.advance()
    finally:
        bar.close()
        store.close()
    if getattr(args, "json", False):
        print_json({"imported": [r.to_json() for r in imported], "errors": errors})
    return 1 if errors else 0
