"""The linux-demo crashes (shared corpus) stackwalked with only a debuginfod server on 127.0.0.1 serving the
corpus' `.build-id` tree (libc's detached debug file) and the programs, library and system libraries by build id:
every frame equals the reference stackwalk made with the dump_syms oracles. Needs ../shared (skips without)."""

from __future__ import annotations

import json

import pytest

from crashdesk.symbols import HttpOptions, build_provider
from tests.symbols.remote_fixtures import FileServer

pytest.importorskip("symbolic", reason="native debug files need the symbolic library (no wheel on this platform)")

CASES = ("03-abort", "05-thread", "06-plugin-so", "07-cxx-terminate")
KEYS = ("module", "function", "function_offset", "file", "line", "offset", "module_offset", "trust", "inlines")
# the oracle's commands (corpus/native/MANIFEST.md): own binaries with --inlines, system libraries without
SYSTEM = {"libc.so.6", "libstdc++.so.6", "libgcc_s.so.1"}


@pytest.fixture
def debuginfod(shared_corpus):
    from crashdesk.engine.native import identify

    root = shared_corpus / "native" / "linux-demo"
    server = FileServer()
    for f in (root / "debug" / ".build-id").rglob("*.debug"):
        server.routes[f"/buildid/{f.parent.name}{f.stem}/debuginfo"] = f.read_bytes()
    for folder in ("system", "lib", "bin"):
        for f in (root / folder).iterdir():
            build_id = identify(f)[0].code_id.lower()
            server.routes[f"/buildid/{build_id}/executable"] = f.read_bytes()
    yield server, root
    server.close()


@pytest.mark.parametrize("case", CASES)
def test_linux_demo_with_only_debuginfod(tmp_path, debuginfod, case) -> None:
    from crashdesk.engine.stackwalk import process_minidump

    server, root = debuginfod
    expected = json.loads((root / case / "expected.json").read_text())
    with build_provider([], [], tmp_path / "cache", debuginfod_urls=[server.url],
                        options=HttpOptions(retries=0),
                        native_inlines=lambda m: m.debug_file not in SYSTEM) as chain:
        got = process_minidump(str(root / case / "dump.dmp"), chain)
    assert len(got["threads"]) == len(expected["threads"])
    for tg, te in zip(got["threads"], expected["threads"], strict=True):
        assert [[f.get(k) for k in KEYS] for f in tg["frames"]] == [[f.get(k) for k in KEYS] for f in te["frames"]]
    libc = next(m for m in got["modules"] if m["filename"].endswith("libc.so.6"))
    assert libc["loaded_symbols"] and "/buildid/93ac61ec5a8eb1396f9fbd350e3169a558528a40/" in libc["symbol_url"]
    # libc came from its detached debug file (names, lines) plus the library itself (unwind tables)
    assert server.hits["/buildid/93ac61ec5a8eb1396f9fbd350e3169a558528a40/debuginfo"] == 1
    assert server.hits["/buildid/93ac61ec5a8eb1396f9fbd350e3169a558528a40/executable"] == 1
