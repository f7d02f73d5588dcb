"""A worker compiles the built-in signature profiles other than the default after it said it is ready (issue 24:
the Mozilla lists are some 700 regular expressions, in front of the first crash of every worker), or when the
first crash needs one; a user profile, which can be broken, is still resolved before the worker starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashdesk.engine.signature import SignatureGenerator, resolve_profile
from crashdesk.engine.signature.profiles import ProfileError
from crashdesk.services.worker import LATER_IMPORTS, LATER_STEPS, Job, WorkerConfig, _Processor

CASE = "01-null-deref"


def _firefox_job(test_data: Path) -> tuple[Job, dict]:
    folder = test_data / "crashes" / CASE
    ann = json.loads((folder / "annotations.json").read_text())
    ann["ProductName"] = "Firefox"
    return Job("c", str(folder / "dump.dmp"), ann), ann


def test_the_mozilla_profile_is_compiled_when_a_mozilla_crash_needs_it(test_data):
    processor = _Processor(WorkerConfig(memory_limit=None))
    assert "mozilla" not in processor.generators and "generic" in processor.generators
    job, ann = _firefox_job(test_data)
    result = processor.run(job)
    assert result.ok and result.profile == "mozilla"
    eager = SignatureGenerator(resolve_profile("mozilla")).generate_from({"stackwalk": result.processed,
                                                                         "annotations": ann})
    assert (result.signature, result.proto_signature) == (eager.signature, eager.proto_signature)


def test_idle_time_compiles_what_was_left_for_later(test_data):
    processor = _Processor(WorkerConfig(memory_limit=None))
    assert "mozilla" not in processor.generators
    built = len(processor.generators)  # each built generator is prepared in a step of its own
    steps = 0
    while processor.prepare_next():  # one short step at a time (imports first: test_worker_later_imports)
        steps += 1
        assert steps <= len(LATER_IMPORTS) + len(LATER_STEPS) + built + 1
    assert "mozilla" in processor.generators
    assert processor.prepare_next() is False
    job, _ann = _firefox_job(test_data)
    assert processor.run(job).profile == "mozilla"


def test_a_broken_user_profile_shadowing_a_builtin_still_fails_the_start(tmp_path):
    broken = tmp_path / "profiles" / "mozilla"
    broken.mkdir(parents=True)
    (broken / "profile.json").write_text("{not json")
    with pytest.raises(ProfileError):
        _Processor(WorkerConfig(memory_limit=None, profiles_dir=str(tmp_path / "profiles")))
