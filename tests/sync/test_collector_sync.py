"""The other direction: sync from a real CrashDesk collector (``crashdesk collector`` subprocess) that
received real Crashpad minidumps over HTTP, with and without the collector's read-API token."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import FAST_RETRY, cli_env
from socorro_fake import DATA

from crashdesk.store import CrashStore
from crashdesk.sync import Secret, ServerTarget, SyncOptions, SyncQuery, SyncRunner

COLLECTOR_TOKEN = "c0ffee00c0ffee00c0ffee00c0ffee00"
CASES = sorted(p for p in (DATA / "cases").iterdir() if p.is_dir())


@pytest.fixture
def collector(tmp_path, keyring_home):
    home = tmp_path / "collector-home"
    env = cli_env(
        {
            "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "XDG_DATA_HOME": str(keyring_home),
            "CRASHDESK_COLLECTOR_TOKEN": COLLECTOR_TOKEN,
        }
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crashdesk",
            "--data-dir",
            str(home),
            "collector",
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith("http://"):
            proc.kill()
            pytest.fail(f"the collector did not start: {line!r} {proc.stderr.read()[-2000:]}")
        base = line.removesuffix("/submit")
        ids = []
        with httpx.Client(timeout=30) as client:
            for round_ in range(2):
                for case in CASES:
                    fields = json.loads((case / "annotations.json").read_text())
                    fields["Version"] = f"1.4.{round_}"
                    files = {
                        "upload_file_minidump": (
                            "dump.dmp",
                            (case / "dump.dmp").read_bytes(),
                            "application/octet-stream",
                        )
                    }
                    r = client.post(f"{base}/submit", data=fields, files=files)
                    assert r.status_code == 200, r.text
                    ids.append(r.text.strip().removeprefix("CrashID=").removeprefix("bp-"))
            # wait until the collector has processed them (its ProcessedCrash answers 404 until then)
            deadline = time.monotonic() + 120
            pending = set(ids)
            while pending and time.monotonic() < deadline:
                for cid in list(pending):
                    r = client.get(
                        f"{base}/api/ProcessedCrash/",
                        params={"crash_id": cid},
                        headers={"Auth-Token": COLLECTOR_TOKEN},
                    )
                    if r.status_code == 200:
                        pending.discard(cid)
                time.sleep(0.2)
            assert not pending, f"the collector did not process {pending}"
        yield base, ids
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_sync_from_a_running_collector(collector, data_dir: Path):
    base, ids = collector
    with CrashStore.open(data_dir) as store:
        target = ServerTarget("colleague", base, Secret(COLLECTOR_TOKEN), concurrency=4)
        summary = SyncRunner(
            store, target, SyncQuery.build([]), SyncOptions(with_dumps=True, retry=FAST_RETRY)
        ).run()
        assert summary.complete, summary.lines()
        assert sorted(r[0] for r in store.db.conn.execute("SELECT crash_id FROM crashes")) == sorted(ids)
        for cid, case in zip(ids, CASES * 2, strict=True):
            got = store.get(cid)
            assert got["source"] == "server:colleague"
            assert got["source_url"] == f"{base}/report/index/{cid}"
            assert store.read_dump(cid) == (case / "dump.dmp").read_bytes()
            expected_ann = json.loads((case / "annotations.json").read_text())
            assert got["annotations"]["ProductName"] == expected_ann["ProductName"]
            # the collector's processed crash carries its own stackwalk under json_dump
            assert (
                got["server_processed"]["json_dump"]["crash_info"]["type"]
                == json.loads((case / "expected.json").read_text())["crash_info"]["type"]
            )
        # a second run finds everything already there
        again = SyncRunner(
            store, target, SyncQuery.build([]), SyncOptions(with_dumps=True, retry=FAST_RETRY)
        ).run()
        assert again.complete and again.progress.fetched == 0 and again.progress.found == len(ids)


def test_sync_from_a_collector_without_its_token_gets_no_dumps(collector, data_dir: Path):
    base, ids = collector
    with CrashStore.open(data_dir) as store:
        target = ServerTarget("colleague", base, None, concurrency=4)
        summary = SyncRunner(
            store, target, SyncQuery.build([]), SyncOptions(with_dumps=True, retry=FAST_RETRY)
        ).run()
        assert summary.complete, summary.lines()
        assert summary.dumps_forbidden == len(ids)
        assert store.count() == len(ids)
        assert all(store.get(cid)["dumps"] == [] for cid in ids)
