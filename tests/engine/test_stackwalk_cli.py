"""``crashdesk stackwalk`` end to end through the real command-line entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crashdesk.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "minidumps"
FIZZ = next((DATA / "win-x86-fizzbuzz").glob("*.dmp"))
MINI = next((DATA / "linux-amd64-mini").glob("*.dmp"))


def test_single_dump_json_matches_reference_with_symbols(capsys, tmp_path: Path) -> None:
    rc = main(["stackwalk", str(MINI), "--json", "--symbols-path", str(DATA / "symbols"),
               "--symbols-cache", str(tmp_path / "cache")])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    got = json.loads(out)
    expected = json.loads((DATA / "linux-amd64-mini" / "expected.json").read_text())
    assert got["crash_info"]["type"] == expected["crash_info"]["type"]
    assert got["crashing_thread"]["frames"][0]["function"] == expected["crashing_thread"]["frames"][0]["function"]
    assert [m["loaded_symbols"] for m in got["modules"]] == [m["loaded_symbols"] for m in expected["modules"]]
    assert [m["missing_symbols"] for m in got["modules"]] == [m["missing_symbols"] for m in expected["modules"]]


@pytest.mark.parametrize("case", ["linux-crashpad-05-thread", "linux-amd64-mini", "macos-amd64-crashpad"])
def test_a_cache_alone_is_no_symbol_source(case, capsys, tmp_path: Path) -> None:
    """``--symbols-cache`` without a symbols path or URL: the reference looks nothing up (its cache serves only
    ``--symbols-url``), so the document is its one without symbols, ``missing_symbols: false`` everywhere —
    even with a .sym for one of the dump's modules in that cache."""
    dump = next(p for p in (DATA / case).glob("*.dmp"))
    expected = json.loads((DATA / case / "expected-nosyms.json").read_text())
    cache = tmp_path / "cache"
    for module in expected["modules"][:1]:  # a symbol file where a download would have put it
        sym = cache / "symbols" / module["debug_file"] / module["debug_id"] / (module["debug_file"] + ".sym")
        sym.parent.mkdir(parents=True)
        sym.write_text(f"MODULE Linux x86_64 {module['debug_id']} {module['debug_file']}\nFUNC 0 10000 0 f\n")
    assert main(["stackwalk", "--json", "--symbols-cache", str(cache), str(dump)]) == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_pretty_is_one_indented_object(capsys) -> None:
    assert main(["stackwalk", str(FIZZ), "--json", "--pretty"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("{\n  ")
    assert json.loads(out)["status"] == "OK"


def test_several_dumps_give_json_lines_and_exit_1_on_any_failure(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "junk.dmp"
    junk.write_bytes(b"PK\x03\x04 not a minidump")
    rc = main(["stackwalk", "--jsonl", str(FIZZ), str(junk), str(MINI)])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 1
    records = [json.loads(line) for line in lines]
    assert [r["dump"] for r in records] == [str(FIZZ), str(junk), str(MINI)]
    assert "result" in records[0] and "result" in records[2]
    assert "error" in records[1] and "minidump" in records[1]["error"]


def test_jsonl_with_one_dump(capsys) -> None:
    assert main(["stackwalk", "--jsonl", str(FIZZ)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["result"]["status"] == "OK"


def test_crashing_thread_only(capsys) -> None:
    dump = DATA / "linux-crashpad-05-thread" / "dump.dmp"
    assert main(["stackwalk", "--json", "--crashing-thread-only", str(dump)]) == 0
    got = json.loads(capsys.readouterr().out)
    expected = json.loads((DATA / "linux-crashpad-05-thread" / "expected-nosyms.json").read_text())
    assert got["thread_count"] == expected["thread_count"]
    assert [t["frame_count"] > 0 for t in got["threads"]] == [i == 5 for i in range(6)]
    assert got["threads"][5]["frames"] == expected["threads"][5]["frames"]


def test_not_a_minidump_is_one_line_exit_1(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("just text\n" * 10)
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", str(junk)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_human_report(capsys) -> None:
    assert main(["stackwalk", str(DATA / "linux-crashpad-05-thread" / "dump.dmp")]) == 0
    out = capsys.readouterr().out
    assert "Operating system: Linux" in out
    assert "Crash reason:  SIGSEGV / SEGV_MAPERR" in out
    assert "Thread 5 render-thread (crashed) - tid: 2016" in out
    assert "Loaded modules:" in out and "(main)" in out


def _store(tmp_path: Path) -> Path:
    import lzma
    import shutil

    store = tmp_path / "store"
    shutil.copytree(DATA / "symbols", store)
    for xz in (DATA / "symbols-xz").rglob("*.xz"):
        target = store / xz.relative_to(DATA / "symbols-xz")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_suffix("").write_bytes(lzma.decompress(xz.read_bytes()))
    return store


def test_human_report_matches_the_reference_text(capsys, tmp_path: Path) -> None:
    store = _store(tmp_path)
    for case in ("linux-crashpad-05-thread", "linux-crashpad-06-plugin-so"):
        rc = main(["stackwalk", str(DATA / case / "dump.dmp"), "--symbols-path", str(store),
                   "--symbols-cache", str(tmp_path / "cache")])  # fmt: skip
        assert rc == 0
        got = capsys.readouterr().out.splitlines()
        want = (DATA / case / "expected.txt").read_text().splitlines()
        assert got == want
