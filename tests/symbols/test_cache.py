"""The cache folder: layout, indexes of local-folder files, pruning, stale temporary files."""

from __future__ import annotations

import os
import time
from pathlib import Path

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols import build_provider
from crashdesk.symbols.cache import SymbolCache
from tests.symbols.conftest import CODEC, VIEWER


def test_indexes_of_local_files_live_in_the_cache_and_can_be_pruned(tmp_path: Path, local_store: Path) -> None:
    cache_dir = tmp_path / "cache"
    with build_provider([local_store], [], cache_dir) as chain:
        for m in (CODEC, VIEWER):
            res = chain.lookup(ModuleKey(*m))
            assert res.status == "loaded"
            assert Path(res.symbols.index_path).is_relative_to(cache_dir / "symindex")
    cache = SymbolCache(cache_dir)
    assert cache.entries() == []  # local files are not copied into the cache
    assert cache.total_bytes() > 0  # but their indexes are there
    cache.prune(0)
    assert cache.total_bytes() == 0
    # The files themselves are untouched and index again on the next use.
    with build_provider([local_store], [], cache_dir) as chain:
        res = chain.lookup(ModuleKey(*CODEC))
        assert res.status == "loaded" and res.symbols.index_state == "built"


def test_stale_partial_downloads_are_removed(tmp_path: Path) -> None:
    cache = SymbolCache(tmp_path / "cache")
    fd, old = cache.new_temp()
    os.close(fd)
    fd, fresh = cache.new_temp()
    os.close(fd)
    past = time.time() - 3 * 86400
    os.utime(old, (past, past))
    cache.prune(10**12)
    assert not old.exists() and fresh.exists()


def test_cache_root_or_its_symbols_folder_mean_the_same_cache(tmp_path: Path, local_store: Path) -> None:
    from crashdesk.config.paths import resolve_paths

    paths = resolve_paths(tmp_path / "home")
    for given in (paths.cache_dir, paths.symbols_cache):
        with build_provider([local_store], [], given) as chain:
            assert Path(chain.cache.files) == paths.symbols_cache
            assert Path(chain.index_dir) == paths.symbol_indexes
