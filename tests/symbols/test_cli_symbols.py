"""``crashdesk symbols fetch|index|cache|missing`` end to end (real dumps, a real server, a real store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashdesk.cli import main
from tests.symbols.conftest import CODEC, STORE, VIEWER

DATA = Path(__file__).resolve().parents[1] / "data" / "symbols"
DUMPS = DATA / "dumps"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def reference_modules(case: str) -> dict[str, dict]:
    doc = json.loads((DATA / "expected" / f"{case}.json").read_text())
    return {m["filename"]: m for m in doc["modules"]}


def test_fetch_for_a_dump_from_a_server(tmp_path: Path, symbol_server, capsys) -> None:
    home = tmp_path / "home"
    dump = DUMPS / "linux-crashpad-06-plugin-so.dmp"
    code, out, _ = run(capsys, "symbols", "fetch", str(dump), "--symbols-url", symbol_server.url,
                       "--data-dir", str(home), "--json")
    assert code == 0
    doc = json.loads(out)
    ref = reference_modules("linux-crashpad-06-plugin-so")
    by_file = {r["debug_file"]: r for r in doc["modules"]}
    # Every module of the dump, with the identifiers the reference printed.
    assert {(r["debug_file"], r["debug_id"]) for r in doc["modules"]} == {
        (m["debug_file"], m["debug_id"]) for m in ref.values()}
    assert by_file[VIEWER[0]]["status"] == by_file[CODEC[0]]["status"] == "loaded"
    assert by_file[VIEWER[0]]["symbol_url"].startswith(symbol_server.url)
    assert by_file["libc.so.6"]["status"] == "missing"  # not in the test store
    assert (home / "cache" / "symbols" / VIEWER[0] / VIEWER[1] / "demo-viewer.sym").is_file()
    assert doc["summary"]["loaded"] == 2


def test_fetch_needs_input_and_rejects_bad_files(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "symbols", "fetch", "--data-dir", str(tmp_path))
    assert code == 2 and "DUMP" in err
    bad = tmp_path / "x.dmp"
    bad.write_bytes(b"not a dump at all")
    code, _, err = run(capsys, "symbols", "fetch", str(bad), "--data-dir", str(tmp_path))
    assert code == 1 and "x.dmp" in err


def test_index_command(tmp_path: Path, capsys) -> None:
    sym = STORE / CODEC[0] / CODEC[1] / "libdemo_codec.so.sym"
    code, out, _ = run(capsys, "symbols", "index", str(sym), "--data-dir", str(tmp_path), "--json")
    assert code == 0
    first = json.loads(out)
    assert first["index_state"] == "built"
    text = sym.read_text()
    assert first["counts"]["functions"] == text.count("\nFUNC ")
    assert first["counts"]["publics"] == text.count("\nPUBLIC ")
    assert first["counts"]["cfi"] == text.count("\nSTACK CFI INIT ")
    assert first["module"]["debug_id"] == CODEC[1]
    code, out, _ = run(capsys, "symbols", "index", str(sym), "--data-dir", str(tmp_path), "--json")
    assert json.loads(out)["index_state"] == "reused"
    code, _, err = run(capsys, "symbols", "index", str(sym), "--debug-id", VIEWER[1], "--data-dir", str(tmp_path))
    assert code == 1 and "MODULE line has debug id" in err


def test_cache_size_and_prune(tmp_path: Path, symbol_server, capsys) -> None:
    home = tmp_path / "home"
    run(capsys, "symbols", "fetch", str(DUMPS / "linux-crashpad-06-plugin-so.dmp"), "--symbols-url",
        symbol_server.url, "--data-dir", str(home))
    code, out, _ = run(capsys, "symbols", "cache", "--data-dir", str(home), "--json")
    before = json.loads(out)
    assert code == 0 and before["files"] == 2 and before["bytes"] > 9296 + 1162
    code, out, _ = run(capsys, "symbols", "cache", "--prune", "--max-size", "0", "--data-dir", str(home), "--json")
    after = json.loads(out)
    assert after["files"] == 0 and len(after["evicted"]) == 2
    code, _, err = run(capsys, "symbols", "cache", "--prune", "--max-size", "lots", "--data-dir", str(home))
    assert code == 2


def test_missing_across_the_store(tmp_path: Path, capsys) -> None:
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.store import CrashStore
    from crashdesk.symbols import build_provider

    home = tmp_path / "home"
    home.mkdir()
    with CrashStore.open(home) as store, build_provider([STORE], [], None) as provider:
        for case in ("linux-crashpad-01-null-deref", "linux-crashpad-06-plugin-so"):
            raw = (DUMPS / f"{case}.dmp").read_bytes()
            crash_id = store.add_crash({"ProductName": "Demo"}, {"upload_file_minidump": raw}, source="import")
            store.save_processed(crash_id, process_minidump(raw, provider))
    code, out, _ = run(capsys, "symbols", "missing", "--data-dir", str(home), "--json")
    assert code == 0
    rows = json.loads(out)["modules"]
    # libc.so.6 is used by both crashes' stacks and is not in the test store: among the most frequent.
    counts = [r["crashes"] for r in rows]
    assert counts == sorted(counts, reverse=True) and counts[0] == 2
    assert "libc.so.6" in {r["debug_file"] for r in rows if r["crashes"] == 2}
    assert all(r["debug_file"] not in (VIEWER[0], CODEC[0]) for r in rows)


@pytest.mark.parametrize("text,value", [("500M", 500 * 1024**2), ("2G", 2 * 1024**3), ("1024", 1024), ("0", 0)])
def test_parse_size(text: str, value: int) -> None:
    from crashdesk.cli.cmd_symbols import parse_size

    assert parse_size(text) == value


def _store_with_unsymbolicated_crashes(home: Path) -> list[str]:
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.store import CrashStore
    from crashdesk.symbols import build_provider

    ids = []
    empty = home / "no-symbols-here"
    empty.mkdir(parents=True)
    with CrashStore.open(home) as store, build_provider([empty], [], None) as provider:
        for case in ("linux-crashpad-01-null-deref", "linux-crashpad-06-plugin-so"):
            raw = (DUMPS / f"{case}.dmp").read_bytes()
            crash_id = store.add_crash({"ProductName": "Demo"}, {"upload_file_minidump": raw}, source="import")
            store.save_processed(crash_id, process_minidump(raw, provider))
            ids.append(crash_id)
    return ids


def test_fetch_missing_then_queue_for_reprocessing(tmp_path: Path, symbol_server, capsys) -> None:
    from crashdesk.store import CrashStore

    home = tmp_path / "home"
    ids = _store_with_unsymbolicated_crashes(home)
    code, out, _ = run(capsys, "symbols", "missing", "--data-dir", str(home), "--json")
    before = {r["debug_file"]: r["crashes"] for r in json.loads(out)["modules"]}
    assert before[VIEWER[0]] == 2  # both crashes have demo-viewer frames
    code, out, _ = run(capsys, "symbols", "fetch", "--missing", "--symbols-url", symbol_server.url,
                       "--data-dir", str(home), "--json")
    assert code == 0
    doc = json.loads(out)
    status = {r["debug_file"]: r["status"] for r in doc["modules"]}
    assert status[VIEWER[0]] == "loaded" and status["libc.so.6"] == "missing"
    assert sorted(doc["reprocess"]) == sorted(ids)
    with CrashStore.open(home) as store:
        assert store.state_counts()["received"] == 2


def test_fetch_exits_1_on_server_errors(tmp_path: Path, symbol_server, capsys) -> None:
    symbol_server.faults[VIEWER[0]] = "500"
    code, out, err = run(capsys, "symbols", "fetch", str(DUMPS / "linux-crashpad-01-null-deref.dmp"),
                         "--symbols-url", symbol_server.url, "--data-dir", str(tmp_path), "--json")
    assert code == 1 and "run again" in err
    rows = {r["debug_file"]: r for r in json.loads(out)["modules"]}
    assert rows[VIEWER[0]]["reason"] == "server_error" and rows["libc.so.6"]["reason"] == "not_found"
