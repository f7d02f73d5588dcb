"""``crashdesk export --dry-run --json``: the preview of what leaves, through the real command; flags change
the policy for one export; nothing is written on a dry run; bad usage is one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests/data/crashes/01-null-deref/dump.dmp"
ANN = {"ProductName": "CrashFactoryDemo", "Version": "1.4.2", "Email": "x@example.com", "Comments": "hi there",
       "AppPath": "/Users/dana/App.app", "Notes": "free text"}


def crashdesk(home: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRASHDESK_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "crashdesk", *argv], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)


def test_dry_run_json_preview_and_flags(tmp_path):
    home = tmp_path / "home"
    assert crashdesk(home, "import", str(DUMP), "--annotations", json.dumps(ANN)).returncode == 0
    run = crashdesk(home, "export", "--query", "", "--dry-run", "--json")
    assert run.returncode == 0, run.stderr
    preview = json.loads(run.stdout)
    assert preview["crashes"] == 1
    actions = {k: v["action"] for k, v in preview["annotations"].items()}
    assert actions == {"ProductName": "keep", "Version": "keep", "Email": "remove", "Comments": "remove",
                       "AppPath": "scrub", "Notes": "mask"}
    assert preview["dumps"] == {"included_scrubbed": 1}
    assert preview["memory"]["bytes_zeroed"] > 0
    assert not list(tmp_path.glob("*.zip"))
    run = crashdesk(home, "export", "--query", "", "--dry-run", "--json", "--keep", "Notes", "--remove", "Version",
                    "--mask", "ProductName", "--keep-paths", "--no-dumps")
    actions = {k: v["action"] for k, v in json.loads(run.stdout)["annotations"].items()}
    assert actions == {"ProductName": "mask", "Version": "remove", "Email": "remove", "Comments": "remove",
                       "AppPath": "keep", "Notes": "keep"}
    assert json.loads(run.stdout)["dumps"] == {"left_out_by_policy": 1}
    # the human preview names what happens
    run = crashdesk(home, "export", "--query", "", "--dry-run")
    assert "remove  Email" in run.stdout and "dump memory:" in run.stdout
    # writing: the preview comes back with the result
    out = tmp_path / "b.zip"
    run = crashdesk(home, "export", "--query", "", "-o", str(out), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["preview"]["annotations"]["Email"]["action"] == "remove" and out.is_file()


def test_bad_usage_is_one_line_and_exit_2(tmp_path):
    home = tmp_path / "home"
    run = crashdesk(home, "export", "--query", "")
    assert run.returncode == 2 and "Traceback" not in run.stderr and "--output" in run.stderr
    run = crashdesk(home, "export", "--query", "", "--dry-run", "--keep", "---")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    bad = tmp_path / "policy.json"
    bad.write_text('{"rules": {"Email": "publish"}}')
    run = crashdesk(home, "export", "--query", "", "--dry-run", "--policy", str(bad))
    assert run.returncode == 2 and "Traceback" not in run.stderr and "publish" in run.stderr
