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
