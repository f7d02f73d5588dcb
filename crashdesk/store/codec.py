"""How the store encodes documents (processed crashes, signature inputs): compact UTF-8 JSON, compressed.

New blobs are zstd frames. A store that has trained a dictionary for a kind of document (see
``crashdesk.store.dictionaries``: trained on the store's own documents, kept in the store) compresses with it at
level 3 (a 74 KB processed crash of ``benchmarks/bench_store.py`` packs to ~5.9 KB instead of ~11.5 KB without
one, in ~0.16 ms); the frame header carries the dictionary's id, which :func:`decompress` reads to pick it, so
blobs written without a dictionary (level 1), or with an older one, still decode. Blobs written before schema v8
are zlib streams, told apart by the zstd frame magic.

Dictionaries are registered process-wide by id (:func:`register_dictionary`; ids are random 31-bit numbers, so
two stores open in one process do not clash). Anything that is not a readable document raises
:class:`CorruptDocument`.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import zstandard

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

from crashdesk.store.errors import StoreError

ZSTD_LEVEL = 1
DICT_LEVEL = 3  # with a dictionary, level 3 packs a processed crash ~20% smaller than level 1 for ~0.05 ms more
MAX_DOCUMENT = 1 << 30  # a frame declaring more than this (hostile or corrupt) is refused before allocating
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_local = threading.local()  # zstd contexts are not shared between threads
_dictionaries: dict[int, zstandard.ZstdCompressionDict] = {}
_sources: list[weakref.WeakMethod] = []  # open stores' lookups of a dictionary by id (one trained elsewhere)


class CorruptDocument(StoreError):
    """A stored document that cannot be decoded (corrupt bytes, or compressed with a dictionary this store does
    not hold)."""


def register_dictionary(data: bytes) -> int:
    """Make a trained dictionary (zstd's format, with its id) usable for :func:`compress` and
    :func:`decompress`; return its id."""
    d = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
    dict_id = d.dict_id()
    if not dict_id:
        raise CorruptDocument("not a zstd dictionary (no id)")
    known = _dictionaries.get(dict_id)
    if known is not None and known.as_bytes() != data:
        raise CorruptDocument(f"two different dictionaries share the id {dict_id}")
    _dictionaries.setdefault(dict_id, d)
    return dict_id


def add_dictionary_source(lookup: Callable[[int], bytes | None]) -> None:
    """Where :func:`decompress` looks for a dictionary it has not seen (another process of the same store may
    have trained it): a bound method of an open store, held weakly."""
    _sources[:] = [s for s in _sources if s() is not None]
    _sources.append(weakref.WeakMethod(lookup))


def _find_dictionary(dict_id: int) -> zstandard.ZstdCompressionDict | None:
    for ref in list(_sources):
        lookup = ref()
        data = lookup(dict_id) if lookup is not None else None
        if data is not None:
            try:
                if register_dictionary(data) == dict_id:
                    return _dictionaries[dict_id]
            except (CorruptDocument, zstandard.ZstdError):
                continue
    return None


def _compressor(dict_id: int | None = None) -> zstandard.ZstdCompressor:
    cache = getattr(_local, "c", None)
    if cache is None:
        cache = _local.c = {}
    c = cache.get(dict_id)
    if c is None:
        if dict_id is None:
            c = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        else:
            c = zstandard.ZstdCompressor(level=DICT_LEVEL, dict_data=_dictionaries[dict_id], write_dict_id=True)
        cache[dict_id] = c
    return c


def _decompressor(dict_id: int = 0) -> zstandard.ZstdDecompressor:
    cache = getattr(_local, "d", None)
    if cache is None:
        cache = _local.d = {}
    d = cache.get(dict_id)
    if d is None:
        if dict_id:
            known = _dictionaries.get(dict_id) or _find_dictionary(dict_id)
            if known is None:
                raise CorruptDocument(f"the document was compressed with dictionary {dict_id}, which this store "
                                      "does not hold")
            d = zstandard.ZstdDecompressor(dict_data=known)
        else:
            d = zstandard.ZstdDecompressor()
        cache[dict_id] = d
    return d


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON: orjson, with the json module for what orjson refuses (integers past 64 bits). What
    the json module writes starts with a space (JSON allows it; orjson never writes one), so :func:`loads`
    knows to read it back with the json module too."""
    try:
        # string keys only first: orjson's option for other keys costs ~20% on a processed crash (~20 us)
        return orjson.dumps(obj)
    except TypeError:
        pass
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return b" " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(errors="surrogatepass")


def loads(data: bytes | str) -> Any:
    """What :func:`dumps` wrote. orjson reads an integer past its 64-bit range (below -2**63, above 2**64 - 1)
    as a float without a word, so what the json module wrote (a leading space) is read by the json module."""
    if data[:1] in (b" ", " "):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def compress(data: bytes, dict_id: int | None = None) -> bytes:
    """zstd-compress encoded JSON (releases the GIL while it works), with registered dictionary ``dict_id``
    if given."""
    return _compressor(dict_id).compress(data)


def compress_many(items: list[bytes], dict_ids: list[int | None] | int | None = None) -> list[bytes]:
    """:func:`compress` each of ``items`` (the same frames), in one call per dictionary that holds no GIL
    throughout. ``dict_ids``: one dictionary for all, or one per item."""
    if not items:
        return []
    if not isinstance(dict_ids, list):
        dict_ids = [dict_ids] * len(items)
    out: list[bytes] = [b""] * len(items)
    for dict_id in dict.fromkeys(dict_ids):
        index = [i for i, d in enumerate(dict_ids) if d == dict_id]
        group = [items[i] for i in index]
        if not all(group):  # the batch call takes no empty input
            packed = [compress(item, dict_id) for item in group]
        else:
            buf = _compressor(dict_id).multi_compress_to_buffer(group, threads=1)
            packed = [buf[i].tobytes() for i in range(len(buf))]
        for i, blob in zip(index, packed, strict=True):
            out[i] = blob
    return out


_background: tuple[int, ThreadPoolExecutor] | None = None  # (the process it belongs to, the executor)
_background_lock = threading.Lock()


BACKGROUND_MIN = 16  # fewer documents than this are compressed at once, in the caller's thread


def compress_many_later(items: list[bytes], dict_ids: list[int | None] | int | None = None) -> Future[list[bytes]]:
    """:func:`compress_many` on a background thread: the caller goes on building rows in Python while zstd
    works on the other core (the store's bulk writes overlap their compression with everything else). A few
    documents are not worth the hand-over: they are compressed now and the future is already done."""
    global _background
    from concurrent.futures import Future, ThreadPoolExecutor  # bulk writes only: it imports logging

    if len(items) < BACKGROUND_MIN:
        done: Future[list[bytes]] = Future()
        done.set_result(compress_many(items, dict_ids))
        return done
    with _background_lock:
        if _background is None or _background[0] != os.getpid():  # a forked child has no copy of the thread
            _background = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="crashdesk-compress"))
        executor = _background[1]
    return executor.submit(compress_many, items, dict_ids)


def decompress(blob: bytes) -> bytes:
    """The bytes :func:`compress` (or zlib, before schema v8) packed; :class:`CorruptDocument` for anything
    else."""
    blob = bytes(blob)
    try:
        if blob[:4] == _ZSTD_MAGIC:
            params = zstandard.get_frame_parameters(blob)
            if params.content_size > MAX_DOCUMENT:  # zstd's "unknown size" (-1 as unsigned) lands here too
                raise CorruptDocument(f"a stored document declares {params.content_size} bytes")
            return _decompressor(params.dict_id).decompress(blob)
        return zlib.decompress(blob)
    except (zstandard.ZstdError, zlib.error) as exc:
        raise CorruptDocument(f"a stored document cannot be decompressed: {exc}") from exc


def text(value: str | bytes | None) -> str | None:
    """A text column that newer rows keep compressed (``crashes.raw``: JSON text before issue 27, a blob of
    :func:`compress`'s since) as text."""
    if value is None or isinstance(value, str):
        return value
    try:
        return decompress(value).decode()
    except UnicodeDecodeError as exc:
        raise CorruptDocument(f"a stored text is not UTF-8: {exc}") from exc


def pack(obj: Any, dict_id: int | None = None) -> bytes | None:
    if obj is None:
        return None
    return compress(dumps(obj), dict_id)


def unpack(blob: bytes | None) -> Any:
    if blob is None:
        return None
    data = decompress(blob)
    try:
        return loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptDocument(f"a stored document is not JSON: {exc}") from exc
