"""``crashdesk search QUERY``: the query language over the local store, with facets, sorting and paging.

``--json`` prints ``{"total", "hits", "facets"}`` (Crash Stats' facet shape); otherwise a table of hits and
facet counts on stdout. A bad query exits 1 with a one-line message giving the column.
"""

from __future__ import annotations

import argparse
import re

from crashdesk.cli.common import open_store, print_json
from crashdesk.engine.query import SYNTAX_HELP

EPILOG = "query language:\n" + SYNTAX_HELP + """examples:
  crashdesk search 'product:Firefox version:>=120 function:~nsThread' --facet signature
  crashdesk search 'ann.URL:example.com date:>=7d' --sort -date --limit 20 --json
  crashdesk search 'os:Windows NOT (product:Firefox OR product:Thunderbird)'
"""


def register(sub) -> None:
    p = sub.add_parser("search", common_options=True, help="search stored crashes",
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


# the widest a column grows to fit its values (longer ones are cut with "…"); the signature takes the rest
_WIDTHS = {"product": 40, "version": 24, "os": 20, "state": 10}


def render_hits(result) -> str:
    lines = [f"{result.total} crash{'es' if result.total != 1 else ''}"]
    if result.hits:
        width = {name: max(len(name), *(len(str(h.get(name) or "")) for h in result.hits))
                 for name in _WIDTHS}
        width = {name: min(w, _WIDTHS[name]) for name, w in width.items()}
        header = (f"{'crash id':36}  {'date':19}  {'product':{width['product']}}  {'version':{width['version']}}  "
                  f"{'os':{width['os']}}  {'state':{width['state']}}  signature")
        lines.append(header)
        for h in result.hits:
            date = (h.get("date") or "")[:19].replace("T", " ")
            cells = "  ".join(f"{_cell(h.get(name), width[name]):{width[name]}}" for name in _WIDTHS)
            lines.append(f"{h['crash_id']:36}  {date:19}  {cells}  {h.get('signature') or ''}")
    for name, buckets in result.facets.items():
        lines.append("")
        lines.append(f"facet {name}:")
        for b in buckets:
            lines.append(f"  {b['count']:>8}  {b['term']}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    import sys


    query = " ".join(args.query)
    store = open_store(args, write=False)
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
