"""Worker start-up out of the way of the first crashes (issue 24): the pool is started ahead and pre-imports
what a crash needs; a one-off run starts only as many workers as there are crashes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from crashdesk.services import processing
from crashdesk.services.processing import ProcessingService
from crashdesk.services.worker import WorkerConfig
from crashdesk.store import CrashStore


def _add(store: CrashStore, test_data: Path, case: str) -> str:
    folder = test_data / "crashes" / case
    ann = json.loads((folder / "annotations.json").read_text())
    return store.add_crash(ann, {"upload_file_minidump": (folder / "dump.dmp").read_bytes()}, source="import")


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/maps (Linux only)")
def test_warm_up_starts_the_pool_ahead_with_the_stackwalker_loaded(store, test_data):
    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=2)
    service.warm_up(wait=True)
    try:
        pids = [w.process.pid for w in service._workers]
        assert len(pids) == 2 and all(w.ready for w in service._workers)
        for pid in pids:  # pre-imported: the instruction decoder's native library is already mapped
            assert "capstone" in _maps(pid)
        crash_id = _add(store, test_data, "01-null-deref")  # work arrives after the workers are up
        service.start()
        service.notify()
        deadline_rounds = 600
        while store.get(crash_id)["state"] != "processed" and deadline_rounds:
            service.join(0.1)
            deadline_rounds -= 1
        assert store.get(crash_id)["state"] == "processed"
        assert [w.process.pid for w in service._workers] == pids  # the same warm workers did it
    finally:
        service.cancel()
        service.join(30)


def test_a_one_off_run_starts_one_worker_per_queued_crash(store, test_data, monkeypatch):
    started = []

    class Counted(processing._Worker):
        def __init__(self, ctx, config):
            super().__init__(ctx, config)
            started.append(self.process.pid)

    monkeypatch.setattr(processing, "_Worker", Counted)
    _add(store, test_data, "05-thread")
    progress = ProcessingService(store, WorkerConfig(memory_limit=None), workers=4).run_until_empty()
    assert progress.done == 1
    assert len(started) == 1
    # nothing queued: no worker at all
    assert ProcessingService(store, WorkerConfig(memory_limit=None), workers=4).run_until_empty().done == 0
    assert len(started) == 1


def test_the_worker_reads_a_dump_once_with_the_same_result(test_data):
    """The worker opens the dump once for the stackwalk and the module paths (the module list was parsed
    twice per crash): the open dump gives exactly what the path gives."""
    from crashdesk.engine.minidump.reader import Minidump
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.services.worker import module_paths

    dump_path = Path(__file__).resolve().parents[1] / "data" / "minidumps" / "macos-amd64-crashpad" / "simple-crashpad.dmp"
    by_path = process_minidump(str(dump_path), None, caller_registers=True)
    with Minidump.open(dump_path) as dump:
        by_dump = process_minidump(dump, None, caller_registers=True)
        paths = module_paths(dump)
        assert dump.modules  # still open: the caller closes it
    assert by_dump == by_path
    assert paths == module_paths(str(dump_path))
    assert paths and all(p.endswith(name) for name, p in paths.items())
