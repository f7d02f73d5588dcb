"""How the stackwalk assembly talks to the symbol provider: one lookup per module, status flags as the
reference prints them, corrupt files, and no lookups at all without symbol sources."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from crashdesk.engine.stackwalk import process_minidump
from crashdesk.engine.symbols_api import ModuleKey, NoSymbols, SymbolLookup
from crashdesk.symbols import build_provider

DATA = Path(__file__).resolve().parents[1] / "data" / "minidumps"
MINI = DATA / "linux-amd64-mini" / "linux-mini.dmp"


class CountingProvider:
    """The real supplier chain, with a count of the lookups it receives."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: Counter[tuple[str, str]] = Counter()

    def lookup(self, module: ModuleKey) -> SymbolLookup:
        self.calls[(module.debug_file, module.debug_id)] += 1
        return self.inner.lookup(module)


def _flags(out: dict) -> list[tuple]:
    return [(m["filename"], m["loaded_symbols"], m["missing_symbols"], m["corrupt_symbols"]) for m in out["modules"]]


def test_one_lookup_per_module_and_flags_match_reference() -> None:
    provider = CountingProvider(build_provider([DATA / "symbols"], [], None))
    out = process_minidump(MINI, provider)
    expected = json.loads((DATA / "linux-amd64-mini" / "expected.json").read_text())
    assert _flags(out) == _flags(expected)
    assert provider.calls and max(provider.calls.values()) == 1
    looked_up = {debug_file for debug_file, _ in provider.calls}
    flagged = {m["debug_file"] for m in expected["modules"] if m["loaded_symbols"] or m["missing_symbols"]}
    assert looked_up == flagged


def test_no_symbol_sources_means_no_lookups() -> None:
    expected = json.loads((DATA / "linux-amd64-mini" / "expected-nosyms.json").read_text())
    for provider in (None, NoSymbols(), build_provider([], [], None)):
        assert _flags(process_minidump(MINI, provider)) == _flags(expected)


def test_malformed_symbol_file_is_corrupt_and_unused(tmp_path: Path) -> None:
    expected = json.loads((DATA / "linux-amd64-mini" / "expected-nosyms.json").read_text())
    main = expected["modules"][0]
    store = tmp_path / main["debug_file"] / main["debug_id"]
    store.mkdir(parents=True)
    good = next((DATA / "symbols" / "crash").rglob("crash.sym")).read_text()
    (store / f"{main['debug_file']}.sym").write_text(good + "THIS IS NOT A RECORD\n")
    out = process_minidump(MINI, build_provider([tmp_path], [], None))
    first = out["modules"][0]
    assert (first["loaded_symbols"], first["missing_symbols"], first["corrupt_symbols"]) == (True, False, True)
    assert all(f["function"] is None for f in out["crashing_thread"]["frames"] if f["module"] == main["filename"])
