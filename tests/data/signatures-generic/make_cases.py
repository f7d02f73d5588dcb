"""Refresh cases/*.json: the small stackwalk extracts the generic-signature evaluation reads.

    python3 tests/data/signatures-generic/make_cases.py [--shared ../shared]

Built cases: src/ compiled and crashed under the real crashpad_handler, stackwalked by CrashDesk with
dump_syms symbols (tests/engine/generic_crashes.py), plus the module paths CrashDesk's processing adds. Fetched cases: the oracle's expected.json
(minidump-stackwalk 0.25.0 with the repository's symbols) of ../shared/corpus/fetched/<case>/; the sha256 of
each source file is written into PROVENANCE.json. Labels (labels.json) are not touched: they are written by
hand from the programs' sources.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "engine"))
sys.path.insert(0, str(HERE.parents[2]))

import generic_crashes  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(HERE.parents[3] / ".." / "shared"))
    args = ap.parse_args()
    out = HERE / "cases"
    out.mkdir(exist_ok=True)
    provenance = {}
    labels = generic_crashes.labels()["cases"]
    with tempfile.TemporaryDirectory() as work:
        processed = generic_crashes.run_all(Path(work))
    for case_id, doc in processed.items():
        (out / f"{case_id}.json").write_text(json.dumps(generic_crashes.extract(doc), indent=1) + "\n")
        provenance[case_id] = "built: tests/engine/generic_crashes.py (gcc/g++ + crashpad_handler 0.14.0 + CrashDesk stackwalk)"
    fetched = Path(args.shared) / "corpus" / "fetched"
    for case in labels:
        if case["source"] != "fetched":
            continue
        src = fetched / case["path"] / "expected.json"
        data = src.read_bytes()
        doc = json.loads(data)
        dumps = [f for f in src.parent.iterdir() if f.is_file() and f.read_bytes()[:4] == b"MDMP"]
        if dumps:  # the module paths CrashDesk's processing would add (the oracle's JSON has file names only)
            from crashdesk.services.worker import module_paths

            paths = module_paths(str(dumps[0]))
            if paths:
                doc[generic_crashes.MODULE_PATHS_KEY] = paths
        (out / f"{case['id']}.json").write_text(json.dumps(generic_crashes.extract(doc), indent=1) + "\n")
        provenance[case["id"]] = f"../shared/corpus/fetched/{case['path']}/expected.json sha256 {hashlib.sha256(data).hexdigest()}"
    (HERE / "PROVENANCE.json").write_text(json.dumps(provenance, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
