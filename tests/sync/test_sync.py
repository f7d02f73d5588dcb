"""Whole syncs against the real loopback server: what is stored, paging, incremental runs, resume, faults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import threading
from collections import Counter
from pathlib import Path

import pytest
from conftest import ALL_TOKENS, FAST_RETRY, TOKEN, TOKEN_NO_DUMPS
from socorro_fake import DATA, FakeSocorro, Fault, make_crashes

from crashdesk.store import CrashStore
from crashdesk.store.syncstate import SyncState
from crashdesk.sync import AuthError, Secret, ServerTarget, SyncOptions, SyncQuery, SyncRunner, SyncSummary

SIGNATURES = json.loads((DATA / "signatures.json").read_text())


def sync(store, server, *, token=None, params=(), options=None, name="fake", **kw) -> SyncSummary:
    options = options or SyncOptions(retry=FAST_RETRY)
    target = ServerTarget(
        name, server.url, Secret(token) if token else None, concurrency=kw.pop("concurrency", 6)
    )
    return SyncRunner(
        store, target, SyncQuery.build(params, since=kw.pop("since", None)), options, **kw
    ).run()


def crash_ids(store) -> list[str]:
    return [r[0] for r in store.db.conn.execute("SELECT crash_id FROM crashes ORDER BY crash_id")]


def fetch_counts(server, endpoint="ProcessedCrash") -> Counter:
    return Counter(s.param("crash_id") for s in server.requests_to(endpoint))


def test_full_sync_with_token_stores_every_crash_once_with_dumps(store, many_crashes):
    crashes = many_crashes
    fake = FakeSocorro(list(crashes), tokens=dict(ALL_TOKENS)).start()
    try:
        _check_full_sync(store, fake, crashes)
    finally:
        fake.stop()


def _check_full_sync(store, fake, crashes):
    summary = sync(store, fake, token=TOKEN, options=SyncOptions(with_dumps=True, retry=FAST_RETRY))
    assert summary.complete, summary.lines()
    assert summary.progress.found == len(crashes)
    assert crash_ids(store) == sorted(c.crash_id for c in crashes)
    assert max(fetch_counts(fake).values()) == 1
    sample = crashes[:8] + [c for c in crashes if len(c.dumps) > 1][:4]
    assert any(len(c.dumps) > 1 for c in sample)
    for crash in sample:
        got = store.get(crash.crash_id)
        assert got["source"] == "server:fake"
        assert got["server_signature"] == SIGNATURES[crash.case]["signature"]
        assert got["server_processed"] == crash.processed  # the server's whole processed crash
        assert got["source_url"] == f"{fake.url}/report/index/{crash.crash_id}"
        assert got["annotations"]["ProductName"] == crash.product
        assert got["annotations"]["Comments"] == crash.raw["Comments"]  # protected: the token has view_pii
        # dumps stored byte for byte, as the server's metadata.dump_checksums says
        names = {d["name"]: d["sha256"] for d in got["dumps"]}
        assert names == crash.raw["metadata"]["dump_checksums"]
        main = (DATA / "cases" / crash.case / "dump.dmp").read_bytes()
        assert store.read_dump(crash.crash_id) == main
        # a dump is here: local processing will stackwalk it (no server json_dump stored as processed)
        assert got["state"] == "received" and got["processed"] is None
    state = SyncState(store)
    job = state.jobs()[0]
    assert job["items"] == {"pending": 0, "done": len(crashes), "failed": 0, "gone": 0}
    assert job["last_status"] == "complete"
    for row in store.db.conn.execute("SELECT sha256 FROM dumps LIMIT 20"):
        assert hashlib.sha256(store.blobs.read(row[0])).hexdigest() == row[0]


def test_anonymous_sync_keeps_public_data_and_uses_the_server_stackwalk(store, fake, crashes):
    summary = sync(store, fake)
    assert summary.complete
    assert store.count() == len(crashes)
    for crash in crashes[:6]:
        got = store.get(crash.crash_id)
        expected = json.loads((DATA / "cases" / crash.case / "expected.json").read_text())
        assert got["processed"] == expected  # the reference stackwalk the server keeps as json_dump
        assert got["state"] == "received"  # queued for a local signature
        assert got["dumps"] == []
        assert "Comments" not in got["annotations"] and "metadata" not in got["annotations"]
        assert "user_comments" not in got["server_processed"]
        assert got["os"] == expected["system_info"]["os"]
    assert not fake.requests_to("RawCrash") or all(
        s.param("format") == "meta" for s in fake.requests_to("RawCrash")
    )


def test_dumps_forbidden_is_graceful_and_a_later_token_fills_them_in(store, fake, crashes):
    opts = SyncOptions(with_dumps=True, retry=FAST_RETRY)
    first = sync(store, fake, token=TOKEN_NO_DUMPS, options=opts)
    assert first.complete, first.lines()
    assert first.dumps_forbidden == len(crashes)
    assert any("View Raw Dumps" in w for w in first.warnings)
    # the first 403 stops further dump requests for the run (at most one per worker in flight)
    assert len([s for s in fake.requests_to("RawCrash") if s.param("format") == "raw"]) <= 6
    assert store.count() == len(crashes)
    assert store.get(crashes[0].crash_id)["processed"] is not None  # the server's json_dump meanwhile

    second = sync(store, fake, token=TOKEN, options=opts)
    assert second.complete, second.lines()
    assert second.progress.fetched == len(crashes)
    assert max(fetch_counts(fake).values()) == 1  # processed crashes were not fetched again
    got = store.get(crashes[5].crash_id)
    assert {d["name"] for d in got["dumps"]} == set(crashes[5].dumps)
    assert got["state"] == "received"  # queued for a local stackwalk of the dump
    assert store.count() == len(crashes)


def test_paging_and_window_splitting_under_a_small_result_window(store, fake, crashes):
    fake.result_window = 40
    opts = SyncOptions(page_size=15, result_window=40, retry=FAST_RETRY)
    summary = sync(store, fake, options=opts)
    assert summary.complete, summary.lines()
    assert crash_ids(store) == sorted(c.crash_id for c in crashes)
    searches = fake.requests_to("SuperSearch")
    assert all(int(s.param("_results_offset")) + int(s.param("_results_number")) <= 40 for s in searches)
    assert any(int(s.param("_results_offset")) > 0 for s in searches)  # paged
    assert len({(s.query[0], s.query[1]) for s in searches}) > 6  # and split into many windows


def test_filters_select_a_slice(store, fake, crashes):
    summary = sync(store, fake, params=["product=CrashFactoryDemo", "signature==viewer_fatal"])
    wanted = {
        c.crash_id for c in crashes if c.product == "CrashFactoryDemo" and c.signature == "viewer_fatal"
    }
    assert wanted and summary.complete
    assert set(crash_ids(store)) == wanted
    search = fake.requests_to("SuperSearch")[0]
    assert ("product", "CrashFactoryDemo") in search.query and ("signature", "=viewer_fatal") in search.query


def test_incremental_run_fetches_only_new_crashes_and_late_ones_inside_the_overlap(store, fake, crashes):
    now = dt.datetime.now(dt.UTC)
    first = sync(store, fake, now=now)
    assert first.complete
    # new crashes arrive after the first run, and one older crash becomes searchable late (3 h before
    # the watermark: inside the overlap re-scan)
    later = make_crashes(15, start=now + dt.timedelta(minutes=1), end=now + dt.timedelta(hours=2), seed=99)
    late = make_crashes(
        1, start=now - dt.timedelta(hours=3, minutes=1), end=now - dt.timedelta(hours=3), seed=100
    )
    fake.crashes.extend(later + late)
    fake.by_id.update({c.crash_id: c for c in later + late})
    fake.seen.clear()
    second = sync(store, fake, now=now + dt.timedelta(hours=3))
    assert second.complete, second.lines()
    assert second.progress.new == 16
    assert set(fetch_counts(fake)) == {c.crash_id for c in later + late}
    assert store.count() == len(crashes) + 16
    # the second run listed from the watermark minus the overlap, not from the beginning
    lows = [s.param("date") for s in fake.requests_to("SuperSearch")]
    assert all(
        v.startswith(">=") and v[2:] >= (now - dt.timedelta(hours=6, seconds=1)).isoformat() for v in lows
    )


def test_cancel_then_resume_without_duplicates_or_gaps(store, fake, crashes):
    cancel = threading.Event()

    def progress(p):
        if p.fetched >= 40:
            cancel.set()

    first = sync(
        store,
        fake,
        token=TOKEN,
        options=SyncOptions(with_dumps=True, retry=FAST_RETRY),
        progress=progress,
        cancel=cancel,
    )
    assert first.cancelled and not first.complete
    stored = store.count()
    assert 40 <= stored < len(crashes)
    second = sync(store, fake, token=TOKEN, options=SyncOptions(with_dumps=True, retry=FAST_RETRY))
    assert second.complete, second.lines()
    assert crash_ids(store) == sorted(c.crash_id for c in crashes)
    rows = store.db.conn.execute(
        "SELECT crash, name, count(*) FROM dumps GROUP BY crash, name HAVING count(*) > 1"
    )
    assert rows.fetchall() == []
    # each crash fully fetched once; only the few in flight at the cancel were asked twice
    twice = [cid for cid, n in fetch_counts(fake).items() if n > 1]
    assert len(twice) <= 6


def test_transient_faults_during_a_sync_are_ridden_out(store, fake, crashes):
    fake.faults += [
        Fault("500", "ProcessedCrash", times=None, every=9),
        Fault("drop", "RawCrash", times=6, every=7),
        Fault("badjson", "SuperSearch", times=1),
        Fault("429", "*", times=4, every=31),
        Fault("503", "RawCrash.raw", times=5, every=11),
    ]
    summary = sync(store, fake, token=TOKEN, options=SyncOptions(with_dumps=True, retry=FAST_RETRY))
    assert summary.complete, summary.lines()
    assert summary.retries >= 10
    assert crash_ids(store) == sorted(c.crash_id for c in crashes)


def test_failures_are_summarised_and_retried_next_run(store, fake, crashes):
    victim = crashes[17].crash_id
    fake.faults.append(Fault("500", "ProcessedCrash", times=None, crash_id=victim))
    summary = sync(store, fake)
    assert not summary.complete
    assert [f.crash_id for f in summary.failures] == [victim]
    assert "HTTP 500" in summary.failures[0].reason
    assert any(victim in line for line in summary.lines())
    assert store.count() == len(crashes) - 1
    fake.faults.clear()
    fake.seen.clear()
    again = sync(store, fake)
    assert again.complete
    assert set(fetch_counts(fake)) == {victim}
    assert store.count() == len(crashes)


def test_a_crash_the_server_lost_is_reported_then_given_up(store, fake, crashes):
    lost = crashes[3].crash_id
    fake.missing.add(lost)
    for _ in range(2):
        s = sync(store, fake)
        assert not s.complete and [f.crash_id for f in s.failures] == [lost]
    third = sync(store, fake)
    assert third.complete and third.gone == [lost]
    assert sync(store, fake).complete
    assert store.count() == len(crashes) - 1


def test_bad_token_stops_the_sync(store, fake):
    with pytest.raises(AuthError, match="not matched"):
        sync(store, fake, token="e" * 32)


def test_query_refused_by_the_server_is_an_error(store, fake):
    from crashdesk.sync import SyncError

    with pytest.raises(SyncError, match="Not valid products"):
        sync(store, fake, params=["product=Netscape"])


def test_sync_state_never_holds_the_token(store, fake, data_dir: Path):
    sync(store, fake, token=TOKEN, options=SyncOptions(with_dumps=True, retry=FAST_RETRY))
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_summary_json_is_serialisable(store, fake):
    s = sync(store, fake)
    data = json.loads(json.dumps(s.to_json()))
    assert data["complete"] is True and data["progress"]["found"] == data["progress"]["fetched"]
    assert dataclasses.asdict(s.progress)["phase"] == "done"


def test_open_store_twice_keeps_sync_tables(data_dir, fake):
    with CrashStore.open(data_dir) as s1:
        sync(s1, fake)
    with CrashStore.open(data_dir) as s2:
        assert SyncState(s2).jobs()[0]["items"]["done"] > 0


def test_synced_crashes_get_a_local_signature_from_the_processing_service(data_dir, fake, crashes):
    """After a sync, `crashdesk process` signs crashes without a dump from the server's json_dump and
    stackwalks those with one; the server's signature stays beside the local one."""
    from crashdesk.cli import main

    few = [c.crash_id for c in crashes[:4]]
    with CrashStore.open(data_dir) as store:
        assert sync(
            store, fake, params=[f"date=<{crashes[4].date.isoformat()}"], since=crashes[0].date
        ).complete
        assert sorted(crash_ids(store)) == sorted(few)
    assert main(["--data-dir", str(data_dir), "process", "--workers", "1"]) == 0
    with CrashStore.open(data_dir) as store:
        for crash in crashes[:4]:
            got = store.get(crash.crash_id)
            assert got["state"] == "processed"
            assert got["server_signature"] == SIGNATURES[crash.case]["signature"]
            profiles = [h["profile"] for h in got["signature_history"]]
            assert "server:fake" in profiles and any(not p.startswith("server:") for p in profiles)
            assert got["signature"] and got["signature_profile"]
            assert got["processed"] == json.loads((DATA / "cases" / crash.case / "expected.json").read_text())
