"""``crashdesk.cli.entry``, the command as a process: main()'s exit status, and after a sub-command the
process's objects frozen so that Python's last collections at exit skip them (start-up/exit time); the app
and ``--version`` exit as usual. A one-shot sub-command (stackwalk) and argparse's own exits (``--help``,
``--version``, usage errors) end without Python's finalization (``os._exit``) when nothing is lost: their output
whole (a pipe, a file), their exit status, the symbol index they write, and ``atexit`` handlers still run when
registered. Real processes, the real command."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crashdesk.cli import _is_command, main

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


# Without an atexit handler (one would make the command exit as usual). Run with -S, the site-packages folders added
# by hand: the development machine's .pth start-up hooks register atexit handlers of their own. And with -v: Python's
# finalization then says what it clears, "# clear sys.audit hooks" last, which an os._exit() never gets to.
FINALIZATION = "# clear sys.audit hooks"
PLAIN_LAUNCHER = """
import site, sys
sys.path.extend(site.getsitepackages())
sys.argv = ["crashdesk", *sys.argv[1:]]
from crashdesk.cli import entry
entry()
"""
_VERBOSE_LINE = re.compile(r"^(# |import |Python \d)")  # what -v writes: imports, clean-up, the version


SYMBOLS = ROOT / "tests" / "data" / "minidumps" / "symbols"


def run_verbose(args: list[str], tmp_path: Path, stdout=subprocess.PIPE) -> tuple[int, bytes, list[str]]:
    proc = subprocess.run([sys.executable, "-S", "-v", "-c", PLAIN_LAUNCHER, *args], cwd=ROOT, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "CRASHDESK_HOME": str(tmp_path)})  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr.decode().splitlines(keepends=True)


def run_command(args: list[str], tmp_path: Path, stdout=subprocess.PIPE) -> tuple[int, bytes, str, bool]:
    """(exit status, stdout bytes, stderr without -v's lines, whether Python's finalization ran)."""
    code, out, lines = run_verbose(args, tmp_path, stdout)
    err = "".join(line for line in lines if not _VERBOSE_LINE.match(line))
    return code, out, err, any(line.startswith(FINALIZATION) for line in lines)


@pytest.mark.parametrize("args", [["--version"], ["stackwalk", "--json", str(DUMP)]])
def test_finding_the_sub_command_imports_no_importlib_util(args, tmp_path):
    """The sub-command is found by importing its module, not with importlib.util.find_spec (which imports
    contextlib): neither is on these paths (test_startup_imports' launcher, runpy, imports both itself)."""
    code, _out, lines = run_verbose(args, tmp_path)
    assert code == 0
    imported = {line.split("'")[1] for line in lines if line.startswith("import '")}
    assert "crashdesk.cli" in imported
    assert not imported & {"importlib.util", "contextlib"}


def test_is_command_tells_commands_from_other_words():
    assert _is_command("stackwalk") and _is_command("search")
    assert not _is_command("no_such_command")


@pytest.mark.parametrize(("args", "status", "ends_at_once"), [
    (["stackwalk", "--json", str(DUMP)], 0, True),
    (["stackwalk", "--json", "no-such.dmp"], 1, True),  # a handled failure
    (["stackwalk", "--no-such-flag", str(DUMP)], 2, True),  # argparse's exit: nothing ran
    (["stackwalk", "--help"], 0, True),
    (["--version"], 0, True),
    (["--help"], 0, True),
    (["stackwalk", "--verbose", "info", "--json", str(DUMP)], 0, False),  # logging's atexit flush is kept
    (["search"], 0, False),  # the store's command: its SQLite connection closes at exit, as usual
])  # fmt: skip
def test_one_shot_commands_end_without_finalization_and_keep_their_status(args, status, ends_at_once, tmp_path):
    code, out, err, finalized = run_command(args, tmp_path)
    assert code == status
    assert finalized is not ends_at_once
    if status == 0 and "--json" in args:
        assert out.startswith(b'{"crash_info":') and out.endswith(b"}")
    if status == 0 and ("--help" in args or "--version" in args):
        assert out.startswith((b"usage: crashdesk", b"crashdesk "))
    if status != 0:
        assert err.startswith(("crashdesk stackwalk:", "usage: crashdesk")) and err.endswith("\n")


def _reference_dump_printout(dump: Path) -> bytes:
    key = hashlib.sha256(dump.read_bytes()).hexdigest()[:16]
    return gzip.decompress((ROOT / "tests" / "data" / "dump_printer" / "expected" / f"{key}.txt.gz").read_bytes())


@pytest.mark.parametrize("into", ["pipe", "file"])
def test_output_larger_than_a_pipe_is_whole(into, tmp_path):
    """``--dump`` of a dump: 150 KB, more than a pipe holds, written then flushed before the process ends;
    the reference's bytes (tests/data/dump_printer)."""
    want = _reference_dump_printout(DUMP)
    assert len(want) > 100_000
    if into == "pipe":
        code, out, err, finalized = run_command(["stackwalk", "--dump", str(DUMP)], tmp_path)
    else:
        with open(tmp_path / "out.txt", "wb") as f:
            code, _out, err, finalized = run_command(["stackwalk", "--dump", str(DUMP)], tmp_path, stdout=f)
        out = (tmp_path / "out.txt").read_bytes()
    assert (code, err, finalized) == (0, "", False)
    assert out == want


def test_a_closed_pipe_keeps_its_exit_status(tmp_path):
    """stdout's reader gone before the output is written: main()'s status for a broken pipe (1), no traceback."""
    proc = subprocess.Popen([sys.executable, "-S", "-c", PLAIN_LAUNCHER, "stackwalk", "--dump", str(DUMP)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": "/usr/bin:/bin", "CRASHDESK_HOME": str(tmp_path)})  # fmt: skip
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err


def _cache_files(cache: Path) -> dict[str, tuple[int, bytes]]:
    """Each file's inode and bytes (a rebuilt index is a new file renamed into place; a used one has its time
    touched for the cache's LRU eviction, so times prove nothing)."""
    return {str(p.relative_to(cache)): (p.stat().st_ino, p.read_bytes()) for p in sorted(cache.rglob("*"))
            if p.is_file()}  # fmt: skip


def test_symbol_index_written_by_a_run_serves_the_next(capsys, tmp_path):
    """The first run builds the symbol files' indexes into the cache and ends at once; the second run uses them
    as they are (not rebuilt) and prints the same document as main() in this process."""
    cache = tmp_path / "cache"
    args = ["stackwalk", "--json", "--pretty", "--symbols-path", str(SYMBOLS), "--symbols-cache", str(cache), str(DUMP)]
    code, first, err, finalized = run_command(args, tmp_path)
    assert (code, err, finalized) == (0, "", False)
    built = _cache_files(cache)
    assert built, "the run indexed the symbol files"
    code, second, err, finalized = run_command(args, tmp_path)
    assert (code, err, finalized) == (0, "", False)
    assert _cache_files(cache) == built  # read as written: nothing rebuilt
    assert main(args[:-3] + ["--symbols-cache", str(tmp_path / "fresh"), str(DUMP)]) == 0
    in_process = capsys.readouterr().out.encode()
    assert first == second == in_process
    assert b'"loaded_symbols": true' in first


def test_another_thread_is_waited_for(tmp_path):
    """_end_now leaves a process with a non-daemon thread still running to Python's usual exit, which waits."""
    launcher = """
import sys, threading, time
from crashdesk.cli import _end_now
threading.Thread(target=lambda: (time.sleep(0.2), sys.stdout.write("thread done\\n"))).start()
_end_now(0)
sys.stdout.write("exited as usual\\n")
"""
    proc = subprocess.run([sys.executable, "-S", "-c", launcher], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert sorted(proc.stdout.splitlines()) == ["exited as usual", "thread done"]
