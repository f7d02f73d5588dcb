"""Top crashers on generated stores: every column equals a brute-force computation over the same crashes.

The generated crashes have known distributions (signature weights, versions, dates over 20 days, uptimes
around the 60 s line, install ids, platforms, and a burst on the last day for some signatures); the reference
below recomputes ranks, shares, changes, "new" marks, start-up shares, installations and spike marks from the
plain list of crashes with Python only (no SQL), following the definitions in the README.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.errors import UsageError
from crashdesk.model.crash_id import new_crash_id
from crashdesk.model.versions import version_key
from crashdesk.services import topcrashers as tc
from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash, SignatureRecord

END = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
SIGS = ["alpha | one", "beta::two", "gamma", "delta | d", "epsilon", "zeta | oom", None]
VERSIONS = ["1.9", "1.10", "2.0"]
OSES = ["Windows NT", "Linux", "Mac OS X"]


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="microseconds")


def crash(sig, when, *, version="2.0", product="App", os_name="Linux", uptime=None, startup=None, install=None,
          guid=None, process_uptime=None):
    ann = {"ProductName": product, "Version": version, "os": os_name}
    if uptime is not None:
        ann["UptimeTS"] = str(uptime)
    if startup is not None:  # (crash time, startup time)
        ann["CrashTime"], ann["StartupTime"] = str(startup[0]), str(startup[1])
    if install is not None:
        ann["InstallTime"] = str(install)
    if guid is not None:
        ann["guid"] = guid
    # the stackwalker's process_uptime (from the minidump) in an otherwise empty processed crash
    processed = {"process_uptime": process_uptime} if process_uptime is not None else None
    return NewCrash(ann, source="import", crash_id=new_crash_id(), submitted_at=iso(when), processed=processed,
                    signature=SignatureRecord(sig, profile="test") if sig else None)


# ---------------------------------------------------------------------------------------------- reference


def ref_uptime(c):
    """Crash Stats' reading of the annotations, else the minidump's process uptime."""
    ann = c.annotations
    if "UptimeTS" in ann:
        return float(ann["UptimeTS"])
    if "CrashTime" in ann and "StartupTime" in ann:
        return max(0.0, float(ann["CrashTime"]) - float(ann["StartupTime"]))
    return (c.processed or {}).get("process_uptime")


def reference(crashes, *, product, version, days, end, against=None, limit=None):
    def sig(c):
        return c.signature.signature if c.signature else None

    def when(c):
        return dt.datetime.fromisoformat(c.submitted_at)

    def base(c):
        return c.annotations["ProductName"].lower() == product.lower()

    start = end - dt.timedelta(days=days)
    in_window = [c for c in crashes if base(c) and start <= when(c) < end]
    cur = [c for c in in_window if c.annotations["Version"] == version]
    if against is None:
        pstart = start - dt.timedelta(days=days)
        prev = [c for c in crashes if base(c) and c.annotations["Version"] == version and pstart <= when(c) < start]
        seen = {sig(c) for c in crashes if base(c) and c.annotations["Version"] == version and when(c) < start}
    else:
        prev = [c for c in in_window if c.annotations["Version"] == against]
        seen = {sig(c) for c in crashes if base(c) and version_key(c.annotations["Version"]) < version_key(version)}

    def ranking(cs):
        counts = Counter(sig(c) for c in cs)
        order = sorted(counts, key=lambda s: (-counts[s], s is None, s or ""))
        return counts, {s: i + 1 for i, s in enumerate(order)}, order

    counts, ranks, order = ranking(cur)
    pcounts, pranks, _ = ranking(prev)
    out = []
    for s in order[:limit]:
        mine = [c for c in cur if sig(c) == s]
        startup = sum(1 for c in mine if (u := ref_uptime(c)) is not None and u < 60)
        known = sum(1 for c in mine if ref_uptime(c) is not None)
        installs = set()
        for c in mine:
            if "InstallTime" in c.annotations:
                installs.add(("i", c.annotations["InstallTime"]))
            elif "guid" in c.annotations:
                installs.add(("g", c.annotations["guid"]))
        # spike: the 24 h before end against the 7 x 24 h before that, same product and version, any window
        same = [c for c in crashes if base(c) and c.annotations["Version"] == version and sig(c) == s]
        last = sum(1 for c in same if end - dt.timedelta(days=1) <= when(c) < end)
        before = sum(1 for c in same if end - dt.timedelta(days=8) <= when(c) < end - dt.timedelta(days=1))
        lam = max(before, 1) / 7
        p = 1 - sum(math.exp(-lam) * lam ** i / math.factorial(i) for i in range(last))
        out.append({
            "rank": ranks[s], "signature": s, "count": counts[s], "percent": 100 * counts[s] / len(cur),
            "previous_rank": pranks.get(s),
            "rank_change": pranks[s] - ranks[s] if s in pranks else None,
            "previous_percent": 100 * pcounts[s] / len(prev) if s in pcounts else None,
            "is_new": s not in seen, "startup_percent": 100 * startup / counts[s], "startup_known": known,
            "platforms": dict(Counter(c.annotations["os"] for c in mine)),
            "installations": len(installs) or None,
            "spike": last >= 3 and p < 1e-3, "last_day": last,
        })
    return out


def assert_same(rows, expected):
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        g = got.to_json()
        for key, value in want.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (key, got.signature)
            else:
                assert g[key] == value, (key, got.signature, g[key], value)


# ---------------------------------------------------------------------------------------------- generation


@st.composite
def crash_sets(draw):
    n = draw(st.integers(20, 140))
    weights = draw(st.lists(st.integers(1, 20), min_size=len(SIGS), max_size=len(SIGS)))
    burst = draw(st.sets(st.sampled_from(SIGS[:-1]), max_size=2))
    burst_size = draw(st.integers(0, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = rng.choices(SIGS, weights)[0]
        when = END - dt.timedelta(seconds=rng.randrange(1, 20 * 86400))
        kind = rng.random()
        out.append(crash(
            s, when, version=rng.choice(VERSIONS), product=rng.choice(["App", "App", "app", "Other"]),
            os_name=rng.choice(OSES),
            uptime=rng.choice([0, 5, 59, 59.9, 60, 61, 3600]) if kind < 0.4 else None,
            startup=(1000 + rng.choice([10, 59, 60, 200]), 1000) if 0.4 <= kind < 0.7 else None,
            install=rng.randrange(5) if rng.random() < 0.5 else None,
            guid=f"g{rng.randrange(4)}" if rng.random() < 0.5 else None,
            # a minidump uptime, alone or beside the annotations (which win, as Crash Stats reads them)
            process_uptime=rng.choice([0, 30, 59, 60, 7200]) if rng.random() < 0.4 else None))
    # a steady signature (``rate`` a day over the last 8 days) and bursts on the last day: spike marks both ways
    steady, rate = draw(st.sampled_from(SIGS[:-1])), draw(st.integers(0, 3))
    for day in range(8):
        for _ in range(rate):
            out.append(crash(steady, END - dt.timedelta(days=day, seconds=rng.randrange(1, 86400)), version="2.0"))
    for _ in range(draw(st.integers(0, 8))):
        out.append(crash(steady, END - dt.timedelta(seconds=rng.randrange(1, 86400)), version="2.0"))
    for s in burst:
        for _ in range(burst_size):
            out.append(crash(s, END - dt.timedelta(seconds=rng.randrange(1, 86400)), version="2.0"))
    return out


def fill(store, crashes):
    store.add_many(crashes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(crashes=crash_sets(), days=st.sampled_from([1, 3, 7]), against=st.sampled_from([None, "1.10", "1.9"]),
       limit=st.sampled_from([None, 3]), range_read=st.sampled_from([0, 10**9]))
def test_columns_equal_brute_force(tmp_path_factory, crashes, days, against, limit, range_read):
    store = CrashStore.open(tmp_path_factory.mktemp("tc"))
    saved = tc.RANGE_READ_SHARE
    tc.RANGE_READ_SHARE = range_read  # 0: look annotations up per crash; 10**9: read each key's whole range
    try:
        fill(store, crashes)
        scope = tc.Scope("", "App", "2.0", days, END)
        report = tc.top_crashers(store, scope, against_version=against, limit=limit)
        expected = reference(crashes, product="App", version="2.0", days=days, end=END, against=against,
                             limit=limit)
        assert_same(report.rows, expected)
        assert report.total == sum(1 for c in crashes if c.annotations["ProductName"].lower() == "app"
                                   and c.annotations["Version"] == "2.0"
                                   and END - dt.timedelta(days=days) <= dt.datetime.fromisoformat(c.submitted_at) < END)
    finally:
        tc.RANGE_READ_SHARE = saved
        store.close()


def test_known_store(store):
    """A hand-made store: every figure below is read off the crash list."""
    e = END
    crashes = [
        # previous week: b x3, a x1
        *(crash("b", e - dt.timedelta(days=9)) for _ in range(3)),
        crash("a", e - dt.timedelta(days=10)),
        # this week: a x4 (2 at start-up, 2 installs), b x2, c x1 (new)
        crash("a", e - dt.timedelta(days=2), uptime=3, install=1),
        crash("a", e - dt.timedelta(days=2), startup=(100, 50), install=1, os_name="Windows NT"),
        crash("a", e - dt.timedelta(days=3), uptime=60, guid="x"),
        crash("a", e - dt.timedelta(days=3)),
        crash("b", e - dt.timedelta(days=4)),
        crash("b", e - dt.timedelta(days=4)),
        crash("c", e - dt.timedelta(hours=2), process_uptime=12),  # only the minidump knows: 12 s, at start-up
    ]
    store.add_many(crashes)
    report = tc.top_crashers(store, tc.Scope("", "App", "2.0", 7, e))
    rows = {r.signature: r for r in report.rows}
    assert [r.signature for r in report.rows] == ["a", "b", "c"]
    assert (rows["a"].previous_rank, rows["a"].rank_change, rows["a"].is_new) == (2, 1, False)
    assert (rows["b"].previous_rank, rows["b"].rank_change) == (1, -1)
    assert rows["c"].is_new and rows["c"].previous_rank is None and rows["c"].previous_percent is None
    assert rows["a"].startup_percent == 50.0  # UptimeTS 3 s and CrashTime - StartupTime 50 s; not 60 s, not unknown
    assert (rows["a"].startup_known, rows["b"].startup_known) == (3, 0)  # b's share is unknown, not 0%
    assert (rows["c"].startup_known, rows["c"].startup_percent) == (1, 100.0)
    assert rows["a"].installations == 2 and rows["b"].installations is None
    assert rows["a"].platforms == {"Linux": 3, "Windows NT": 1}
    assert rows["a"].percent == pytest.approx(100 * 4 / 7)
    assert rows["b"].previous_percent == pytest.approx(75.0)


def test_defaults_pick_product_and_newest_version(store):
    now = dt.datetime.now(dt.UTC)
    store.add_many([crash("x", now - dt.timedelta(days=1), version="1.10"),
                    crash("x", now - dt.timedelta(days=1), version="1.9"),
                    crash("y", now - dt.timedelta(days=1), version="1.9", product="Small"),
                    crash("z", now - dt.timedelta(days=30), version="3.0")])
    report = tc.top_crashers(store, tc.Scope())
    assert (report.scope.product, report.scope.version) == ("App", "1.10")  # 3.0 crashed outside the window
    assert [r.signature for r in report.rows] == ["x"]


def test_bad_scope_and_query(store):
    with pytest.raises(UsageError):
        tc.top_crashers(store, tc.Scope("", "App", "1", 0, END))
    with pytest.raises(UsageError):
        tc.top_crashers(store, tc.Scope("", "App", tc.ALL_VERSIONS, 7, END), against_version="1")
    from crashdesk.engine.query import QueryError

    with pytest.raises(QueryError):
        tc.top_crashers(store, tc.Scope('product:"open', "App", "1", 7, END))


def test_comparison_alignment(store):
    e = END
    store.add_many([
        *(crash("stay", e - dt.timedelta(days=1), version="1.9") for _ in range(4)),
        *(crash("stay", e - dt.timedelta(days=1), version="2.0") for _ in range(2)),
        crash("gone", e - dt.timedelta(days=1), version="1.9"),
        *(crash("new", e - dt.timedelta(days=1), version="2.0") for _ in range(3)),
        *(crash("up", e - dt.timedelta(days=1), version="1.9") for _ in range(1)),
        *(crash("up", e - dt.timedelta(days=1), version="2.0") for _ in range(5)),
    ])
    a, b = tc.version_scopes("App", ["1.9", "2.0"])
    cmp = tc.compare(store, a, b)
    assert [(m.signature, m.status) for m in cmp.rows] == [
        ("new", "new"), ("gone", "gone"), ("stay", "both"), ("up", "both")]
    # stay: 4/6 -> 2/10 = -46.7 points; up: 1/6 -> 5/10 = +33.3 points
    by = {m.signature: m for m in cmp.rows}
    assert by["stay"].change == pytest.approx(100 * (2 / 10 - 4 / 6))
    assert by["up"].change == pytest.approx(100 * (5 / 10 - 1 / 6))
    # new: 0 -> 3/10 = +30 points, gone: 1/6 -> 0 = -16.7 points
    assert [m.signature for m in cmp.top_movers(3)] == ["stay", "up", "new"]


def test_trend_spike_query_term(store):
    now = dt.datetime.now(dt.UTC)
    rows = [crash("steady", now - dt.timedelta(days=d, hours=1)) for d in range(8) for _ in range(5)]
    rows += [crash("burst", now - dt.timedelta(hours=h)) for h in range(1, 7)]
    rows += [crash("burst", now - dt.timedelta(days=4))]
    rows += [crash("pair", now - dt.timedelta(hours=1)), crash("pair", now - dt.timedelta(hours=2))]
    store.add_many(rows)
    result = store.search("trend:spike", limit=100)
    assert {h["signature"] for h in result.hits} == {"burst"}
    assert result.total == 7  # every crash of the spiking signature, not only the last day's
    assert store.search("trend:spike product:Nope").total == 0
    from crashdesk.engine.query import QueryError

    with pytest.raises(QueryError, match="trend takes one value, spike"):  # with the value's column
        store.search("trend:rising")


def daily_reference(crashes, sig, end):
    out = [0] * 8
    for c in crashes:
        if (c.signature.signature if c.signature else None) != sig:
            continue
        age = end - dt.datetime.fromisoformat(c.submitted_at)
        k = math.ceil(age / dt.timedelta(days=1)) - 1  # bucket k holds k days < age <= k + 1 days
        if age > dt.timedelta(0) and k < 8:
            out[7 - k] += 1
    return out


def test_daily_counts_on_boundaries(store):
    e = END
    crashes = [crash("s", e - dt.timedelta(days=k)) for k in range(0, 9)]  # exactly on bucket starts
    crashes += [crash("s", e - dt.timedelta(days=k, microseconds=1)) for k in range(0, 9)]
    store.add_many(crashes)
    conn = store.db.conn
    got = tc.daily_counts(conn, tc.Scope("", "App", "2.0", 7, e))["s"]
    assert got == daily_reference(crashes, "s", e)


def test_hostile_annotation_values(store):
    """Uptime and install annotations are whatever a client sent: text, NaN, infinities, huge numbers, a
    megabyte of digits. None may raise or count as a start-up crash; the rest of the report stands."""
    e = END
    hostile = ["abc", "nan", "inf", "-inf", "1e999", "-5", "", " 12 ", "9" * 1_000_000, "0x10", "١٢"]
    crashes = [crash("h", e - dt.timedelta(days=1)) for _ in hostile]
    for c, value in zip(crashes, hostile, strict=True):
        c.annotations.update(UptimeTS=value, CrashTime=value, StartupTime="1", InstallTime=value)
    crashes.append(crash("h", e - dt.timedelta(days=1), uptime=5))
    store.add_many(crashes)
    row = tc.top_crashers(store, tc.Scope("", "App", "2.0", 7, e)).rows[0]
    assert row.count == len(hostile) + 1
    # start-up: whatever reads as a number under 60 s (the genuine 5 s, "-5", " 12 ", "-inf", "١٢" = 12)
    expected = 0
    for v in [*hostile, "5"]:
        try:
            expected += float(v) < 60
        except ValueError:
            pass
    assert expected == 5 and row.startup_percent == pytest.approx(100 * expected / row.count)
    assert row.installations == len({v for v in hostile if v})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(crashes=crash_sets(), versions=st.sampled_from([("1.9", "2.0"), ("2.0", "1.10")]),
       days=st.sampled_from([None, 3]))
def test_comparison_equals_brute_force(tmp_path_factory, crashes, versions, days):
    store = CrashStore.open(tmp_path_factory.mktemp("cmp"))
    try:
        store.add_many(crashes)
        a, b = tc.version_scopes("App", versions, days=days, end=END)
        got = tc.compare(store, a, b)

        def counts(version):
            return Counter(c.signature.signature if c.signature else None for c in crashes
                           if c.annotations["ProductName"].lower() == "app" and c.annotations["Version"] == version
                           and (days is None or END - dt.timedelta(days=days)
                                <= dt.datetime.fromisoformat(c.submitted_at) < END))

        ca, cb = counts(versions[0]), counts(versions[1])
        assert {m.signature: (m.count_a, m.count_b) for m in got.rows} == {
            s: (ca[s], cb[s]) for s in set(ca) | set(cb)}
        assert (got.total_a, got.total_b) == (sum(ca.values()), sum(cb.values()))
        statuses = [m.status for m in got.rows]
        assert statuses == sorted(statuses, key=["new", "gone", "both"].index)
        both = [abs(m.change) for m in got.rows if m.status == "both"]
        assert both == sorted(both, reverse=True)
    finally:
        store.close()


def test_newest_crash_before_an_empty_window(store, data_dir):
    """Crashes from an earlier time: the scope's newest crash (whatever its date; product and query apply),
    the window that ends just after it holds it, and the CLI's empty report says where to end the window."""
    import subprocess
    import sys
    from pathlib import Path

    old = END - dt.timedelta(days=30)
    store.add_many([crash("a", old), crash("a", old - dt.timedelta(days=2)), crash("b", old + dt.timedelta(hours=5),
                                                                                     product="Other")])
    scope = tc.Scope("", "App", None, 7, END)
    newest = tc.newest_crash(store, scope)
    assert abs(newest - old) < dt.timedelta(seconds=1)
    assert tc.newest_crash(store, tc.Scope("signature:b", None, None, 7, END)) - old == dt.timedelta(hours=5)
    assert tc.newest_crash(store, tc.Scope("", "Nobody", None, 7, END)) is None
    end = tc.window_ending_at(newest)
    report = tc.top_crashers(store, tc.Scope("", "App", None, 7, end))
    assert report.total == 2 and [r.count for r in report.rows] == [2]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(data_dir), "topcrashers",
                           "--product", "App", "--end", f"{END:%Y-%m-%dT%H:%M}"], capture_output=True, text=True,
                          cwd=root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"no crash in this window; the newest one of App is from {newest:%Y-%m-%d %H:%M} UTC: add --end " \
           f"{end:%Y-%m-%dT%H:%M}" in proc.stderr
