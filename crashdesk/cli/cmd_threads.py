"""``crashdesk threads QUERY``: the all-threads (hang) view of the crashes a query matches: every thread of
every matching crash merged into call trees (outermost callers first), each node with how many threads and
crashes pass through it. ``--json`` prints ``{"crashes", "threads", "roots": [{"function", "threads",
"crashes", "children": [...]}]}`` (``--crash-ids`` adds each node's ``crash_ids``); otherwise an indented tree.
"""

from __future__ import annotations

import argparse
import re
import sys

from crashdesk.cli.common import Progress, open_store, print_json

EPILOG = """examples:
  crashdesk threads 'signature:~shutdownhang' --role main
  crashdesk threads 'product:Firefox date:>=7d' --thread-name Compositor --json
"""


def register(sub) -> None:
    p = sub.add_parser("threads", common_options=True, help="merge the threads of matching crashes into call trees",
                       description="The all-threads view: the threads of the crashes a query matches, merged "
                                   "into call trees with thread and crash counts.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="*", metavar="QUERY", help="query (words are joined; empty matches everything)")
    p.add_argument("--role", choices=("any", "main", "crashing"), default="any",
                   help="which threads of each crash (default any)")
    p.add_argument("--thread-name", metavar="TEXT", help="only threads whose name contains TEXT")
    p.add_argument("--crash-ids", action="store_true", help="with --json: list each node's crash ids")
    p.add_argument("--depth", type=int, default=None, metavar="N", help="text: show N levels")
    p._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[A-Za-z_][^\s]*$")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crashdesk.services.all_threads import all_threads

    store = open_store(args, write=False)
    bar = Progress("merging threads")
    try:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.advance(done - bar.done)
        tree = all_threads(store, " ".join(args.query), role=args.role, thread_name=args.thread_name,
                           progress=progress)
    finally:
        bar.close()
        store.close()
    if getattr(args, "json", False):
        print_json(tree.to_json(ids=args.crash_ids))
    else:
        sys.stdout.write(tree.to_text(max_depth=args.depth))
    return 0
