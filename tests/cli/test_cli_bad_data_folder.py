"""Every sub-command against each bad data folder (issue 20): a file where the folder should be, a path running
under a file, and a read-only folder. Each answers with one line on stderr and exit 1 or 2, never a traceback;
on a read-only folder the reading commands work (the store opens read-only) and the writing ones say the folder
is read-only. The real command in subprocesses; the read-only folder is a read-only bind mount in a private
mount namespace (``unshare``), so it is read-only for root too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes" / "01-null-deref"
NAMES = ["collector", "export", "import", "process", "regenerate", "regenerate-runs", "search", "show",
         "signature", "stackwalk", "symbols-cache", "symbols-missing", "sync"]
READING = {"search", "show", "export", "signature", "stackwalk", "symbols-missing"}


def commands(crash_id: str, tmp: Path) -> dict[str, list[str]]:
    dump = str(DATA / "dump.dmp")
    crash = tmp / "crash.json"
    if not crash.exists():
        crash.write_text(json.dumps({"stackwalk": json.loads((DATA / "expected.json").read_text()),
                                     "annotations": {}}))
    return {
        "collector": ["collector", "--port", "0", "--no-process"],
        "export": ["export", crash_id, "-o", str(tmp / "out-bundle")],
        "import": ["import", dump],
        "process": ["process"],
        "regenerate": ["regenerate", "--profile", "mozilla"],
        "regenerate-runs": ["regenerate", "--runs"],
        "search": ["search", "product:x"],
        "show": ["show", crash_id],
        "signature": ["signature", str(crash)],
        "stackwalk": ["stackwalk", dump],
        "symbols-cache": ["symbols", "cache"],
        "symbols-missing": ["symbols", "missing"],
        "sync": ["sync", "--server", "http://127.0.0.1:9"],
    }


def run(argv: list[str], data_dir: Path, *, wrap: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHDESK_")}
    env["XDG_CACHE_HOME"] = str(data_dir.parent / "xdg-cache")
    cmd = [sys.executable, "-m", "crashdesk", "--data-dir", str(data_dir), *argv]
    return subprocess.run([*(wrap or []), *cmd], capture_output=True, text=True, env=env, timeout=120,
                          cwd=str(Path(__file__).resolve().parents[2]))


def assert_one_line_failure(proc, name):
    assert "Traceback" not in proc.stderr, (name, proc.stderr[-3000:])
    assert proc.returncode in (1, 2), (name, proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, (name, proc.stderr[-2000:])
    return lines[0]


@pytest.mark.parametrize("shape", ["file", "under-a-file"])
@pytest.mark.parametrize("name", NAMES)
def test_a_file_in_the_way_is_one_line(tmp_path, shape, name):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    data_dir = blocker if shape == "file" else blocker / "crashdesk"
    argv = commands("00000000-0000-0000-0000-000000261129", tmp_path)[name]
    proc = run(argv, data_dir)
    if name in ("signature", "stackwalk") and proc.returncode == 0:
        # they work from their arguments alone: the built-in profiles; no symbol source given, so no cache
        assert proc.stdout, name
        return
    line = assert_one_line_failure(proc, name)
    assert str(blocker) in line, (name, line)
    assert "file" in line


def _unshare_works() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unprivileged mount namespaces are not available here: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def read_only_home(tmp_path_factory):
    reason = _unshare_works()
    if reason:
        pytest.skip(reason)
    from crashdesk.store import CrashStore

    home = tmp_path_factory.mktemp("ro") / "home"
    store = CrashStore.open(home)
    crash_id = store.add_crash({"ProductName": "ReadOnly", "Version": "1.0"},
                               {"upload_file_minidump": (DATA / "dump.dmp").read_bytes()}, source="import")
    store.close()
    for leftover in home.glob("crashdesk.sqlite-*"):  # closed cleanly: no -wal/-shm, as a user would leave it
        assert leftover.stat().st_size == 0 or leftover.name.endswith("-shm"), leftover
    return home, crash_id


def ro_wrap(folder: Path) -> list[str]:
    script = (f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"')
    return ["unshare", "-rm", "sh", "-c", script, "sh"]


@pytest.mark.parametrize("name", NAMES)
def test_read_only_folder(read_only_home, tmp_path, name):
    home, crash_id = read_only_home
    before = sorted(p.name for p in home.rglob("*"))
    proc = run(commands(crash_id, tmp_path)[name], home, wrap=ro_wrap(home))
    assert "Traceback" not in proc.stderr, (name, proc.stderr[-3000:])
    if name in READING:
        assert proc.returncode == 0, (name, proc.stderr[-2000:])
        if name == "search":
            assert proc.stdout.startswith("0 crashes")
        if name == "show":
            assert crash_id in proc.stdout
    else:
        line = assert_one_line_failure(proc, name)
        assert "read-only" in line, (name, line)
    assert sorted(p.name for p in home.rglob("*")) == before


def test_read_only_store_finds_what_is_stored(read_only_home, tmp_path):
    home, crash_id = read_only_home
    proc = run(["search", "product:ReadOnly", "--json"], home, wrap=ro_wrap(home))
    assert proc.returncode == 0, proc.stderr
    assert [h["crash_id"] for h in json.loads(proc.stdout)["hits"]] == [crash_id]
