"""Builds ``store.sqlite.zst`` and ``answers.json``: a store written by CrashDesk at schema v10 (the revision
before the issue-27 storage migration, commit 9654bf7) and that revision's answers to a set of searches, for
``tests/store/test_compact_migration.py``. Run it with that revision's package on the path, from its worktree:

    python3 /path/to/tests/data/store-v10/build.py OUT_DIR

The crashes are the corpus crashes 01-null-deref and 05-thread, varied (products, versions, URLs, a module's
symbols missing, one stored with every thread's frames, one never processed, one with an odd base address) and
written by both write paths (``add_many`` and ``add_crash`` + ``save_processed``).
"""

from __future__ import annotations

import copy
import json
import sqlite3
import sys
from pathlib import Path

import zstandard

from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash, SignatureRecord
from crashdesk.store.schema import SCHEMA_VERSION

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "crashes"
QUERIES = [
    "", "function:=tile_blit", "function:~render", "function:~ma", "function:__null__", "function:!__null__",
    "file:=/build/crashfactory-demo/demo_viewer.c", "file:~demo_viewer", "file:^nptl", "file:$.S", "file:~clone",
    "file:__null__", "file:!__null__", "module:libdemo_codec.so", "module:~demo", "module:libdemo_codec.so@>=2",
    "debug_id:__null__", "ann.URL:~example", "ann.ProcessType:=gpu", "ann.URL:__null__", "page_measure_width",
    '"tile_blit"', "signature:~sig1", "product:Beta version:>=2", "thread:any function:~start_thread",
    "thread:main function:~main", "frame.module:demo-viewer", "frame.module:libc.so.6", 'stack:"render_tile > tile_blit"',
    "frames:>3", "frame.trust:cfi@5", "frame.trust:context@1", "processed:__null__", "file:~demo function:~tile",
]


def main(out: Path) -> None:
    assert SCHEMA_VERSION == 10, SCHEMA_VERSION
    out.mkdir(parents=True, exist_ok=True)
    cases = {name: (json.loads((CORPUS / name / "annotations.json").read_text()),
                    json.loads((CORPUS / name / "expected.json").read_text())) for name in ("01-null-deref", "05-thread")}
    store = CrashStore.open(out / "store")
    items = []
    for n in range(16):
        name = ("01-null-deref", "05-thread")[n % 2]
        ann, processed = copy.deepcopy(cases[name])
        ann.update({"ProductName": ("Alpha", "Beta", "Gamma")[n % 3], "Version": f"{1 + n % 3}.{n % 2}",
                    "ProcessType": ("gpu", "GPU", "tab")[n % 3], "Counter": str(n)})
        if n % 4:
            ann["URL"] = f"https://host{n % 3}.example.com/p?n={n}"
        for module in processed["modules"]:
            if module["filename"] == "libdemo_codec.so":
                module["version"] = f"{1 + n % 3}.{n % 2}"
        if n % 5 == 0:
            processed["modules"][0]["loaded_symbols"] = False
            processed["modules"][0]["missing_symbols"] = True
        if n == 3:
            processed["modules"][1]["base_addr"] = "0x1000"  # not 16 digits: stays JSON text after the migration
        sig = SignatureRecord(f"sig{n % 4} | {name}", None, [], "generic")
        when = f"2026-11-{10 + n:02d}T10:00:00.000000+00:00"
        if n < 10:
            items.append(NewCrash(ann, processed=processed, signature=sig, submitted_at=when,
                                  all_thread_frames=n == 4))
        else:
            crash_id = store.add_crash(ann, source="collector", submitted_at=when)
            store.save_processed(crash_id, processed, signature=sig)
    items.append(NewCrash({"ProductName": "Raw"}, source="collector", submitted_at="2026-11-30T10:00:00.000000+00:00"))
    store.add_many(items)
    answers = {q: sorted(h["crash_id"] for h in store.search(q, limit=1000).hits) for q in QUERIES}
    store.close()
    conn = sqlite3.connect(out / "store" / "crashdesk.sqlite")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA page_size = 4096")  # smaller file to keep in the repository
    conn.execute("VACUUM")
    conn.close()
    data = (out / "store" / "crashdesk.sqlite").read_bytes()
    (out / "store.sqlite.zst").write_bytes(zstandard.ZstdCompressor(level=19).compress(data))
    (out / "answers.json").write_text(json.dumps(answers, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
