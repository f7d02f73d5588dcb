#!/usr/bin/env python3
"""Differential fuzzing of the minidump reader and stackwalk against ``minidump-stackwalk`` 0.25.0.

Mutates the dumps in ``tests/data/minidumps`` (byte flips, truncations, absurd counts/offsets written into
the directory and the streams), runs both tools on each variant and tallies where they disagree: one
rejects the file and the other does not, or a top-level field / the frames differ. The reference binary
is the one ``benchmarks/bench_stackwalk.py`` fetches into ``benchmarks/.work/``.

    python scripts/stackwalk_differential.py [--seed N] [--count N] [--keep DIR] [--symbols-path STORE]

``--keep DIR`` writes one example file per disagreement category (to turn into a regression test).
Every crash_info field is compared, including the instruction analysis (instruction, memory accesses,
instruction pointer update, adjusted address, bit flips, inconsistencies).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REFERENCE = ROOT / "benchmarks" / ".work" / "minidump-stackwalk"
SEEDS = ROOT / "tests" / "data" / "minidumps"
KEYS = ("system_info", "pid", "thread_count", "modules", "unloaded_modules", "lsb_release",
        "linux_memory_map_count", "handles", "mac_crash_info", "mac_boot_args", "soft_errors")  # fmt: skip
ABSURD = (0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x10000)


def mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    kind = rng.choice(["flip", "flip", "truncate", "absurd"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(data))
            data[i] ^= rng.randint(1, 255)
    elif kind == "truncate":
        data = data[: rng.randrange(len(data))]
    elif len(data) >= 32:
        count, directory = struct.unpack_from("<II", data, 8)
        spots = []
        for k in range(min(count, 64)):
            entry = directory + 12 * k
            if entry + 12 <= len(data):
                _type, size, rva = struct.unpack_from("<III", data, entry)
                spots += [entry + 4, entry + 8] + [rva + q for q in range(0, min(size, 48), 4)]
        spots = [o for o in spots if o + 4 <= len(data)]
        for _ in range(rng.randint(1, 3)):
            if spots:
                struct.pack_into("<I", data, rng.choice(spots), rng.choice(ABSURD))
    return bytes(data)


def compare(reference: dict, ours: dict) -> list[str]:
    """Disagreement categories between two outputs (empty when they agree)."""
    out = [f"field {k}" for k in KEYS if reference.get(k) != ours.get(k)]
    rci, oci = reference.get("crash_info") or {}, ours.get("crash_info") or {}
    out += [f"crash_info.{k}" for k in sorted(set(rci) | set(oci)) if rci.get(k) != oci.get(k)]
    frames = lambda d: [[(f["offset"], f["trust"]) for f in t["frames"]] for t in d["threads"]]  # noqa: E731
    if frames(reference) != frames(ours):
        out.append("frames")
    return out


def main() -> int:
    from crashdesk.engine.minidump import MinidumpError
    from crashdesk.engine.stackwalk import process_minidump

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--symbols-path", type=Path, default=None, help="a symbol store given to both tools")
    args = ap.parse_args()
    provider = None
    if args.symbols_path is not None:
        from crashdesk.symbols import build_provider

        provider = build_provider([args.symbols_path], [], None)
    if not REFERENCE.exists():
        print(f"{REFERENCE} missing: run benchmarks/bench_stackwalk.py once to fetch it", file=sys.stderr)
        return 2
    seeds = [p for p in sorted(SEEDS.glob("*/*.dmp")) if p.parent.name not in ("regressions",)]
    rng = random.Random(args.seed)
    tally: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "variant.dmp"
        for _ in range(args.count):
            seed = rng.choice(seeds)
            data = mutate(seed.read_bytes(), rng)
            work.write_bytes(data)
            sym_args = ["--symbols-path", str(args.symbols_path)] if args.symbols_path else []
            ref = subprocess.run([str(REFERENCE), "--json", *sym_args, str(work)], capture_output=True, text=True)
            try:
                ours, error = process_minidump(data, provider), None
            except MinidumpError as exc:
                ours, error = None, str(exc)
            if ref.returncode != 0:
                categories = ["both reject"] if ours is None else ["only the reference rejects"]
            elif ours is None:
                categories = [f"only CrashDesk rejects ({error[:60]})"]
            else:
                categories = compare(json.loads(ref.stdout), ours) or ["agree"]
            for category in categories:
                if args.keep and category not in tally and category not in ("agree", "both reject"):
                    args.keep.mkdir(parents=True, exist_ok=True)
                    name = "".join(c if c.isalnum() else "-" for c in category)[:60]
                    (args.keep / f"{name}.dmp").write_bytes(data)
                tally[category] += 1
    for category, n in tally.most_common():
        print(f"{n:5d}  {category}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
