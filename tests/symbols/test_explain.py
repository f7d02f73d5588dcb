"""`crashdesk symbols explain`: a crash processed against a real Microsoft-style symbol server on 127.0.0.1, then
explained from what processing kept (every place tried, what was used, what to do), and looked up again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashdesk.cli import main
from tests.symbols.remote_fixtures import PDB_ID, symstore_routes

pytest.importorskip("symbolic", reason="native debug files need the symbolic library (no wheel on this platform)")

MINI = Path(__file__).resolve().parents[1] / "data" / "unwind" / "mini-windows" / "mini.dmp"
NTDLL = "/wntdll.pdb/971F98E5CE6041FFB2D7235BBEB345781/wntdll.pdb"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def processed(tmp_path: Path, file_servers, capsys):
    """mini.dmp imported and processed with only the symbol server; ntdll's PDB answers 500."""
    ms, _ = file_servers
    ms.routes.update(symstore_routes())
    ms.routes[NTDLL] = b"unused"
    ms.faults[NTDLL] = "500"
    home = str(tmp_path / "home")
    code, out, err = run(capsys, "import", "--data-dir", home, "--json", str(MINI))
    assert code == 0, err
    crash_id = json.loads(out)["imported"][0]["crash_id"]
    code, _, err = run(capsys, "process", "--data-dir", home, "--workers", "1", "--symbols-url", ms.url)
    assert code == 0, err
    return home, crash_id, ms


def test_explain_from_what_processing_kept(processed, capsys) -> None:
    home, crash_id, ms = processed
    code, out, err = run(capsys, "symbols", "explain", "--data-dir", home, crash_id, "--json")
    assert code == 0, err
    doc = json.loads(out)
    mods = {m["filename"]: m for m in doc["modules"]}
    exe = mods["crash.exe"]
    assert exe["status"] == "loaded" and exe["trace_kept"]
    assert exe["used"]["kind"] == "native" and exe["used"]["files"][0].endswith("crash.pdb")
    assert exe["used"]["url"] == f"{ms.url}/crash.pdb/{PDB_ID}/crash.pdb"
    urls = [(a.get("url"), a.get("http_status"), a["result"]) for a in exe["attempts"] if a.get("http")]
    assert urls[0] == (f"{ms.url}/crash.pdb/{PDB_ID}/crash.sym", 404, "not_found")  # .sym first
    assert urls[-1] == (f"{ms.url}/crash.pdb/{PDB_ID}/crash.pdb", 200, "downloaded")
    assert [a["source"] for a in exe["attempts"][:2]] == ["cache", "cache (native)"]
    assert exe["advice"] == []

    nt = mods["ntdll.dll"]
    assert nt["status"] == "missing"
    failed = [a for a in nt["attempts"] if a.get("url") == ms.url + NTDLL]
    assert failed and failed[0]["http_status"] == 500 and failed[0]["result"] == "error"
    assert any("retry now" in tip for tip in nt["advice"])
    # a module no frame needed was never looked up, and says so instead of advising
    quiet = mods["dbghelp.dll"]
    assert quiet["status"] is None and "not needed" in quiet["note"] and quiet["advice"] == []

    code, text, _ = run(capsys, "symbols", "explain", "--data-dir", home, crash_id, "ntdll.dll")
    assert code == 0
    assert "tried, in order:" in text and f"{ms.url}{NTDLL}: HTTP 500, failed" in text
    assert "crash.exe" not in text


def test_explain_now_asks_again(processed, capsys) -> None:
    home, crash_id, ms = processed
    ms.faults.pop(NTDLL)
    ms.routes.pop(NTDLL)  # now a plain miss
    code, out, err = run(capsys, "symbols", "explain", "--data-dir", home, crash_id, "wntdll.pdb", "--now",
                         "--symbols-url", ms.url, "--json")
    assert code == 0, err
    (nt,) = json.loads(out)["modules"]
    assert nt["explained_from"] == "now"
    pdb_tries = [a.get("url", "").rsplit("/", 1)[-1] for a in nt["attempts"] if a.get("kind") == "pdb"]
    assert pdb_tries == ["wntdll.pdb", "wntdll.pd_", "file.ptr"]
    assert any("build folder" in tip for tip in nt["advice"])


def test_explain_bad_input(processed, capsys) -> None:
    home, crash_id, _ = processed
    assert run(capsys, "symbols", "explain", "--data-dir", home, crash_id, "nosuch.dll")[0] == 2
    code, _, err = run(capsys, "symbols", "explain", "--data-dir", home, "00000000-0000-0000-0000-000000000000")
    assert code == 1 and "Traceback" not in err


def test_explain_shows_the_remembered_miss_and_its_expiry(processed, capsys) -> None:
    home, crash_id, ms = processed
    kernel32 = "/wkernel32.pdb/D347455996F747D6BF43C176B2171E681/wkernel32.pdb"
    assert ms.hits[kernel32] == 1  # a plain 404 the first time: remembered as a miss
    code, _, err = run(capsys, "process", "--data-dir", home, "--workers", "1", "--symbols-url", ms.url,
                       "--reprocess", "--all")
    assert code == 0, err
    assert ms.hits[kernel32] == 1  # not asked again
    code, out, _ = run(capsys, "symbols", "explain", "--data-dir", home, crash_id, "kernel32.dll", "--json")
    (k32,) = json.loads(out)["modules"]
    last = k32["attempts"][-1]
    assert last["source"] == "negative cache" and last["result"] == "cached_miss" and last["until"] > 0
    assert "remembered miss, not asked again until" in k32["steps"][-1]
    assert any("Retry now" in tip for tip in k32["advice"])


@pytest.mark.parametrize("debug_id", ["000000000000000000000000000000000", ""])
def test_a_module_without_a_debug_id_is_not_sent_to_look_for_one(debug_id) -> None:
    """A module the dump lists with no debug id (a real case: allocer32.exe in rust-minidump's test dumps,
    debug id all zeros): no symbol file can be matched to it, so the advice says so and does not ask for "the
    native debug file with debug id 000...0"; a module with an id still gets the build-folder tip."""
    from crashdesk.engine.symbols_api import ModuleKey
    from crashdesk.symbols.explain import advice

    tips = advice(ModuleKey("", debug_id, "allocer32.exe", "5f5f2c8817000"), "missing", {"attempts": []})
    assert "allocer32.exe records no debug identifier" in tips[-1] and "/DEBUG" in tips[-1]
    assert not any("debug id 000" in t or "Add a build folder" in t for t in tips)
    tips = advice(ModuleKey("crash.pdb", PDB_ID, "crash.exe", ""), "missing", {"attempts": []})
    assert f"with debug id {PDB_ID}" in tips[-1] and not any("no debug identifier" in t for t in tips)
