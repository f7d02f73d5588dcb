"""Stackwalking with only native debug files in a --symbols-path folder gives the reference's frames
(minidump-stackwalk 0.25.0 with the dump_syms oracles); the folder is matched by debug id, not file name."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from native_oracle import DATA

from crashdesk.engine.stackwalk import process_minidump
from crashdesk.symbols import build_provider

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "unwind" / "mini-windows" / "mini.dmp"
FIELDS = ("module", "function", "function_offset", "file", "line", "offset", "module_offset", "trust")


def _frames(doc: dict) -> list[list[dict]]:
    out = []
    for t in doc["threads"]:
        out.append([{**{k: f.get(k) for k in FIELDS},
                     "inlines": [(i.get("function"), i.get("file"), i.get("line")) for i in f.get("inlines") or []]}
                    for f in t["frames"]])
    return out


CASES = {
    "abort": (DATA / "abort/abort.20180103.145440.12345.20827.dmp", DATA / "abort/expected.json",
              ["abort/abort.debug"]),
    "linux-x86_64": (DATA / "linux-x86_64/linux-x86_64.dmp", DATA / "linux-x86_64/expected.json",
                     ["linux-x86_64/linux-x86_64"]),
    "mini-windows": (MINI, DATA / "mini-windows/expected.json", ["mini-windows/crash.pdb", "mini-windows/crash.exe"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_native_only_stackwalk_matches_reference(tmp_path, case):
    dump, expected, files = CASES[case]
    folder = tmp_path / "build" / "out"  # nested, names unrelated to the store layout
    folder.mkdir(parents=True)
    for f in files:
        shutil.copy(DATA / f, folder / Path(f).name)
    with build_provider([tmp_path / "build"], [], tmp_path / "cache", native_inlines=False) as provider:
        got = process_minidump(dump, provider)
    want = json.loads(expected.read_text())
    assert _frames(got) == _frames(want)
    loaded = {m["filename"] for m in got["modules"] if m.get("loaded_symbols")}
    assert loaded == {m["filename"] for m in want["modules"] if m.get("loaded_symbols")}


def test_abort_debug_named_otherwise_is_found_by_debug_id(tmp_path):
    """The module is "abort"; the file is "abort.debug" in a flat folder: matched by id, reported as native."""
    (tmp_path / "b").mkdir()
    shutil.copy(DATA / "abort/abort.debug", tmp_path / "b" / "whatever.bin")
    from crashdesk.engine.symbols_api import ModuleKey

    with build_provider([tmp_path / "b"], [], tmp_path / "cache") as provider:
        hit = provider.lookup(ModuleKey("abort", "A48688D4AA70B4CAE2B86443818FBC970"))
    assert hit.status == "loaded" and hit.extra["native"] is True and hit.extra["kind"] == "elf"
    assert hit.extra["path"].endswith("whatever.bin")
    assert [a["result"] for a in hit.extra["attempts"]] == ["not_found", "loaded"]


def test_full_corpus_conformance(shared_corpus, tmp_path):
    """Every dump of ../shared/corpus/native's MANIFEST: 100% identical frames with oracle-matched inlines; the
    reference's text reports (linux-crashpad's expected.txt, with each frame's source-line offset) byte for byte."""
    spec = importlib.util.spec_from_file_location("native_conformance", ROOT / "scripts" / "native_conformance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    results = []
    for i, case in enumerate(mod.cases(shared_corpus)):
        (tmp_path / str(i)).mkdir()
        results.append(mod.compare(case, tmp_path / str(i)))
    assert len(results) >= 16
    assert [r["diffs"] for r in results] == [[] for _ in results]
    assert sum(r["frames"] for r in results) == sum(r["same"] for r in results) >= 188
    texts = {r["name"]: r["text"]["differ"] for r in results if "text" in r}
    assert len(texts) >= 8
    assert texts == {name: 0 for name in texts}
