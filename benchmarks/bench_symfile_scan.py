#!/usr/bin/env python3
"""What building a ``.sym`` index costs, file by file (issue 24): CPU of the scan, split into the grammar's pass
over the text, the scan loop's Python work and the final sorting, and optionally the instructions (callgrind).

For each ``.sym`` file (default: the ``linux-crashpad`` symbols of ``../shared/corpus``, biggest first):

* ``regex``    -- the compiled grammar run over the whole file, the matches only counted (the engine's floor);
* ``loop``     -- the scan loop (``_scan_range``: the same pass plus each match's fields read into arrays);
* ``finalize`` -- sorting the arrays into range maps (``_finalize``);
* ``scan``     -- all of :func:`crashdesk.engine.symfile.scan.scan`.

CPU milliseconds, best of ``--repeat`` runs in this process (the grammar compiled first, as a worker does ahead).
``--instructions`` also runs each file's scan under ``valgrind --tool=callgrind`` in a fresh process, minus the
same process without the scan, and prints the instructions (steady under load, unlike times).

    python benchmarks/bench_symfile_scan.py [--repeat 7] [--instructions] [SYM ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("CRASHDESK_SHARED", ROOT.parent / "shared"))

from crashdesk.engine.symfile import scan as scan_mod  # noqa: E402

_CHILD = """
import mmap, sys
sys.path.insert(0, sys.argv[1])
from crashdesk.engine.symfile import scan
scan.prepare()
with open(sys.argv[2], "rb") as f:
    data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
if sys.argv[3] == "scan":
    scan.scan(data, sys.argv[2])
"""


def best_cpu_ms(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1000


def callgrind_instructions(sym: Path) -> int | None:
    """Instructions of one scan of ``sym`` in a fresh process (callgrind), without what the process does besides."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    for mode in ("none", "scan"):
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                              "-c", _CHILD, str(ROOT), str(sym), mode], capture_output=True, text=True)  # fmt: skip
        found = re.search(r"Collected : ([\d,]+)", out.stderr)
        if found is None:
            return None
        counts.append(int(found.group(1).replace(",", "")))
    return counts[1] - counts[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sym", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--instructions", action="store_true", help="also count instructions with callgrind")
    args = parser.parse_args()
    files = args.sym or sorted((SHARED / "corpus" / "linux-crashpad" / "symbols").glob("*/*/*.sym"),
                               key=lambda p: -p.stat().st_size)  # fmt: skip
    scan_mod.prepare()
    grammar = scan_mod._record_re()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; CPU ms, best of {args.repeat}")
    print(f"{'file':32} {'MB':>6} {'records':>8} {'regex':>7} {'loop':>7} {'finalize':>9} {'scan':>7}"
          + ("  instructions" if args.instructions else ""))
    for sym in files:
        data = sym.read_bytes()
        start = data.find(b"\n")
        records = sum(1 for _ in grammar.finditer(data, start, len(data)))
        regex = best_cpu_ms(lambda: sum(1 for _ in grammar.finditer(data, start, len(data))), args.repeat)  # noqa: B023
        loop = best_cpu_ms(lambda: scan_mod._scan_range(data, start, len(data)), args.repeat)  # noqa: B023
        arrays = scan_mod._scan_range(data, start, len(data)).arrays
        copy = best_cpu_ms(lambda: {k: array("Q", v) for k, v in arrays.items()}, args.repeat)  # noqa: B023
        final = best_cpu_ms(lambda: scan_mod._finalize({k: array("Q", v) for k, v in arrays.items()}),  # noqa: B023
                            args.repeat) - copy  # fmt: skip
        whole = best_cpu_ms(lambda: scan_mod.scan(data, str(sym)), args.repeat)  # noqa: B023
        line = (f"{sym.name[:32]:32} {len(data) / 1e6:6.2f} {records:8d} {regex:7.1f} {loop:7.1f} {max(final, 0):9.1f}"
                f" {whole:7.1f}")  # fmt: skip
        if args.instructions:
            n = callgrind_instructions(sym)
            line += f"  {n / 1e6:.1f} M" if n is not None else "  (no valgrind)"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
