"""Bundle import speed: ``import_bundle`` (new crashes in batches) against storing the same bundle one crash at
a time (``importing._store_crash`` per crash: what ``import_bundle`` did before batches), in the same run.

    python benchmarks/bench_import.py [--crashes 2000] [--repeat 2] [--seed 3]

The bundle is written by ``export_crashes`` from a store filled with ``bench_store.py``'s crashes (processed,
signed, 150 modules, 8 threads; one in five raw only; no dumps), then imported into fresh stores, the two ways
alternating. Prints wall seconds, crashes/s and the CPU seconds of this process (every thread) per way.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_store import World, make_crash  # noqa: E402

from crashdesk.services import importing  # noqa: E402
from crashdesk.store import CrashStore  # noqa: E402
from crashdesk.store.bundles import read_bundle  # noqa: E402


def one_at_a_time(store: CrashStore, bundle: Path) -> int:
    spool = Path(tempfile.mkdtemp(dir=store.blobs.root))
    try:
        crashes = read_bundle(bundle, spool_dir=spool)
        return len([importing._store_crash(store, c, where=str(c.crash_id), kind="bundle") for c in crashes])
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crashes", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        world = World(random.Random(args.seed), args.crashes)
        now = time.time()
        crashes = [make_crash(world, i, now) for i in range(args.crashes)]
        for i, crash in enumerate(crashes):
            if i % 5 == 4:
                crash.processed = crash.signature = None
        with CrashStore.open(work / "source") as source:
            ids = [i for batch in source.add_batches([crashes[k:k + 500] for k in range(0, len(crashes), 500)])
                   for i in batch]
            importing.export_crashes(source, ids, work / "bundle")
        ways = {"one at a time": lambda s: one_at_a_time(s, work / "bundle"),
                "import_bundle": lambda s: len(importing.import_bundle(s, work / "bundle"))}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for n in range(args.repeat):
            for name, fn in (ways.items() if n % 2 == 0 else reversed(ways.items())):
                folder = work / f"{n}-{name.replace(' ', '-')}"
                with CrashStore.open(folder) as store:
                    w0, c0 = time.perf_counter(), time.process_time()
                    assert fn(store) == args.crashes
                    results[name].append((time.perf_counter() - w0, time.process_time() - c0))
                    assert store.count() == args.crashes
                shutil.rmtree(folder)
        for name, runs in results.items():
            print(f"{name:>14}: " + ", ".join(f"{w:.2f} s wall ({args.crashes / w:.0f}/s), {c:.2f} s CPU"
                                              for w, c in runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
