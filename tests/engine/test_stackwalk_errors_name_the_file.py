"""Every ``stackwalk`` error names the dump it is about (issue 20), single or in a ``--jsonl`` batch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WHOLE = Path(__file__).resolve().parents[1] / "data" / "crashes" / "05-thread" / "dump.dmp"

BAD = {
    "text.dmp": b"hello, not a minidump at all",
    "short-header.dmp": b"MDMP\x93\xa7",
    "empty.dmp": b"",
    "directory-too-big.dmp": WHOLE.read_bytes()[:12] + b"\xff\xff\x00\x00" + WHOLE.read_bytes()[16:40],
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_single_dump_error_names_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD[name])
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert str(path) in line, line


def test_batch_errors_name_the_file(tmp_path):
    paths = []
    for name, data in sorted(BAD.items()):
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", "--jsonl", *paths],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["dump"] for x in lines] == paths
    for line in lines:
        assert line["dump"] in line["error"], line
