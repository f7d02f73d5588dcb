"""A real crash, end to end: a C program built with gcc crashes, Crashpad's unmodified ``crashpad_handler``
snapshots it and uploads the minidump to a collector process, which stores and processes it; with symbols
from ``dump_syms`` the processed crash names the crashing function."""

from __future__ import annotations

import subprocess
import time

import pytest
import realcrash_tools as tools
from collector_helpers import DATA, CollectorProcess

from crashdesk.store import CrashStore

FUNCTION = "crash_in_collector_test"


@pytest.mark.slow
def test_real_crashpad_upload_is_stored_and_processed(data_dir, tmp_path):
    handler, dump_syms = tools.require_real_crash_tools()

    program = tools.compile_program(DATA / "realcrash" / "crashme.c", tmp_path / "crashme")
    symbols = tmp_path / "symbols"
    tools.breakpad_symbols(dump_syms, program, symbols)
    collector = CollectorProcess(data_dir, "--symbols-path", str(symbols), "--workers", "1", process=True)
    try:
        crash_id = None
        # Crashpad uploads from a thread that the handler may stop before it ran in this mode (a known race);
        # crash again when nothing arrived, with a generous deadline for a loaded machine.
        for attempt in range(4):
            database = tools.make_database(tmp_path / f"db{attempt}")
            run = subprocess.run([str(program), str(handler), str(database), collector.submit_url,
                                  "ProductName=CollectorRealCrash", "Version=1.0", f"Attempt={attempt}"],
                                 capture_output=True, timeout=120)
            assert run.returncode < 0, run.stderr.decode(errors="replace")[-2000:]
            deadline = time.monotonic() + 30
            while crash_id is None and time.monotonic() < deadline:
                with CrashStore.open(data_dir) as store:
                    ids = [r[0] for r in store.db.conn.execute(
                        "SELECT crash_id FROM crashes WHERE product = 'CollectorRealCrash'")]
                crash_id = ids[0] if ids else None
                time.sleep(0.25)
            if crash_id:
                break
        assert crash_id, "crashpad_handler never delivered the crash"

        deadline = time.monotonic() + 180
        state = None
        while time.monotonic() < deadline:
            with CrashStore.open(data_dir) as store:
                state = store.get(crash_id)["state"]
                if state in ("processed", "failed"):
                    break
            time.sleep(0.5)
        with CrashStore.open(data_dir) as store:
            row = store.get(crash_id)
            dump = store.read_dump(crash_id)
        assert row["state"] == "processed", row["notes"]
        assert dump[:4] == b"MDMP"
        assert row["annotations"]["metadata"]["user_agent"].startswith("Crashpad/")
        processed = row["processed"]
        assert processed["crash_info"]["type"].startswith("SIGSEGV")
        thread = processed["threads"][processed["crash_info"]["crashing_thread"]]
        top = thread["frames"][0]
        assert (top["module"], top["function"]) == ("crashme", FUNCTION)
        assert row["signature"] == FUNCTION
    finally:
        collector.stop()
