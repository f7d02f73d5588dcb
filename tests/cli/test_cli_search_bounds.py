"""``crashdesk search`` with runaway queries (issue 19 #13): over the nesting, term-count and value-length
bounds each is one line on stderr naming the column, exit 1, no traceback (the real command in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CASES = {
    "nesting": ("(" * 400 + "crash" + ")" * 400, "nested groups", 9),
    "terms": (" ".join(f"product:p{i}" for i in range(1500)), "terms and words", None),
    "value": ("signature:~" + "x" * 100_000, "characters long", 11),
    "ambiguous": ("product:Firefox)", "without a matching", 16),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_runaway_queries_are_one_line_errors(tmp_path, name):
    query, words, column = CASES[name]
    env = dict(os.environ, CRASHDESK_HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "search", query], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("crashdesk search: ") and words in lines[0]
    if column is not None:
        assert f"at column {column} of the query" in lines[0]
    else:
        assert "at column" in lines[0]
    assert proc.stdout == ""
