"""A ``.sym`` index is built once per machine: a second process that needs it while the first is building waits
for it and maps the first one's index instead of scanning the file again (issue 24: every worker built its own
on a first pass)."""

from __future__ import annotations

import multiprocessing
import queue
import shutil
from pathlib import Path

import pytest

from crashdesk.engine.build_lock import build_lock
from crashdesk.engine.symfile import index_path_for, load_symbol_file
from crashdesk.engine.symfile.indexfile import source_identity, write_index
from crashdesk.engine.symfile.scan import scan

SYM = (Path(__file__).resolve().parents[1] / "data" / "minidumps" / "symbols" / "demo-viewer"
       / "72F4E7E2EDA32DCBFDA30896DCB74D930" / "demo-viewer.sym")


def _child_load(sym: str, index_dir: str, started, out) -> None:
    started.set()
    f = load_symbol_file(sym, None, index_dir)
    out.put((f.index_state, f.module.debug_id))


def test_second_process_waits_and_reuses_the_index(tmp_path):
    sym = tmp_path / "demo-viewer.sym"
    shutil.copyfile(SYM, sym)
    index_dir = tmp_path / "symindex"
    idx = index_path_for(index_dir, sym)
    ctx = multiprocessing.get_context("spawn")
    started, out = ctx.Event(), ctx.Queue()
    with build_lock(idx):  # this process is "the first worker", building
        child = ctx.Process(target=_child_load, args=(str(sym), str(index_dir), started, out))
        child.start()
        assert started.wait(60)
        # the child cannot finish while the build lock is held (without the lock it scans and answers at once)
        with pytest.raises(queue.Empty):
            out.get(timeout=3)
        data = sym.read_bytes()
        write_index(idx, scan(data, str(sym)), source_identity(sym, data))
    state, debug_id = out.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    assert state == "reused"  # it mapped the index written under the lock, it did not scan again
    assert debug_id == "72F4E7E2EDA32DCBFDA30896DCB74D930"


def test_a_dead_builder_does_not_block_the_others(tmp_path):
    """The lock goes with its holder: a builder killed mid-build leaves nothing that blocks the next one."""
    sym = tmp_path / "demo-viewer.sym"
    shutil.copyfile(SYM, sym)
    index_dir = tmp_path / "symindex"
    ctx = multiprocessing.get_context("spawn")
    holder = ctx.Process(target=_hold_forever, args=(str(index_path_for(index_dir, sym)),))
    holder.start()
    holder_ready = Path(f"{index_path_for(index_dir, sym)}.lock")
    for _ in range(600):
        if holder_ready.exists():
            break
        holder.join(0.1)
    holder.kill()
    holder.join(30)
    f = load_symbol_file(sym, None, index_dir)
    assert f.index_state == "built"
    assert load_symbol_file(sym, None, index_dir).index_state == "reused"


def _hold_forever(idx: str) -> None:
    import time

    with build_lock(Path(idx)):
        while True:
            time.sleep(1)


def test_indexes_are_built_whether_or_not_their_folder_exists_yet(tmp_path):
    """The index folder is made on the first build in it (not checked on every build): a first index in a new
    folder, a second one beside it in the same folder, and a rebuild after the folder was emptied all land."""
    index_dir = tmp_path / "symindex"
    first = tmp_path / "a" / "demo-viewer.sym"
    first.parent.mkdir()
    shutil.copyfile(SYM, first)
    assert load_symbol_file(first, None, index_dir).index_state == "built"
    folder = Path(index_path_for(index_dir, first)).parent
    # a second source whose index goes into the folder that now exists
    target = folder / "other.idx"
    data = first.read_bytes()
    with build_lock(target):
        write_index(target, scan(data, str(first)), source_identity(first, data))
    assert target.is_file() and Path(f"{target}.lock").is_file()
    shutil.rmtree(index_dir)
    assert load_symbol_file(first, None, index_dir).index_state == "built"
    assert load_symbol_file(first, None, index_dir).index_state == "reused"
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


def test_a_folder_that_cannot_hold_the_lock_still_gets_its_index_in_memory(tmp_path):
    """Where the index folder cannot be made (a file is in the way) the build goes ahead unlocked and the symbols
    are read from an index built in memory."""
    sym = tmp_path / "demo-viewer.sym"
    shutil.copyfile(SYM, sym)
    blocker = tmp_path / "symindex"
    blocker.write_text("not a folder")
    f = load_symbol_file(sym, None, blocker)
    assert f.index_state == "memory" and f.module.debug_id == "72F4E7E2EDA32DCBFDA30896DCB74D930"
