"""Compression dictionaries trained on the store's own documents (``codec_dictionaries``).

Processed crashes repeat the same keys, module lists, thread names and function names from crash to crash, but
each is compressed alone, so zstd cannot use what the others share. A dictionary trained on a sample of the
store's documents carries that shared part: the processed crashes of ``benchmarks/bench_store.py`` pack to about
half the bytes (``crashdesk.store.codec``). One dictionary per kind of document (:data:`KINDS`); the newest of a
kind compresses new documents; every one ever used stays in the table, since blobs name theirs by id.

The store trains a kind's first dictionary as soon as it holds :data:`TRAIN_MIN` documents of that kind
(counting a bulk write's own), from up to :data:`TRAIN_MAX` of them; the documents written before stay as they
are until ``CrashStore.compact`` recompresses them (it also trains a migrated store's dictionaries).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import zstandard

from crashdesk.store import codec

# processed (and server processed) crashes; signature inputs; raw annotations (crashes.raw); the thread terms
# of a crash (thread_terms_text.terms); its full-text values (search_text.doc)
KINDS = ("processed", "signature_input", "annotations", "thread_terms", "search_text")
# kind -> (table, column) where the store keeps documents of that kind
COLUMNS = {"processed": ("crashes", "processed"), "signature_input": ("signature_inputs", "doc"),
           "annotations": ("crashes", "raw"), "thread_terms": ("thread_terms_text", "terms"),
           "search_text": ("search_text", "doc")}
TRAIN_MIN = 200  # documents needed to train a dictionary worth having
TRAIN_MAX = 1000  # documents sampled for training (training time grows with the sample: ~2 s for 1000 crashes)
DICT_SIZE = 256 * 1024  # larger dictionaries gained < 5% on the benchmark's crashes
MIN_SAMPLE_BYTES = 8  # shorter documents are left out of training (zstd cannot learn from them)
MIN_TRAIN_BYTES = 8 * 1024  # less sample text than this: no dictionary


def train(samples: Sequence[bytes]) -> bytes | None:
    """A zstd dictionary trained on ``samples`` (encoded documents), with a random id (zstd reserves ids
    below 32768); None when they are too few or too small to be worth one (empty documents, a few bytes each:
    zstd refuses to train on them, and a dictionary would not pay for itself)."""
    import secrets  # training only

    dict_id = 32768 + secrets.randbelow((1 << 31) - 32768)
    usable = [s for s in samples if len(s) >= MIN_SAMPLE_BYTES]
    step = max(1, len(usable) // TRAIN_MAX)
    picked = usable[::step][:TRAIN_MAX]
    total = sum(map(len, picked))
    if len(picked) < TRAIN_MIN // 2 or total < MIN_TRAIN_BYTES:
        return None
    size = min(DICT_SIZE, max(4096, total // 10))
    try:
        return zstandard.train_dictionary(size, picked, dict_id=dict_id, level=codec.DICT_LEVEL).as_bytes()
    except zstandard.ZstdError:  # samples zstd finds nothing to learn from
        return None


def load(conn: sqlite3.Connection) -> dict[str, int]:
    """Register every dictionary of the store; return the newest id of each kind."""
    active: dict[str, int] = {}
    try:
        rows = conn.execute("SELECT kind, dict FROM codec_dictionaries ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:  # a store older than the table (read-only, not migrated)
        return active
    for kind, data in rows:
        try:
            active[kind] = codec.register_dictionary(bytes(data))
        except (codec.CorruptDocument, zstandard.ZstdError):
            continue  # an unreadable dictionary: its blobs raise CorruptDocument when read; new ones skip it
    return active


def stored_counts(conn: sqlite3.Connection, kinds: list[str], wanted: int) -> dict[str, int]:
    """How many documents of each of ``kinds`` the store holds, each counted up to ``wanted``, in one query (the
    cheap bounded count of :func:`stored_samples`, for several kinds at once)."""
    parts = [f"(SELECT count(*) FROM (SELECT 1 FROM {COLUMNS[k][0]} WHERE {COLUMNS[k][1]} IS NOT NULL LIMIT ?))"
             for k in kinds]
    row = conn.execute(f"SELECT {', '.join(parts)}", [wanted] * len(kinds)).fetchone()
    return dict(zip(kinds, row, strict=True))


def stored_samples(conn: sqlite3.Connection, kind: str, wanted: int) -> list[bytes]:
    """Up to ``wanted`` (or :data:`TRAIN_MAX`, the larger) of the newest stored documents of ``kind``, decoded,
    when the store holds at least ``wanted``; else none (a cheap bounded count first)."""
    table, column = COLUMNS[kind]
    (have,) = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT ?)",
                           (wanted,)).fetchone()
    if have < wanted:
        return []
    out = []
    for (blob,) in conn.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY rowid DESC "
                                "LIMIT ?", (max(wanted, TRAIN_MAX),)):
        try:
            out.append(blob.encode() if isinstance(blob, str) else codec.decompress(blob))
        except codec.CorruptDocument:
            continue
    return out


def fetch(conn: sqlite3.Connection, dict_id: int) -> bytes | None:
    """The dictionary with id ``dict_id``, if this store holds it."""
    try:
        row = conn.execute("SELECT dict FROM codec_dictionaries WHERE id = ?", (dict_id,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return bytes(row[0]) if row else None


def store(conn: sqlite3.Connection, kind: str, data: bytes, created_at: str) -> int:
    """Add a trained dictionary (inside the caller's transaction) and register it; return its id."""
    dict_id = codec.register_dictionary(data)
    conn.execute("INSERT INTO codec_dictionaries (id, kind, dict, created_at) VALUES (?,?,?,?)",
                 (dict_id, kind, data, created_at))
    return dict_id
