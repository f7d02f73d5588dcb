"""Lookups into real .sym files checked against minidump-stackwalk's own frames (expected.json).

For every frame of every thread whose module has symbols in tests/data/symbols/store, the function name,
function offset, source file/line and inline chain that minidump-stackwalk printed must come out of our index.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashdesk.engine.symfile import load_symbol_file

DATA = Path(__file__).resolve().parents[1] / "data" / "symbols"
STORE = DATA / "store"


def _sym_path(debug_file: str, debug_id: str) -> Path:
    name = debug_file[:-4] + ".sym" if debug_file.lower().endswith(".pdb") else debug_file + ".sym"
    return STORE / debug_file / debug_id / name


def frame_view(sym, fr: dict) -> dict:
    """What our lookups say about one frame, shaped like the reference JSON's frame fields."""
    off = int(fr["module_offset"], 16)
    addr = off if fr["trust"] == "context" else off - 1  # callers: look up the call instruction
    func = sym.function_at(addr)
    line = sym.line_at(addr)
    inl = sym.inlines_at(addr)
    view = {
        "function": func.name if func else None,
        "function_offset": off - func.address if func else None,
        "file": line.file if line else None,
        "line": line.line if line else None,
        "inlines": None,
    }
    if inl:
        view["file"], view["line"] = inl[0].call_file, inl[0].call_line
        chain = []
        for k in range(len(inl) - 1, -1, -1):  # deepest first, as the reference prints them
            if k == len(inl) - 1:
                chain.append({"function": inl[k].name, "file": line.file if line else None,
                              "line": line.line if line else None})
            else:
                chain.append({"function": inl[k].name, "file": inl[k + 1].call_file, "line": inl[k + 1].call_line})
        view["inlines"] = chain
    return view


def reference_view(fr: dict) -> dict:
    inl = fr.get("inlines")
    return {
        "function": fr.get("function"),
        "function_offset": int(fr["function_offset"], 16) if fr.get("function_offset") else None,
        "file": fr.get("file"),
        "line": fr.get("line"),
        "inlines": [{k: i.get(k) for k in ("function", "file", "line")} for i in inl] if inl else None,
    }


def reference_frames(expected: Path):
    doc = json.loads(expected.read_text())
    mods = {m["filename"]: m for m in doc["modules"]}
    for th in doc["threads"]:
        for fr in th["frames"]:
            m = mods.get(fr.get("module"))
            if m and m.get("loaded_symbols") and _sym_path(m["debug_file"], m["debug_id"]).is_file():
                yield m, fr


CASES = sorted((DATA / "expected").glob("*.json"))


@pytest.mark.parametrize("expected", CASES, ids=[c.stem for c in CASES])
@pytest.mark.parametrize("indexed", [False, True], ids=["memory", "mapped"])
def test_frames_match_reference(expected: Path, indexed: bool, tmp_path: Path) -> None:
    checked = 0
    opened = {}
    for m, fr in reference_frames(expected):
        key = (m["debug_file"], m["debug_id"])
        if key not in opened:
            opened[key] = load_symbol_file(_sym_path(*key), m["debug_id"], tmp_path if indexed else None)
        assert frame_view(opened[key], fr) == reference_view(fr), fr["module_offset"]
        checked += 1
    for s in opened.values():
        s.close()
    assert checked > 0


def test_inline_frame_of_the_plugin_crash() -> None:
    # 06-plugin-so: the fault is in table_lookup_symbol, inlined into codec_decode_frame (MANIFEST.md).
    sym = load_symbol_file(_sym_path("libdemo_codec.so", "701F2CACE746BE48CF04D69FD62E6DA70"))
    inl = sym.inlines_at(0x1167)
    assert [(i.depth, i.name, i.call_line) for i in inl] == [(0, "table_lookup_symbol", 42)]
    assert sym.function_at(0x1167).name == "codec_decode_frame"
    assert sym.line_at(0x1167).line == 29


def test_unterminated_last_line_is_reported_like_the_reference() -> None:
    # The reference marks linux_inline.sym corrupt (it lacks a final line feed) and resolves no function.
    doc = json.loads((DATA / "expected" / "google-breakpad-linux_inline.json").read_text())
    mod = next(m for m in doc["modules"] if m["filename"] == "linux_inline")
    sym = load_symbol_file(_sym_path(mod["debug_file"], mod["debug_id"]))
    assert sym.corrupt is mod["corrupt_symbols"] is True
    assert sym.malformed_lines == 1
