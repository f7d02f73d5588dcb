"""Full-corpus check: every symbolicated frame minidump-stackwalk printed (expected.json) comes out of our
index, for every case in ../shared/corpus, through the supplier chain with a persistent index."""

from __future__ import annotations

import json
from pathlib import Path

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols import build_provider
from tests.engine.test_symfile_reference import frame_view, reference_view


def test_all_reference_frames(shared_corpus: Path, tmp_path: Path) -> None:
    cases = sorted(p.parent for p in shared_corpus.rglob("expected.json"))
    checked = 0
    mismatches = []
    for case in cases:
        symdir = case / "symbols" if (case / "symbols").is_dir() else case.parent / "symbols"
        doc = json.loads((case / "expected.json").read_text())
        mods = {m["filename"]: m for m in doc.get("modules", [])}
        with build_provider([symdir], [], tmp_path / "cache") as chain:
            for th in doc.get("threads", []):
                for fr in th["frames"]:
                    m = mods.get(fr.get("module"))
                    if not m or not m.get("loaded_symbols"):
                        continue
                    res = chain.lookup(ModuleKey(m["debug_file"], m["debug_id"]))
                    assert res.status == "loaded", (case, m["debug_file"], res.note)
                    assert res.symbols.corrupt is m["corrupt_symbols"]
                    if m["corrupt_symbols"]:
                        continue  # the reference uses nothing from a corrupt file here
                    got, want = frame_view(res.symbols, fr), reference_view(fr)
                    if got != want:
                        mismatches.append((case.name, fr["module_offset"], got, want))
                    checked += 1
    assert not mismatches, mismatches[:5]
    assert checked > 150
