"""Convert once: the SymCache/CFI conversion is kept per debug id (versioned, checksummed) and reused; a
changed source, a damaged cache file or another format version makes a new conversion."""

from __future__ import annotations

import json
import os
import shutil

from native_oracle import DATA

from crashdesk.engine.native.symbols import cache_entry_dir, load_native_symbols
from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols.cache import SymbolCache

ABORT = ModuleKey("abort", "A48688D4AA70B4CAE2B86443818FBC970")


def _copy(tmp_path):
    src = tmp_path / "src" / "abort.debug"
    src.parent.mkdir()
    shutil.copy(DATA / "abort/abort.debug", src)
    return src


def _load(src, idx):
    with load_native_symbols(src, ABORT, idx) as sym:
        return sym.index_state, sym.function_at(0x506).name, sym.cfi_at(0x507).rules


def test_second_load_reuses_the_conversion(tmp_path):
    src, idx = _copy(tmp_path), tmp_path / "idx"
    first = _load(src, idx)
    entry = cache_entry_dir(idx, ABORT.debug_id)
    meta = json.loads((entry / "meta.json").read_text())
    stamp = (entry / "symbols.symcache").stat().st_ino
    second = _load(src, idx)
    assert first[0] == "built" and second[0] == "reused"
    assert first[1:] == second[1:] == ("main", {".cfa": "$rsp 16 +", "$rbp": ".cfa -16 + ^", ".ra": ".cfa -8 + ^"})
    assert (entry / "symbols.symcache").stat().st_ino == stamp  # not rewritten
    assert set(meta["sha256"]) == {"symbols.symcache", "cfi.sym", "publics.json"}
    assert meta["debug_id"] == ABORT.debug_id


def test_damaged_cache_file_is_rebuilt(tmp_path):
    src, idx = _copy(tmp_path), tmp_path / "idx"
    _load(src, idx)
    entry = cache_entry_dir(idx, ABORT.debug_id)
    with open(entry / "symbols.symcache", "r+b") as f:
        f.seek(40)
        f.write(b"\xff\xff\xff\xff")
    state, name, _ = _load(src, idx)
    assert (state, name) == ("built", "main")


def test_other_format_version_or_changed_source_is_rebuilt(tmp_path):
    src, idx = _copy(tmp_path), tmp_path / "idx"
    _load(src, idx)
    meta_path = cache_entry_dir(idx, ABORT.debug_id) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format"] = -1
    meta_path.write_text(json.dumps(meta))
    assert _load(src, idx)[0] == "built"
    os.utime(src, ns=(1, 1))
    assert _load(src, idx)[0] == "built"
    assert _load(src, idx)[0] == "reused"


def test_conversion_counts_in_the_cache_size_limit(tmp_path):
    """Conversions live under the cache's index folder: the LRU limit counts and evicts them."""
    cache = SymbolCache(tmp_path / "cache", max_bytes=10)
    src = _copy(tmp_path)
    _load(src, cache.indexes)
    entry = cache_entry_dir(cache.indexes, ABORT.debug_id)
    size = sum(p.stat().st_size for p in entry.iterdir())
    assert cache.total_bytes() >= size > 0
    cache.prune()
    assert cache.total_bytes() <= 10
    assert _load(src, cache.indexes)[0] == "built"  # evicted: converted again, still correct
