"""``crashdesk stackwalk --json --pretty`` byte for byte against the reference's documents of the corpus.

The corpus' ``expected*.json`` files are ``minidump-stackwalk`` 0.25.0's ``--json --pretty`` output as it wrote
it, and the Linux Crashpad cases' ``expected.txt`` its human-readable report with symbols: the command's output
must be those bytes (the JSON without the newline the files end with). The local cases always run; the whole
corpus needs ``../shared/corpus``. ``scripts/stackwalk_cli_differential.py`` runs the reference binary itself
(compact ``--json`` and ``--human``) over the same dumps.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from crashdesk.cli import main

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "tests" / "data" / "minidumps"


def _conformance():
    spec = importlib.util.spec_from_file_location("crashdesk_conformance_cli", ROOT / "scripts" / "conformance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CONF = _conformance()


def _walk(capsys, args: list[str]) -> str:
    assert main(["stackwalk", *args]) == 0
    return capsys.readouterr().out


def _check_cases(capsys, cases, tmp_path: Path) -> tuple[list[str], int]:
    """(the documents that differ, how many were compared)."""
    stores: dict[Path, Path] = {}
    bad = []
    checked = 0
    for case, store in cases:
        dump = CONF.find_dump(case)
        if (case / "expected-error.txt").exists():
            continue
        for expected, symbols in (("expected-nosyms.json", False), ("expected.json", True),
                                  ("expected.txt", True)):  # fmt: skip
            if not (case / expected).exists():
                continue
            args = [str(dump)]
            if symbols:
                if store not in stores:
                    stores[store] = tmp_path / f"store{len(stores)}"
                    CONF.unpack_xz_store(store, stores[store])
                args += ["--symbols-path", str(stores[store])]
            if expected.endswith(".json"):
                args = ["--json", "--pretty", *args]
            got = _walk(capsys, args)
            checked += 1
            want = (case / expected).read_text(encoding="utf-8")
            if expected.endswith(".json"):
                want = want.removesuffix("\n")
            if got != want:
                bad.append(f"{case.name}/{expected}")
    return bad, checked


def test_local_cases_are_the_reference_bytes(capsys, tmp_path: Path) -> None:
    store = tmp_path / "local-store"  # the local store keeps its large files xz-compressed in symbols-xz/
    CONF.unpack_xz_store(LOCAL / "symbols-xz", store)
    CONF.unpack_xz_store(LOCAL / "symbols", store)
    cases = [(case, store) for case in sorted(LOCAL.iterdir())
             if case.is_dir() and CONF.find_dump(case) is not None]  # fmt: skip
    bad, checked = _check_cases(capsys, cases, tmp_path)
    assert bad == []
    assert checked >= 15


@pytest.mark.slow
def test_whole_corpus_is_the_reference_bytes(capsys, tmp_path: Path, shared_corpus: Path) -> None:
    cases = CONF.corpus_cases(shared_corpus)
    bad, checked = _check_cases(capsys, cases, tmp_path)
    print(f"{checked} documents compared, {len(bad)} differ")
    assert bad == []
    assert checked >= 100
