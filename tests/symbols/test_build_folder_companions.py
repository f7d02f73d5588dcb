"""A stripped library in one symbol folder and its detached debug file in a ``.build-id`` tree in another (the
``/usr/lib`` + ``/usr/lib/debug`` layout): the lookup reads them together, names and lines from the debug file
and unwind tables from the library, whichever folder comes first. On a plain clone with a library gcc builds;
with ../shared, the linux-demo crashes stackwalked with their folders give every frame of the reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols import HttpOptions, build_provider
from tests.symbols.remote_fixtures import BuiltElf, FileServer, breakpad_id, needs_gcc

pytest.importorskip("symbolic", reason="native debug files need the symbolic library (no wheel on this platform)")

BUILD_ID = "5c0ffee0d15ea5e5b01dface0ddba11c0ffee123"
KEYS = ("module", "function", "function_offset", "file", "line", "offset", "module_offset", "trust", "inlines")
SYSTEM = {"libc.so.6", "libstdc++.so.6", "libgcc_s.so.1"}  # the oracle's dump_syms ran without --inlines on them


@pytest.fixture(scope="module")
def split_folders(tmp_path_factory) -> tuple[BuiltElf, Path, Path]:
    """(the library, a folder with it stripped of debug info, a folder with its debug file under .build-id)."""
    if needs_gcc.args[0]:
        pytest.skip(needs_gcc.kwargs["reason"])
    elf = BuiltElf(tmp_path_factory.mktemp("build"), BUILD_ID)
    system = tmp_path_factory.mktemp("system")
    shutil.copy(elf.stripped, system / elf.name)
    debug = tmp_path_factory.mktemp("debug") / ".build-id" / BUILD_ID[:2]
    debug.mkdir(parents=True)
    shutil.copy(elf.debug, debug / f"{BUILD_ID[2:]}.debug")
    return elf, system, debug.parents[1]


@pytest.mark.parametrize("debug_first", [False, True])
def test_library_and_debug_file_in_two_folders_are_read_together(tmp_path, split_folders, debug_first) -> None:
    elf, system, debug = split_folders
    module = ModuleKey(elf.name, breakpad_id(elf.full), elf.name, elf.build_id)
    folders = [debug, system] if debug_first else [system, debug]
    with build_provider([str(f) for f in folders], [], tmp_path / "cache") as chain:
        res = chain.lookup(module)
        assert res.status == "loaded", res.extra["attempts"]
        for name in ("helper_add", "exported_entry"):
            address = elf.symbols[name] + 4
            assert res.symbols.function_at(address).name == name
            assert res.symbols.line_at(address).line > 0  # only the debug file has lines
            assert res.symbols.cfi_at(address) is not None  # only the library has unwind tables
    used = sorted(Path(f).name for f in res.extra["files"])
    assert used == sorted([elf.name, f"{BUILD_ID[2:]}.debug"])


def test_linux_demo_with_its_build_and_debug_folders(tmp_path, shared_corpus) -> None:
    from crashdesk.engine.stackwalk import process_minidump

    root = shared_corpus / "native" / "linux-demo"
    folders = [str(root / f) for f in ("bin", "lib", "system", "debug")]
    with build_provider(folders, [], tmp_path / "cache", native_inlines=lambda m: m.debug_file not in SYSTEM) as chain:
        for case in ("03-abort", "05-thread", "06-plugin-so", "07-cxx-terminate"):
            expected = json.loads((root / case / "expected.json").read_text())
            got = process_minidump(str(root / case / "dump.dmp"), chain)
            assert len(got["threads"]) == len(expected["threads"])
            for tg, te in zip(got["threads"], expected["threads"], strict=True):
                assert ([[f.get(k) for k in KEYS] for f in tg["frames"]]
                        == [[f.get(k) for k in KEYS] for f in te["frames"]]), case


def test_explain_names_the_debug_file_a_library_loaded_without_lines_lacks(tmp_path, split_folders) -> None:
    from crashdesk.symbols.explain import advice, record_from_lookup

    elf, system, debug = split_folders
    module = ModuleKey(elf.name, breakpad_id(elf.full), elf.name, elf.build_id)
    with build_provider([str(system)], [], tmp_path / "alone") as chain:
        record = record_from_lookup(chain.lookup(module))
    assert record["status"] == "loaded" and record["source_lines"] is False
    tips = advice(module, "loaded", record)
    assert any(f".build-id/{BUILD_ID[:2]}/{BUILD_ID[2:]}.debug" in tip for tip in tips), tips
    with build_provider([str(system), str(debug)], [], tmp_path / "both") as chain:
        record = record_from_lookup(chain.lookup(module))
    assert record["source_lines"] is True and advice(module, "loaded", record) == []


@pytest.mark.parametrize("served", ["both", "debuginfo", "none"])
def test_a_stripped_local_library_asks_debuginfod_for_its_debug_information(tmp_path, split_folders, served) -> None:
    """The only local file holds a symbol table: a debuginfod server that has the debug file gives names and
    lines, read with the local library for its unwind tables when the server has no executable; one that has
    nothing leaves the local file in use, and is not asked again (remembered miss)."""
    elf, system, _debug = split_folders
    module = ModuleKey(elf.name, breakpad_id(elf.full), elf.name, elf.build_id)
    server = FileServer()
    server.routes.update(elf.routes(with_debuginfo=served != "none", with_executable=served == "both"))
    try:
        for _ in range(2):  # a second chain over the same cache
            with build_provider([str(system)], [], tmp_path / "cache", debuginfod_urls=[server.url],
                                options=HttpOptions(retries=0)) as chain:
                res = chain.lookup(module)
                assert res.status == "loaded", res.extra["attempts"]
                address = elf.symbols["helper_add"] + 4
                assert res.symbols.function_at(address).name == "helper_add"
                assert res.symbols.cfi_at(address) is not None  # the debug file has no unwind tables
                assert (res.symbols.line_at(address) is not None) is (served != "none")
                assert (res.extra["source"] == f"build folder {system}") is (served == "none")
        # the debug file (and the executable where served) once, then the cache; else two 404s once, then the
        # remembered miss
        assert sum(server.hits.values()) == 2, server.hits
    finally:
        server.close()
