"""A warm worker remembers which modules had no symbols (issue 24: probing every symbol folder again for each
of a crash's modules without symbols was a quarter of a warm crash) and looks again when the service sends
crashes back for reprocessing or when the misses are older than ``MISS_TTL``. The clock is the worker's
``time.monotonic``, replaced here so that nothing depends on how fast the machine is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crashdesk.services.worker import MISS_TTL, Job, WorkerConfig, _Processor

CASE = "01-null-deref"



def _top_function(processor: _Processor, test_data: Path, generation: int) -> str | None:
    folder = test_data / "crashes" / CASE
    ann = json.loads((folder / "annotations.json").read_text())
    result = processor.run(Job("c", str(folder / "dump.dmp"), ann, symbols_generation=generation))
    assert result.ok, result.error
    return result.processed["crashing_thread"]["frames"][0].get("function")


def _expected_top(test_data: Path) -> str:
    expected = json.loads((test_data / "crashes" / CASE / "expected.json").read_text())
    return expected["crashing_thread"]["frames"][0]["function"]


def _add_symbols(test_data: Path, folder: Path) -> None:
    shutil.copytree(test_data / "crashes" / "symbols" / "demo-viewer", folder / "demo-viewer")


def test_reprocessing_looks_again_for_symbols_added_since(tmp_path, test_data, clock):
    symbols = tmp_path / "symbols"
    symbols.mkdir()
    processor = _Processor(WorkerConfig(symbol_paths=(str(symbols),), memory_limit=None))
    assert _top_function(processor, test_data, 0) is None
    _add_symbols(test_data, symbols)
    assert _top_function(processor, test_data, 0) is None  # the same moment, no reprocessing: the miss holds
    assert _top_function(processor, test_data, 1) == _expected_top(test_data)  # reprocessing: looked again


def test_misses_older_than_the_ttl_are_looked_up_again(tmp_path, test_data, clock):
    symbols = tmp_path / "symbols"
    symbols.mkdir()
    processor = _Processor(WorkerConfig(symbol_paths=(str(symbols),), memory_limit=None))
    assert _top_function(processor, test_data, 0) is None
    _add_symbols(test_data, symbols)
    clock.now += MISS_TTL
    assert _top_function(processor, test_data, 0) == _expected_top(test_data)


def test_a_crash_reports_the_lookups_and_notes_of_its_own_modules_only(tmp_path, test_data, clock):
    processor = _Processor(WorkerConfig(symbol_paths=(str(tmp_path),), memory_limit=None))
    results = []
    # two dumps of different programs (different module lists), one after the other in one warm worker
    for dump in (test_data / "crashes" / CASE / "dump.dmp", test_data / "minidumps" / "macos-amd64-crashpad" / "simple-crashpad.dmp"):
        results.append(processor.run(Job(dump.name, str(dump), {"ProductName": "X"})))
    first = {(str(m.get("debug_file") or ""), str(m.get("debug_id") or "").upper())
             for m in results[0].processed["modules"]}
    assert first - {(str(m.get("debug_file") or ""), str(m.get("debug_id") or "").upper())
                    for m in results[1].processed["modules"]}
    for result in results:
        own = {(str(m.get("debug_file") or ""), str(m.get("debug_id") or "").upper())
               for m in result.processed["modules"]}
        assert result.symbol_notes and set(result.symbol_notes) <= own
        assert result.symbol_lookups and set(result.symbol_lookups) <= own
