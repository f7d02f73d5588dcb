"""Finding symbols: local symbol folders, the user's cache and HTTP symbol servers (the supplier chain).

``build_provider`` gives the engine a :class:`~crashdesk.engine.symbols_api.SymbolProvider`. Layout, path
safety, the cache with LRU eviction, the negative cache and the HTTP client live in the sub-modules.
"""

from __future__ import annotations

import os

from crashdesk.symbols.chain import FetchEvent, SymbolChain
from crashdesk.symbols.layout import UnsafeName, store_path, sym_file_name
from crashdesk.symbols.options import HttpOptions


def build_provider(symbol_paths: list[str | os.PathLike[str]], symbol_urls: list[str],
                   cache_dir: str | os.PathLike[str] | None, **options) -> SymbolChain:
    """A supplier chain: each folder of ``symbol_paths`` (store layout, read-only), then the cache, then each
    server of ``symbol_urls``, in that order.

    ``cache_dir`` is CrashDesk's cache folder (:attr:`crashdesk.config.paths.Paths.cache_dir`): downloaded
    files go to ``<cache_dir>/symbols/<debug_file>/<DEBUG_ID>/<sym_file>``, indexes to ``<cache_dir>/symindex``
    and remembered misses to ``<cache_dir>/symbols-misses.json``. Given the ``symbols`` folder itself
    (:attr:`~crashdesk.config.paths.Paths.symbols_cache`), its parent is used, so both spellings share one
    cache. With ``cache_dir=None`` nothing is written
    (indexes are built in memory; downloads go to temporary files). Extra keyword ``options`` go to
    :class:`SymbolChain` (``options=HttpOptions(...)``, ``negative_ttl``, ``max_cache_bytes``,
    ``max_parallel``).
    """
    if cache_dir is not None:
        cache_dir = os.path.normpath(cache_dir)
        if os.path.basename(cache_dir) == "symbols":
            cache_dir = os.path.dirname(cache_dir)
    return SymbolChain(symbol_paths, symbol_urls, cache_dir, **options)


__all__ = ["FetchEvent", "HttpOptions", "SymbolChain", "UnsafeName", "build_provider", "store_path",
           "sym_file_name"]
