"""``crashdesk export``: write crashes as a portable bundle in the ``crashstats-tools fetch-data`` layout
(``raw_crash/``, ``dump_names/``, ``<dump name>/``, ``processed_crash/``), as a folder or a zip.

Every export applies the redaction policy (``<data-dir>/export-policy.json``, edited in Settings; flags
change it for one export): protected and free-text annotations removed or masked, user/host names, e-mail
and IP addresses scrubbed, dumps scrubbed (see :mod:`crashdesk.engine.minidump.scrub`). ``--dry-run``
prints what would leave (``--json``: the preview object) and writes nothing. ``--packet`` adds a
``crashdesk/`` folder with the symbol files and processing facts a colleague needs to see the same crash.
"""

from __future__ import annotations

import argparse
import sys

from crashdesk.cli.common import Progress, info, paths_from, print_json


def register(sub) -> None:
    p = sub.add_parser("export", common_options=True, help="export crashes as a bundle (folder or zip)",
                       description="Export crashes, given by id and/or a search query, as a bundle in the "
                                   "crashstats-tools fetch-data layout, redacted by the export policy.")
    p.add_argument("crash_ids", nargs="*", metavar="CRASH_ID")
    p.add_argument("-o", "--output", metavar="DEST",
                   help="bundle folder, or a .zip file (written atomically); not needed with --dry-run")
    p.add_argument("--query", metavar="QUERY", help="also export every crash matching this search query")
    p.add_argument("--zip", action="store_true", help="write a zip even if DEST does not end in .zip")
    p.add_argument("--no-dumps", action="store_true", help="leave the dumps out")
    p.add_argument("--unscrubbed-dumps", action="store_true",
                   help="export the dumps as stored (heap, environment and all annotations included)")
    p.add_argument("--no-processed", action="store_true", help="leave the processed crashes out")
    p.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    p.add_argument("--dry-run", action="store_true", help="print the redaction preview; write nothing")
    p.add_argument("--policy", metavar="FILE", help="a policy JSON file instead of the data folder's")
    p.add_argument("--keep", action="append", default=[], metavar="NAME",
                   help="export this annotation as it is (repeatable)")
    p.add_argument("--remove", action="append", default=[], metavar="NAME", help="remove this annotation")
    p.add_argument("--mask", action="append", default=[], metavar="NAME",
                   help="keep this annotation's name, mask its value")
    p.add_argument("--keep-paths", action="store_true", help="do not mask user and host names in paths")
    p.add_argument("--keep-addresses", action="store_true", help="do not replace e-mail and IP addresses")
    p.add_argument("--packet", action="store_true",
                   help="reproduction packet: add the symbol files used and the processing facts")
    p.add_argument("--symbols-path", action="append", default=[], metavar="DIR",
                   help="with --packet: where the symbol files are (repeatable; the symbol cache is searched too)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation on a terminal")
    p.set_defaults(func=run)


def _policy(args, data_dir):
    import json
    from pathlib import Path

    from crashdesk.errors import UsageError
    from crashdesk.model.redaction import KEEP, MASK, REMOVE, RedactionPolicy
    from crashdesk.services.sharing import load_policy

    if args.policy:
        try:
            policy = RedactionPolicy.from_json(json.loads(Path(args.policy).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UsageError(f"--policy {args.policy}: {exc}") from None
    else:
        policy = load_policy(data_dir)
    try:
        for action, names in ((KEEP, args.keep), (REMOVE, args.remove), (MASK, args.mask)):
            for name in names:
                policy.set_rule(name, action)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.keep_paths:
        policy.scrub_paths = False
    if args.keep_addresses:
        policy.scrub_emails = policy.scrub_ips = False
    if args.no_dumps:
        policy.include_dumps = False
    if args.unscrubbed_dumps:
        policy.scrub_dumps = False
    return policy


def preview_text(preview: dict) -> str:
    """The preview as lines for a terminal."""
    lines = [f"{preview['crashes']} crash(es)"]
    lines.append("annotations (crashes: kept / scrubbed / masked / removed):")
    for name, c in preview["annotations"].items():
        lines.append(f"  {c['action']:<7} {name:<32} {c.get('keep', 0)} / {c.get('scrub', 0)} / "
                     f"{c.get('mask', 0)} / {c.get('remove', 0)}   ({c['why']})")
    d = preview["dumps"]
    lines.append("dumps: " + (", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(d.items())) or "none"))
    m = preview["memory"]
    if m:
        lines.append(f"dump memory: {m.get('bytes_kept', 0)} bytes kept (stacks from the stack pointer up, the "
                     f"crashing instruction's code), {m.get('bytes_zeroed', 0)} bytes zeroed; "
                     f"{m.get('path_names_masked', 0)} user/host names in paths masked")
    if preview["streams_zeroed"]:
        lines.append("streams zeroed: " + ", ".join(f"{k} ({v})" for k, v in sorted(preview["streams_zeroed"].items())))
    if preview.get("streams_kept"):
        lines.append("streams kept: " + ", ".join(sorted(preview["streams_kept"])))
    if preview["dump_annotations"]:
        gone = [k for k, v in preview["dump_annotations"].items() if v.get("remove") or v.get("mask")]
        lines.append("annotations removed from inside the dumps: " + (", ".join(gone) or "none"))
    if preview["processed_fields_removed"]:
        lines.append("processed crash fields removed: " + ", ".join(sorted(preview["processed_fields_removed"])))
    if preview["packet"]:
        p = preview["packet"]
        lines.append(f"packet: {p['symbol_files']} symbol file(s), {p['symbol_bytes']} bytes; "
                     f"{p['modules_without_symbol_file']} module(s) with symbols not found locally")
    lines.extend(f"note: {n}" for n in preview["notes"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crashdesk.errors import UsageError
    from crashdesk.services.sharing import ExportOptions, prepare_export, resolve_ids, write_export
    from crashdesk.store import CrashStore

    if not args.crash_ids and args.query is None:
        raise UsageError("give crash ids and/or --query")
    if not args.dry_run and not args.output:
        raise UsageError("give -o/--output DEST (or --dry-run)")
    paths = paths_from(args, write=False)
    policy = _policy(args, paths.data_dir)
    options = ExportOptions(policy=policy, processed=not args.no_processed, packet=args.packet,
                            symbol_paths=[*map(Path, args.symbols_path), paths.symbols_cache])
    store = CrashStore.open(paths.data_dir, read_only=not paths.writable)
    try:
        ids = resolve_ids(store, args.crash_ids, args.query)
        bar = Progress("preparing", total=len(ids))
        try:
            prepared = prepare_export(store, ids, options, progress=lambda done, total: bar.advance())
        finally:
            bar.close()
    finally:
        store.close()
    preview = prepared.preview.to_json()
    if args.dry_run:
        if getattr(args, "json", False):
            print_json(preview)
        else:
            print(preview_text(preview))
        return 0
    if not args.yes and sys.stdin.isatty() and not getattr(args, "json", False):
        info(preview_text(preview))
        sys.stderr.write(f"export to {args.output}? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            info("nothing exported")
            return 1
    count = write_export(prepared, Path(args.output), as_zip=True if args.zip else None, overwrite=args.overwrite)
    if getattr(args, "json", False):
        print_json({"exported": count, "output": str(args.output), "crash_ids": ids, "preview": preview})
    else:
        info(f"exported {count} crash{'es' if count != 1 else ''} to {args.output}")
    return 0
