"""``crashdesk search QUERY``: the query language over the local store, with facets, sorting and paging.

``--json`` prints ``{"total", "hits", "facets"}`` (Crash Stats' facet shape); otherwise a table of hits and
facet counts on stdout. A bad query exits 1 with a one-line message giving the column.
"""

from __future__ import annotations

import argparse
import re

from crashdesk.cli.common import paths_from, print_json

EPILOG = """query language:
  field:value        keyword fields (product version os cpu source state module build_id channel ...) match
                     exactly, ignoring case; text fields (signature function reason file ann.KEY) contain
  operators          = exact  ~ contains  ^ starts  $ ends  ! not (combines: !~)  > >= < <= numbers, dates,
                     versions (120.0.1 > 99.0)
  "quoted values"    signature:"OOM | small"
  bare words         full text over signature, frame functions and annotation values
  ann.KEY:value      any annotation, e.g. ann.URL:example.com
  module:NAME@VER    a loaded module, optionally with its version: module:xul.dll@>=120
  date:>=7d          submitted in the last 7 days (also h, w, m; or ISO dates: date:>=2024-10-01)
  trend:spike        crashes of signatures spiking now (last 24 h far above their 7-day baseline)
  A B, A OR B, ( )   terms AND together; OR and parentheses group
examples:
  crashdesk search 'product:Firefox version:>=120 function:~nsThread' --facet signature
  crashdesk search 'ann.URL:example.com date:>=7d' --sort -date --limit 20 --json
"""


def register(sub, common) -> None:
    p = sub.add_parser("search", parents=[common], help="search stored crashes",
                       description="Search the local crash store.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="*", metavar="QUERY", help="query (words are joined; empty matches everything)")
    p.add_argument("--facet", action="append", default=[], metavar="FIELD",
                   help="count hits by FIELD (signature, product, version, os, cpu, module, ann.KEY, ...); "
                        "repeatable")
    p.add_argument("--facets-size", type=int, default=50, metavar="N", help="terms per facet (default 50)")
    p.add_argument("--sort", default="-date", metavar="[-]FIELD", help="sort field, '-' for descending "
                   "(default -date)")
    p.add_argument("--offset", type=_non_negative, default=0, metavar="N", help="skip N hits")
    p.add_argument("--limit", type=_non_negative, default=100, metavar="N", help="return up to N hits "
                   "(default 100)")
    # "--sort -date" and a query starting with "-field:" are values, not options: argparse treats arguments
    # that look like negative numbers as values, so widen that pattern to "-word..." for this sub-command
    # (real options such as -h are matched before this check).
    p._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[A-Za-z_][^\s]*$")
    p.set_defaults(func=run)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _cell(value, width: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_hits(result) -> str:
    lines = [f"{result.total} crash{'es' if result.total != 1 else ''}"]
    if result.hits:
        header = f"{'crash id':36}  {'date':19}  {'product':14}  {'version':12}  {'os':10}  {'state':10}  signature"
        lines.append(header)
        for h in result.hits:
            date = (h.get("date") or "")[:19].replace("T", " ")
            lines.append(f"{h['crash_id']:36}  {date:19}  {_cell(h.get('product'), 14):14}  "
                         f"{_cell(h.get('version'), 12):12}  {_cell(h.get('os'), 10):10}  "
                         f"{_cell(h.get('state'), 10):10}  {h.get('signature') or ''}")
    for name, buckets in result.facets.items():
        lines.append("")
        lines.append(f"facet {name}:")
        for b in buckets:
            lines.append(f"  {b['count']:>8}  {b['term']}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    import sys

    from crashdesk.store import CrashStore

    query = " ".join(args.query)
    store = CrashStore.open(paths_from(args).data_dir)
    try:
        result = store.search(query, facets=args.facet, sort=args.sort, offset=args.offset, limit=args.limit,
                              facets_size=args.facets_size)
    finally:
        store.close()
    if getattr(args, "json", False):
        print_json(result.to_json())
    else:
        sys.stdout.write(render_hits(result))
    return 0
