"""Classes of difference issue 21 saw on dumps from the wild, on dumps built for them
(``tests/engine/_stackwalk_class_dumps.py``) against the reference's recorded output
(``tests/data/stackwalk_classes``, see generate.py there for the command and version)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from crashdesk.engine.stackwalk import process_minidump
from tests.engine._stackwalk_class_dumps import CASES

DATA = Path(__file__).resolve().parents[1] / "data" / "stackwalk_classes"


def _reference(name: str) -> dict:
    return json.loads(gzip.decompress((DATA / f"{name}.json.gz").read_bytes()))


@pytest.mark.parametrize("name", sorted(CASES))
def test_built_dump_matches_reference_document(name: str) -> None:
    expected = _reference(name)
    got = process_minidump(CASES[name]())
    got.pop("notes", None)  # CrashDesk's own notes on dropped input; not in the reference's schema
    assert got == expected


def test_deep_recursion_keeps_every_frame_like_the_reference() -> None:
    expected = _reference("deep_recursion_3000")
    got = process_minidump(CASES["deep_recursion_3000"]())
    assert expected["threads"][0]["frame_count"] == 3001  # no 1,024-frame cap in the reference
    assert got["threads"][0]["frame_count"] == 3001
    assert got["threads"][0]["frames"] == expected["threads"][0]["frames"]


def test_a_frame_cap_can_still_be_asked_for() -> None:
    got = process_minidump(CASES["deep_recursion_3000"](), max_frames=100)
    assert got["threads"][0]["frame_count"] == 100


def test_last_thread_list_outside_the_file_is_refused_like_the_reference() -> None:
    """The reference uses the last directory entry of a type; when that thread list lies past the end of the
    file it refuses the dump ("MissingThreadList", exit 1, checked with minidump-stackwalk 0.25.0), though an
    earlier thread list was readable. CrashDesk refuses it with its typed error."""
    from crashdesk.engine.minidump import MinidumpError
    from tests.engine._stackwalk_class_dumps import _with_extra_directory_entries, deep_recursion

    data = deep_recursion(3)
    broken = _with_extra_directory_entries(data, [(3, None, len(data) + 999, 52)])
    with pytest.raises(MinidumpError, match="MissingThreadList"):
        process_minidump(broken)


def test_cli_refuses_it_with_one_line(tmp_path) -> None:
    import subprocess
    import sys

    from tests.engine._stackwalk_class_dumps import _with_extra_directory_entries, deep_recursion

    data = deep_recursion(3)
    dump = tmp_path / "dup.dmp"
    dump.write_bytes(_with_extra_directory_entries(data, [(3, None, len(data) + 999, 52)]))
    run = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", "--json", str(dump)],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], timeout=120)  # fmt: skip
    assert run.returncode == 1
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "MissingThreadList" in run.stderr


def test_caller_registers_are_kept_for_the_ui_but_not_in_the_reference_json() -> None:
    """Issue 21 item 3: the crashing thread's caller frames keep the registers unwinding recovered (CFI
    frames of a real Crashpad dump with its symbols), with the same values the human-readable report prints
    (``all_registers``, checked against the reference's text elsewhere); the reference-shaped output keeps
    them on the context frame only."""
    from crashdesk.symbols import build_provider

    folder = Path(__file__).resolve().parents[1] / "data" / "unwind" / "plugin-so"
    provider = build_provider([folder / "symbols"], [], None)
    dump = folder / "dump.dmp"
    plain = process_minidump(dump, provider)
    kept = process_minidump(dump, provider, caller_registers=True)
    report = process_minidump(dump, provider, all_registers=True)
    plain_frames = plain["crashing_thread"]["frames"]
    assert "registers" in plain_frames[0] and all("registers" not in f for f in plain_frames[1:])
    kept_frames = kept["crashing_thread"]["frames"]
    callers = [f for f in kept_frames[1:] if "registers" in f]
    assert any(f["trust"] == "cfi" for f in callers)
    for f in callers:
        assert f["registers"] == report["crashing_thread"]["frames"][f["frame"]]["registers"]
    assert kept["threads"] == plain["threads"]  # only crashing_thread carries them
