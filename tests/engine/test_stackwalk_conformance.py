"""Stackwalk conformance with the reference (minidump-stackwalk 0.25.0) outputs.

The local cases (``tests/data/minidumps``) always run; the full-corpus run needs ``../shared/corpus``.
Run with ``pytest -s`` to see the per-case frame-agreement table (also: ``python scripts/conformance.py``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "tests" / "data" / "minidumps"

# Measured on 2026-11-29 over the whole shared corpus (56 cases x 2 modes): 2616/2616 frames agree.
# The threshold guards against regressions without pretending the unwinder is frozen.
FULL_CORPUS_MIN_FRAME_AGREEMENT = 0.99


def _conformance():
    spec = importlib.util.spec_from_file_location("crashdesk_conformance", ROOT / "scripts" / "conformance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CONF = _conformance()


@pytest.fixture(scope="module")
def local_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("symbols")
    CONF.unpack_xz_store(LOCAL / "symbols", store)
    CONF.unpack_xz_store(LOCAL / "symbols-xz", store)
    return store


LOCAL_CASES = sorted(p.name for p in LOCAL.iterdir() if p.is_dir() and CONF.find_dump(p) is not None)


@pytest.mark.parametrize("case", LOCAL_CASES)
def test_local_case_matches_reference(case: str, local_store: Path) -> None:
    folder = LOCAL / case
    modes = [m for m, f in (("nosyms", "expected-nosyms.json"), ("syms", "expected.json")) if (folder / f).exists()]
    if (folder / "expected-error.txt").exists():
        modes = ["nosyms"]
    results = [CONF.run_case(folder, mode, local_store) for mode in modes]
    CONF.print_table(results)
    for r in results:
        assert r.field_diffs == [], f"{case} ({r.mode}): {r.field_diffs}"
        assert r.frames_equal == r.frames_total, f"{case} ({r.mode}): {r.frames_equal}/{r.frames_total} frames"


def test_full_corpus_conformance(shared_corpus: Path) -> None:
    results = []
    for case, symbols in CONF.corpus_cases(shared_corpus):
        for mode in ("nosyms", "syms"):
            r = CONF.run_case(case, mode, symbols)
            r.name = f"{case.parent.name}/{case.name}"
            results.append(r)
            if r.mode == "error":
                break
    CONF.print_table(results)
    assert len(results) > 100
    field_diffs = {f"{r.name} ({r.mode})": r.field_diffs for r in results if r.field_diffs}
    assert field_diffs == {}
    total = sum(r.frames_total for r in results)
    equal = sum(r.frames_equal for r in results)
    assert equal / total >= FULL_CORPUS_MIN_FRAME_AGREEMENT, f"{equal}/{total} frames agree"


# Documents that differ from the reference as a whole, and why (issue 21). Measured 2026-12-07 with
# ``python3 scripts/conformance.py --whole`` on the document ``crashdesk stackwalk --json`` prints: 112/112 equal
# (60/112 before the crash_info instruction fields; CrashDesk's own reader notes go to the log, not the JSON).
WHOLE_DOCUMENT_EXCEPTIONS: dict[str, list[str]] = {}


def test_full_corpus_whole_documents(shared_corpus: Path) -> None:
    results = []
    for case, symbols in CONF.corpus_cases(shared_corpus):
        for mode in ("nosyms", "syms"):
            r = CONF.run_case(case, mode, symbols, whole=True)
            r.name = f"{case.parent.name}/{case.name}"
            results.append(r)
            if r.mode == "error":
                break
    CONF.print_whole(results)
    documents = [r for r in results if r.mode != "error"]
    assert len(documents) >= 112
    differing = {r.name: r.document_diffs for r in documents if r.document_diffs}
    assert differing == WHOLE_DOCUMENT_EXCEPTIONS
