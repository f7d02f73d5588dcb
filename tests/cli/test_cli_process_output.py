"""``crashdesk process`` / ``regenerate``: results on stdout, progress and errors on stderr
(cli-conventions.md); Ctrl-C during ``process`` is exit 130 with one line and no worker tracebacks (issue 20).
The real command in subprocesses over a real store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes" / "05-thread"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHDESK_")}
    env["CRASHDESK_HOME"] = str(home)
    return env


def _fill(home: Path, n: int) -> list[str]:
    from crashdesk.store import CrashStore

    annotations = json.loads((DATA / "annotations.json").read_text())
    dump = (DATA / "dump.dmp").read_bytes()
    with CrashStore.open(home) as store:
        return [store.add_crash(annotations, {"upload_file_minidump": dump}, source="import") for _ in range(n)]


def cli(home: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crashdesk", *argv], capture_output=True, text=True,
                          env=_env(home), timeout=300)


def test_process_and_regenerate_reports_go_to_stdout(tmp_path):
    home = tmp_path / "home"
    _fill(home, 3)
    proc = cli(home, "process", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("processed 3, failed 0"), (proc.stdout, proc.stderr)
    regen = cli(home, "regenerate", "--profile", "generic")
    assert regen.returncode == 0, regen.stderr
    assert "3 crashes:" in regen.stdout and "profile generic" in regen.stdout
    assert "use --apply" in regen.stdout
    applied = cli(home, "regenerate", "--profile", "mozilla", "--apply")
    assert applied.returncode == 0 and "applied as run " in applied.stdout, (applied.stdout, applied.stderr)
    runs = cli(home, "regenerate", "--runs")
    assert runs.returncode == 0 and runs.stderr == "", runs.stderr  # the listing (if any) is the result
    auto = cli(home, "regenerate")  # without --profile: each crash with the profile processing would pick
    assert auto.returncode == 0 and "profile auto" in auto.stdout, (auto.stdout, auto.stderr)
    helptext = cli(home, "regenerate", "--help").stdout
    assert "default: auto" in " ".join(helptext.split())


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_during_process_is_exit_130_one_line(tmp_path):
    home = tmp_path / "home"
    ids = _fill(home, 400)
    proc = subprocess.Popen([sys.executable, "-m", "crashdesk", "process", "--workers", "2"], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    from crashdesk.store import CrashStore

    deadline = time.monotonic() + 120
    with CrashStore.open(home) as store:  # wait until crashes are being processed, as a user would
        while store.state_counts()["processed"] < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
    assert proc.poll() is None, "processing finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == "crashdesk process: interrupted"
    assert len(err.strip().splitlines()) == 1, err[-3000:]
    with CrashStore.open(home) as store:
        counts = store.state_counts()
    # nothing left claimed: every crash is processed or back in the queue
    assert counts.get("processing", 0) == 0
    assert counts["processed"] + counts["received"] + counts.get("failed", 0) == len(ids)
