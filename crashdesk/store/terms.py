"""The search terms each crash contributes to ``crash_terms``, the store's inverted index.

``crash_terms`` is an FTS5 table (``detail=none``: which crashes hold a term, nothing more) used as a compact
inverted index for the searches that would otherwise need a B-tree index over millions of side-table rows:

* ``m<id>`` — the crash loaded module ``modules.id``;
* ``x<id>`` — ... and that module's symbols were missing, corrupt or failed to load;
* ``f<id>`` — a stored frame calls function ``function_names.id``;
* ``p<id>`` — a stored frame's source file is ``file_names.id``;
* ``a<hash>`` — the crash has annotation ``key`` with ``value``: a 64-bit hash of the key and the value with
  ASCII letters folded, exactly SQLite's ``NOCASE`` equality (two distinct pairs share a hash with odds of
  about one in 10^13 for a million distinct values, so a search takes the hash's crashes as they are).

FTS5 writes a batch of crashes' terms as one sorted segment, which costs a small fraction of keeping the same
pairs in a B-tree index row by row; that is what lets the store ingest crashes with all their side tables at
bulk rates (see ``benchmarks/bench_store.py``). "Stored frames" are the crashing thread's (every thread's for
crashes stored with ``all_thread_frames``) as ``model.summary.frame_rows`` lists them; they are not kept as rows
(the processed crash holds them), only as these terms. The raw annotations (``crashes.raw``), the processed
crash and ``crash_module_links`` stay the place to read a crash's details.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from hashlib import blake2b
from typing import Any

import orjson

# the letters of ``crash_module_links.status`` (see ``model.summary.module_links``) that mean no symbols
MISSING_LETTERS = frozenset("MCE")


def annotation_value_text(value: Any) -> str:
    """How an annotation value is stored in the ``annotations`` table."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # SQLite's NOCASE: A-Z only


def ranked_values(counts: Iterable[tuple[Any, int]], fold: bool, size: int) -> list[tuple[Any, int]]:
    """Facet values as Crash Stats lists them, biggest first (ties by term): NULL and "" left out; with ``fold``
    (a NOCASE column) the spellings of one value are one group, named by its smallest spelling. The SQL path
    and the facet index both count this way."""
    groups: dict[Any, list[Any]] = {}
    for value, n in counts:
        if value is None or value == "":
            continue
        key = value.translate(ASCII_FOLD) if fold and isinstance(value, str) else value
        group = groups.get(key)
        if group is None:
            groups[key] = [value, n]
        else:
            group[0] = min(group[0], value)
            group[1] += n
    ranked = sorted(groups.values(), key=lambda g: (-g[1], g[0]))
    return [(term, n) for term, n in ranked[:size]]


@lru_cache(maxsize=1 << 16)  # most annotation pairs (product, version, OS, locale...) repeat across crashes
def annotation_token(key: str, value: str) -> str:
    folded = value.translate(ASCII_FOLD)  # SQLite's NOCASE folds A-Z only
    return "a" + blake2b(f"{key}\x00{folded}".encode(errors="surrogatepass"), digest_size=8).hexdigest()


def annotation_terms(rows: Iterable[tuple[str, str]]) -> str:
    """The ``annotations`` column of ``crash_terms`` for a crash's (key, stored value) pairs."""
    return " ".join(annotation_token(k, v) for k, v in rows)


def processed_terms(module_ids: Iterable[int], statuses: str, function_ids: Iterable[int],
                    file_ids: Iterable[int] = ()) -> str:
    """The ``processed`` column of ``crash_terms``: loaded modules (``m``), those whose symbols were missing
    (``x``, ``statuses`` holds one letter per module id), and the stored frames' functions (``f``) and source
    files (``p``)."""
    module_ids = list(module_ids)
    missing = [i for i, letter in zip(module_ids, statuses, strict=False) if letter in MISSING_LETTERS]
    return " ".join(filter(None, (_prefixed("m", module_ids), _prefixed("x", missing),
                                  _prefixed("f", dict.fromkeys(function_ids)),
                                  _prefixed("p", dict.fromkeys(file_ids)))))


def _prefixed(prefix: str, ids: Iterable[int]) -> str:
    """``"<prefix><id> <prefix><id> ..."`` (a third faster than formatting each term: this runs for every
    stored crash's ~150 modules)."""
    text = f" {prefix}".join(map(str, ids))
    return prefix + text if text else ""


def match_any(prefix: str, ids_sql: str) -> str:
    """SQL for an FTS5 MATCH expression naming every id ``ids_sql`` selects (one term each, OR-ed), or a term
    no crash holds when it selects none (ids start at 1)."""
    return f"(SELECT coalesce(group_concat('{prefix}' || id, ' OR '), '{prefix}0') FROM ({ids_sql}))"


def links_row(module_ids: list[int], statuses: str, notes: Mapping[int, str] | None
              ) -> tuple[str, bytes, str, str | None]:
    """``crash_module_links`` columns (modules, base_addrs, status, notes): JSON text, and an empty blob for the
    base addresses (read from the processed crash since schema v13, see ``CrashStore.get``)."""
    note_list = None
    if notes:
        note_list = orjson.dumps([notes.get(i) for i in range(len(module_ids))]).decode()
    return orjson.dumps(module_ids).decode(), b"", statuses, note_list


def pack_base_addrs(base_addrs: list[str | None]) -> bytes | None:
    """(Schema v11's migration.) Base addresses as 8 big-endian bytes each (the ``crash_modules`` view reads them back as text with
    ``'0x' || lower(hex(...))``), when every one is written the way stackwalkers write them, ``0x`` and 16
    lower-case hex digits; else None (kept as JSON text: 21 bytes an address against 8)."""
    if not base_addrs:
        return None
    try:
        text = "".join(base_addrs)  # type: ignore[arg-type]
    except TypeError:  # a None or a number
        return None
    n = len(base_addrs)
    # every address 18 characters starting 0x; no upper-case digit ('x' makes islower() true for the rest)
    if len(text) != 18 * n or text[0::18] != "0" * n or text[1::18] != "x" * n or not text.islower():
        return None
    try:
        packed = bytes.fromhex(text.replace("0x", ""))
    except ValueError:
        return None
    return packed if len(packed) == 8 * len(base_addrs) else None  # fromhex skips spaces
