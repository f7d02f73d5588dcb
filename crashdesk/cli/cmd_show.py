"""``crashdesk show CRASH_ID``: everything stored for one crash.

``--json`` prints the whole record (annotations, dumps, modules, signature history, ``processed`` and
``server_processed``); otherwise a readable summary with the crashing thread's top frames.
"""

from __future__ import annotations

import argparse

from crashdesk.cli.common import open_store, print_json


def register(sub) -> None:
    p = sub.add_parser("show", common_options=True, help="show everything stored for one crash",
                       description="Show one stored crash (accepts a bp- prefix).")
    p.add_argument("crash_id", metavar="CRASH_ID")
    p.add_argument("--frames", type=int, default=15, metavar="N", help="frames of the crashing thread to list")
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.set_defaults(func=run)


def render_crash(data: dict, frames: int = 15) -> str:
    from crashdesk.model.summary import describe_uptime

    out: list[str] = []
    add = out.append
    add(f"crash {data['crash_id']}")
    for label, key in (("signature", "signature"), ("server signature", "server_signature"),
                       ("proto signature", "proto_signature"), ("state", "state"), ("source", "source"),
                       ("submitted", "submitted_at"), ("processed", "processed_at"), ("product", "product"),
                       ("version", "version"), ("build id", "build_id"), ("channel", "channel"), ("os", "os"),
                       ("os version", "os_version"), ("cpu", "cpu"), ("reason", "reason"), ("address", "address"),
                       ("crashing thread", "crashing_thread")):
        value = data.get(key)
        if value not in (None, ""):
            add(f"  {label + ':':17} {value}")
    uptime = describe_uptime(data.get("annotations"), data.get("processed"))
    if uptime:
        add(f"  {'uptime:':17} {uptime}")
    if data.get("notes"):
        add("notes:")
        out.extend(f"  {n}" for n in data["notes"])
    processed = data.get("processed")
    if isinstance(processed, dict):
        threads = processed.get("threads") or []
        index = data.get("crashing_thread")
        if isinstance(index, int) and 0 <= index < len(threads):
            add(f"crashing thread {index}:")
            for n, f in enumerate((threads[index].get("frames") or [])[:frames]):
                where = f.get("function") or f.get("module_offset") or f.get("offset") or "?"
                loc = f" {f['file']}:{f.get('line')}" if f.get("file") else ""
                add(f"  {n:>3} {f.get('module') or '?'}!{where}{loc}  [{f.get('trust', '')}]")
    if data.get("annotations"):
        add("annotations:")
        for k, v in sorted(data["annotations"].items()):
            add(f"  {k} = {v if isinstance(v, str) else v!r}")
    if data.get("dumps"):
        add("dumps:")
        out.extend(f"  {d['name']}: {d['size']} bytes, sha256 {d['sha256']}" for d in data["dumps"])
    if data.get("modules"):
        add(f"modules: {len(data['modules'])} loaded")
    if data.get("signature_history"):
        add("signature history:")
        for h in data["signature_history"]:
            mark = "*" if h["active"] else " "
            add(f" {mark} {h['created_at'][:19]}  {h['profile']:12}  {h['signature']}")
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    import sys

    from crashdesk.errors import UsageError
    from crashdesk.model.crash_id import normalize_crash_id

    try:
        crash_id = normalize_crash_id(args.crash_id)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    store = open_store(args, write=False)
    try:
        data = store.get(crash_id)
    finally:
        store.close()
    if getattr(args, "json", False):
        print_json(data, pretty=args.pretty)
    else:
        sys.stdout.write(render_crash(data, args.frames))
    return 0
