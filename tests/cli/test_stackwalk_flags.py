"""``crashdesk stackwalk``'s minidump-stackwalk flags beyond the upstream snapshot tests: output and log files,
log levels, a broken ``--evil-json``, positional symbol folders after options, the reference's exit codes for
refused combinations. Expected outputs are rust-minidump's v0.25.0 snapshots (tests/data/stackwalk_cli), and
the behaviour where no snapshot exists was taken from running ``minidump-stackwalk`` 0.25.0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_stackwalk_compat import DATA, same, snapshot, stackwalk, testdata  # noqa: F401

TEST_DMP = DATA / "test.dmp"


def test_output_file_takes_the_report_and_stdout_stays_empty(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    proc = stackwalk(["--human", "--output-file", str(out), str(TEST_DMP)], tmp_path, tmp_path / "home")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    assert same(out.read_text(), snapshot("human"))


def test_log_file_at_info_says_what_the_walk_did(testdata: Path, tmp_path: Path) -> None:  # noqa: F811
    log = tmp_path / "walk.log"
    proc = stackwalk(["--verbose", "info", "--log-file", str(log), str(TEST_DMP), str(testdata / "symbols")],
                     tmp_path, tmp_path / "home")  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""
    assert same(proc.stdout, snapshot("human-symbols"))  # the log never mixes into the report
    text = log.read_text()
    assert "2 threads, 13 modules" in text
    assert "symbols loaded for test_app.exe (test_app.pdb 5A9832E5287241C1838ED98914E9B7FF1)" in text
    assert "symbols missing for kernel32.dll" in text


def test_trace_logs_every_frame_on_stderr(tmp_path: Path) -> None:
    proc = stackwalk(["--verbose=trace", str(TEST_DMP)], tmp_path, tmp_path / "home")
    assert proc.returncode == 0
    assert same(proc.stdout, snapshot("human"))
    frames = [line for line in proc.stderr.splitlines() if line.startswith("TRACE unwind:   frame")]
    assert len(frames) == 4  # the crashing thread's; the other one wrote the dump and is not walked
    assert "found by frame_pointer" in frames[1]
    assert "DEBUG unwind: thread 1 (tid 4544) wrote the dump: not walked" in proc.stderr.splitlines()


def test_broken_evil_json_is_logged_and_the_report_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "evil.json"
    bad.write_text('{"ModuleSignatureInfo": 5')
    proc = stackwalk(["--json", "--pretty", "--evil-json", str(bad), str(TEST_DMP)], tmp_path, tmp_path / "home")
    assert proc.returncode == 0
    assert same(proc.stdout, snapshot("json-pretty"))
    assert proc.stderr.strip() == "ERROR Could not parse Extra JSON (was not valid JSON)"


def test_symbol_folders_may_follow_options(testdata: Path, tmp_path: Path) -> None:  # noqa: F811
    proc = stackwalk([str(testdata / "test.dmp"), "--json", str(testdata / "symbols"), "--pretty"], tmp_path,
                     tmp_path / "home")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert same(proc.stdout, snapshot("json-pretty-symbols"))


def test_compact_json_has_no_trailing_newline(tmp_path: Path) -> None:
    proc = stackwalk(["--json", str(TEST_DMP)], tmp_path, tmp_path / "home")
    assert proc.stdout == snapshot("json").rstrip("\n")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--pretty"], 1),  # "Humans must be hideous!"
        (["--json", "--brief"], 1),  # "Robots cannot be brief!"
        (["--json", "--human"], 2),
        (["--cyborg", "x.json", "--json"], 2),
        (["--features", "bogus"], 2),
        (["--verbose", "loud"], 2),
        (["--symbols-download-timeout-secs", "x"], 2),
        (["--bogus"], 2),
    ],
)
def test_refused_combinations_exit_as_the_reference(args, code, tmp_path: Path) -> None:
    proc = stackwalk([*args, str(TEST_DMP)], tmp_path, tmp_path / "home")
    assert proc.returncode == code
    assert proc.stdout == ""
    assert proc.stderr and "Traceback" not in proc.stderr


def test_version(tmp_path: Path) -> None:
    proc = stackwalk(["-V"], tmp_path, tmp_path / "home")
    assert proc.returncode == 0 and "minidump-stackwalk 0.25.0 compatible" in proc.stdout


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "Could not parse Extra JSON (was not valid JSON)"),  # deeper than the parser
        (bytes(range(256)) * 64, "Could not parse Extra JSON (was not valid JSON)"),  # binary garbage
        (b'["not", "an", "object"]', "Could not parse Extra JSON (was not valid JSON)"),
        (b'{"ModuleSignatureInfo": "{\\"c\\": 5}"}', "Could not parse Evil JSON's ModuleSignatureInfo (not an object)"),
        (b'{"ModuleSignatureInfo": {"c": [1, 2]}, "CPUMicrocodeVersion": "0x' + b"f" * 4096 + b'"}',
         "Could not parse Evil JSON's ModuleSignatureInfo (not an object)"),
    ],
    ids=["deep", "binary", "array", "bad-signature-info", "huge-microcode"],
)
def test_hostile_evil_json_is_one_error_line_and_the_report_goes_on(content, error, tmp_path: Path) -> None:
    evil = tmp_path / "evil.json"
    evil.write_bytes(content)
    proc = stackwalk(["--json", "--pretty", "--evil-json", str(evil), str(TEST_DMP)], tmp_path, tmp_path / "home")
    assert proc.returncode == 0
    assert same(proc.stdout, snapshot("json-pretty"))
    assert proc.stderr.strip() == f"ERROR {error}"


def test_oversized_evil_json_is_not_read(tmp_path: Path) -> None:
    evil = tmp_path / "evil.json"
    with open(evil, "wb") as fh:  # sparse: 65 MiB that costs no disk
        fh.truncate(65 << 20)
    proc = stackwalk(["--json", "--pretty", "--evil-json", str(evil), str(TEST_DMP)], tmp_path, tmp_path / "home")
    assert proc.returncode == 0
    assert same(proc.stdout, snapshot("json-pretty"))
    assert proc.stderr.strip() == f'ERROR Could not load Extra JSON at "{evil}" (larger than 64 MiB)'
