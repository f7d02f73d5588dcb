"""``crashdesk regenerate``: what a signature profile would change over stored crashes; apply or undo it."""

from __future__ import annotations

import argparse

from crashdesk.cli.common import Progress, info, paths_from, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "regenerate", common_options=True, help="recompute signatures with a profile and report what changes",
        description="Recompute signatures for the crashes a query selects and report changed crashes, "
                    "old -> new pairs, merged and split buckets. Nothing changes without --apply.")
    p.add_argument("--profile", default="auto",
                   help="profile name (user profiles in the data folder, or mozilla/generic/generic-v1) or folder "
                   "(default: auto, each crash with the profile processing would pick by its product)")
    p.add_argument("--query", default="", help="search query selecting the crashes (default: all)")
    p.add_argument("--apply", action="store_true", help="record the new signatures (undo with --undo RUN_ID)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: number of cores)")
    p.add_argument("--limit", type=int, default=50, help="rows per list in the report (default 50)")
    p.add_argument("--undo", metavar="RUN_ID", help="undo an applied run")
    p.add_argument("--runs", action="store_true", help="list applied runs")
    p.set_defaults(func=run)


def out(text: str) -> None:
    """A line of the command's result: stdout (progress and errors go to stderr)."""
    print(text)


def _print_report(data: dict) -> None:
    out(f"profile {data['profile']} ({data['rule_set']}), query {data['query']!r}")
    out(f"{data['total']} crashes: {data['changed']} changed, {data['unchanged']} unchanged; buckets "
         f"{data['old_buckets']} -> {data['new_buckets']}"
         + (f"; {data['skipped_unprocessed']} unprocessed skipped" if data["skipped_unprocessed"] else ""))
    if data["pairs"]:
        out("\nchanged (count  old -> new):")
        for pair in data["pairs"]:
            out(f"{pair['count']:>8}  {pair['old']} -> {pair['new']}")
    if data["merges"]:
        out("\nmerged buckets:")
        for m in data["merges"]:
            out(f"{m['count']:>8}  {m['new']}  <=  " + " | ".join(f"{f['signature']} ({f['count']})" for f in m["from"]))
    if data["splits"]:
        out("\nsplit buckets:")
        for s in data["splits"]:
            out(f"{s['count']:>8}  {s['old']}  =>  " + " | ".join(f"{f['signature']} ({f['count']})" for f in s["into"]))
    if data["applied"]:
        out(f"\napplied as run {data['run_id']} (undo: crashdesk regenerate --undo {data['run_id']})")
    else:
        out("\nnothing changed (use --apply to record these signatures)")


def run(args: argparse.Namespace) -> int:
    from crashdesk.services.regeneration import applied_runs, apply_run, compute_run, undo_run
    from crashdesk.store import CrashStore

    paths = paths_from(args)
    as_json = getattr(args, "json", False)
    with CrashStore.open(paths.data_dir) as store:
        if args.runs:
            runs = applied_runs(store)
            if as_json:
                print_json(runs)
            else:
                for r in runs:
                    out(f"{r['run_id']}  {r['profile']:<16} {r['crashes']:>8} crashes  {r['created_at']}")
            return 0
        if args.undo:
            n = undo_run(store, args.undo)
            if n == 0:
                info(f"no applied run {args.undo}")
                return 1
            print_json({"run_id": args.undo, "restored": n}) if as_json else out(f"restored {n} crashes")
            return 0
        total = store.search(args.query, limit=0).total
        bar = Progress("regenerating", total)
        result = compute_run(store, args.profile, query=args.query, profiles_dir=paths.profiles,
                             processes=args.workers, progress=bar.advance)
        bar.close()
        if args.apply:
            apply_run(store, result)
        data = result.to_dict(limit=args.limit)
        if as_json:
            print_json(data)
        else:
            _print_report(data)
    return 0
