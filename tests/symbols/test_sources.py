"""Symbol source strings (``_NT_SYMBOL_PATH`` syntax) and store-layout names."""

from __future__ import annotations

from pathlib import Path

import pytest

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.errors import UsageError
from crashdesk.symbols import store_path, sym_file_name
from crashdesk.symbols.layout import code_store_path
from crashdesk.symbols.sources import MOZILLA_SYMBOL_SERVER, parse_symbol_path


def test_windbg_style_string() -> None:
    s = parse_symbol_path("cache*/var/symcache;srv*/srv/symbols*https://msdl.microsoft.com/download/symbols;"
                          "srv*https://symbols.mozilla.org/;/home/me/syms")
    assert s.cache == Path("/var/symcache")
    assert s.urls == ["https://msdl.microsoft.com/download/symbols", MOZILLA_SYMBOL_SERVER]
    assert s.paths == [Path("/srv/symbols"), Path("/home/me/syms")]


def test_srv_without_cache_uses_the_leftmost_store_as_cache() -> None:
    s = parse_symbol_path("srv*/tmp/downstream*https://example.org/symbols")
    assert s.cache == Path("/tmp/downstream") and s.urls == ["https://example.org/symbols"] and s.paths == []


@pytest.mark.parametrize("bad", ["cache*", "weird*thing*here"])
def test_bad_entries(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_symbol_path(bad)


@pytest.mark.parametrize("debug_file,expected", [
    ("xul.pdb", "xul.sym"), ("XUL.PDB", "XUL.sym"), ("libxul.so", "libxul.so.sym"), ("XUL", "XUL.sym"),
])
def test_sym_file_names(debug_file: str, expected: str) -> None:
    assert sym_file_name(debug_file) == expected


def test_store_paths_use_the_leaf_and_upper_case_ids() -> None:
    rel = store_path(ModuleKey("c:\\build\\obj\\xul.pdb", "3d1f2a9c8b7e4f60a1b2c3d4e5f607182"))
    assert rel.posix == "xul.pdb/3D1F2A9C8B7E4F60A1B2C3D4E5F607182/xul.sym"
    code = code_store_path(ModuleKey("", "", code_file="C:\\Program Files\\xul.dll", code_id="670a3b2c9f3e000"))
    assert code.posix == "xul.dll/670A3B2C9F3E000/xul.sym"
