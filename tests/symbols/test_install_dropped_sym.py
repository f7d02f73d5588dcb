"""A dropped .sym file is installed by its MODULE line (issue 17): names from the file (and from stored dumps)
are untrusted, so nothing lands outside the symbol cache and a file that is not a .sym file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from crashdesk.engine.symfile.errors import SymbolFileError
from crashdesk.services.build_folders import install_sym_file
from crashdesk.symbols.layout import UnsafeName

SYM = Path(__file__).resolve().parents[1] / "data" / "native" / "abort" / "abort.sym"


def test_installed_under_the_module_line_and_safe_aliases(tmp_path):
    cache = tmp_path / "cache" / "symbols"
    debug_file, debug_id, target = install_sym_file(SYM, cache, also_as=["abort", "../../escape", "a/b/abort"])
    assert (debug_file, debug_id) == ("abort.debug", "A48688D4AA70B4CAE2B86443818FBC970")
    assert target == cache / "abort.debug" / debug_id / "abort.debug.sym"
    assert (cache / "abort" / debug_id / "abort.sym").read_bytes() == SYM.read_bytes()
    # "../../escape" becomes its last component, "escape": inside the cache, nothing above it
    assert (cache / "escape" / debug_id / "escape.sym").is_file()
    assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()
    assert sorted(p.name for p in cache.iterdir()) == ["abort", "abort.debug", "escape"]


@pytest.mark.parametrize("line, error", [
    (b"MODULE Linux x86_64 ../../../x abort\n", UnsafeName),
    (b"MODULE Linux x86_64 ABCDEF ..\n", UnsafeName),
    (b"MODULE Linux x86_64 ABCDEF con.pdb\n", UnsafeName),
    (b"\x7fELF not a symbol file\n", SymbolFileError),
])
def test_hostile_module_lines_are_refused_and_write_nothing(tmp_path, line, error):
    bad = tmp_path / "bad.sym"
    bad.write_bytes(line + b"FUNC 0 1 0 f\n")
    cache = tmp_path / "cache"
    with pytest.raises(error):
        install_sym_file(bad, cache)
    assert not cache.exists() or not any(cache.rglob("*"))
