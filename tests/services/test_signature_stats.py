"""Signature aggregates over a real store filled from the reference processed crashes in tests/data/crashes,
with the submission dates and versions this test chooses (so the expected counts are known up front)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from crashdesk.services.signature_stats import (
    crashes_by_day,
    crashes_by_version,
    crashes_over_time,
    signature_query,
    signature_table,
)
from crashdesk.store.crashes import NewCrash, SignatureRecord

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes"
#: (case, version, os override, day) for each stored crash
PLAN = [
    ("01-null-deref", "1.4.2", None, "2026-11-20"),
    ("01-null-deref", "1.4.10", None, "2026-11-20"),
    ("01-null-deref", "1.4.10", "Windows NT", "2026-11-22"),
    ("01-null-deref", "1.4.9", None, "2026-11-23"),
    ("05-thread", "1.4.2", None, "2026-11-21"),
    ("05-thread", "1.4.2", None, "2026-11-23"),
]


def _signature(case: str) -> str:
    # the reference stackwalk's crashing thread's top function is the signature for these plain crashes
    expected = json.loads((DATA / case / "expected.json").read_text())
    thread = expected["threads"][expected["crash_info"]["crashing_thread"]]
    return thread["frames"][0]["function"]


@pytest.fixture
def filled(store):
    items = []
    for n, (case, version, os_name, day) in enumerate(PLAN):
        ann = json.loads((DATA / case / "annotations.json").read_text())
        ann["Version"] = version
        processed = json.loads((DATA / case / "expected.json").read_text())
        if os_name:
            processed = {**processed, "system_info": {**processed["system_info"], "os": os_name}}
        items.append(NewCrash(ann, source="import", submitted_at=f"{day}T1{n}:00:00+00:00", processed=processed,
                              signature=SignatureRecord(_signature(case), None, [], "mozilla")))
    # one crash never processed: no signature
    items.append(NewCrash({"ProductName": "CrashFactoryDemo", "Version": "1.4.2"}, source="collector",
                          submitted_at="2026-11-23T20:00:00+00:00"))
    store.add_many(items)
    return store


def test_table_counts_shares_dates_versions_and_os(filled):
    table = signature_table(filled, "")
    assert table.total == len(PLAN) + 1
    rows = {r.signature: r for r in table.rows}
    deref = rows[_signature("01-null-deref")]
    assert deref.count == 4 and deref.share == pytest.approx(4 / 7)
    assert deref.first_seen.startswith("2026-11-20") and deref.last_seen.startswith("2026-11-23")
    # versions in version order, newest first (1.4.10 > 1.4.9 > 1.4.2, which text order gets wrong)
    assert deref.versions == [("1.4.10", 2), ("1.4.9", 1), ("1.4.2", 1)]
    linux = json.loads((DATA / "01-null-deref" / "expected.json").read_text())["system_info"]["os"]
    assert dict(deref.os_split) == {linux: 3, "Windows NT": 1}
    assert deref.os_split[0] == (linux, 3)
    assert rows[None].count == 1 and rows[None].label == "(no signature)"
    assert [r.count for r in table.rows] == sorted((r.count for r in table.rows), reverse=True)


def test_charts_follow_the_query(filled):
    sig = _signature("01-null-deref")
    assert crashes_by_day(filled, "", sig) == [("2026-11-20", 2), ("2026-11-22", 1), ("2026-11-23", 1)]
    assert crashes_by_version(filled, "", sig) == [("1.4.2", 1), ("1.4.9", 1), ("1.4.10", 2)]
    everything = Counter(day for _, _, _, day in PLAN) + Counter({"2026-11-23": 1})
    assert crashes_by_day(filled, "", all_signatures=True) == sorted(everything.items())
    # narrowing the query narrows the charts and the table
    assert crashes_by_version(filled, "version:1.4.10", sig) == [("1.4.10", 2)]
    narrowed = signature_table(filled, "os:\"Windows NT\"")
    assert narrowed.total == 1 and [r.signature for r in narrowed.rows] == [sig]


def test_signature_query_selects_exactly_one_signature(filled):
    for sig in (_signature("01-null-deref"), _signature("05-thread")):
        expected = sum(1 for case, *_ in PLAN if _signature(case) == sig)
        assert filled.search(signature_query(sig), limit=0).total == expected
    assert filled.search(signature_query(None), limit=0).total == 1
    assert signature_query('a "quoted" \\ sig') == 'signature:="a \\"quoted\\" \\\\ sig"'


def test_bad_query_is_a_typed_error(filled):
    from crashdesk.errors import CrashDeskError

    with pytest.raises(CrashDeskError):
        signature_table(filled, "versoin:1.0")


def test_crashes_over_time_picks_the_unit_from_the_span(store, tmp_path):
    """Day by day up to 60 days (every day listed, 0 where none), then month by month, then year by year: the
    counts are the stored crashes', bucketed here from their dates."""
    import datetime as dt

    from crashdesk.store import CrashStore

    def fill(dates):
        with CrashStore.open(tmp_path / str(len(list(tmp_path.iterdir())))) as own:
            own.add_many([NewCrash({"ProductName": "P"}, source="import", submitted_at=f"{d}T12:00:00+00:00",
                                   signature=SignatureRecord("s", None, [], "t")) for d in dates])
            return crashes_over_time(own, "", all_signatures=True)

    assert crashes_over_time(store, "", all_signatures=True) == ("day", [])
    unit, rows = fill(["2026-11-01", "2026-11-01", "2026-11-04"])
    assert unit == "day" and rows == [("2026-11-01", 2), ("2026-11-02", 0), ("2026-11-03", 0), ("2026-11-04", 1)]
    start = dt.date(2026, 1, 1)
    dates = [start + dt.timedelta(days=k) for k in range(0, 59, 3)]
    unit, rows = fill([d.isoformat() for d in dates])
    assert unit == "day" and len(rows) == 58 and sum(n for _, n in rows) == len(dates)
    unit, rows = fill(["2024-10-30", "2024-12-02", "2025-01-15", "2025-01-16"])
    assert unit == "month" and rows == [("2024-10", 1), ("2024-11", 0), ("2024-12", 1), ("2025-01", 2)]
    unit, rows = fill(["2007-02-14", "2010-09-29", "2010-10-01", "2015-06-18"])
    assert unit == "year" and rows == [("2007", 1), ("2008", 0), ("2009", 0), ("2010", 2), ("2011", 0),
                                       ("2012", 0), ("2013", 0), ("2014", 0), ("2015", 1)]
