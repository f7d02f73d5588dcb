"""``crashdesk compare A B [--group]``: two crashes frame by frame; with ``--group``, three ways: A, B and the
typical stack of A's signature group (the most common crashing-thread stack prefix, with the share of the
group at each frame). ``--json`` prints the rows (``{"a", "b", "signature", "group_size", "rows": [{"index",
"a", "b", "typical": {"function", "crashes", "share"} | null, "differs": [...]}]}``); without ``--group`` the
two-way comparison (``{"a", "b", "frames": [{"a", "b", "status", "differs"}], ...}``).
"""

from __future__ import annotations

import argparse
import sys

from crashdesk.cli.common import open_store, print_json


def register(sub) -> None:
    p = sub.add_parser("compare", common_options=True, help="compare two crashes (and their signature's typical "
                       "stack with --group)", description="Compare two crashes' crashing-thread stacks frame by "
                       "frame; --group adds the typical stack of A's signature group.")
    p.add_argument("a", metavar="CRASH_A")
    p.add_argument("b", metavar="CRASH_B", nargs="?")
    p.add_argument("--group", action="store_true", help="three-way: add the typical stack of A's signature group")
    p.add_argument("--server", action="store_true", help="a synced crash A: the server's processed stack against "
                   "the local re-walk, frame by frame (no CRASH_B)")
    p.set_defaults(func=run)


def _mark(flag: bool) -> str:
    return "*" if flag else " "


def run(args: argparse.Namespace) -> int:
    from crashdesk.errors import UsageError
    from crashdesk.model.crash_id import normalize_crash_id
    from crashdesk.services.compare import compare_crashes
    from crashdesk.services.three_way import three_way

    if args.server:
        return _server(args)
    if args.b is None:
        raise UsageError("compare needs two crash ids (or one with --server)")
    try:
        a, b = normalize_crash_id(args.a), normalize_crash_id(args.b)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    store = open_store(args, write=False)
    try:
        if args.group:
            result = three_way(store, a, b)
        else:
            two = compare_crashes(store.get(a), store.get(b))
    finally:
        store.close()
    as_json = getattr(args, "json", False)
    if args.group:
        if as_json:
            print_json(result.to_json())
            return 0
        lines = [f"A {result.a}  B {result.b}  typical stack of {result.signature!r} ({result.group_size} crashes)",
                 f"{'#':>3}  {'share':>6}  {'typical':40}  {'A':40}  B   (* differs from the typical frame)"]
        for r in result.rows:
            t = r.typical
            lines.append(f"{r.index:>3}  {(f'{t.share:.0%}' if t else ''):>6}  {(t.function if t else ''):40.40}  "
                         f"{_mark('a-typical' in r.differs)}{(r.a or ''):39.39}  {_mark('b-typical' in r.differs)}"
                         f"{r.b or ''}")
        sys.stdout.write("\n".join(lines) + "\n")
        return 0
    rows = [{"a": r.left, "b": r.right, "status": r.status, "differs": list(r.differs)} for r in two.frames]
    if as_json:
        print_json({"a": two.left_id, "b": two.right_id, "a_signature": two.left_signature,
                    "b_signature": two.right_signature, "frames": rows, "identical_frames": two.identical_frames,
                    "notes": two.notes})
        return 0
    lines = [f"A {two.left_id}: {two.left_signature}", f"B {two.right_id}: {two.right_signature}"]
    for r in two.frames:
        fa = (r.left or {}).get("function") or (r.left or {}).get("module_offset") or ""
        fb = (r.right or {}).get("function") or (r.right or {}).get("module_offset") or ""
        lines.append(f"{'=' if r.status == 'same' else '*'} {fa:60.60}  {fb}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _server(args: argparse.Namespace) -> int:
    from crashdesk.errors import UsageError
    from crashdesk.model.crash_id import normalize_crash_id
    from crashdesk.model.threads import stack_diff

    if args.b is not None or args.group:
        raise UsageError("--server compares one synced crash with its own server stack: give one crash id")
    try:
        a = normalize_crash_id(args.a)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    store = open_store(args, write=False)
    try:
        crash = store.get(a)
    finally:
        store.close()
    if crash.get("server_processed") is None or crash.get("processed") is None:
        raise UsageError(f"crash {a} has no server stack and local re-walk to compare")
    rows = stack_diff(crash["processed"], crash["server_processed"])
    if getattr(args, "json", False):
        print_json({"crash_id": a, "differs": any(r["differs"] for r in rows), "frames": rows})
        return 0
    lines = [f"crash {a}: local re-walk (left) against the server's processed stack (right); * differs"]
    for r in rows:
        loc, srv = r["local"] or {}, r["server"] or {}
        def side(f):
            return f"{f.get('module') or ''}!{f.get('function') or '??'} [{f.get('trust') or ''}]" if f else "-"
        lines.append(f"{'*' if r['differs'] else ' '} {r['index']:>3}  {side(loc):60.60}  {side(srv)}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
