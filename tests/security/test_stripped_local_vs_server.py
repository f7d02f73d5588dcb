"""A module whose only local file is a stripped library makes the chain ask the servers for its debug
information (``SymbolChain._lookup``). A hostile debuginfod server on 127.0.0.1 that answers with another
library's debug file, or with garbage, must not replace the local file: the answer is rejected (never cached),
the local file is used, and the attempt says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols import HttpOptions, build_provider
from tests.symbols.remote_fixtures import BuiltElf, FileServer, breakpad_id, needs_gcc

pytest.importorskip("symbolic", reason="native debug files need the symbolic library (no wheel on this platform)")

OURS = "1111111111111111111111111111111111111111"
OTHER = "2222222222222222222222222222222222222222"


@pytest.fixture(scope="module")
def libraries(tmp_path_factory) -> tuple[BuiltElf, BuiltElf, Path]:
    if needs_gcc.args[0]:
        pytest.skip(needs_gcc.kwargs["reason"])
    ours = BuiltElf(tmp_path_factory.mktemp("ours"), OURS)
    other = BuiltElf(tmp_path_factory.mktemp("other"), OTHER)
    system = tmp_path_factory.mktemp("system")
    shutil.copy(ours.stripped, system / ours.name)
    return ours, other, system


@pytest.mark.parametrize("answer", ["another library", "garbage"])
def test_a_wrong_answer_never_replaces_the_local_library(tmp_path, libraries, answer) -> None:
    ours, other, system = libraries
    server = FileServer()
    body = other.debug.read_bytes() if answer == "another library" else b"\x7fELF" + b"\0" * 4096
    server.routes[f"/buildid/{OURS}/debuginfo"] = body
    server.routes[f"/buildid/{OURS}/executable"] = body
    module = ModuleKey(ours.name, breakpad_id(ours.full), ours.name, ours.build_id)
    try:
        with build_provider([str(system)], [], tmp_path / "cache", debuginfod_urls=[server.url],
                            options=HttpOptions(retries=0)) as chain:
            res = chain.lookup(module)
            assert res.status == "loaded", res.extra["attempts"]
            assert res.extra["source"] == f"build folder {system}"
            assert res.symbols.function_at(ours.symbols["helper_add"] + 4).name == "helper_add"
            assert res.symbols.line_at(ours.symbols["helper_add"] + 4) is None  # the stripped library's own
        refused = [a for a in res.extra["attempts"] if a.get("http") and a["result"] == "corrupt"]
        assert refused, res.extra["attempts"]
        # nothing of the answer kept in the download cache (the index of the local library is under symindex/)
        downloads = [p for p in (tmp_path / "cache" / "symbols").rglob("*") if p.is_file()]
        assert not [p for p in downloads if ours.name in p.parts], downloads
    finally:
        server.close()
