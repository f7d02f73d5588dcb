"""Top crashers of crashes synced from the fake Socorro server on 127.0.0.1, field by field against the same
numbers computed from the server's own SuperSearch facets (as Crash Stats' Top Crashers page computes them:
``_aggs.signature`` with ``platform``, ``_cardinality.install_time`` and a 60-second ``_histogram.uptime``)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
from conftest import ALL_TOKENS, FAST_RETRY, TOKEN, cli_env
from socorro_fake import FakeSocorro, make_crashes

from crashdesk.sync import Secret, ServerTarget, SyncOptions, SyncQuery, SyncRunner

PRODUCT, VERSION, DAYS = "CrashFactoryDemo", "1.5.0", 7


def supersearch(server, params: list[tuple[str, str]]) -> dict:
    url = f"{server.url}/api/SuperSearch/?{urllib.parse.urlencode(params)}"
    req = urllib.request.Request(url, headers={"Auth-Token": TOKEN})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def when(t: dt.datetime) -> str:
    return t.isoformat()


def expected_from_facets(server, start: dt.datetime, end: dt.datetime, first: dt.datetime) -> list[dict]:
    base = [("product", PRODUCT), ("version", VERSION), ("_results_number", "0"), ("_facets_size", "1000")]
    cur = supersearch(server, [*base, ("date", ">=" + when(start)), ("date", "<" + when(end)),
                               ("_aggs.signature", "platform"), ("_aggs.signature", "_cardinality.install_time"),
                               ("_aggs.signature", "_histogram.uptime"), ("_histogram_interval.uptime", "60")])
    prev = supersearch(server, [*base, ("date", ">=" + when(start - dt.timedelta(days=DAYS))),
                                ("date", "<" + when(start))])
    before = supersearch(server, [*base, ("date", ">=" + when(first)), ("date", "<" + when(start))])

    def ranked(buckets):
        return sorted(buckets, key=lambda b: (-b["count"], b["term"]))

    prev_rank = {b["term"]: i + 1 for i, b in enumerate(ranked(prev["facets"]["signature"]))}
    prev_count = {b["term"]: b["count"] for b in prev["facets"]["signature"]}
    seen = {b["term"] for b in before["facets"]["signature"]}
    out = []
    for i, b in enumerate(ranked(cur["facets"]["signature"])):
        sig, n, facets = b["term"], b["count"], b["facets"]
        startup = sum(h["count"] for h in facets["histogram_uptime"] if h["term"] < 60)
        out.append({
            "rank": i + 1, "signature": sig, "count": n, "percent": 100 * n / cur["total"],
            "previous_rank": prev_rank.get(sig),
            "rank_change": prev_rank[sig] - (i + 1) if sig in prev_rank else None,
            "previous_percent": 100 * prev_count[sig] / prev["total"] if sig in prev_count else None,
            "is_new": sig not in seen,
            "startup_percent": 100 * startup / n,
            "platforms": {p["term"]: p["count"] for p in facets["platform"]},
            "installations": facets["cardinality_install_time"]["value"] or None,
        })
    return out


@pytest.fixture
def synced(tmp_path):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first = now - dt.timedelta(days=16)
    crashes = make_crashes(240, start=first, end=now - dt.timedelta(minutes=1), seed=5, timing=True)
    server = FakeSocorro(list(crashes), tokens=dict(ALL_TOKENS)).start()
    data = tmp_path / "data"
    from crashdesk.store import CrashStore

    store = CrashStore.open(data)
    try:
        target = ServerTarget("fake", server.url, Secret(TOKEN), concurrency=4)
        summary = SyncRunner(store, target, SyncQuery.build((), since=first - dt.timedelta(minutes=1)),
                             SyncOptions(retry=FAST_RETRY)).run()
        assert summary.complete, summary.lines()
        assert store.count() == len(crashes)
    finally:
        store.close()
    yield server, data, now, first
    server.stop()


def test_topcrashers_json_matches_supersearch_facets(synced):
    server, data, now, first = synced
    end = now
    start = end - dt.timedelta(days=DAYS)
    proc = subprocess.run(
        [sys.executable, "-m", "crashdesk", "topcrashers", "--data-dir", str(data), "--product", PRODUCT,
         "--version", VERSION, "--days", str(DAYS), "--end", end.isoformat(), "--limit", "100", "--json"],
        capture_output=True, text=True, env=cli_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    expected = expected_from_facets(server, start, end, first)
    assert expected and got["total"] == sum(e["count"] for e in expected)
    assert len(got["signatures"]) == len(expected)
    for row, want in zip(got["signatures"], expected, strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert row[key] == pytest.approx(value), (key, want["signature"])
            else:
                assert row[key] == value, (key, want["signature"], row[key], value)
    # the data must exercise the columns, or the comparison proves little
    assert any(0 < r["startup_percent"] < 100 for r in got["signatures"])
    assert all(r["installations"] and r["installations"] > 1 for r in got["signatures"])
    assert all(r["previous_rank"] is not None for r in got["signatures"])


def test_topcrashers_cli_errors(synced):
    _server, data, _now, _first = synced
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "topcrashers", "--data-dir", str(data),
                           'product:"open', "--json"], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "topcrashers", "--data-dir", str(data),
                           "--days", "0"], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "topcrashers", "--data-dir", str(data),
                           "--product", PRODUCT, "--compare", "1.4.2", VERSION, "--json"],
                          capture_output=True, text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    cmp = json.loads(proc.stdout)
    assert {m["status"] for m in cmp["signatures"]} == {"both"}
    assert sum(m["count_a"] for m in cmp["signatures"]) == cmp["a"]["total"] > 0
