"""Agreement with siggen 2.2.20241029's expected signatures (corpus cases; expected values are siggen's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crashdesk.engine.signature import SignatureGenerator, crash_data_from_stackwalk, mozilla_profile

DATA = Path(__file__).resolve().parents[1] / "data" / "signatures"
SUBSET = DATA / "cases_subset.jsonl"


def _shared() -> Path:
    env = os.environ.get("CRASHDESK_SHARED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared"


def _load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fp:
        return [json.loads(line) for line in fp if line.strip()]


@pytest.fixture(scope="module")
def gen() -> SignatureGenerator:
    return SignatureGenerator(mozilla_profile())


def _disagreements(gen: SignatureGenerator, cases: list[dict]) -> list[str]:
    out = []
    for case in cases:
        got = gen.generate(case["crash_data"]).signature
        if got != case["expected_signature"]:
            out.append(f"{case['id']}: expected {case['expected_signature']!r}, got {got!r}")
    return out


def test_subset_covers_every_category():
    tags = {t for case in _load(SUBSET) for t in case["tags"]}
    for needed in ("upstream", "malformed", "unicode", "java_stack", "java_exception", "oom", "abort", "watchdog",
                   "ipc", "rust", "inlines", "converted", "out:truncated", "out:rule_failed", "out:empty",
                   "out:EMPTY", "out:shutdownhang", "out:async_shutdown"):
        assert needed in tags


def test_subset_agrees_100_percent(gen):
    cases = _load(SUBSET)
    assert len(cases) >= 150
    assert _disagreements(gen, cases) == []


def test_subset_notes_identical_to_siggen(gen):
    different = [c["id"] for c in _load(SUBSET) if gen.generate(c["crash_data"]).notes != c["expected_notes"]]
    assert different == []


def test_mozilla_profile_records_rule_set():
    profile = mozilla_profile()
    assert profile.follows == "siggen 2.2.20241029"
    assert profile.name == "mozilla"


def test_stackwalk_conversion_matches_socorro_conversion(gen):
    converted = [c for c in _load(SUBSET) if "stackwalk" in c]
    assert converted
    for case in converted:
        crash_data = crash_data_from_stackwalk(case["stackwalk"], case["annotations"])
        assert crash_data == case["crash_data"], case["id"]
        assert gen.generate_from({"stackwalk": case["stackwalk"], "annotations": case["annotations"]}).signature \
            == case["expected_signature"]


def test_proto_signature_joins_normalized_frames(gen):
    for case in _load(SUBSET):
        result = gen.generate(case["crash_data"])
        assert result.proto_signature == " | ".join(result.normalized_frames)
        assert len(result.normalized_frames) <= 40


def test_full_corpus_agreement(gen):
    corpus = _shared() / "corpus" / "signatures" / "cases.jsonl"
    if not corpus.is_file():
        pytest.skip(f"{corpus.parent} not present: full-corpus conformance needs it")
    cases = _load(corpus)
    assert len(cases) >= 500
    assert _disagreements(gen, cases) == []


def test_full_corpus_with_compare_tool(tmp_path):
    """The shared measuring tool, run against the real command line, must report 100 %."""
    shared = _shared()
    tool = shared / "tools" / "compare_signatures.py"
    corpus = shared / "corpus" / "signatures" / "cases.jsonl"
    if not tool.is_file() or not corpus.is_file():
        pytest.skip(f"{shared / 'corpus'} not present: full-corpus conformance needs it")
    cmd = f"{sys.executable} -m crashdesk signature --batch {{input}}"
    for shape in ("case", "stackwalk"):
        proc = subprocess.run(
            [sys.executable, str(tool), str(corpus), "--cmd", cmd, "--threshold", "100", "--no-bench", "--json",
             "--input-shape", shape],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        summary = json.loads(proc.stdout)
        assert summary["agreement_percent"] == 100.0
        assert summary["unparseable_output_lines"] == 0
