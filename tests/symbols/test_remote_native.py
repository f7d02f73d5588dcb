"""Native debug files from real servers on 127.0.0.1: a Microsoft-style symbol server (PDB/PE in symstore layout,
CAB-compressed answers, file.ptr) and a debuginfod server (ELF by build id), with faults, id checks and the
cache; the mini-windows dump stackwalked with only the symbol server gives the reference's frames."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols import HttpOptions, build_provider
from crashdesk.symbols.layout import breakpad_id_from_build_id, elf_build_id
from crashdesk.symbols.remote_native import parse_file_ptr
from tests.symbols.remote_fixtures import (
    DATA,
    MINI_WINDOWS,
    PDB_ID,
    PE_ID,
    X64_PDB_ID,
    X64_PE_ID,
    BuiltElf,
    breakpad_id,
    needs_gcc,
    pdb_bytes,
    symstore_routes,
)

pytest.importorskip("symbolic", reason="native debug files need the symbolic library (no wheel on this platform)")

FAST = HttpOptions(connect_timeout=2.0, read_timeout=0.5, retries=2, backoff=0.01)
MINI = Path(__file__).resolve().parents[1] / "data" / "unwind" / "mini-windows" / "mini.dmp"
WIN = ModuleKey("crash.pdb", PDB_ID, "crash.exe", PE_ID)
PDB_PATH = f"/crash.pdb/{PDB_ID}/crash.pdb"
FRAME_KEYS = ("module", "function", "function_offset", "file", "line", "offset", "module_offset", "trust")


def reference_functions() -> list[tuple[int, str]]:
    """(module offset, function) of every crash.exe frame in the reference stackwalk (dump_syms' .sym)."""
    doc = json.loads((MINI_WINDOWS / "expected.json").read_text())
    out = []
    for thread in doc["threads"]:
        for fr in thread["frames"]:
            if fr.get("module") == "crash.exe" and fr.get("function"):
                out.append((int(fr["module_offset"], 16), fr["function"]))
    assert out
    return out


def cache_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "symbols").rglob("*") if p.is_file() and p.parent.name != ".tmp"
                  and p.name != ".last-used")


def ms_chain(tmp_path: Path, server, **kw):
    return build_provider([], [server.url], tmp_path / "cache", options=kw.pop("options", FAST), **kw)


# -- Microsoft-style symbol server -----------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["", "500-once", "429-once", "redirect", "gzip"])
def test_symstore_pdb_is_downloaded_checked_cached(tmp_path: Path, file_servers, fault: str) -> None:
    ms, other = file_servers
    ms.routes.update(symstore_routes())
    other.routes.update(symstore_routes())
    ms.faults[PDB_PATH] = fault
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(WIN)
        assert res.status == "loaded", res.extra.get("attempts")
        assert res.extra["kind"] == "native"
        for offset, function in reference_functions():
            assert res.symbols.function_at(offset).name == function
        tried = [a.get("url", "") for a in res.extra["attempts"]]
    # .sym is asked first (a Tecken-style server may have both), then the PDB
    assert tried.index(f"{ms.url}/crash.pdb/{PDB_ID}/crash.sym") < tried.index(ms.url + PDB_PATH)
    assert [p.name for p in cache_files(tmp_path / "cache")] == ["crash.pdb"]  # x86: frame data is in the PDB
    hits = sum(ms.hits.values()) + sum(other.hits.values())
    with ms_chain(tmp_path, ms) as again:  # a later run: from the cache, no request
        res2 = again.lookup(WIN)
        assert res2.status == "loaded" and res2.extra["source"] == "cache"
        assert res2.symbols.function_at(reference_functions()[0][0]).name == reference_functions()[0][1]
    assert sum(ms.hits.values()) + sum(other.hits.values()) == hits


def _oracle(path: Path) -> tuple[list[tuple[int, str]], list[int]]:
    """(FUNC address, name) and STACK CFI INIT addresses of a dump_syms .sym file."""
    funcs, cfi = [], []
    for line in path.read_text().splitlines():
        parts = line.split(" ")
        if parts[0] == "FUNC":
            off = 1 + (parts[1] == "m")
            funcs.append((int(parts[off], 16), " ".join(parts[off + 3:])))
        elif line.startswith("STACK CFI INIT "):
            cfi.append(int(parts[3], 16))
    return funcs, cfi


def test_x64_pdb_takes_unwind_rules_from_the_pe(tmp_path: Path, file_servers) -> None:
    ms, _ = file_servers
    ms.routes.update(symstore_routes())
    module = ModuleKey("CrashWithException.pdb", X64_PDB_ID, "CrashWithException.exe", X64_PE_ID)
    funcs, cfi = _oracle(DATA / "CrashWithException.sym")
    assert len(funcs) > 50 and len(cfi) > 30
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(module)
        assert res.status == "loaded", res.extra["attempts"]
        # every oracle FUNC is found where dump_syms puts it (name spelling is engine/native's business: 62 of
        # these 66 agree; folded functions "FUNC m" carry several names and each tool picks one)
        assert [res.symbols.function_at(addr).address for addr, _name in funcs] == [addr for addr, _ in funcs]
        assert all(res.symbols.cfi_at(addr) is not None for addr in cfi)  # only the PE has unwind tables
    kinds = [(a.get("kind"), a["result"]) for a in res.extra["attempts"] if a.get("kind")]
    assert kinds == [("pdb", "downloaded"), ("pe", "downloaded")]
    assert sorted(p.name for p in cache_files(tmp_path / "cache")) == ["CrashWithException.exe",
                                                                       "CrashWithException.pdb"]


def test_sym_file_wins_where_a_server_has_both(tmp_path: Path, file_servers) -> None:
    ms, _ = file_servers
    ms.routes.update(symstore_routes())
    sym = Path(__file__).resolve().parents[1] / "data" / "symbols" / "store" / "crash.pdb" / PDB_ID / "crash.sym"
    ms.routes[f"/crash.pdb/{PDB_ID}/crash.sym"] = sym.read_bytes()
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(WIN)
        assert res.status == "loaded" and res.extra.get("kind") != "native"
    assert ms.hits[PDB_PATH] == 0


@pytest.mark.parametrize("fault, reason, remembered", [
    ("404", "not_found", True),
    ("500", "server_error", False),
    ("429", "server_error", False),
    ("slow", "server_error", False),
    ("truncated", "server_error", False),
    ("huge", "server_error", False),
    ("huge-declared", "server_error", False),
])
def test_symstore_faults_leave_nothing_behind(tmp_path: Path, file_servers, fault, reason, remembered) -> None:
    ms, _ = file_servers
    ms.routes.update(symstore_routes())
    ms.slow_seconds = 1.5
    ms.faults[PDB_PATH] = fault
    options = HttpOptions(connect_timeout=2.0, read_timeout=0.5, retries=1, backoff=0.01, max_bytes=4 << 20)
    with ms_chain(tmp_path, ms, options=options) as c:
        res = c.lookup(WIN)
        assert (res.status, res.extra["reason"]) == ("missing", reason), res.extra["attempts"]
        pdb_attempt = next(a for a in res.extra["attempts"] if a.get("url") == ms.url + PDB_PATH)
        if fault.startswith("huge"):
            assert "byte cap" in pdb_attempt["note"]
        if fault in ("500", "429"):
            assert pdb_attempt["http_status"] == int(fault)
    assert cache_files(tmp_path / "cache") == []
    assert not list((tmp_path / "cache").rglob("*.part"))
    with ms_chain(tmp_path, ms, options=options) as c:
        again = c.lookup(WIN)
    assert (again.extra["reason"] == "cached_miss") == remembered


def test_wrong_debug_id_is_rejected_never_cached(tmp_path: Path, file_servers) -> None:
    ms, _ = file_servers
    other_id = "00112233445566778899AABBCCDDEEFF1"
    ms.routes[f"/crash.pdb/{other_id}/crash.pdb"] = pdb_bytes()  # a server answering with the wrong file
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(ModuleKey("crash.pdb", other_id))
        assert res.status == "corrupt" and res.symbols is None
        assert "debug id mismatch" in res.note and PDB_ID in res.note and other_id in res.note
    assert cache_files(tmp_path / "cache") == []
    with ms_chain(tmp_path, ms) as c:  # not remembered as a miss either: asked (and rejected) again
        assert c.lookup(ModuleKey("crash.pdb", other_id)).status == "corrupt"
    assert ms.hits[f"/crash.pdb/{other_id}/crash.pdb"] == 2


def test_not_an_object_file_is_rejected(tmp_path: Path, file_servers) -> None:
    ms, _ = file_servers
    ms.routes[PDB_PATH] = b"<html>Sign in to continue</html>\n"
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(WIN)
    assert res.status == "corrupt" and "rejected pdb file" in res.note
    assert cache_files(tmp_path / "cache") == []


def _cab(member: str, data: bytes) -> bytes:
    from cabarchive import CabArchive, CabFile

    arc = CabArchive()
    arc[member] = CabFile(data)
    return arc.save(compress=True)


def test_compressed_pd_answer_is_unpacked(tmp_path: Path, file_servers) -> None:
    ms, _ = file_servers
    ms.routes[f"/crash.pdb/{PDB_ID}/crash.pd_"] = _cab("crash.pdb", pdb_bytes())
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(WIN)
        assert res.status == "loaded", res.extra["attempts"]
        offset, function = reference_functions()[0]
        assert res.symbols.function_at(offset).name == function
    assert ms.hits[PDB_PATH] == 1 and ms.hits[f"/crash.pdb/{PDB_ID}/crash.pd_"] == 1
    assert [p.name for p in cache_files(tmp_path / "cache")] == ["crash.pdb"]


def _with_compression(cab: bytes, kind: int) -> bytes:
    """The same CAB with its first folder's compression type set to ``kind`` (3 = LZX)."""
    buf = bytearray(cab)
    struct.pack_into("<H", buf, 36 + 6, kind)
    return bytes(buf)


def _with_blocks(cab: bytes, blocks: int) -> bytes:
    buf = bytearray(cab)
    struct.pack_into("<H", buf, 36 + 4, blocks)
    return bytes(buf)


@pytest.mark.parametrize("mangle, words", [
    (lambda cab: _with_compression(cab, 3), "LZX"),
    (lambda cab: _with_blocks(cab, 65535) * 1, "expand past"),
    (lambda cab: cab[: len(cab) // 2], "damaged"),
])
def test_unusable_compressed_answers_are_reported(tmp_path: Path, file_servers, mangle, words) -> None:
    ms, _ = file_servers
    ms.routes[f"/crash.pdb/{PDB_ID}/crash.pd_"] = mangle(_cab("crash.pdb", pdb_bytes()[:200_000]))
    options = HttpOptions(connect_timeout=2.0, read_timeout=2.0, retries=0, max_bytes=1 << 30)
    with ms_chain(tmp_path, ms, options=options) as c:
        res = c.lookup(WIN)
    assert res.status == "corrupt", res.extra["attempts"]
    assert words in res.note
    assert cache_files(tmp_path / "cache") == []


def test_file_ptr_is_reported_per_module(tmp_path: Path, file_servers) -> None:
    ms, _ = file_servers
    ms.routes[f"/crash.pdb/{PDB_ID}/file.ptr"] = b"PATH:\\\\buildshare\\symbols\\crash.pdb\\crash.pdb"
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(WIN)
    assert res.status == "missing"
    notes = [a.get("note", "") for a in res.extra["attempts"]]
    assert any("file.ptr" in n and "buildshare" in n for n in notes)
    assert "MSG" in parse_file_ptr("MSG: retired")


def test_mini_windows_stackwalk_with_only_a_microsoft_symbol_server(tmp_path: Path, file_servers) -> None:
    from crashdesk.engine.stackwalk import process_minidump

    ms, _ = file_servers
    ms.routes.update(symstore_routes())
    expected = json.loads((MINI_WINDOWS / "expected.json").read_text())
    with ms_chain(tmp_path, ms) as c:
        got = process_minidump(str(MINI), c)
    assert len(got["threads"]) == len(expected["threads"])
    compared = 0
    for tg, te in zip(got["threads"], expected["threads"], strict=True):
        assert [tuple(f.get(k) for k in FRAME_KEYS) for f in tg["frames"]] == \
               [tuple(f.get(k) for k in FRAME_KEYS) for f in te["frames"]]
        compared += len(te["frames"])
    assert compared >= 10
    exe = next(m for m in got["modules"] if m["filename"] == "crash.exe")
    assert exe["loaded_symbols"] and exe["symbol_url"] == ms.url + PDB_PATH


# -- debuginfod ----------------------------------------------------------------------------------------------
BUILD_ID = "5fd1c8e07a3b4f2d9c6e1a0b2c3d4e5f60718293"


@pytest.fixture(scope="module")
def elf(tmp_path_factory) -> BuiltElf:
    if needs_gcc.args[0]:
        pytest.skip(needs_gcc.kwargs["reason"])
    return BuiltElf(tmp_path_factory.mktemp("elf"), BUILD_ID)


def elf_module(elf: BuiltElf) -> ModuleKey:
    return ModuleKey(elf.name, breakpad_id(elf.full), elf.name, elf.build_id)


def dbg_chain(tmp_path: Path, server, **kw):
    return build_provider([], [], tmp_path / "cache", options=kw.pop("options", FAST),
                          debuginfod_urls=[server.url], **kw)


def test_build_id_and_debug_id() -> None:
    # the pair dump_syms 2.3.5 wrote for linux-demo's libc.so.6 (corpus/native MANIFEST)
    assert breakpad_id_from_build_id("93ac61ec5a8eb1396f9fbd350e3169a558528a40") == "EC61AC938E5A39B16F9FBD350E3169A50"
    assert elf_build_id(ModuleKey("libc.so.6", "EC61AC938E5A39B16F9FBD350E3169A50", "libc.so.6",
                                  "93ac61ec5a8eb1396f9fbd350e3169a558528a40")) == "93ac61ec5a8eb1396f9fbd350e3169a558528a40"
    assert elf_build_id(WIN) is None  # a PE code id is not a build id


@pytest.mark.parametrize("fault", ["", "500-once", "429-once", "redirect", "gzip"])
def test_debuginfod_debuginfo_plus_executable(tmp_path: Path, file_servers, elf: BuiltElf, fault: str) -> None:
    srv, other = file_servers
    srv.routes.update(elf.routes())
    other.routes.update(elf.routes())
    srv.faults[f"/buildid/{BUILD_ID}/debuginfo"] = fault
    module = elf_module(elf)
    with dbg_chain(tmp_path, srv) as c:
        res = c.lookup(module)
        assert res.status == "loaded", res.extra["attempts"]
        for name in ("helper_add", "exported_entry"):
            fn = res.symbols.function_at(elf.symbols[name] + 4)
            assert fn is not None and fn.name == name and fn.address == elf.symbols[name]
            assert res.symbols.line_at(elf.symbols[name] + 4).line > 0  # lines: only the debug file has them
            assert res.symbols.cfi_at(elf.symbols[name] + 4) is not None  # CFI: only the executable has it
    # the debug file has no unwind tables, so the executable was fetched as well
    assert sorted(p.name for p in cache_files(tmp_path / "cache")) == [elf.name, f"{elf.name}.debug"]
    hits = sum(srv.hits.values()) + sum(other.hits.values())
    with dbg_chain(tmp_path, srv) as again:
        res2 = again.lookup(module)
        assert res2.status == "loaded" and res2.extra["source"] == "cache"
        assert res2.symbols.line_at(elf.symbols["helper_add"] + 4) is not None
    assert sum(srv.hits.values()) + sum(other.hits.values()) == hits


def test_debuginfod_executable_alone(tmp_path: Path, file_servers, elf: BuiltElf) -> None:
    srv, _ = file_servers
    srv.routes.update(elf.routes(with_debuginfo=False))
    with dbg_chain(tmp_path, srv) as c:
        res = c.lookup(elf_module(elf))
        assert res.status == "loaded", res.extra["attempts"]
        assert res.symbols.function_at(elf.symbols["helper_add"] + 4).name == "helper_add"
    results = [(a.get("kind"), a["result"]) for a in res.extra["attempts"] if a.get("http")]
    assert results == [("debuginfo", "not_found"), ("executable", "downloaded")]


@pytest.mark.parametrize("fault, reason, remembered", [
    ("404", "not_found", True),
    ("500", "server_error", False),
    ("429", "server_error", False),
    ("slow", "server_error", False),
    ("truncated", "server_error", False),
    ("huge", "server_error", False),
])
def test_debuginfod_faults(tmp_path: Path, file_servers, elf: BuiltElf, fault, reason, remembered) -> None:
    srv, _ = file_servers
    srv.routes.update(elf.routes())
    srv.slow_seconds = 1.5
    for part in ("debuginfo", "executable"):
        srv.faults[f"/buildid/{BUILD_ID}/{part}"] = fault
    options = HttpOptions(connect_timeout=2.0, read_timeout=0.5, retries=1, backoff=0.01, max_bytes=1 << 20)
    with dbg_chain(tmp_path, srv, options=options) as c:
        res = c.lookup(elf_module(elf))
        assert (res.status, res.extra["reason"]) == ("missing", reason), res.extra["attempts"]
    assert cache_files(tmp_path / "cache") == []
    with dbg_chain(tmp_path, srv, options=options) as c:
        assert (c.lookup(elf_module(elf)).extra["reason"] == "cached_miss") == remembered


def test_debuginfod_wrong_build_id_is_rejected(tmp_path: Path, file_servers, elf: BuiltElf) -> None:
    srv, _ = file_servers
    impostor = BuiltElf(tmp_path / "impostor", "00" * 20)
    srv.routes.update(elf.routes())
    srv.replace[f"/buildid/{BUILD_ID}/debuginfo"] = impostor.debug.read_bytes()
    srv.replace[f"/buildid/{BUILD_ID}/executable"] = impostor.stripped.read_bytes()
    with dbg_chain(tmp_path, srv) as c:
        res = c.lookup(elf_module(elf))
    assert res.status == "corrupt" and res.symbols is None
    assert "debug id mismatch" in res.note
    rejected = [a for a in res.extra["attempts"] if a["result"] == "corrupt"]
    assert [a["kind"] for a in rejected] == ["debuginfo", "executable"]
    assert cache_files(tmp_path / "cache") == []


def test_environment_names_debuginfod_and_nt_symbol_path(tmp_path: Path) -> None:
    from crashdesk.config.paths import resolve_paths
    from crashdesk.services.processing import default_worker_config

    paths = resolve_paths(tmp_path / "data")
    env = {"DEBUGINFOD_URLS": "https://debuginfod.example.org/  ftp://skipped http://127.0.0.1:1/",
           "_NT_SYMBOL_PATH": r"srv*C:\symcache*https://msdl.example.com/download/symbols"}
    cfg = default_worker_config(paths, symbol_urls=["http://flag.example/"], debuginfod_urls=["http://first/"],
                                environ=env)
    assert cfg.debuginfod_urls == ("http://first/", "https://debuginfod.example.org", "http://127.0.0.1:1")
    assert cfg.symbol_urls == ("http://flag.example/", "https://msdl.example.com/download/symbols")
    assert r"C:\symcache" in cfg.symbol_paths
    assert default_worker_config(paths, environ={}).debuginfod_urls == ()


def test_stackwalk_reads_no_environment_servers(tmp_path: Path, file_servers, monkeypatch, capsys) -> None:
    from crashdesk.cli import main

    ms, _ = file_servers
    ms.routes.update(symstore_routes())
    monkeypatch.setenv("_NT_SYMBOL_PATH", f"srv*{tmp_path / 'store'}*{ms.url}")
    monkeypatch.setenv("DEBUGINFOD_URLS", ms.url)
    assert main(["stackwalk", "--json", "--symbols-cache", str(tmp_path / "cache"), str(MINI)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sum(ms.hits.values()) == 0  # stackwalk takes servers only from its flags
    # no symbol source at all: the reference's document without symbols (a cache alone is none)
    assert doc == json.loads((MINI.parent / "expected-nosyms.json").read_text())
    assert main(["stackwalk", "--json", "--symbols-cache", str(tmp_path / "cache"), "--symbols-url", ms.url,
                 str(MINI)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert next(m for m in doc["modules"] if m["filename"] == "crash.exe")["loaded_symbols"]


@pytest.mark.parametrize("debug_file", ["../../etc/passwd.pdb", "a/../../x.pdb", "con.pdb", "x\\..\\y.pdb"])
def test_hostile_module_names_never_reach_a_url_or_path(tmp_path: Path, file_servers, debug_file) -> None:
    ms, _ = file_servers
    with ms_chain(tmp_path, ms) as c:
        res = c.lookup(ModuleKey(debug_file, PDB_ID, "crash.exe", PE_ID))
    assert res.symbols is None
    assert not any(".." in p for p in ms.hits)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and ".." in str(p)]


def test_a_server_added_after_a_miss_is_asked(tmp_path: Path, file_servers, elf: BuiltElf) -> None:
    srv, other = file_servers
    other.routes.update(elf.routes())
    module = elf_module(elf)
    with dbg_chain(tmp_path, srv) as c:  # only the empty server: a remembered miss
        assert c.lookup(module).extra["reason"] == "not_found"
    with dbg_chain(tmp_path, srv) as c:
        assert c.lookup(module).extra["reason"] == "cached_miss"
    with build_provider([], [], tmp_path / "cache", options=FAST, debuginfod_urls=[srv.url, other.url]) as c:
        res = c.lookup(module)  # the new server was never asked: the miss does not hold it back
        assert res.status == "loaded", res.extra["attempts"]
