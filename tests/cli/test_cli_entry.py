"""``crashdesk.cli.entry``, the command as a process: main()'s exit status, and after a sub-command the
process's objects frozen so that Python's last collections at exit skip them (start-up/exit time); the app
and ``--version`` exit as usual. Real processes, the real command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests" / "data" / "minidumps" / "linux-crashpad-05-thread" / "dump.dmp"

LAUNCHER = """
import atexit, gc, sys
atexit.register(lambda: sys.stderr.write(f"\\ncollector={int(gc.isenabled())}\\nfrozen={gc.get_freeze_count()}\\n"))
sys.argv = ["crashdesk", *sys.argv[1:]]
from crashdesk.cli import entry
entry()
"""


def run(args: list[str], tmp_path: Path, with_collector: bool = False):
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "CRASHDESK_HOME": str(tmp_path)})
    frozen = int(proc.stderr.rsplit("frozen=", 1)[1])
    if with_collector:
        return proc.returncode, proc.stdout, frozen, proc.stderr.rsplit("collector=", 1)[1].startswith("1")
    return proc.returncode, proc.stdout, frozen


@pytest.mark.parametrize(("args", "status", "frozen"), [
    (["stackwalk", "--json", str(DUMP)], 0, True),
    (["stackwalk", "--json", "no-such.dmp"], 1, True),  # a handled failure: still main()'s status
    (["stackwalk", "--no-such-flag", str(DUMP)], 2, False),  # argparse exits inside main()
    (["--version"], 0, False),
])  # fmt: skip
def test_exit_status_is_mains_and_only_a_sub_command_freezes(args, status, frozen, tmp_path):
    code, out, count = run(args, tmp_path)
    assert code == status
    assert (count > 0) is frozen
    if args[0] == "stackwalk" and status == 0:
        assert out.startswith('{"crash_info":') and out.endswith("}")  # the whole document, nothing lost


@pytest.mark.parametrize(("args", "collector"), [
    (["stackwalk", "--json", str(DUMP)], False),  # one dump, then the process ends
    (["stackwalk", "--jsonl", str(DUMP), str(DUMP)], True),  # any number of dumps: cycles are collected
    (["--version"], True),
])  # fmt: skip
def test_only_a_one_dump_stackwalk_runs_without_the_cyclic_collector(args, collector, tmp_path):
    code, out, _frozen, enabled = run(args, tmp_path, with_collector=True)
    assert code == 0
    assert enabled is collector
    if "--jsonl" in args:
        assert [line.startswith('{"dump":') for line in out.splitlines()] == [True, True]
