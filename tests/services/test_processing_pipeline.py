"""The processing service's pipeline (issue 24): each worker holds its running crash and the next one waiting
in its pipe, results that arrive together are written in one transaction, and whoever is told about a result
reads it from the store."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
from pathlib import Path

from crashdesk.services import processing
from crashdesk.services.processing import ProcessingService
from crashdesk.services.worker import TEST_HOOK_ANNOTATION, TEST_HOOKS_ENV, Job, WorkerConfig
from crashdesk.store import CrashStore


def _add(store: CrashStore, test_data: Path, case: str, **extra) -> str:
    folder = test_data / "crashes" / case
    ann = json.loads((folder / "annotations.json").read_text())
    ann.update(extra)
    return store.add_crash(ann, {"upload_file_minidump": (folder / "dump.dmp").read_bytes()}, source="import")


def test_a_crash_waiting_behind_a_hanging_one_is_processed_not_failed(store, test_data, monkeypatch):
    monkeypatch.setenv(TEST_HOOKS_ENV, "1")
    hang = _add(store, test_data, "01-null-deref", **{TEST_HOOK_ANNOTATION: "hang"})
    # as many as wait in its pipe, and one more
    behind = [_add(store, test_data, "05-thread") for _ in range(processing.WORKER_DEPTH)]
    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1, time_limit=4)
    progress = service.run_until_empty()
    assert progress.done == len(behind) and progress.failed == 1
    assert store.get(hang)["state"] == "failed" and store.get(hang)["notes"][-1] == "timed out after 4 s"
    for crash_id in behind:
        row = store.get(crash_id)
        assert row["state"] == "processed" and len(row["signature_history"]) == 1


def test_a_large_job_is_not_queued_behind_a_running_one(store, test_data):
    """A job that would not fit the pipe's buffer waits until the worker is idle (both sides blocked in a send
    would hang the service)."""
    worker = processing._Worker(processing.multiprocessing.get_context("spawn"), WorkerConfig(memory_limit=None))
    try:
        big = Job("big", None, {"Notes": "x" * (processing._QUEUE_MAX_BYTES + 1)}, processed={})
        small = Job("small", None, {"ProductName": "X"}, processed={})
        assert worker.send(small, 30)
        assert not worker.send(big, 30, queue=True)
        assert [j.crash_id for j in worker.jobs] == ["small"]
        assert worker.send(Job("next", None, {}, processed={}), 30, queue=True)
        assert [j.crash_id for j in worker.jobs] == ["small", "next"]
    finally:
        worker.kill()


def test_jobs_wait_in_a_pipe_only_up_to_the_byte_budget_together(store, test_data):
    """Several jobs may wait behind the running one, but not more bytes of them than the budget: each one below
    it could still fill the pipe together."""
    worker = processing._Worker(processing.multiprocessing.get_context("spawn"), WorkerConfig(memory_limit=None))
    try:
        third = processing._QUEUE_MAX_BYTES // 3

        def job(name: str) -> Job:
            return Job(name, None, {"Notes": "x" * (third - 300)}, processed={})

        assert worker.send(job("running"), 30)  # the running one does not count: the worker has read it
        assert worker.send(job("a"), 30, queue=True) and worker.send(job("b"), 30, queue=True)
        assert worker.send(job("c"), 30, queue=True)
        assert not worker.send(job("d"), 30, queue=True)  # a, b, c and d together would pass the budget
        assert [j.crash_id for j in worker.jobs] == ["running", "a", "b", "c"]
        worker.finished()  # "running" answered, "a" runs now: room for one more
        assert worker.send(job("d"), 30, queue=True)
        assert [j.crash_id for j in worker.jobs] == ["a", "b", "c", "d"]
    finally:
        worker.kill()


def test_results_are_announced_after_they_are_committed(store, test_data):
    ids = [_add(store, test_data, case) for case in ("01-null-deref", "05-thread") * 3]
    reader = sqlite3.connect(str(store.db.path), isolation_level=None)  # another connection, as the UI has
    seen: dict[str, str] = {}

    def on_result(crash_id: str, ok: bool) -> None:
        seen[crash_id] = reader.execute("SELECT state FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()[0]

    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=2, on_result=on_result)
    progress = service.run_until_empty()
    reader.close()
    assert progress.done == len(ids)
    assert seen == dict.fromkeys(ids, "processed")


def test_a_worker_that_died_while_idle_is_replaced_and_the_crash_is_not_failed(store, test_data):
    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1)
    service.warm_up(wait=True)
    dead = service._workers[0]
    os.kill(dead.process.pid, signal.SIGKILL)
    dead.process.join(10)
    crash_id = _add(store, test_data, "05-thread")
    progress = service.run_until_empty()
    assert progress.failed == 0 and progress.done == 1
    assert store.get(crash_id)["state"] == "processed"


def test_reconfigure_lets_a_busy_worker_finish_its_pipe_then_replaces_it(store, test_data):
    """New settings while crashes wait in a worker's pipe: those finish with the settings they were handed
    with, every later crash gets the new ones, none is lost or processed twice."""
    ids = [_add(store, test_data, "05-thread") for _ in range(processing.WORKER_DEPTH + 4)]
    old = WorkerConfig(memory_limit=None)
    new = WorkerConfig(memory_limit=None, symbol_paths=(str(test_data / "crashes" / "symbols"),))
    order: list[str] = []
    service = ProcessingService(store, old, workers=1)

    def on_result(crash_id: str, ok: bool) -> None:
        order.append(crash_id)
        if len(order) == 1:
            service.reconfigure(new)  # the worker holds more crashes in its pipe by now

    service.on_result = on_result
    service.warm_up(wait=True)
    progress = service.run_until_empty()
    assert progress.done == len(ids) and sorted(order) == sorted(ids)
    folders = [store.get(crash_id)["processed"]["symbol_sources"]["folders"] for crash_id in order]
    # a worker with the new settings took over (a worker that kept being handed crashes never did)
    assert list(new.symbol_paths) in folders
    switched = folders.index(list(new.symbol_paths))
    # the first crash and those handed over before the new settings came (the pipe refilled as the first result
    # arrived) keep the old settings; none after a crash with the new ones
    assert 1 <= switched <= 1 + processing.WORKER_DEPTH
    assert folders[:switched] == [[]] * switched
    assert folders[switched:] == [list(new.symbol_paths)] * (len(ids) - switched)


def test_results_that_come_close_together_are_written_in_one_transaction(store, test_data, monkeypatch):
    """A result after a quiet spell is written at once; those that come within RECORD_INTERVAL of a write wait
    for the next one (here: until the workers are idle, the interval being long), every one announced after
    the commit that wrote it."""
    monkeypatch.setattr(processing, "RECORD_INTERVAL", 60.0)
    ids = [_add(store, test_data, "05-thread") for _ in range(8)]
    reader = sqlite3.connect(str(store.db.path), isolation_level=None)
    writes = []
    real_batch = store.db.batch

    @contextlib.contextmanager
    def counted_batch(**options):
        with real_batch(**options) as conn:
            yield conn
        writes.append(len(writes))

    monkeypatch.setattr(store.db, "batch", counted_batch)
    announced: list[tuple[int, str]] = []

    def on_result(crash_id: str, ok: bool) -> None:
        state = reader.execute("SELECT state FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()[0]
        announced.append((len(writes), state))

    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=2, on_result=on_result)
    progress = service.run_until_empty()
    reader.close()
    assert progress.done == len(ids) and len(announced) == len(ids)
    assert {state for _n, state in announced} == {"processed"}
    assert len(writes) == 2  # the first result(s), then all the others at once
    assert announced[0][0] == 1 and announced[-1][0] == 2


def test_pipes_are_filled_deep_while_crashes_wait_and_shallow_once_the_queue_is_drained(store, test_data):
    """With crashes still queued in the store each worker is handed WORKER_DEPTH of them (it goes on while the
    parent records); once a claim finds the queue drained, a crash waits behind one other at most and the rest
    stay with the service for whichever worker runs dry first."""
    many = [_add(store, test_data, "05-thread") for _ in range(processing.WORKER_DEPTH + processing.CLAIM_AHEAD)]
    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1)
    service.warm_up(wait=True)
    try:
        service._dispatch()
        worker = service._workers[0]
        assert [j.crash_id for j in worker.jobs] == many[:processing.WORKER_DEPTH]
        assert not service._drained
    finally:
        for worker in service._workers:
            worker.kill()
    store.release_claims(service.owner)
    for crash_id in many:  # processed or not, out of the way of the second half
        store.mark_failed(crash_id, "test: second half")

    last = [_add(store, test_data, "05-thread") for _ in range(processing.TAIL_DEPTH + 2)]
    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1)
    service.warm_up(wait=True)
    try:
        service._dispatch()
        worker = service._workers[0]
        assert service._drained
        assert [j.crash_id for j in worker.jobs] == last[:processing.TAIL_DEPTH]
        assert list(service._pending) == last[processing.TAIL_DEPTH:]
    finally:
        for worker in service._workers:
            worker.kill()
    store.release_claims(service.owner)
    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1)
    progress = service.run_until_empty()  # and they all get processed
    assert progress.done == len(last) and progress.failed == 0
    assert {store.get(c)["state"] for c in last} == {"processed"}
