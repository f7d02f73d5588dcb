"""The processing service with real worker processes over real dumps in a real store."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crashdesk.services.processing import ProcessingService
from crashdesk.services.worker import TEST_HOOK_ANNOTATION, TEST_HOOKS_ENV, WorkerConfig
from crashdesk.store import CrashStore

CASES = ("01-null-deref", "05-thread")


def _add(store: CrashStore, test_data: Path, case: str, **extra) -> str:
    folder = test_data / "crashes" / case
    ann = json.loads((folder / "annotations.json").read_text())
    ann.update(extra)
    return store.add_crash(ann, {"upload_file_minidump": (folder / "dump.dmp").read_bytes()}, source="import")


def _expected(test_data: Path, case: str) -> dict:
    return json.loads((test_data / "crashes" / case / "expected.json").read_text())


def _crashing_modules(processed: dict) -> list[str | None]:
    thread = processed["threads"][processed["crash_info"]["crashing_thread"]]
    return [f.get("module") for f in thread["frames"]]


def test_received_crashes_are_processed_signed_and_indexed(store, test_data):
    ids = {case: _add(store, test_data, case) for case in CASES}
    config = WorkerConfig(symbol_paths=(str(test_data / "crashes" / "symbols"),), memory_limit=None)
    progress = ProcessingService(store, config, workers=2).run_until_empty()
    assert progress.done == 2 and progress.failed == 0
    for case, crash_id in ids.items():
        got = store.get(crash_id)
        expected = _expected(test_data, case)
        assert got["state"] == "processed"
        assert got["reason"] == expected["crash_info"]["type"]
        assert got["crashing_thread"] == expected["crash_info"]["crashing_thread"]
        # the frame that crashed is in the program whose symbols we gave: same function as the reference
        top = got["processed"]["crashing_thread"]["frames"][0]
        ref_top = expected["crashing_thread"]["frames"][0]
        assert (top["module"], top["function"]) == (ref_top["module"], ref_top["function"])
        assert got["signature"] and got["signature_history"][-1]["active"]
        assert any(m["symbol_status"] == "loaded" for m in got["modules"])
        # a module whose symbols were asked for and not found says why (no symbol file in the folder given)
        missing = [m for m in got["modules"] if m["symbol_status"] == "missing"]
        assert missing and all(m["symbol_note"] for m in missing)
        assert all(m["symbol_note"] is None for m in got["modules"] if m["symbol_status"] == "loaded")


def test_a_hanging_and_a_memory_hungry_crash_fail_alone(store, test_data, monkeypatch):
    monkeypatch.setenv(TEST_HOOKS_ENV, "1")
    hang = _add(store, test_data, "01-null-deref", **{TEST_HOOK_ANNOTATION: "hang"})
    hog = _add(store, test_data, "01-null-deref", **{TEST_HOOK_ANNOTATION: "alloc"})
    good = _add(store, test_data, "05-thread")
    config = WorkerConfig(memory_limit=512 * 1024**2)
    progress = ProcessingService(store, config, workers=2, time_limit=8).run_until_empty()
    assert progress.done == 1 and progress.failed == 2
    assert store.get(good)["state"] == "processed"
    hang_row, hog_row = store.get(hang), store.get(hog)
    assert hang_row["state"] == "failed" and hang_row["notes"][-1] == "timed out after 8 s"
    assert hog_row["state"] == "failed" and hog_row["notes"][-1] == "exceeded 512 MB"


def _wait_idle(store: CrashStore, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = store.state_counts()
        if counts["received"] == 0 and counts["processing"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"queue not drained: {store.state_counts()}")


def test_reprocessing_after_adding_symbols_changes_only_the_crashes_that_needed_them(store, test_data, tmp_path):
    symbols = tmp_path / "symbols"
    symbols.mkdir()
    with_viewer = _add(store, test_data, "01-null-deref")
    # one long-lived service: its warm worker must notice the symbol file added later
    service = ProcessingService(store, WorkerConfig(symbol_paths=(str(symbols),), memory_limit=None), workers=1)
    service.start()
    try:
        _wait_idle(store)
        before = store.get(with_viewer)
        assert before["processed"]["crashing_thread"]["frames"][0].get("function") is None
        first_signature = before["signature"]

        shutil.copytree(test_data / "crashes" / "symbols" / "demo-viewer", symbols / "demo-viewer")
        assert service.reprocess_missing_symbols(filename="no-such-module.so") == 0
        assert service.reprocess_missing_symbols(filename="demo-viewer") == 1
        time.sleep(0.2)
        _wait_idle(store)
    finally:
        service.cancel()
        service.join(30)
    after = store.get(with_viewer)
    expected = _expected(test_data, "01-null-deref")
    assert after["processed"]["crashing_thread"]["frames"][0]["function"] == \
        expected["crashing_thread"]["frames"][0]["function"]
    assert after["signature"] != first_signature
    assert len(after["signature_history"]) == 2


def test_sigkill_mid_queue_then_restart_processes_everything_exactly_once(data_dir, test_data):
    store = CrashStore.open(data_dir)
    # enough crashes that the queue cannot drain between two polls: warm workers process one in a few ms
    ids = [_add(store, test_data, CASES[i % 2]) for i in range(64)]
    store.close()
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "crashdesk", "process", "--data-dir", str(data_dir), "--workers", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    store = CrashStore.open(data_dir)
    deadline = time.monotonic() + 60
    while store.state_counts()["processed"] < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    counts = store.state_counts()
    assert counts["received"] + counts["processing"] > 0, "the queue finished before the kill; test is void"
    result = subprocess.run(cmd + ["--json"], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    counts = store.state_counts()
    assert counts == {"received": 0, "processing": 0, "processed": len(ids), "failed": 0}
    for crash_id in ids:
        history = store.get(crash_id)["signature_history"]
        assert len(history) == 1 and history[0]["active"]
    store.close()


@pytest.mark.parametrize("junk", [b"", b"MDMP" + b"\xff" * 60, os.urandom(4096)])
def test_a_hostile_dump_fails_with_a_note_and_the_rest_carries_on(store, test_data, junk):
    bad = store.add_crash({"ProductName": "X"}, {"upload_file_minidump": junk}, source="import")
    good = _add(store, test_data, "01-null-deref")
    progress = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1).run_until_empty()
    assert progress.done == 1 and progress.failed == 1
    row = store.get(bad)
    assert row["state"] == "failed" and row["notes"]
    assert store.get(good)["state"] == "processed"


def test_mozilla_products_also_ask_the_mozilla_symbol_servers(store, test_data, tmp_path):
    """A static symbol server on 127.0.0.1 stands in for Mozilla's: only the Firefox crash asks it."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(test_data / "crashes" / "symbols"))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        # the other product first: once the Firefox crash has downloaded the file, the cache serves everyone
        other = _add(store, test_data, "01-null-deref", ProductName="CrashFactoryDemo")
        firefox = _add(store, test_data, "01-null-deref", ProductName="Firefox")
        config = WorkerConfig(mozilla_symbol_urls=(url,), symbols_cache=str(tmp_path / "cache"), memory_limit=None)
        progress = ProcessingService(store, config, workers=1).run_until_empty()
    finally:
        server.shutdown()
    assert progress.done == 2
    expected = _expected(test_data, "01-null-deref")["crashing_thread"]["frames"][0]["function"]
    assert store.get(firefox)["processed"]["crashing_thread"]["frames"][0]["function"] == expected
    assert store.get(other)["processed"]["crashing_thread"]["frames"][0].get("function") is None
