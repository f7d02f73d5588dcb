#!/usr/bin/env python3
"""``crashdesk stackwalk --dump`` against ``minidump-stackwalk --dump`` 0.25.0: every ``*.dmp`` under the given
folders (default ``../shared/corpus``), ``--dump`` and ``--dump --brief``, through both real command lines.

    python scripts/dump_printer_differential.py [--reference BIN] [DIR ...]

Prints each output whose stdout bytes or exit code differ (with its first differing line) and the count of
byte-equal outputs. The reference binary as in ``scripts/stackwalk_cli_differential.py``: ``--reference``,
``$MINIDUMP_STACKWALK``, or the one ``benchmarks/bench_stackwalk.py`` fetches into ``benchmarks/.work/``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.stackwalk_cli_differential import first_difference, reference_binary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference")
    parser.add_argument("dirs", nargs="*", default=[str(ROOT.parent / "shared" / "corpus")])
    args = parser.parse_args()
    ref = reference_binary(args.reference)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    dumps = sorted(p for d in args.dirs for p in Path(d).rglob("*.dmp"))
    equal = total = 0
    for dump in dumps:
        for extra in ([], ["--brief"]):
            total += 1
            theirs = subprocess.run([str(ref), "--dump", *extra, str(dump)], capture_output=True, timeout=600)
            ours = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", "--dump", *extra, str(dump)],
                                  capture_output=True, timeout=600, env=env, cwd=ROOT)  # fmt: skip
            if ours.stdout == theirs.stdout and ours.returncode == theirs.returncode:
                equal += 1
                continue
            where = first_difference(
                theirs.stdout.decode("utf-8", "replace"), ours.stdout.decode("utf-8", "replace")
            )
            print(f"DIFF {dump} {' '.join(extra)} exit {theirs.returncode}/{ours.returncode}: {where}")
    print(f"--dump outputs byte-equal: {equal}/{total} ({len(dumps)} dumps, --dump and --dump --brief)")
    return 0 if equal == total else 1


if __name__ == "__main__":
    sys.exit(main())
