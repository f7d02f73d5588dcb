"""A worker started ahead of its first crashes imports, while it waits, what a first pass imports on the way
(issue 24, "cold paths"): the Windows error names, the ``.sym`` scanner and build lock, the lookup records, the
UTF-16 codec. Each case runs in a fresh interpreter (the test process has imported everything already) and
processes the test dumps with their symbols into an empty index folder, as a first pass does (with a Windows
dump whose threads carry last-error values: ``tests/data/first_pass``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
from pathlib import Path
from crashdesk.services.worker import LATER_IMPORTS, Job, WorkerConfig, _preload, _Processor

minidumps, extra, cache, warm = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4] == "warm"
processor = _Processor(WorkerConfig(symbol_paths=(str(minidumps / "symbols"),), symbols_cache=cache,
                                    memory_limit=None))
_preload()
steps = 0
while warm and processor.prepare_next():
    steps += 1
before = set(sys.modules)
scan = sys.modules.get("crashdesk.engine.symfile.scan")
grammar = scan is not None and scan._record_re.cache_info().currsize == 1  # compiled before the first pass
results = []
cases = sorted(p for p in minidumps.iterdir() if p.is_dir() and p.name != "symbols") + [extra]
for case in cases:
    for dump in sorted(case.glob("*.dmp")):
        try:
            result = processor.run(Job(dump.name, str(dump), {"ProductName": "Test"}))
        except Exception as exc:  # a dump the stackwalker refuses (the worker reports it as the crash's error)
            results.append((dump.name, False, type(exc).__name__))
        else:
            results.append((dump.name, result.ok, result.signature))
print(json.dumps({"imported": sorted(set(sys.modules) - before), "steps": steps, "results": results,
                  "grammar": grammar,
                  "later": list(LATER_IMPORTS)}))
"""


def _first_pass(test_data: Path, tmp_path: Path, mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(test_data / "minidumps"), str(test_data / "first_pass"),
                           str(tmp_path / mode), mode],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_a_warmed_worker_imports_nothing_more_on_its_first_pass(test_data, tmp_path):
    cold = _first_pass(test_data, tmp_path, "cold")
    warm = _first_pass(test_data, tmp_path, "warm")
    # without the idle steps the first pass imports them on the way: the list is not empty words
    assert set(cold["later"]) <= set(cold["imported"]), cold["imported"]
    # the first pass of a worker that used its idle time imports nothing (else: add it to LATER_IMPORTS)
    assert warm["imported"] == []
    assert warm["steps"] >= len(warm["later"])
    # nor compiles the .sym scanner's grammar on its first index (LATER_STEPS)
    assert warm["grammar"] and not cold["grammar"]
    # and the crashes come out the same either way
    assert warm["results"] == cold["results"] and sum(ok for _name, ok, _sig in warm["results"]) >= 10
