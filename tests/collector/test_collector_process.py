"""The collector as a real process (``python -m crashdesk collector``): one per data folder, many concurrent
submitters, and SIGKILL during a burst losing no crash that got an id."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from collector_helpers import REPO, CollectorProcess, crash_id_from, multipart_body, subprocess_env

from crashdesk.collector import find_running_collector
from crashdesk.store import CrashStore


@pytest.fixture
def running(data_dir):
    procs: list[CollectorProcess] = []

    def start(*extra: str) -> CollectorProcess:
        p = CollectorProcess(data_dir, *extra)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


def test_second_instance_is_refused_and_told_where_the_first_is(running, data_dir):
    first = running()
    second = subprocess.run(
        [sys.executable, "-m", "crashdesk", "collector", "--port", "0", "--data-dir", str(data_dir)],
        capture_output=True, text=True, env=subprocess_env(), cwd=REPO, timeout=60)
    assert second.returncode == 1
    assert second.stdout.splitlines()[0] == first.submit_url
    assert "already running" in second.stderr and first.submit_url in second.stderr
    assert "Traceback" not in second.stderr
    found = find_running_collector(data_dir)
    assert found is not None and found.submit_url == first.submit_url and found.pid == first.proc.pid
    assert first.stop() == 0
    assert find_running_collector(data_dir) is None


def _payload(i: int) -> tuple[bytes, str, bytes]:
    dump = hashlib.sha256(str(i).encode()).digest() * 512 + os.urandom(64)
    body, boundary = multipart_body({"ProductName": "Burst", "Version": f"1.{i}", "Seq": str(i)},
                                    {"upload_file_minidump": dump})
    return body, boundary, dump


def _submitters(url: str, clients: int, per_client: int, answered: dict, stop: threading.Event):
    def work(client_no: int) -> None:
        with httpx.Client(trust_env=False, timeout=60) as http:
            for j in range(per_client):
                if stop.is_set():
                    return
                i = client_no * per_client + j
                body, boundary, dump = _payload(i)
                try:
                    r = http.post(url, content=body,
                                  headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
                except httpx.HTTPError:
                    return  # the collector went away: this submission got no id, so it may be lost
                if r.status_code == 200:
                    answered[crash_id_from(r.content)] = (i, hashlib.sha256(dump).hexdigest())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    return threads


def test_fifty_concurrent_submitters_every_id_accounted_for(running, data_dir):
    collector = running()
    answered: dict[str, tuple[int, str]] = {}
    threads = _submitters(collector.submit_url, 50, 6, answered, threading.Event())
    for t in threads:
        t.join(120)
    assert len(answered) == 300
    assert collector.stop() == 0
    with CrashStore.open(data_dir) as store:
        assert store.count() == 300
        for crash_id, (i, sha) in answered.items():
            assert store.annotations(crash_id)["Seq"] == str(i)
            assert store.dumps(crash_id)["upload_file_minidump"].sha256 == sha
            assert hashlib.sha256(store.read_dump(crash_id)).hexdigest() == sha


def test_sigkill_during_a_burst_loses_no_answered_crash(running, data_dir):
    collector = running()
    answered: dict[str, tuple[int, str]] = {}
    stop = threading.Event()
    threads = _submitters(collector.submit_url, 50, 20, answered, stop)
    deadline = time.monotonic() + 60
    while len(answered) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    collector.kill9()
    stop.set()
    for t in threads:
        t.join(60)
    assert len(answered) >= 150
    with CrashStore.open(data_dir) as store:
        for crash_id, (_i, sha) in answered.items():
            assert store.exists(crash_id), f"crash {crash_id} was answered but is not stored"
            assert hashlib.sha256(store.read_dump(crash_id)).hexdigest() == sha
        stored = store.count()
    assert stored >= len(answered)
    # the folder is usable again at once: the lock died with the process, the spool is cleaned
    again = running()
    assert again.submit_url
    assert list((data_dir / "dumps" / ".incoming").glob("part-*")) == []


def test_json_summary_after_the_url_line(data_dir):
    collector = CollectorProcess(data_dir, "--json")
    with httpx.Client(trust_env=False, timeout=30) as http:
        for _ in range(2):
            assert http.post(collector.submit_url, files={"ProductName": (None, "Json")}).status_code == 200
    assert collector.stop() == 0
    summary = json.loads(collector.proc.stdout.read())
    assert summary["accepted"] == 2 and summary["submit_url"] == collector.submit_url
