"""The unwinder against the reference on real minidumps: every thread, frame by frame (module, function,
offsets, file, line, trust, inlines).

The small cases in ``tests/data/unwind`` always run. The full corpus runs when ``shared/corpus`` is present
(it is not part of a plain clone).
"""

from __future__ import annotations

import json
import lzma
import os
import shutil
from pathlib import Path

import pytest
from _unwind_support import frame_differences, walk_dump

DATA = Path(__file__).resolve().parents[1] / "data" / "unwind"
SHARED = Path(os.environ.get("CRASHDESK_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))

# (case folder, with symbols?) — each compared with the matching reference output.
LOCAL_CASES = [
    ("chromiumos-abort", True),
    ("chromiumos-abort", False),
    ("mini-windows", True),
    ("mini-windows", False),
    ("fizzbuzz_no_heap", True),
    ("fizzbuzz_no_heap", False),
    ("plugin-so", False),
    ("write_av_non_canonical", False),
    ("linux_divide_by_zero", False),
    ("null_read_av", False),
    ("arm64-macos", False),
    ("arm-linux", False),
]


def _dump_in(folder: Path) -> Path:
    return next(p for p in sorted(folder.iterdir()) if p.suffix == ".dmp")


@pytest.mark.parametrize(("case", "with_symbols"), LOCAL_CASES)
def test_local_case_matches_reference(case: str, with_symbols: bool) -> None:
    folder = DATA / case
    expected = json.loads((folder / ("expected.json" if with_symbols else "expected-nosyms.json")).read_text())
    got = walk_dump(_dump_in(folder), folder / "symbols" if with_symbols else None)
    total, equal, diffs = frame_differences(got, expected)
    assert total > 0
    assert diffs == [], f"{equal}/{total} frames equal"


def test_inlined_frame_and_cfi_callers_match_reference() -> None:
    """plugin-so with its program's symbols: the inlined fault and the CFI-unwound callers. Frames further
    out need libc's symbol file, which is not in the test data, so only the first three are compared."""
    folder = DATA / "plugin-so"
    expected = json.loads((folder / "expected.json").read_text())
    got = walk_dump(_dump_in(folder), folder / "symbols")
    crashing = expected["crash_info"]["crashing_thread"]
    exp_frames = expected["threads"][crashing]["frames"]
    assert exp_frames[0]["inlines"], "the reference shows an inlined call in frame 0"
    sub = {"threads": [{"frames": exp_frames[:3]}]}
    total, equal, diffs = frame_differences([got[crashing][:3]], sub)
    assert (total, diffs) == (3, [])


SYNTHETIC = sorted(p.name for p in (DATA / "synthetic").iterdir() if (p / "expected.json").is_file())


@pytest.mark.parametrize("case", SYNTHETIC)
def test_synthetic_case_matches_reference(case: str) -> None:
    """Hand-built dumps aimed at rules the public corpus does not reach (see synthetic/generate.py); the
    expected output is the reference's."""
    folder = DATA / "synthetic" / case
    expected = json.loads((folder / "expected.json").read_text())
    got = walk_dump(folder / "dump.dmp", folder / "symbols")
    total, equal, diffs = frame_differences(got, expected)
    assert total > 0
    assert diffs == [], f"{equal}/{total} frames equal"


MINIDUMPS = DATA.parent / "minidumps"


def _minidump_cases():
    if not MINIDUMPS.is_dir():
        return []
    cases = []
    for folder in sorted(p for p in MINIDUMPS.iterdir() if p.is_dir()):
        for kind in ("expected.json", "expected-nosyms.json"):
            if (folder / kind).is_file() and any(p.suffix == ".dmp" for p in folder.iterdir()):
                cases.append((folder.name, kind))
    return cases


@pytest.mark.parametrize(("case", "kind"), _minidump_cases())
def test_shared_test_dumps_match_reference(case: str, kind: str, tmp_path: Path) -> None:
    """The stackwalk suite's dumps (tests/data/minidumps), walked directly by the unwinder."""
    folder = MINIDUMPS / case
    sym_root = None
    if kind == "expected.json":
        sym_root = tmp_path / "symbols"
        shutil.copytree(MINIDUMPS / "symbols", sym_root)
        for xz in (MINIDUMPS / "symbols-xz").rglob("*.xz"):
            target = sym_root / xz.relative_to(MINIDUMPS / "symbols-xz").with_suffix("")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(lzma.decompress(xz.read_bytes()))
    expected = json.loads((folder / kind).read_text())
    got = walk_dump(_dump_in(folder), sym_root)
    total, equal, diffs = frame_differences(got, expected)
    assert total > 0
    assert diffs == [], f"{equal}/{total} frames equal"


def _corpus_cases(root: Path):
    for expected in sorted(root.glob("*/*/*/expected.json")) + sorted(root.glob("*/*/expected.json")):
        folder = expected.parent
        dumps = [p for p in folder.iterdir() if p.suffix == ".dmp"]
        if dumps:
            yield folder, dumps[0], folder.parent / "symbols"


def test_full_corpus_frames_match_reference() -> None:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} not present: full-corpus conformance needs it")
    report = []
    failures = []
    for folder, dump, sym_root in _corpus_cases(corpus):
        for kind in ("expected.json", "expected-nosyms.json"):
            if not (folder / kind).is_file():  # native/linux-demo has only the symbolicated reference
                continue
            expected = json.loads((folder / kind).read_text())
            # Which symbol files the reference rejected as corrupt is the symbol package's business; feed the
            # unwinder the same set of symbols the reference used.
            corrupt = frozenset(m["filename"] for m in expected.get("modules") or [] if m.get("corrupt_symbols"))
            got = walk_dump(dump, sym_root if kind == "expected.json" else None, corrupt)
            total, equal, diffs = frame_differences(got, expected)
            report.append(f"{folder.relative_to(corpus)} {kind}: {equal}/{total}")
            if diffs:
                failures.append((str(folder.relative_to(corpus)), kind, diffs[:3]))
    assert report
    assert failures == [], "\n".join(report)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (MINIDUMPS / "regressions").glob("*.dmp")) if MINIDUMPS.is_dir() else []
)
def test_hostile_dumps_walk_or_fail_typed(name: str) -> None:
    """Hostile dumps (stack pointer outside memory, overlapping ranges, sizes past EOF...): every thread is
    walked to a bounded result, or the reader refuses the file with a typed error."""
    from crashdesk.errors import CrashDeskError

    try:
        threads = walk_dump(MINIDUMPS / "regressions" / name, MINIDUMPS / "symbols")
    except CrashDeskError:
        return
    for frames in threads:
        assert len(frames) <= 1024
        assert not frames or frames[0]["trust"] == "context"
