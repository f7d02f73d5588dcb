#!/usr/bin/env python3
"""``crashdesk stackwalk --dump`` against ``minidump-stackwalk --dump`` 0.25.0: every ``*.dmp`` under the given
folders (default ``../shared/corpus``), ``--dump`` and ``--dump --brief``, through both real command lines.

    python scripts/dump_printer_differential.py [--reference BIN] [DIR ...]
    python scripts/dump_printer_differential.py --mutations N [--seed S] [DIR ...]

Prints each output whose stdout bytes or exit code differ (with its first differing line) and the count of
byte-equal outputs. With ``--mutations N``: N dumps mutated from the ones found (words in the header, directory
and streams overwritten with boundary values, bytes flipped), each printed by the reference and by
``render_dump`` in-process; counted: equal, different, and reference panics (exit code other than 0/1). The reference binary as in ``scripts/stackwalk_cli_differential.py``: ``--reference``,
``$MINIDUMP_STACKWALK``, or the one ``benchmarks/bench_stackwalk.py`` fetches into ``benchmarks/.work/``.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.stackwalk_cli_differential import first_difference, reference_binary  # noqa: E402


def mutate(rng: random.Random, raw: bytes) -> bytes:
    out = bytearray(raw)
    count, dir_rva = struct.unpack_from("<II", out, 8)
    spots = [4, 8, 12]
    for i in range(min(count, 40)):
        entry = dir_rva + 12 * i
        spots += [entry, entry + 4, entry + 8]
        if entry + 12 <= len(out):
            _t, size, rva = struct.unpack_from("<III", out, entry)
            spots += [rva + k for k in range(0, min(size, 256), 4)]
    spots = [s for s in spots if s + 4 <= len(out)] or [8]
    values = [0, 1, 2, 3, 16, 24, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, 0x43500001, 0x47670001]
    for _ in range(rng.randint(1, 3)):
        value = rng.choice([*values, rng.getrandbits(32), rng.randrange(len(out))])
        struct.pack_into("<I", out, rng.choice(spots), value)
    for _ in range(rng.randint(0, 6)):
        out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def mutations(ref: Path, dumps: list[Path], n: int, seed: int) -> int:
    from crashdesk.engine.minidump import Minidump, MinidumpError
    from crashdesk.engine.minidump.dump_printer import render_dump

    rng = random.Random(seed)
    seeds = [p.read_bytes() for p in dumps if p.stat().st_size < 400_000]
    stats: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutated.dmp"
        for i in range(n):
            raw = mutate(rng, rng.choice(seeds))
            brief = bool(i % 2)
            path.write_bytes(raw)
            theirs = subprocess.run([str(ref), "--dump", *(["--brief"] if brief else []), str(path)],
                                    capture_output=True, timeout=60)  # fmt: skip
            if theirs.returncode not in (0, 1):
                stats["reference panicked"] += 1
                continue
            try:
                with Minidump.open(path) as md:
                    ours, code = render_dump(md, brief=brief).encode("utf-8", "surrogateescape"), 0
            except MinidumpError:
                ours, code = b"", 1
            if ours == theirs.stdout and code == theirs.returncode:
                stats["equal"] += 1
            else:
                stats["different"] += 1
                keep = Path(tmp).parent / f"dump-printer-diff-{seed}-{i}.dmp"
                keep.write_bytes(raw)
                where = first_difference(
                    theirs.stdout.decode("utf-8", "replace"), ours.decode("utf-8", "replace")
                )
                print(f"DIFF mutation {i} (kept as {keep}): {where}")
    print(f"mutated dumps (seed {seed}): {dict(stats)} of {n}")
    return 0 if not stats["different"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference")
    parser.add_argument("--mutations", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("dirs", nargs="*", default=[str(ROOT.parent / "shared" / "corpus")])
    args = parser.parse_args()
    ref = reference_binary(args.reference)
    if args.mutations:
        return mutations(
            ref, sorted(p for d in args.dirs for p in Path(d).rglob("*.dmp")), args.mutations, args.seed
        )
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
