"""``crashdesk topcrashers [QUERY]``: Crash Stats' Top Crashers columns from the local store, and two versions
or two periods side by side (``--compare``).

``--json`` prints ``{"mode", "scope", "previous", "total", "previous_total", "signatures": [...]}``, one object
per signature with ``rank``, ``signature``, ``count``, ``percent``, ``previous_rank``, ``rank_change``,
``previous_percent``, ``is_new``, ``startup_percent``, ``platforms``, ``installations`` (plus the spike
fields ``spike``, ``last_day``, ``baseline_per_day``, ``spike_p``, ``daily``); definitions in
:mod:`crashdesk.services.topcrashers` and the README.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys

from crashdesk.cli.common import paths_from, print_json

EPILOG = """defaults: the product with most crashes in the window, its newest version with crashes, the last
7 days, against the 7 days before.
examples:
  crashdesk topcrashers --product MyApp --version 2.1 --json
  crashdesk topcrashers --product MyApp --version 2.1 --against-version 2.0
  crashdesk topcrashers 'channel:beta os:Windows' --days 14 --end 2026-12-01
  crashdesk topcrashers --product MyApp --compare 2.0 2.1          # versions side by side
  crashdesk topcrashers --product MyApp --version 2.1 --compare    # this week against the week before
"""


def register(sub) -> None:
    p = sub.add_parser("topcrashers", common_options=True, help="top crashers and what changed between versions",
                       description="Rank signatures by crashes, with rank and share changes against the previous "
                                   "period or another version, new signatures, start-up share, platforms, "
                                   "installations and spikes.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="*", metavar="QUERY", help="extra filters in the search language (channel:beta ...)")
    p.add_argument("--product", help="product (default: the one with most crashes in the window)")
    p.add_argument("--version", dest="product_version", metavar="VERSION",
                   help="version (default: the newest with crashes in the window; '*' for every version)")
    p.add_argument("--days", type=_positive, default=None, metavar="N",
                   help="window length in days (default 7; with --compare VERSIONS: every date)")
    p.add_argument("--end", type=_date, default=None, metavar="DATE",
                   help="window end, ISO date or time in UTC (default: now)")
    p.add_argument("--against-version", metavar="VERSION",
                   help="compare with this version over the same window instead of the previous period")
    p.add_argument("--compare", nargs="*", metavar="VERSION",
                   help="side by side: two versions (A B), or none for the window against the one before")
    p.add_argument("--limit", type=_positive, default=50, metavar="N", help="signatures to list (default 50)")
    p._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[A-Za-z_][^\s]*$")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _date(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}%"


def render(report) -> str:
    lines = [f"Top crashers: {report.scope.label()} ({report.total} crashes); "
             f"against {report.previous.label()} ({report.previous_total} crashes)",
             f"{'rank':>4}  {'change':>6}  {'count':>6}  {'share':>7}  {'prev':>7}  {'start-up':>8}  "
             f"{'installs':>8}  signature"]
    for r in report.rows:
        change = "new" if r.is_new else ("" if r.rank_change is None else f"{r.rank_change:+d}" if r.rank_change else "=")
        mark = "  [spike]" if r.spike else ""
        installs = "" if r.installations is None else str(r.installations)
        startup = _pct(r.startup_percent) if r.startup_known else "—"  # no crash of it carries an uptime
        lines.append(f"{r.rank:>4}  {change:>6}  {r.count:>6}  {_pct(r.percent):>7}  {_pct(r.previous_percent):>7}  "
                     f"{startup:>8}  {installs:>8}  {r.signature or '(no signature)'}{mark}")
    return "\n".join(lines) + "\n"


def render_comparison(comparison) -> str:
    lines = [f"A: {comparison.a.label()} ({comparison.total_a} crashes)",
             f"B: {comparison.b.label()} ({comparison.total_b} crashes)",
             f"{'status':>6}  {'A':>6}  {'A share':>7}  {'B':>6}  {'B share':>7}  {'change':>8}  signature"]
    for m in comparison.rows:
        lines.append(f"{m.status:>6}  {m.count_a:>6}  {_pct(m.percent_a):>7}  {m.count_b:>6}  {_pct(m.percent_b):>7}"
                     f"  {m.change:>+7.2f}p  {m.signature or '(no signature)'}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from crashdesk.errors import UsageError
    from crashdesk.services import topcrashers as tc
    from crashdesk.store import CrashStore

    query = " ".join(args.query)
    store = CrashStore.open(paths_from(args).data_dir)
    try:
        if args.compare is not None:
            if len(args.compare) == 2:
                a, b = tc.version_scopes(args.product, args.compare, query, args.days, args.end)
            elif not args.compare:
                scope = tc.resolve(store, tc.Scope(query, args.product, args.product_version, args.days or 7,
                                                   args.end))
                a, b = tc.period_scopes(query, scope.product, scope.version, scope.days, scope.end)
            else:
                raise UsageError("--compare takes two versions, or none to compare the window with the one before")
            result = tc.compare(store, a, b)
            if getattr(args, "json", False):
                print_json(result.to_json())
            else:
                sys.stdout.write(render_comparison(result))
            return 0
        days = args.days or 7
        scope = tc.Scope(query, args.product, args.product_version, days, args.end)
        report = tc.top_crashers(store, scope, against_version=args.against_version, limit=args.limit)
        newest = tc.newest_crash(store, report.scope) if report.total == 0 else None
    finally:
        store.close()
    if newest is not None and report.scope.start is not None and newest < report.scope.start:
        end = tc.window_ending_at(newest)
        print(f"no crash in this window; the newest one{' of ' + report.scope.product if report.scope.product else ''}"
              f" is from {newest:%Y-%m-%d %H:%M} UTC: add --end {end:%Y-%m-%dT%H:%M} to rank the {days} days up to it",
              file=sys.stderr)
    if getattr(args, "json", False):
        print_json(report.to_json())
    else:
        sys.stdout.write(render(report))
    return 0
