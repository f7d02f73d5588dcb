"""Processes that open one new store at the same moment (a collector, the app and a CLI started together) all
get it: SQLite answers "database is locked" at once, without its busy handler, to a process asking for WAL mode
while another switches the file to it (one of four writer processes failed so in CI)."""

from __future__ import annotations

import multiprocessing
import time

from crashdesk.store import CrashStore


def _open_and_add(data_dir: str, go, out) -> None:
    go.wait()
    try:
        with CrashStore.open(data_dir) as store:
            out.put(("stored", store.add_crash({"ProductName": "P"}, source="collector")))
    except Exception as exc:  # reported to the test, which fails with it
        out.put(("failed", repr(exc)))


def test_processes_opening_a_new_store_at_once_all_open_it(tmp_path):
    ctx = multiprocessing.get_context("fork")  # started in a few ms each, so they really do meet
    failures = []
    for round_ in range(25):  # the race lost ~1 round in 8 before the retry
        folder = tmp_path / str(round_)
        go, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open_and_add, args=(str(folder), go, out)) for _ in range(6)]
        for p in procs:
            p.start()
        time.sleep(0.1)
        go.set()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(60)
        failures += [text for outcome, text in results if outcome == "failed"]
        with CrashStore.open(folder) as store:
            assert store.count() == sum(1 for outcome, _ in results if outcome == "stored")
    assert failures == []
