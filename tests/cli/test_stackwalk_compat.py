"""rust-minidump's ``minidump-stackwalk`` CLI snapshot tests (tag v0.25.0,
``minidump-stackwalk/tests/test-minidump-stackwalk.rs``) translated to pytest: the same arguments given to
``crashdesk stackwalk``, the output compared with the upstream snapshot (``tests/data/stackwalk_cli/snapshots``,
MIT, see PROVENANCE.md there). The help/version snapshots name the reference binary and the ``trace`` log
snapshot is not enforced upstream: those are left out. Each snapshot test also checks, as upstream, that the
command succeeded and wrote nothing on stderr."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli._synth_unloaded import unloaded_minidump

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "stackwalk_cli"
SNAPSHOTS = DATA / "snapshots"


def snapshot(name: str) -> str:
    """The body of an insta snapshot file (after its ``---`` header)."""
    text = (SNAPSHOTS / f"test_minidump_stackwalk__{name}.snap").read_text(encoding="utf-8")
    return text.split("---\n", 2)[2]


def same(output: str, expected: str) -> bool:
    """insta's comparison: exact text, trailing newlines aside."""
    return output.rstrip("\n") == expected.rstrip("\n")


@pytest.fixture(scope="module")
def testdata(tmp_path_factory) -> Path:
    """rust-minidump's ``testdata/`` as the tests read it: test.dmp, evil.json, the Linux and macOS dumps,
    ``symbols/`` (stored gzipped here), and the synthetic ``unloaded-minidump.dmp``."""
    root = tmp_path_factory.mktemp("testdata")
    for name in ("test.dmp", "evil.json", "linux-mini.dmp", "pipeline-inlines-macos-segv.dmp"):
        shutil.copyfile(DATA / name, root / name)
    for packed in (DATA / "symbols").rglob("*.sym.gz"):
        target = root / "symbols" / packed.relative_to(DATA / "symbols").with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.decompress(packed.read_bytes()))
    (root / "unloaded-minidump.dmp").write_bytes(unloaded_minidump())
    return root


def stackwalk(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CRASHDESK_HOME=str(home), XDG_CACHE_HOME=str(home / "xdg"))
    env.pop("DEBUGINFOD_URLS", None)
    return subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


# (upstream test, arguments with ../testdata/ as T/, snapshot of stdout, snapshot of the --cyborg file)
CASES = [
    ("test_dump", ["--dump", "T/test.dmp"], "dump", None),
    ("test_dump_brief", ["--dump", "--brief", "T/test.dmp"], "dump-brief", None),
    ("test_json", ["--json", "T/test.dmp"], "json", None),
    ("test_json_pretty", ["--json", "--pretty", "T/test.dmp"], "json-pretty", None),
    ("test_json_stable_all", ["--json", "--pretty", "--features", "stable-all", "T/test.dmp"], "json-stable-all", None),
    ("test_json_unstable_all", ["--json", "--pretty", "--features", "unstable-all", "T/test.dmp"],
     "json-unstable-all", None),
    ("test_json_symbols", ["--json", "--pretty", "T/test.dmp", "T/symbols/"], "json-pretty-symbols", None),
    ("test_evil_json", ["--json", "--pretty", "--evil-json", "T/evil.json", "T/test.dmp", "T/symbols/"],
     "json-pretty-evil-symbols", None),
    ("test_human", ["--human", "T/test.dmp"], "human", None),
    ("test_human_stable_all", ["--human", "--features", "stable-all", "T/test.dmp"], "human-stable-all", None),
    ("test_human_unstable_all", ["--human", "--features", "unstable-all", "T/test.dmp"], "human-unstable-all", None),
    ("test_human_symbols", ["--human", "T/test.dmp", "T/symbols/"], "human-symbols", None),
    ("test_human_symbols_garbo_url", ["--human", '--symbols-url="garbage.realwebsite"', "T/test.dmp", "T/symbols/"],
     "human-symbols", None),
    ("test_human_brief", ["--human", "--brief", "T/test.dmp"], "human-brief", None),
    ("test_default", ["T/test.dmp"], "human", None),
    ("test_cyborg", ["--cyborg", "OUT", "T/test.dmp"], "human", "json"),
    ("test_ambiguous_parse", ["--human", "--symbols-url", "garbage-url.realwebsite", "T/test.dmp"], "human", None),
    ("test_unloaded", ["--cyborg", "OUT", "--pretty", "T/unloaded-minidump.dmp"], "human-unloaded",
     "json-pretty-unloaded"),
    ("test_macos_inlines_json_pretty", ["--json", "--pretty", "--symbols-path=T/symbols/",
                                        "T/pipeline-inlines-macos-segv.dmp"], "macos_inlines_json_pretty", None),
    ("test_macos_inlines_human", ["--human", "--symbols-path=T/symbols/", "T/pipeline-inlines-macos-segv.dmp"],
     "macos_inlines_human", None),
    ("test_linux_json_pretty", ["--json", "--pretty", "T/linux-mini.dmp"], "linux_json_pretty", None),
    ("test_linux_human", ["--human", "T/linux-mini.dmp"], "linux_human", None),
]  # fmt: skip


def _args(args: list[str], testdata: Path, out: Path) -> list[str]:
    return [a.replace("T/", f"{testdata}/").replace("OUT", str(out)) if a != "OUT" else str(out) for a in args]


@pytest.mark.parametrize(("test", "args", "stdout_snap", "file_snap"), CASES,
                         ids=[c.values[0] if hasattr(c, "values") else c[0] for c in CASES])  # fmt: skip
def test_snapshot(test, args, stdout_snap, file_snap, testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "cyborg-out.json"
    proc = stackwalk(_args(args, testdata, out), cwd=tmp_path, home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == snapshot(stdout_snap) or same(proc.stdout, snapshot(stdout_snap)), test
    if file_snap:
        assert same(out.read_text(encoding="utf-8"), snapshot(file_snap))
    assert proc.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        [],  # test_no_minidump
        ["not_a_real_minidump.dmp"],  # test_bad_minidump
        ["--json", "--human", "T/test.dmp"],  # test_multiple_outputs_conflict
        ["--human", "--pretty", "T/test.dmp"],  # test_pretty_humans (and test_brief_robots, identical upstream)
    ],
    ids=["no_minidump", "bad_minidump", "multiple_outputs_conflict", "pretty_humans"],
)
def test_refused(args, testdata: Path, tmp_path: Path) -> None:
    proc = stackwalk(_args(args, testdata, tmp_path / "x"), cwd=tmp_path, home=tmp_path / "home")
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert proc.stderr != ""
    assert "Traceback" not in proc.stderr
