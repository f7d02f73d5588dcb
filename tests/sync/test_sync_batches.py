"""The sync writer stores the fetched crashes waiting for it in one transaction: what it stores is what storing
them one at a time stores, and a crash that cannot be stored fails alone (reported, retried next run) while
the others of its transaction are stored."""

from __future__ import annotations

import copy
import json
import logging

import pytest
from conftest import ALL_TOKENS, FAST_RETRY, TOKEN
from socorro_fake import DATA, PROTECTED_PROCESSED, FakeSocorro, make_crashes

from crashdesk.store import CrashStore
from crashdesk.store.syncstate import SyncState
from crashdesk.sync import Secret, ServerTarget, SyncOptions, SyncQuery, SyncRunner, runner

IGNORED = {"received_at", "processed_at"}


def _sync(store, server, *, token=None, with_dumps=False):
    target = ServerTarget("fake", server.url, Secret(token) if token else None, concurrency=8)
    return SyncRunner(store, target, SyncQuery.build(()), SyncOptions(with_dumps=with_dumps, retry=FAST_RETRY)).run()


def _stored(store) -> dict[str, dict]:
    out = {}
    for (crash_id,) in store.db.conn.execute("SELECT crash_id FROM crashes"):
        doc = {k: v for k, v in store.get(crash_id).items() if k not in IGNORED}
        doc["dumps"] = [(d["name"], d["sha256"], d["size"]) for d in doc["dumps"]]
        doc["signature_history"] = [{k: v for k, v in h.items() if k not in ("created_at", "id")}
                                    for h in doc["signature_history"]]
        out[crash_id] = doc
    return out


@pytest.fixture
def hostile_crashes():
    """Crashes whose third's server-side stackwalk names a function with a lone surrogate (valid JSON,
    ``"\\ud800"``, that no SQLite text can hold)."""
    crashes = make_crashes(60, seed=23)
    victim = crashes[2]
    victim.processed = copy.deepcopy(victim.processed)
    victim.processed["json_dump"]["threads"][0]["frames"][0]["function"] = "\ud800"
    return crashes, victim.crash_id


@pytest.mark.parametrize("with_dumps", [False, True])
def test_grouped_writes_store_what_one_at_a_time_stores(tmp_path, monkeypatch, with_dumps):
    crashes = make_crashes(60, seed=29)
    fake = FakeSocorro(list(crashes), tokens=dict(ALL_TOKENS)).start()
    try:
        grouped = CrashStore.open(tmp_path / "grouped")
        single = CrashStore.open(tmp_path / "single")
        try:
            summary = _sync(grouped, fake, token=TOKEN, with_dumps=with_dumps)
            assert summary.complete, summary.lines()
            assert grouped.ingest_seconds["draft"] > 0  # stored through add_many
            monkeypatch.setattr(runner, "STORE_GROUP", 1)
            assert _sync(single, fake, token=TOKEN, with_dumps=with_dumps).complete
            want = _stored(single)
            assert sorted(want) == sorted(c.crash_id for c in crashes)
            assert _stored(grouped) == want
            # without a dump the server's stackwalk is the processed crash, queued for a local signature
            states = {doc["state"] for doc in want.values()}
            assert states == {"received"}
            assert all((doc["processed"] is None) == with_dumps for doc in want.values())
            for store in (grouped, single):
                assert SyncState(store).jobs()[0]["items"]["done"] == len(crashes)
            for query in ("function:~page_measure", "thread:any function:~main", "server_signature:~viewer", ""):
                hits = [sorted(h["crash_id"] for h in s.search(query, limit=500).hits) for s in (grouped, single)]
                assert hits[0] == hits[1], query
                assert hits[0] or with_dumps, query
        finally:
            grouped.close()
            single.close()
    finally:
        fake.stop()


def test_a_crash_that_cannot_be_stored_fails_alone(store, hostile_crashes, caplog):
    crashes, victim = hostile_crashes
    fake = FakeSocorro(list(crashes), tokens=dict(ALL_TOKENS)).start()
    try:
        with caplog.at_level(logging.ERROR, logger="crashdesk.sync.runner"):
            summary = _sync(store, fake)
        assert "storing" in caplog.text and "in one transaction failed" in caplog.text
        assert [f.crash_id for f in summary.failures] == [victim]
        assert "could not store the crash" in summary.failures[0].reason
        assert summary.progress.fetched == len(crashes) - 1 and summary.progress.failed == 1
        items = SyncState(store).jobs()[0]["items"]
        assert items["done"] == len(crashes) - 1 and items["failed"] == 1
        # every other crash is stored whole: the server's stackwalk as its processed crash, queued
        for crash in crashes:
            if crash.crash_id == victim:
                continue
            got = store.get(crash.crash_id)
            assert got["processed"] == json.loads((DATA / "cases" / crash.case / "expected.json").read_text())
            assert got["server_processed"] == {k: v for k, v in crash.processed.items()
                                               if k not in PROTECTED_PROCESSED}
            assert got["state"] == "received" and got["source"] == "server:fake"
        # as one at a time: its raw crash was stored before its processed crash failed
        assert store.get(victim)["processed"] is None
    finally:
        fake.stop()
