"""``crashdesk sync`` against a server that does not answer (issue 20): each retry is said on stderr while it
waits, the report does not call a failed run "recovered", and the run ends as a failure (exit 1, one line)."""

from __future__ import annotations

import socket
import subprocess
import sys

from conftest import cli_env


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_shows_retries_and_fails(tmp_path):
    port = _closed_port()
    proc = subprocess.run(
        [sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path / "home"), "sync", "--server",
         f"http://127.0.0.1:{port}", "--retries", "3"],
        capture_output=True, text=True, env=cli_env(), timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    err = proc.stderr.strip().splitlines()
    retries = [line for line in err if "Connection refused" in line and "; retry " in line]
    assert [line.rsplit("; retry ", 1)[1].split(" in ")[0] for line in retries] == ["1 of 2", "2 of 2"]
    assert err[-1] == "crashdesk sync: failed: 1 part(s) could not be fetched; run the same sync again to retry"
    assert "recovered" not in proc.stdout and "retried transient faults: 2 retries" in proc.stdout
    assert proc.stdout.startswith(f"sync 127.0.0.1:{port}")
