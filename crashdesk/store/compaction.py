"""``CrashStore.compact``: give a store the current layout's sizes after the fact.

A migrated store keeps the documents it already had as they were compressed (no dictionary), and SQLite does not
give freed pages back to the file system on its own (no automatic VACUUM on a user's store). Compacting:

1. trains each kind's compression dictionary (processed crashes, signature inputs, raw annotations) from the stored documents when the store has none
   (``crashdesk.store.dictionaries``);
2. recompresses every document not compressed with its kind's current dictionary, a batch of crashes per
   write transaction (the store stays usable; an interruption leaves readable documents of both kinds);
3. stores the processed crashes written before schema v13 as two parts without overlap
   (``crashdesk.store.split_document``), and drops their module links' base addresses where the processed crash
   gives the same ones (``CrashStore.get`` reads them from there);
4. with ``vacuum``, rewrites the file (``VACUUM``) so the freed pages (the dropped ``frames`` rows, the halved
   documents) are returned: it needs free disk space about the size of the result and excludes other writers
   while it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
import zstandard

from crashdesk.store import codec, dictionaries

BATCH = 500

# kind -> (table, key column, document columns)
_DOCUMENTS = {"processed": ("crashes", "id", ("processed", "server_processed")),
              "signature_input": ("signature_inputs", "crash", ("doc",)),
              "annotations": ("crashes", "id", ("raw",)),
              "thread_terms": ("thread_terms_text", "crash", ("terms",)),
              "search_text": ("search_text", "crash", ("doc",))}


@dataclass
class CompactResult:
    bytes_before: int
    bytes_after: int
    documents_recompressed: int
    dictionaries_trained: list[str]


def _plain(value: str | bytes) -> bytes:
    """A stored document's encoded JSON (``raw`` may still be text)."""
    return value.encode() if isinstance(value, str) else codec.decompress(value)


def _dict_id(blob: str | bytes) -> int | None:
    if isinstance(blob, str) or bytes(blob[:4]) != b"\x28\xb5\x2f\xfd":
        return None
    try:
        return zstandard.get_frame_parameters(bytes(blob)).dict_id or None
    except zstandard.ZstdError:
        return None


def compact(store, *, vacuum: bool = True, progress: Callable[[int, int], None] | None = None) -> CompactResult:
    """See the module docstring. ``progress(done, total)`` is called as crashes are rewritten."""
    from crashdesk.store.crashes import utcnow

    db = store.db
    conn = db.conn
    path = db.path
    before = path.stat().st_size
    trained = []
    for kind, (table, _key, columns) in _DOCUMENTS.items():
        if store._dict_ids.get(kind):
            continue
        samples = []
        total = conn.execute(f"SELECT count(*) FROM {table} WHERE {columns[0]} IS NOT NULL").fetchone()[0]
        step = max(1, total // dictionaries.TRAIN_MAX)
        for (blob,) in conn.execute(f"SELECT {columns[0]} FROM {table} WHERE {columns[0]} IS NOT NULL "
                                    f"AND rowid % ? = 0 LIMIT ?", (step, dictionaries.TRAIN_MAX)):
            try:
                samples.append(_plain(blob))
            except codec.CorruptDocument:
                continue
        if len(samples) < dictionaries.TRAIN_MIN:
            continue
        made = dictionaries.train(samples)
        if made is None:
            continue  # documents too small to be worth a dictionary
        with db.write() as w:
            store._dict_ids[kind] = dictionaries.store(w, kind, made, utcnow())
        trained.append(kind)
    total = sum(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table, _, _ in _DOCUMENTS.values())
    done = rewritten = 0
    for kind, (table, key, columns) in _DOCUMENTS.items():
        target = store._dict_ids.get(kind)
        if target is None:
            continue
        last = 0
        while True:
            with db.write() as w:
                rows = w.execute(f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE {key} > ? ORDER BY {key} "
                                 f"LIMIT {BATCH}", (last,)).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                for row in rows:
                    changed = {}
                    for column, blob in zip(columns, row[1:], strict=True):
                        if blob is None or _dict_id(blob) == target:
                            continue
                        try:
                            changed[column] = codec.compress(_plain(blob), target)
                        except codec.CorruptDocument:
                            continue  # left as it is: reading it still raises the typed error
                    if changed:
                        w.execute(f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in changed)} WHERE {key} = ?",
                                  (*changed.values(), row[0]))
                        rewritten += len(changed)
            done += len(rows)
            if progress is not None:
                progress(done, total)
    rewritten += _slim_old_crashes(store)
    if vacuum:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return CompactResult(before, path.stat().st_size, rewritten, trained)


def _stored_bases(value: str | bytes) -> list | None:
    if isinstance(value, bytes):
        return [f"0x{value[i:i + 8].hex()}" for i in range(0, len(value), 8)] if value else None
    try:
        bases = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return bases if isinstance(bases, list) else None


def _slim_old_crashes(store) -> int:
    """Step 3 of the module docstring, a batch of crashes per write transaction; returns the documents
    rewritten. A document whose stored signature input is not what it gives now is left whole."""
    from crashdesk.model.summary import module_links, signature_input
    from crashdesk.store.split_document import split_processed

    db = store.db
    target = store._dict_ids.get("processed")
    rewritten = 0
    last = 0
    while True:
        with db.write() as w:
            rows = w.execute(
                "SELECT c.id, c.processed, s.doc, s.split, l.modules, l.base_addrs FROM crashes c "
                "LEFT JOIN signature_inputs s ON s.crash = c.id LEFT JOIN crash_module_links l ON l.crash = c.id "
                "WHERE c.id > ? AND c.processed IS NOT NULL AND (s.split IS NULL AND s.doc IS NOT NULL OR "
                "length(l.base_addrs) > 0) ORDER BY c.id LIMIT ?", (last, BATCH)).fetchall()
            if not rows:
                return rewritten
            last = rows[-1][0]
            for rowid, blob, slim_blob, split, modules, bases in rows:
                try:
                    processed = codec.unpack(blob)
                    stored_slim = codec.unpack(slim_blob) if slim_blob is not None else None
                except codec.CorruptDocument:
                    continue
                if not isinstance(processed, dict):
                    continue
                if split is None and stored_slim is not None:
                    slim = signature_input(processed)
                    if slim is not None and orjson.dumps(slim) == orjson.dumps(stored_slim):
                        rest, code = split_processed(processed, slim)
                        if code is not None:
                            w.execute("UPDATE crashes SET processed = ? WHERE id = ?",
                                      (codec.pack(rest, target), rowid))
                            w.execute("UPDATE signature_inputs SET split = ? WHERE crash = ?", (code, rowid))
                            rewritten += 1
                if bases is not None and len(bases) and modules is not None:
                    ids = orjson.loads(modules)
                    keys = {}
                    for module_id, *key in w.execute(
                            "SELECT id, filename, debug_file, debug_id, code_id, version FROM modules WHERE id IN "
                            f"({','.join('?' * len(ids))})", ids):
                        keys[module_id] = tuple(key)
                    found: dict = {}
                    for key, base in zip(*module_links(processed)[:2], strict=True):
                        found.setdefault(key, base)
                    derived = [found.get(keys.get(i)) for i in ids]
                    if _stored_bases(bases) == derived:
                        w.execute("UPDATE crash_module_links SET base_addrs = x'' WHERE crash = ?", (rowid,))
