"""Exported bundles get the mode the user's umask gives a new file or folder, not mkstemp's 0600 (issue 20)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

DUMP = Path(__file__).resolve().parents[1] / "data" / "crashes" / "01-null-deref" / "dump.dmp"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_export_honours_the_umask(tmp_path, umask):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHDESK_")}
    env["CRASHDESK_HOME"] = str(tmp_path / "home")
    imported = subprocess.run([sys.executable, "-m", "crashdesk", "import", str(DUMP), "--json"],
                              capture_output=True, text=True, env=env, check=True)
    crash_id = __import__("json").loads(imported.stdout)["imported"][0]["crash_id"]

    def run_with_umask(*argv):
        return subprocess.run([sys.executable, "-c",
                               f"import os, sys; os.umask({umask}); from crashdesk.cli import main; "
                               f"sys.exit(main(sys.argv[1:]))", *argv], capture_output=True, text=True, env=env)

    zip_path = tmp_path / "out.zip"
    folder = tmp_path / "out-folder"
    assert run_with_umask("export", crash_id, "-o", str(zip_path)).returncode == 0
    assert run_with_umask("export", crash_id, "-o", str(folder)).returncode == 0
    # what the system gives a file / folder created under that umask, for comparison
    probe = subprocess.run([sys.executable, "-c", f"import os; os.umask({umask}); open('{tmp_path}/probe', 'w'); "
                            f"os.mkdir('{tmp_path}/probe-dir')"], check=True)
    assert probe.returncode == 0
    assert stat.S_IMODE(zip_path.stat().st_mode) == stat.S_IMODE((tmp_path / "probe").stat().st_mode)
    assert stat.S_IMODE(folder.stat().st_mode) == stat.S_IMODE((tmp_path / "probe-dir").stat().st_mode)
