"""``CrashStore``: crashes in, processed results and signatures recorded, the processing queue, and reads.

Every write that belongs together happens in one transaction: a raw crash with its dumps and annotations; a
processed crash with its columns, frames, modules, signature history entry and full-text row.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from crashdesk import gc_pause
from crashdesk.model.crash_id import new_crash_id, normalize_crash_id
from crashdesk.model.summary import columns_from, frame_names, module_links, signature_input
from crashdesk.model.threads import crash_threads, stacks_differ
from crashdesk.model.versions import version_key
from crashdesk.store import annotation_columns, codec, dictionaries, search_text, thread_index
from crashdesk.store.blobs import BlobStore
from crashdesk.store.db import Database
from crashdesk.store.errors import CrashNotFound, DuplicateCrash, StoreError
from crashdesk.store.split_document import join_processed, split_processed
from crashdesk.store.terms import (
    annotation_terms,
    annotation_value_text,
    links_row,
    match_any,
    processed_terms,
)

STATES = ("received", "processing", "processed", "failed")
MAIN_DUMP = "upload_file_minidump"


_MODULE_COLUMNS = "filename, debug_file, debug_id, code_id, version"
#: modules looked up or added by one statement (5 parameters each, within SQLite's oldest bound of 999)
_MODULES_AT_ONCE = 150
_LINKS_SQL = "INSERT INTO crash_module_links (crash, modules, base_addrs, status, notes) VALUES (?,?,?,?,?)"
_SLIM_SQL = "INSERT OR REPLACE INTO signature_inputs (crash, doc, split) VALUES (?, ?, ?)"


def _annotation_rows(annotations: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, stored value) pairs of a crash's annotations."""
    return [(str(k), v if type(v) is str else annotation_value_text(v)) for k, v in annotations.items()]


def _json_list(items: Sequence[str]) -> str:
    return json.dumps(list(items), ensure_ascii=False) if items else "[]"


def _fts_row(rowid: int, signature: str | None, crashing_functions: list[str], annotations: Mapping[str, Any]) -> tuple:
    """The ``crash_fts`` row: signature, the crashing thread's function names, the annotation values."""
    return (rowid, signature or "", " ".join(crashing_functions),
            " ".join(v for v in annotations.values() if isinstance(v, str)))


def _base_addrs_from(modules: list[dict[str, Any]], processed: dict | None) -> None:
    """Fill in the base addresses the module links do not keep (every crash stored since schema v13) from the
    processed crash: each module's first listing, as ``model.summary.module_links`` reads them at ingest."""
    if all(m["base_addr"] is not None for m in modules):
        return
    keys, bases, _ = module_links(processed)
    found: dict[tuple, str | None] = {}
    for key, base in zip(keys, bases, strict=True):
        found.setdefault(key, base)
    for m in modules:
        if m["base_addr"] is None:
            m["base_addr"] = found.get((m["filename"], m["debug_file"], m["debug_id"], m["code_id"], m["version"]))


def _history_rows(history: Sequence[Mapping[str, Any]]) -> list[tuple]:
    """``signature_history`` rows (after ``crash``) for history entries as :meth:`CrashStore.get` lists them;
    entries without a string signature are skipped."""
    rows = []
    for h in history:
        sig = h.get("signature")
        if not isinstance(sig, str):
            continue
        notes = h.get("notes") if isinstance(h.get("notes"), list) else []
        rows.append((sig, h.get("proto_signature") if isinstance(h.get("proto_signature"), str) else None,
                     json.dumps([str(n) for n in notes], ensure_ascii=False), str(h.get("profile") or "import"),
                     h.get("run_id") if isinstance(h.get("run_id"), str) else None,
                     h.get("created_at") if isinstance(h.get("created_at"), str) else utcnow(),
                     1 if h.get("active") is True else 0))
    return rows


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


# the fast path of CrashStore._links: a module's identity (model.summary.module_links' key) and
# (corrupt, loaded, missing) symbol flags -> its status letter (the same precedence as module_links)
_MODULE_KEY = itemgetter("filename", "debug_file", "debug_id", "code_id", "version")
_MODULE_FLAGS = itemgetter("corrupt_symbols", "loaded_symbols", "missing_symbols")
_STATUS_LETTER = {(c, lo, m): "C" if c else "L" if lo else "M" if m else "."
                  for c in (False, True) for lo in (False, True) for m in (False, True)}

#: name dictionaries (name -> id, never changed once added) whose ids a store caches
NAME_TABLES = ("file_names", "thread_names", "frame_modules")
CHUNK = 500  # crashes whose rows are built, then inserted, at a time (bounds the memory a big batch takes)
_UNRESOLVED = object()  # a draft's module links that need the database (a module not cached yet)
_dumps, _loads, _pack, _unpack = codec.dumps, codec.loads, codec.pack, codec.unpack


@dataclass(slots=True)
class SignatureRecord:
    signature: str
    proto_signature: str | None = None
    notes: list[str] = field(default_factory=list)
    profile: str = "local"
    run_id: str | None = None


@dataclass(slots=True)
class DumpRef:
    """A dump already written to the blob folder (the collector writes blobs itself, then records them)."""

    sha256: str
    size: int


@dataclass(slots=True)
class NewCrash:
    """One crash for :meth:`CrashStore.add_many`: :meth:`CrashStore.add_crash`'s arguments, plus an optional
    processed crash and signature stored in the same transaction."""

    annotations: Mapping[str, Any]
    dumps: Mapping[str, bytes | DumpRef] | None = None
    source: str = "import"
    crash_id: str | None = None
    submitted_at: str | None = None
    processed: dict | None = None
    signature: SignatureRecord | None = None
    server_signature: str | None = None
    server_processed: dict | None = None
    source_url: str | None = None
    notes: Sequence[str] = ()
    all_thread_frames: bool = False
    # why modules lacked symbols, as save_processed's symbol_notes (with a processed crash)
    symbol_notes: Mapping[tuple[str, str], str] | None = None
    # the crash's whole signature history (rows as get() lists them, e.g. from an exported bundle): when it
    # holds a row with a string signature it is written instead of the rows the crash would get (its server's
    # and its local signature), as restore_signature_history writes it
    signature_history: Sequence[Mapping[str, Any]] | None = None


@dataclass(slots=True)
class _Draft:
    """A batch of crashes ready for its write transaction (:meth:`CrashStore._draft`)."""

    ids: list[str]  # every crash id of the batch, in order (duplicates too)
    prepared: list[tuple[str, NewCrash, dict[str, DumpRef]]]  # (crash id, crash, its dumps' blobs)
    first: int  # the row id its rows were built for
    chunks: list[dict[str, Any]]  # per CHUNK crashes, the rows built before the transaction (_draft_rows)


def _nothing() -> None:
    return None


def _commit(conn) -> None:
    """Commit ``conn``'s transaction (rolling it back and raising if that fails)."""
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


class CrashStore:
    """The crash store over ``<data>/crashdesk.sqlite`` and ``<data>/dumps/``."""

    def __init__(self, database: Path, blob_root: Path, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self.db = Database(Path(database), read_only=read_only)
        self.blobs = BlobStore(Path(blob_root), create=not read_only)
        # ids of function names and modules seen by committed transactions (they never change)
        self._function_cache: dict[str, int] = {}
        self._module_cache: dict[tuple[str, str, str, str, str], int] = {}
        # ids of the names in the dictionaries of source file names, thread names and frame module names
        # (NAME_TABLES), like _function_cache
        self._name_cache: dict[str, dict[str, int]] = {table: {} for table in NAME_TABLES}
        # ids of names (NAME_TABLES) and dictionaries added by this thread's write transaction under way (see _remember)
        self._writing = threading.local()
        # the compression dictionary of each kind of document (crashdesk.store.dictionaries)
        self._dict_ids: dict[str, int] = dictionaries.load(self.db.conn)
        # kinds whose documents were too small to train a dictionary on: not tried again by this instance
        self._untrainable: set[str] = set()
        codec.add_dictionary_source(self._dictionary)
        # wall seconds :meth:`add_many` has spent building rows in Python, in SQLite's inserts and in commits
        # (WAL write, fsync, checkpoints): where bulk ingest time goes (benchmarks/bench_store.py prints it)
        self.ingest_seconds: Counter[str] = Counter()

    @contextmanager
    def _pending(self) -> Iterator[None]:
        """Around a write that may add names (:data:`NAME_TABLES`) or dictionaries: they start empty, and are dropped when the
        write fails (:meth:`_remember` keeps them once it commits)."""
        self._writing.names, self._writing.dicts = {table: {} for table in NAME_TABLES}, {}
        try:
            yield
        except BaseException:
            self._writing.names, self._writing.dicts = {table: {} for table in NAME_TABLES}, {}
            raise

    def _dictionary(self, dict_id: int) -> bytes | None:
        """A dictionary another process of this store trained after this one opened it (codec asks)."""
        return dictionaries.fetch(self.db.conn, dict_id)

    def _dict_id(self, kind: str) -> int | None:
        return getattr(self._writing, "dicts", {}).get(kind) or self._dict_ids.get(kind)

    @classmethod
    def open(cls, data_dir: Path, *, read_only: bool = False) -> CrashStore:
        """The store in ``data_dir``; ``read_only`` opens it without writing anything (a read-only folder)."""
        data_dir = Path(data_dir)
        return cls(data_dir / "crashdesk.sqlite", data_dir / "dumps", read_only=read_only)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CrashStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writes

    def add_crash(
        self,
        annotations: Mapping[str, Any],
        dumps: Mapping[str, bytes | DumpRef] | None = None,
        *,
        source: str,
        crash_id: str | None = None,
        submitted_at: str | None = None,
        processed: dict | None = None,
        server_signature: str | None = None,
        server_processed: dict | None = None,
        source_url: str | None = None,
        notes: Sequence[str] = (),
        if_exists: str = "error",
    ) -> str:
        """Store a raw crash (state ``received``) and return its id.

        ``dumps`` maps form names to bytes (written to the blob folder first, fsynced) or to a
        :class:`DumpRef` already there. ``if_exists``: ``error`` raises :class:`DuplicateCrash`, ``ignore``
        returns the id untouched, ``update`` refreshes the server-side fields of a synced crash.
        """
        refs = self._write_blobs(dumps or {})
        crash_id = normalize_crash_id(crash_id) if crash_id else new_crash_id()
        new_functions: dict[str, int] = {}
        new_modules: dict[tuple, int] = {}
        with self._pending(), self.db.write() as conn:
            self._insert(conn, crash_id, annotations, refs, source=source, submitted_at=submitted_at,
                         server_signature=server_signature, server_processed=server_processed,
                         source_url=source_url, notes=notes, if_exists=if_exists, new_functions=new_functions,
                         new_modules=new_modules)
        self._remember(new_functions, new_modules)
        if processed is not None:
            self.save_processed(crash_id, processed)
        return crash_id

    def _write_blobs(self, dumps: Mapping[str, bytes | DumpRef]) -> dict[str, DumpRef]:
        refs: dict[str, DumpRef] = {}
        for name, data in dumps.items():
            if isinstance(data, DumpRef):
                refs[name] = data
            else:
                refs[name] = DumpRef(self.blobs.put(bytes(data)), len(data))
        return refs

    def _insert(self, conn, crash_id, annotations, refs, *, source, submitted_at, server_signature,
                server_processed, source_url, notes, if_exists, new_functions, new_modules) -> int:
        row = conn.execute("SELECT id FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()
        if row is not None:
            if if_exists == "ignore":
                return row[0]
            if if_exists == "update":
                conn.execute(
                    "UPDATE crashes SET server_signature = coalesce(?, server_signature), "
                    "server_processed = coalesce(?, server_processed), source_url = coalesce(?, source_url), "
                    "signature = CASE WHEN signature_profile IS NULL THEN coalesce(?, signature) "
                    "ELSE signature END WHERE id = ?",
                    (server_signature, _pack(server_processed, self._dict_id("processed")), source_url,
                     server_signature, row[0]),
                )
                self._index_signature_names(conn, (server_signature,))
                if server_processed is not None:  # the server's stack against the local re-walk, if any
                    local = self._processed_of(conn, "c.id = ?", row[0])
                    differs = stacks_differ(local, server_processed) if local is not None else None
                    conn.execute("UPDATE crash_stacks SET server_differs = ? WHERE crash = ?",
                                 (None if differs is None else int(differs), row[0]))
                return row[0]
            raise DuplicateCrash(crash_id)
        item = NewCrash(annotations, source=source, submitted_at=submitted_at, server_signature=server_signature,
                        server_processed=server_processed, source_url=source_url, notes=notes)
        return self._insert_batch(conn, [(crash_id, item, refs)], new_functions, new_modules)[0]

    def save_processed(
        self,
        crash_id: str,
        processed: dict,
        *,
        signature: SignatureRecord | None = None,
        notes: Sequence[str] = (),
        all_thread_frames: bool = False,
        symbol_notes: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """Record a processing result in one transaction: columns, frames, module links, signature, search
        terms and full-text row. ``symbol_notes`` maps (debug file, debug id) to why a module's symbols were
        missing or corrupt."""
        slim_doc = signature_input(processed)
        rest, split = split_processed(processed, slim_doc) if slim_doc is not None else (processed, None)
        packed = _pack(rest, self._dict_id("processed"))
        slim = _pack(slim_doc, self._dict_id("signature_input"))
        functions, files = frame_names(processed, all_threads=all_thread_frames)
        new_functions: dict[str, int] = {}
        new_modules: dict[tuple[str, str, str, str, str], int] = {}
        with self._pending(), self.db.write() as conn:
            rowid, raw = self._rowid_raw(conn, crash_id)
            annotations = _loads(raw)
            cols = columns_from(annotations, processed)
            conn.execute(
                "UPDATE crashes SET processed = ?, processed_at = ?, state = 'processed', claimed_by = NULL, "
                "claimed_at = NULL, os = coalesce(?, os), os_version = coalesce(?, os_version), "
                "cpu = coalesce(?, cpu), reason = ?, address = ?, crashing_thread = ?, notes = ?, "
                "process_uptime = ? WHERE id = ?",
                (packed, utcnow(), cols.os, cols.os_version, cols.cpu, cols.reason, cols.address,
                 cols.crashing_thread, json.dumps(list(notes)), cols.process_uptime, rowid),
            )
            threads = crash_threads(processed)
            thread_functions, thread_names, frame_modules = thread_index.names_of(threads)
            function_ids = self._function_ids(conn, set(functions) | thread_functions,
                                              new_functions)
            server_blob = conn.execute("SELECT server_processed FROM crashes WHERE id = ?", (rowid,)).fetchone()[0]
            differs = stacks_differ(processed, codec.unpack(server_blob)) if server_blob is not None else None
            conn.execute("DELETE FROM crash_module_links WHERE crash = ?", (rowid,))
            link = self._links(conn, processed, symbol_notes, new_modules)
            link_ids = link[0] if link else []
            terms_row, stacks_row = thread_index.index_row(
                rowid, threads, function_ids, self._name_ids(conn, "thread_names", thread_names),
                self._name_ids(conn, "frame_modules", frame_modules), differs,
                thread_index.modules_by_name(link_ids, thread_index.module_filenames(conn, link_ids)))
            thread_index.write_rows(conn, [terms_row], [stacks_row], replace=True,
                                    blobs=[codec.compress(terms_row[1].encode(), self._dict_id("thread_terms"))])
            if link is not None:
                conn.execute(_LINKS_SQL, (rowid, *link[1]))
                self._count_module_links(conn, dict.fromkeys(link[0], 1))
            sig_text = None
            if signature is not None:
                self._record_signature(conn, rowid, signature, search=False)  # the full-text row is replaced below
                sig_text = signature.signature
            else:
                sig_text = conn.execute("SELECT signature FROM crashes WHERE id = ?", (rowid,)).fetchone()[0]
            crashing = functions if not all_thread_frames else frame_names(processed)[0]
            fts = _fts_row(rowid, sig_text, crashing, annotations)
            file_ids = self._file_ids(conn, set(files))
            terms = {"processed": processed_terms(link[0] if link else (), link[1][2] if link else "",
                                                  map(function_ids.__getitem__, functions),
                                                  map(file_ids.__getitem__, files))}
            if search_text.read(conn, rowid) is None:
                terms["annotations"] = annotation_terms(_annotation_rows(annotations))
            search_text.update(conn, rowid, terms=terms, fts=dict(zip(search_text.FTS, fts[1:], strict=True)),
                               dict_id=self._dict_id("search_text"))
            if slim is not None:
                conn.execute(_SLIM_SQL, (rowid, slim, split))
        self._remember(new_functions, new_modules)
        untrained = [k for k in dictionaries.KINDS if k not in self._dict_ids and k not in self._untrainable]
        # the store's first documents: train when there are enough (counted in one query first: a write and a
        # count per kind for every crash until then cost a tenth of recording a crash)
        if untrained and max(dictionaries.stored_counts(self.db.conn, untrained, dictionaries.TRAIN_MIN).values()) \
                >= dictionaries.TRAIN_MIN:
            with self._pending(), self.db.write() as conn:
                self._train_dictionaries(conn, {kind: [] for kind in dictionaries.KINDS})
            self._remember({}, {})

    def forget_cached_ids(self) -> None:
        """Drop the cached function and module ids: after a :meth:`Database.batch` was rolled back, ids its
        writes cached may not exist."""
        self._function_cache.clear()
        self._module_cache.clear()
        for cache in self._name_cache.values():
            cache.clear()

    def _remember(self, functions: Mapping[str, int], modules: Mapping[tuple, int]) -> None:
        """Cache ids assigned by a committed transaction (ids never change once committed; ones from a
        rolled-back transaction must not be cached, so callers pass them here only after the commit), with the
        file names and dictionaries it added (``_writing``, this thread's, reset when a write starts)."""
        if len(self._function_cache) > 500_000:
            self._function_cache.clear()
        self._function_cache.update(functions)
        for table, added in getattr(self._writing, "names", {}).items():
            cache = self._name_cache[table]
            if len(cache) > 500_000:
                cache.clear()
            cache.update(added)
        self._dict_ids.update(getattr(self._writing, "dicts", {}))
        self._writing.names, self._writing.dicts = {table: {} for table in NAME_TABLES}, {}
        cache = self._module_cache
        for key, module_id in modules.items():
            cache[key] = module_id
            if key[4] == "":  # minidump-stackwalk writes a null version: let _cached_links find it as it is
                cache[(*key[:4], None)] = module_id

    def _function_ids(self, conn, names: Iterable[str], new: dict[str, int]) -> dict[str, int]:
        """Ids in ``function_names`` for ``names``, adding the ones not there yet (and to their trigram index).
        Ids looked up in this transaction go into ``new`` (see :meth:`_remember`)."""
        cache = self._function_cache
        out = {}
        todo = []
        for name in names:
            i = cache.get(name) or new.get(name)
            if i is None:
                todo.append(name)
            else:
                out[name] = i
        if todo:
            self._add_function_names(conn, todo, out, new)
        return out

    def _file_ids(self, conn, names: Iterable[str]) -> dict[str, int]:
        """Ids in ``file_names`` (the source files of stored frames, for ``file:`` searches) for ``names``,
        adding the ones not there yet."""
        return self._name_ids(conn, "file_names", names)

    def _name_ids(self, conn, table: str, names: Iterable[str]) -> dict[str, int]:
        """Ids in a name dictionary (:data:`NAME_TABLES`) for ``names``, adding the ones not there yet: from the
        cache of committed ids (a store's names repeat: asking SQLite for each batch's ~500 names cost ~0.05 ms
        a crash at 1M crashes), else looked up or added in this write (kept once it commits)."""
        cache, pending = self._name_cache[table], self._writing.names[table]
        out = {}
        todo = []
        for name in names:
            i = cache.get(name) or pending.get(name)
            if i is None:
                todo.append(name)
            else:
                out[name] = i
        if todo:
            found = thread_index.dictionary_ids(conn, table, todo)
            out.update(found)
            pending.update(found)
        return out

    @staticmethod
    def _add_function_names(conn, todo: list[str], out: dict[str, int], new: dict[str, int]) -> None:
        """Read the ids of names into ``out`` and ``new``, inserting those not there yet."""
        if todo:
            found = thread_index.dictionary_ids(conn, "function_names", todo)
            out.update(found)
            new.update(found)

    def _module_ids(self, conn, keys: Iterable[tuple[str, str, str, str, str]],
                    new: dict[tuple[str, str, str, str, str], int]) -> dict[tuple[str, str, str, str, str], int]:
        """Ids in ``modules`` for ``keys`` (distinct), adding the ones not there yet in the order given. Ids
        looked up in this transaction go into ``new`` (see :meth:`_remember`). Per :data:`_MODULES_AT_ONCE` keys, one
        query for those not cached, then one ``executemany`` insert and one query for those not stored (not two
        statements per module: the first crashes of a store bring dozens of new modules each)."""
        cache = self._module_cache
        out = {}
        todo = []
        for key in keys:
            module_id = cache.get(key) or new.get(key)
            if module_id is None:
                todo.append(key)
            else:
                out[key] = module_id
        for start in range(0, len(todo), _MODULES_AT_ONCE):
            chunk = todo[start:start + _MODULES_AT_ONCE]
            found = self._stored_module_ids(conn, chunk)
            missing = [key for key in chunk if key not in found]
            if missing:
                conn.executemany(f"INSERT INTO modules ({_MODULE_COLUMNS}) VALUES (?,?,?,?,?)", missing)
                found.update(self._stored_module_ids(conn, missing))
            for key in chunk:
                out[key] = new[key] = found[key]
        return out

    @staticmethod
    def _stored_module_ids(conn, keys: list[tuple[str, str, str, str, str]]) -> dict[tuple, int]:
        """``{key: id}`` of the ``keys`` already in ``modules``, in one query (each key found by the unique
        index)."""
        rows = ",".join(["(?,?,?,?,?)"] * len(keys))
        return {tuple(row[1:]): row[0] for row in conn.execute(
            f"SELECT m.id, {_MODULE_COLUMNS} FROM (VALUES {rows}) AS k JOIN modules AS m "
            "ON m.filename = k.column1 AND m.debug_file = k.column2 AND m.debug_id = k.column3 "
            "AND m.code_id = k.column4 AND m.version = k.column5", [v for key in keys for v in key])}

    def _links(self, conn, processed: dict | None, symbol_notes: Mapping[tuple[str, str], str] | None,
               new_modules: dict[tuple, int], *, cached: bool = True) -> tuple[list[int], tuple] | None:
        """(module ids, ``crash_module_links`` columns after ``crash``) for a processed crash's modules (each
        module once, in the document's order), or None when it lists none. ``cached`` False: the caller already
        knows :meth:`_cached_links` cannot answer."""
        if not symbol_notes and cached:
            fast = self._cached_links(processed)
            if fast is not None:
                return fast
        keys, bases, letters = module_links(processed)
        if not keys:
            return None
        cache = self._module_cache
        try:
            ids = [cache[k] for k in keys]
        except KeyError:  # a module not seen before
            found = self._module_ids(conn, dict.fromkeys(keys), new_modules)
            ids = [found[k] for k in keys]
        if len(set(ids)) != len(ids):  # the same module listed twice: link it once
            keep = {}
            for n, module_id in enumerate(ids):
                keep.setdefault(module_id, n)
            index = sorted(keep.values())
            ids, keys = [ids[n] for n in index], [keys[n] for n in index]
            bases, letters = [bases[n] for n in index], "".join(letters[n] for n in index)
        notes = None
        if symbol_notes:
            notes = {n: note for n, key in enumerate(keys)
                     if (note := symbol_notes.get((key[1], key[2].upper())))}
        return ids, links_row(ids, letters, notes)

    def _cached_links(self, processed: dict | None) -> tuple[list[int], tuple] | None:
        """:meth:`_links` for the common case, at C speed: every module a dict whose five identity fields are
        strings (a null version too) already in the module cache, each module distinct, with a string base
        address and boolean symbol flags. Anything else (a new module, a missing or oddly typed field) returns
        None for the general path, which gives the same result."""
        modules = processed.get("modules") if type(processed) is dict else None
        if type(modules) is not list or not modules:
            return None
        cache = self._module_cache
        try:
            ids = [cache[key] for key in map(_MODULE_KEY, modules)]
            letters = "".join(map(_STATUS_LETTER.__getitem__, map(_MODULE_FLAGS, modules)))
        except (KeyError, TypeError):
            return None
        if len(set(ids)) != len(ids):
            return None
        return ids, links_row(ids, letters, None)

    def _record_signature(self, conn, rowid: int, sig: SignatureRecord, *, search: bool = True) -> None:
        """Make ``sig`` the crash's signature: history, column, signature name index and (unless ``search`` is
        false, for a caller that rewrites the crash's full-text row itself) the full-text row."""
        conn.execute("UPDATE signature_history SET active = 0 WHERE crash = ? AND profile NOT LIKE 'server:%'",
                     (rowid,))
        conn.execute(
            "INSERT INTO signature_history (crash, signature, proto_signature, notes, profile, run_id, "
            "created_at, active) VALUES (?,?,?,?,?,?,?,1)",
            (rowid, sig.signature, sig.proto_signature, json.dumps(list(sig.notes), ensure_ascii=False),
             sig.profile, sig.run_id, utcnow()))
        conn.execute(
            "UPDATE crashes SET signature = ?, proto_signature = ?, signature_profile = ? WHERE id = ?",
            (sig.signature, sig.proto_signature, sig.profile, rowid))
        if search:
            search_text.update(conn, rowid, fts={"signature": sig.signature}, dict_id=self._dict_id("search_text"),
                               create=False)
        self._index_signature_names(conn, (sig.signature,))

    @staticmethod
    def _index_signature_names(conn, names: Iterable[str | None]) -> None:
        """Add signatures to ``signature_names`` (the trigram index behind "signature contains")."""
        conn.executemany("INSERT OR IGNORE INTO signature_names (name) VALUES (?)", [(n,) for n in set(names) if n])

    def record_signature(self, crash_id: str, signature: SignatureRecord) -> None:
        """Make ``signature`` the crash's effective signature and add it to the history."""
        with self.db.write() as conn:
            rowid, _ = self._rowid_raw(conn, crash_id)
            self._record_signature(conn, rowid, signature)

    def record_signatures(self, items: Iterable[tuple[str, SignatureRecord]]) -> int:
        """Apply many signatures in one transaction (a regeneration run); return how many."""
        n = 0
        with self.db.write() as conn:
            for crash_id, sig in items:
                rowid, _ = self._rowid_raw(conn, crash_id)
                self._record_signature(conn, rowid, sig)
                n += 1
        return n

    def restore_signature_history(self, crash_id: str, history: Sequence[Mapping[str, Any]]) -> int:
        """Replace the crash's signature history with ``history`` (rows as :meth:`get` lists them, e.g. from
        an exported bundle), keeping their times, profiles and active flags; rows without a string signature
        are skipped. Returns how many rows were written (0 leaves the history as it was)."""
        rows = _history_rows(history)
        if not rows:
            return 0
        with self.db.write() as conn:
            rowid, _ = self._rowid_raw(conn, crash_id)
            conn.execute("DELETE FROM signature_history WHERE crash = ?", (rowid,))
            conn.executemany(
                "INSERT INTO signature_history (crash, signature, proto_signature, notes, profile, run_id, "
                "created_at, active) VALUES (?,?,?,?,?,?,?,?)", [(rowid, *r) for r in rows])
            self._index_signature_names(conn, (r[0] for r in rows))
        return len(rows)

    def undo_signature_run(self, run_id: str) -> int:
        """Undo a regeneration run: each crash it touched goes back to its previous local signature (or the
        server's when there was none). Returns the number of crashes restored."""
        restored = 0
        with self.db.write() as conn:
            rows = conn.execute("SELECT id, crash FROM signature_history WHERE run_id = ?", (run_id,)).fetchall()
            for hist_id, rowid in rows:
                conn.execute("DELETE FROM signature_history WHERE id = ?", (hist_id,))
                prev = conn.execute(
                    "SELECT id, signature, proto_signature, profile FROM signature_history WHERE crash = ? "
                    "AND profile NOT LIKE 'server:%' ORDER BY id DESC LIMIT 1", (rowid,)).fetchone()
                if prev:
                    conn.execute("UPDATE signature_history SET active = 1 WHERE id = ?", (prev[0],))
                    sig, proto, profile = prev[1], prev[2], prev[3]
                else:
                    sig = conn.execute("SELECT server_signature FROM crashes WHERE id = ?",
                                       (rowid,)).fetchone()[0]
                    proto, profile = None, None
                conn.execute("UPDATE crashes SET signature = ?, proto_signature = ?, signature_profile = ? "
                             "WHERE id = ?", (sig, proto, profile, rowid))
                search_text.update(conn, rowid, fts={"signature": sig or ""}, dict_id=self._dict_id("search_text"),
                                   create=False)
                restored += 1
        return restored

    def add_many(self, crashes: Iterable[NewCrash], *, if_exists: str = "error",
                 skipped: list[str] | None = None) -> list[str]:
        """Store many crashes, each optionally with its processed crash and signature, in one transaction
        (bulk import, benchmarks, sync batches, the collector's group commit): the same rows :meth:`add_crash` +
        :meth:`save_processed` (+ :meth:`restore_signature_history`) write, each table written with one
        statement for the whole batch. All or nothing. ``if_exists``: ``error`` raises :class:`DuplicateCrash`,
        ``ignore`` skips crashes already stored (a crash id given twice: the second), appending their ids to
        ``skipped`` when given (found under the write lock). Returns every crash's id, in order, skipped ones
        too. The rows that need nothing from the database are built before the write lock is taken."""
        with gc_pause.paused():
            for ids in self._add_batches((crashes,), if_exists, overlap=False, skipped=skipped):
                return ids
        return []

    def add_batches(self, batches: Iterable[Iterable[NewCrash]], *,
                    if_exists: str = "error") -> Iterator[list[str]]:
        """Store a stream of batches, one transaction each, as :meth:`add_many` stores each batch; yield each
        batch's crash ids once its transaction is on disk. A batch's full-text inserts and its commit (SQLite
        tokenizing, writing and syncing the WAL and merging full-text segments, all without the GIL) run on
        another thread while this one builds the rows of the next batch that need nothing from the database, so
        a stream of batches (bulk ingest, the benchmark) goes faster than one :meth:`add_many` after another.

        A batch that fails (a duplicate crash id with ``if_exists="error"``, a full disk) raises out of the
        generator and keeps nothing of itself; the batches yielded before it stay, and so does a batch whose
        commit was under way when the next one failed (a bad crash id found while drafting it). A generator
        closed early has nothing under way (it yields only committed batches). The garbage collector is paused
        until the generator ends."""
        with gc_pause.paused():
            yield from self._add_batches(batches, if_exists, overlap=True)

    def _add_batches(self, batches: Iterable[Iterable[NewCrash]], if_exists: str, *,
                     overlap: bool, skipped: list[str] | None = None) -> Iterator[list[str]]:
        conn = self.db.conn
        nested = conn.in_transaction  # inside a caller's transaction (Database.batch): savepoints, no commit
        timing = self.ingest_seconds
        committing = None  # the batch whose commit is under way: (wait for it, ids, new names, new modules)
        first = None  # the row id the next batch's rows are built for (checked under the write lock)
        # Foreign-key checks cost a parent lookup per side-table row; a batch only links rows it has just
        # inserted, so they are switched off for its transaction (the pragma is per connection, and cannot
        # change inside a transaction).
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with self.db.background_checkpoints(0):
                try:
                    for crashes in batches:
                        if first is None:
                            if committing is not None:
                                ids, committing = self._committed(*committing), None
                                yield ids
                            first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM crashes").fetchone()[0]
                        t0 = time.perf_counter()
                        draft = self._draft(crashes, first)
                        timing["draft"] += time.perf_counter() - t0
                        if committing is not None:  # its commit ran while the draft was built
                            ids, committing = self._committed(*committing), None
                            yield ids
                        if not draft.prepared:
                            yield []
                            continue
                        new_functions: dict[str, int] = {}
                        new_modules: dict[tuple, int] = {}
                        with self._pending():
                            if nested:
                                with self.db.write() as c:
                                    rowids = self._write_draft(c, draft, if_exists, new_functions, new_modules,
                                                               skipped=skipped)
                                wait = _nothing
                            else:
                                later: list[tuple[str, tuple]] | None = [] if overlap else None
                                self.db.begin(conn)
                                try:
                                    rowids = self._write_draft(conn, draft, if_exists, new_functions, new_modules,
                                                               later, skipped=skipped)
                                except BaseException:
                                    if conn.in_transaction:
                                        conn.rollback()
                                    raise
                                wait = (self.db.commit_later(conn, later or ()) if overlap
                                        else partial(_commit, conn))
                        first = rowids[-1] + 1 if rowids else None
                        committing = (wait, draft.ids, new_functions, new_modules, len(rowids))
                        if not overlap:
                            ids, committing = self._committed(*committing), None
                            yield ids
                except BaseException:
                    if committing is not None:  # this raised as a batch committed: that batch is kept
                        self._committed(*committing)
                    raise
                if committing is not None:
                    ids, committing = self._committed(*committing), None
                    yield ids
        finally:
            conn.execute("PRAGMA foreign_keys = ON")

    def _committed(self, wait: Callable[[], None], ids: list[str], new_functions: dict[str, int],
                   new_modules: dict[tuple, int], written: int) -> list[str]:
        """Wait for a batch's commit, then cache the ids it gave names and modules (:meth:`_remember`)."""
        t0 = time.perf_counter()
        try:
            wait()
        except BaseException:
            self._writing.names, self._writing.dicts = {table: {} for table in NAME_TABLES}, {}
            raise
        self.ingest_seconds["commit"] += time.perf_counter() - t0
        self._remember(new_functions, new_modules)
        self.db.bulk_written(written)
        return ids

    def _draft(self, crashes: Iterable[NewCrash], first: int) -> _Draft:
        """A batch's dumps written to the blob folder, its crash ids, and (per :data:`CHUNK`) the rows that need
        nothing from the database, built for row ids from ``first`` on."""
        prepared = []
        for item in crashes:
            refs = self._write_blobs(item.dumps or {})
            crash_id = normalize_crash_id(item.crash_id) if item.crash_id else new_crash_id()
            prepared.append((crash_id, item, refs))
        rowids = list(range(first, first + len(prepared)))
        chunks = [self._draft_rows(rowids[start:start + CHUNK], prepared[start:start + CHUNK])
                  for start in range(0, len(prepared), CHUNK)]
        return _Draft([p[0] for p in prepared], prepared, first, chunks)

    def _write_draft(self, conn, draft: _Draft, if_exists: str, new_functions: dict[str, int],
                     new_modules: dict[tuple, int], later: list[tuple[str, tuple]] | None = None, *,
                     skipped: list[str] | None = None) -> list[int]:
        """Inside the write transaction: check the draft's crash ids are new (``if_exists``) and write it. When
        a skipped duplicate or another writer moved the row ids it was built for, its rows are built again.
        ``later``: see :meth:`_write_rows`; ``skipped``: see :meth:`add_many`."""
        existing = set()
        ids = draft.ids
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            existing.update(r[0] for r in conn.execute(
                f"SELECT crash_id FROM crashes WHERE crash_id IN ({','.join('?' * len(chunk))})", chunk))
        todo = []
        left_out = []
        for entry in draft.prepared:
            if entry[0] in existing:
                if if_exists == "ignore":
                    left_out.append(entry[0])
                    continue
                raise DuplicateCrash(entry[0])
            existing.add(entry[0])
            todo.append(entry)
        if skipped is not None:
            skipped.extend(left_out)
        if not todo:
            return []
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM crashes").fetchone()[0]
        still = len(todo) == len(draft.prepared) and first == draft.first
        return self._insert_batch(conn, todo, new_functions, new_modules, drafts=draft.chunks if still else None,
                                  later=later, first=first)

    @staticmethod
    def _count_module_links(conn, added: Mapping[int, int]) -> None:
        """Add newly linked crashes to ``module_counts`` (the module facet over the whole store); a trigger
        takes removed links off."""
        conn.executemany("INSERT INTO module_counts (module, crashes) VALUES (?, ?) ON CONFLICT (module) "
                         "DO UPDATE SET crashes = crashes + excluded.crashes", list(added.items()))

    def _insert_batch(self, conn, todo: list[tuple[str, NewCrash, Mapping[str, DumpRef]]],
                      new_functions: dict[str, int], new_modules: dict[tuple, int], *,
                      drafts: list[dict[str, Any]] | None = None,
                      later: list[tuple[str, tuple]] | None = None, first: int | None = None) -> list[int]:
        """Insert new crashes (ids checked unique by the caller) with every side table, inside the caller's
        write transaction; return their row ids. ``drafts``: the rows :meth:`_draft_rows` built for them before
        the transaction, for the row ids that follow the largest one stored (else they are built here).
        ``first``: that row id, when the caller has read it in this transaction.

        Row ids are assigned here (the write lock is held), so each table gets one ``executemany`` per chunk of
        crashes, in primary-key order. (Building rows on one thread while another inserts them was measured and
        gained nothing: the GIL hand-over per inserted row costs what the overlap saves.)"""
        # side tables are written before the crashes rows they point to: foreign keys (when on) are checked at
        # commit (the pragma lasts until the end of this transaction)
        conn.execute("PRAGMA defer_foreign_keys = ON")
        if first is None:
            first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM crashes").fetchone()[0]
        rowids = list(range(first, first + len(todo)))
        timing = self.ingest_seconds
        for n, start in enumerate(range(0, len(todo), CHUNK)):
            t0 = time.perf_counter()
            draft = drafts[n] if drafts is not None else self._draft_rows(rowids[start:start + CHUNK],
                                                                          todo[start:start + CHUNK])
            rows = self._finish_rows(conn, draft, new_functions, new_modules)
            t1 = time.perf_counter()
            self._write_rows(conn, rows, later)
            timing["rows"] += t1 - t0
            timing["inserts"] += time.perf_counter() - t1
        return rowids

    def _draft_rows(self, rowids: list[int], todo: list[tuple[str, NewCrash, Mapping[str, DumpRef]]]) -> dict[str, Any]:
        """The rows of ``todo`` (to be stored as ``rowids``) that need nothing from the database, built outside
        the write transaction: the documents JSON-encoded, the dumps, annotations, history, full-text and crashes
        rows, each crash's threads and the names they use, and its module links when every module is cached.
        :meth:`_finish_rows` adds the rest under the write lock."""
        now = utcnow()
        out: dict[str, list] = {k: [] for k in ("dumps", "annotations", "history", "fts", "crashes")}
        pending_terms = []  # per crash: (row id, annotation terms, frame functions, frame files)
        pending_threads = []  # per crash with a processed crash: (row id, threads, stacks differ, index in links)
        links: list = []  # per crash: its module links, None (none), or _UNRESOLVED (a module not cached)
        names: set[str] = set()
        files: set[str] = set()
        thread_names: set[str] = set()
        frame_modules: set[str] = set()
        # what to compress: per crash, its processed, server, slim and raw annotations documents
        documents: list[bytes] = []
        kinds: list[str] = []  # each document's dictionary kind
        slots: list[tuple[int, int, int, int]] = []  # each crash's four indexes into documents (-1: none)
        splits: list[int | None] = []  # how each crash's processed document was split (store.split_document)
        annotations_of = [{str(k): v for k, v in item.annotations.items()} for _, item, _ in todo]
        for (_crash_id, item, _refs), raw in zip(todo, annotations_of, strict=True):
            slot = []
            slim_doc = signature_input(item.processed)
            rest, split = (split_processed(item.processed, slim_doc) if slim_doc is not None
                           else (item.processed, None))
            splits.append(split)
            for doc, kind in ((rest, "processed"), (item.server_processed, "processed"),
                              (slim_doc, "signature_input"), (raw, "annotations")):
                if doc is None:
                    slot.append(-1)
                else:
                    slot.append(len(documents))
                    documents.append(_dumps(doc))
                    kinds.append(kind)
            slots.append(tuple(slot))
        for rowid, (crash_id, item, refs), raw in zip(rowids, todo, annotations_of, strict=True):
            annotations = raw
            processed = item.processed
            out["dumps"].extend((rowid, name, ref.sha256, ref.size) for name, ref in refs.items())
            pairs = _annotation_rows(annotations)
            out["annotations"].append((rowid, pairs))
            sig = item.signature
            history = _history_rows(item.signature_history) if item.signature_history else None
            if history:
                out["history"].extend((rowid, *h) for h in history)
            elif item.server_signature:
                out["history"].append((rowid, item.server_signature, None, "[]",
                                       f"server:{item.source.removeprefix('server:')}", None, now, 0))
            functions: list[str] = []
            files_of: list[str] = []
            link = None
            if processed is not None:
                functions, files_of = frame_names(processed, all_threads=item.all_thread_frames)
                names.update(functions)
                files.update(files_of)
                threads = crash_threads(processed)
                thread_functions, tnames, fmodules = thread_index.names_of(threads)
                names |= thread_functions
                thread_names |= tnames
                frame_modules |= fmodules
                link = self._cached_links(processed) if not item.symbol_notes else None
                if link is None:
                    link = _UNRESOLVED
                pending_threads.append((rowid, threads, stacks_differ(processed, item.server_processed), len(links)))
                if sig is not None and not history:
                    out["history"].append((rowid, sig.signature, sig.proto_signature, _json_list(sig.notes),
                                           sig.profile, sig.run_id, now, 1))
            links.append(link)
            pending_terms.append((rowid, annotation_terms(pairs), functions, files_of))
            crashing = functions if not item.all_thread_frames else frame_names(processed)[0]
            signature = sig.signature if sig is not None else item.server_signature
            out["fts"].append(_fts_row(rowid, signature, crashing, annotations))
            cols = columns_from(annotations, processed if processed is not None else item.server_processed)
            if processed is not None and item.server_processed is not None:
                # save_processed keeps what the server's document gave where the processed crash gives nothing
                server = columns_from(annotations, item.server_processed)
                cols = replace(cols, os=server.os if cols.os is None else cols.os,
                               os_version=server.os_version if cols.os_version is None else cols.os_version,
                               cpu=server.cpu if cols.cpu is None else cols.cpu)
            out["crashes"].append((
                rowid, crash_id, item.source, item.source_url, item.submitted_at or now, now,
                now if processed is not None else None, "processed" if processed is not None else "received",
                cols.product, cols.version, version_key(cols.version), cols.build_id, cols.channel, cols.os,
                cols.os_version, cols.cpu, cols.reason, cols.address, cols.crashing_thread, signature,
                item.server_signature, sig.proto_signature if sig else None, sig.profile if sig else None,
                _json_list(item.notes), cols.process_uptime))
        return {"rowids": rowids, "todo": todo, "out": out, "links": links, "terms": pending_terms,
                "threads": pending_threads, "names": names, "files": files, "thread_names": thread_names,
                "frame_modules": frame_modules, "documents": documents, "kinds": kinds, "slots": slots,
                "splits": splits}

    def _finish_rows(self, conn, draft: dict[str, Any], new_functions, new_modules) -> dict[str, list]:
        """Every table's rows for a :meth:`_draft_rows` draft, under the write lock: the module links of modules
        not cached yet, the ids of the names its crashes use (added when new), the all-threads index rows, the
        search terms; compression dictionaries trained when the store has enough documents for them."""
        rowids, todo, out = draft["rowids"], draft["todo"], dict(draft["out"])
        links = draft["links"]
        for n, link in enumerate(links):
            if link is _UNRESOLVED:
                links[n] = self._links(conn, todo[n][1].processed, todo[n][1].symbol_notes, new_modules,
                                       cached=False)
        links_added: Counter[int] = Counter()
        out["links"] = []
        for rowid, link in zip(rowids, links, strict=True):
            if link is not None:
                out["links"].append((rowid, *link[1]))
                links_added.update(link[0])
        # the documents are compressed on a background thread (zstd holds no GIL) while the rest is built and
        # inserted; not while the draft was built: then the other core was committing the batch before
        documents, kinds = draft["documents"], draft["kinds"]
        self._train_dictionaries(conn, {kind: [doc for doc, k in zip(documents, kinds, strict=True) if k == kind]
                                        for kind in dict.fromkeys(kinds)})
        packing = codec.compress_many_later(documents, [self._dict_id(kind) for kind in kinds])
        function_ids = self._function_ids(conn, draft["names"], new_functions)
        file_ids = self._file_ids(conn, draft["files"])
        tids = self._name_ids(conn, "thread_names", draft["thread_names"])
        dids = self._name_ids(conn, "frame_modules", draft["frame_modules"])
        pending_threads = draft["threads"]
        filenames = thread_index.module_filenames(conn, {m for *_, n in pending_threads if links[n]
                                                         for m in links[n][0]})
        by_name: dict[tuple[int, ...], dict[str, list[int]]] = {}  # crashes of one build share their module list
        built = []
        for rowid, threads, differs, n in pending_threads:
            mids = links[n][0] if links[n] else []
            loaded = by_name.get(key := tuple(mids))
            if loaded is None:
                loaded = by_name[key] = thread_index.modules_by_name(mids, filenames)
            built.append(thread_index.index_row(rowid, threads, function_ids, tids, dids, differs, loaded))
        out["thread_terms"] = [b[0] for b in built]
        out["crash_stacks"] = [b[1] for b in built]
        texts = [row[1].encode() for row in out["thread_terms"]]
        self._train_dictionaries(conn, {"thread_terms": texts})
        out["thread_terms_blobs"] = codec.compress_many_later(texts, self._dict_id("thread_terms"))
        out["search"] = []
        for (rowid, text, functions, files_of), link, fts in zip(draft["terms"], links, out["fts"], strict=True):
            out["search"].append((rowid, (text, processed_terms(
                link[0] if link else (), link[1][2] if link else "",
                map(function_ids.__getitem__, functions), map(file_ids.__getitem__, files_of))), fts[1:]))
        encoded = [search_text.encode(terms, fts) for _, terms, fts in out["search"]]
        self._train_dictionaries(conn, {"search_text": encoded})
        out["search_blobs"] = codec.compress_many_later(encoded, self._dict_id("search_text"))
        out["module_counts"] = list(links_added.items())
        out["packing"] = [(packing, draft["slots"], rowids, draft["splits"])]  # taken once the other rows are written
        return out

    def _train_dictionaries(self, conn, samples_by_kind: Mapping[str, list[bytes]]) -> None:
        """Train a kind's first compression dictionary once the store has :data:`dictionaries.TRAIN_MIN` documents
        of it, counting those being written (``samples_by_kind``); stored in this transaction, kept for the store's
        later writes once it commits."""
        for kind, samples in samples_by_kind.items():
            if self._dict_id(kind) is not None or kind in self._untrainable:
                continue
            if len(samples) < dictionaries.TRAIN_MIN:
                samples = samples + dictionaries.stored_samples(conn, kind, dictionaries.TRAIN_MIN - len(samples))
            if len(samples) >= dictionaries.TRAIN_MIN:
                trained = dictionaries.train(samples)
                if trained is None:
                    self._untrainable.add(kind)  # documents compress alone; a later process tries again
                else:
                    self._writing.dicts[kind] = dictionaries.store(conn, kind, trained, utcnow())

    def _write_rows(self, conn, rows: dict[str, list], later: list[tuple[str, tuple]] | None = None) -> None:
        """Insert what :meth:`_finish_rows` built: first the rows that need no compressed blob, while the
        background thread compresses (SQLite releases the GIL as it works), then the others. ``later``: the
        full-text inserts (the three FTS5 tables: tokenizing is most of the insert time) are appended to it as
        single statements for the commit thread to run, instead of run here (:meth:`add_batches`)."""
        conn.executemany("INSERT INTO dumps (crash, name, sha256, size) VALUES (?,?,?,?)", rows["dumps"])
        annotation_columns.write(conn, annotation_columns.by_key(rows["annotations"]))
        conn.executemany(
            "INSERT INTO signature_history (crash, signature, proto_signature, notes, profile, run_id, "
            "created_at, active) VALUES (?,?,?,?,?,?,?,?)", rows["history"])
        conn.executemany(_LINKS_SQL, rows["links"])
        self._count_module_links(conn, dict(rows["module_counts"]))
        self._index_signature_names(conn, chain((r[19] for r in rows["crashes"]), (r[1] for r in rows["history"])))
        (packing, slots, rowids, splits), = rows["packing"]
        packed = packing.result()
        packed.append(None)  # index -1: no document
        crashes = [(*row, packed[raw], packed[p], packed[s])
                   for row, (p, s, _, raw) in zip(rows["crashes"], slots, strict=True)]
        slim = [(rowid, packed[slim], split) for rowid, (_, _, slim, _), split in zip(rowids, slots, splits, strict=True)
                if slim >= 0]
        conn.executemany(
            "INSERT INTO crashes (id, crash_id, source, source_url, submitted_at, received_at, processed_at, "
            "state, product, version, version_key, build_id, channel, os, os_version, cpu, reason, address, "
            "crashing_thread, signature, server_signature, proto_signature, signature_profile, notes, "
            "process_uptime, raw, processed, server_processed) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            crashes)
        conn.executemany("INSERT INTO signature_inputs (crash, doc, split) VALUES (?, ?, ?)", slim)
        thread_index.write_rows(conn, rows["thread_terms"], rows["crash_stacks"],
                                blobs=rows["thread_terms_blobs"].result(), later=later)
        search_text.insert(conn, rows["search"], rows["search_blobs"].result(), later=later)

    def replace_annotations(self, crash_id: str, annotations: Mapping[str, Any], *,
                            notes: Sequence[str] | None = None) -> None:
        """Replace a crash's raw annotations (e.g. when the raw crash arrives after its processed crash):
        the annotation rows, the columns read from them, the search terms and the full-text row, in one
        transaction. ``notes``, when given, replace the crash's notes too."""
        annotations = {str(k): v for k, v in annotations.items()}
        with self.db.write() as conn:
            rowid, old_raw = self._rowid_raw(conn, crash_id)
            if notes is not None:
                conn.execute("UPDATE crashes SET notes = ? WHERE id = ?",
                             (json.dumps(list(notes), ensure_ascii=False), rowid))
            cols = columns_from(annotations, None)
            conn.execute(
                "UPDATE crashes SET raw = ?, product = ?, version = ?, version_key = ?, build_id = ?, channel = ?, "
                "os = coalesce(os, ?) WHERE id = ?",
                (codec.compress(_dumps(annotations), self._dict_id("annotations")), cols.product, cols.version,
                 version_key(cols.version),
                 cols.build_id, cols.channel, cols.os, rowid))
            old = _loads(old_raw)
            pairs = _annotation_rows(annotations)
            changes: dict[str, dict[int, str | None]] = {str(k): {rowid: None}
                                                          for k in (old if isinstance(old, dict) else {})}
            changes.update((k, {rowid: v}) for k, v in pairs)
            annotation_columns.write(conn, changes)
            values = " ".join(v for v in annotations.values() if isinstance(v, str))
            search_text.update(conn, rowid, terms={"annotations": annotation_terms(pairs)},
                               fts={"annotations": values}, dict_id=self._dict_id("search_text"))

    def mark_failed(self, crash_id: str, note: str) -> None:
        with self.db.write() as conn:
            rowid, _ = self._rowid_raw(conn, crash_id)
            old = json.loads(conn.execute("SELECT notes FROM crashes WHERE id = ?", (rowid,)).fetchone()[0])
            conn.execute(
                "UPDATE crashes SET state = 'failed', processed_at = ?, claimed_by = NULL, claimed_at = NULL, "
                "notes = ? WHERE id = ?", (utcnow(), json.dumps([*old, note], ensure_ascii=False), rowid))

    # ------------------------------------------------------------------ processing queue

    def claim(self, worker: str, limit: int = 1) -> list[str]:
        """Atomically move up to ``limit`` received crashes to ``processing`` for ``worker``."""
        with self.db.write() as conn:
            rows = conn.execute(
                "SELECT id, crash_id FROM crashes WHERE state = 'received' ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
            now = utcnow()
            conn.executemany(
                "UPDATE crashes SET state = 'processing', claimed_by = ?, claimed_at = ?, "
                "attempts = attempts + 1 WHERE id = ?", [(worker, now, r[0]) for r in rows])
        return [r[1] for r in rows]

    def claim_ids(self, worker: str, crash_ids: Sequence[str], limit: int = 1) -> list[str]:
        """Like :meth:`claim`, restricted to ``crash_ids``."""
        claimed: list[str] = []
        with self.db.write() as conn:
            now = utcnow()
            for crash_id in crash_ids:
                if len(claimed) >= limit:
                    break
                cur = conn.execute(
                    "UPDATE crashes SET state = 'processing', claimed_by = ?, claimed_at = ?, "
                    "attempts = attempts + 1 WHERE crash_id = ? AND state = 'received'", (worker, now, crash_id))
                if cur.rowcount:
                    claimed.append(crash_id)
        return claimed

    def mark_signed(self, crash_id: str, signature: SignatureRecord | None, *, notes: Sequence[str] = ()) -> None:
        """Finish a crash that had nothing to stackwalk (no dump): record its signature, state processed."""
        with self.db.write() as conn:
            rowid, _ = self._rowid_raw(conn, crash_id)
            conn.execute(
                "UPDATE crashes SET state = 'processed', processed_at = ?, claimed_by = NULL, claimed_at = NULL, "
                "notes = ? WHERE id = ?", (utcnow(), json.dumps(list(notes), ensure_ascii=False), rowid))
            if signature is not None:
                self._record_signature(conn, rowid, signature)

    def release_claims(self, worker: str | None = None) -> int:
        """Return crashes left in ``processing`` (by ``worker``, or by anyone) to the queue."""
        with self.db.write() as conn:
            if worker is None:
                cur = conn.execute("UPDATE crashes SET state = 'received', claimed_by = NULL, claimed_at = NULL "
                                   "WHERE state = 'processing'")
            else:
                cur = conn.execute("UPDATE crashes SET state = 'received', claimed_by = NULL, claimed_at = NULL "
                                   "WHERE state = 'processing' AND claimed_by = ?", (worker,))
            return cur.rowcount

    def mark_for_reprocessing(self, crash_ids: Iterable[str]) -> int:
        n = 0
        with self.db.write() as conn:
            for crash_id in crash_ids:
                cur = conn.execute("UPDATE crashes SET state = 'received' WHERE crash_id = ? AND state != "
                                   "'processing'", (crash_id,))
                n += cur.rowcount
        return n

    def crash_ids_missing_symbols(self, *, debug_file: str | None = None, debug_id: str | None = None,
                                  filename: str | None = None) -> list[str]:
        """Crashes that loaded a module whose symbols were missing, by module name and/or debug id."""
        where, params = ["1"], []
        for column, value in (("debug_file", debug_file), ("debug_id", debug_id), ("filename", filename)):
            if value:
                where.append(f"{column} = ? COLLATE NOCASE")
                params.append(value)
        return self._crash_ids_with_modules("x", "SELECT id FROM modules WHERE " + " AND ".join(where), params)

    def crash_ids_loading(self, module_ids: Iterable[int]) -> list[str]:
        """Crashes that loaded any of the modules (``modules.id``), in the order they were stored."""
        ids = [int(i) for i in module_ids]
        if not ids:
            return []
        return self._crash_ids_with_modules("m", "SELECT value AS id FROM json_each(?)", [json.dumps(ids)])

    def _crash_ids_with_modules(self, prefix: str, ids_sql: str, params: list) -> list[str]:
        """Crashes holding a ``crash_terms`` module term (``m`` loaded, ``x`` symbols missing) of a module id the
        SQL gives."""
        sql = (f"SELECT crash_id FROM crashes WHERE id IN (SELECT rowid FROM crash_terms WHERE crash_terms MATCH "
               f"{match_any(prefix, ids_sql)}) ORDER BY id")
        return [r[0] for r in self.db.conn.execute(sql, params)]

    def modules_with_debug_ids(self, debug_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The stored modules (``id``, ``debug_file``, ``debug_id``, ``filename``, ``code_id``, ``version``) whose
        debug id is one of ``debug_ids`` (compared in upper case)."""
        wanted = json.dumps(sorted({str(d).upper() for d in debug_ids}))
        cols = ("id", "debug_file", "debug_id", "filename", "code_id", "version")
        return [dict(zip(cols, row, strict=True)) for row in self.db.conn.execute(
            f"SELECT {', '.join(cols)} FROM modules WHERE upper(debug_id) IN (SELECT value FROM json_each(?)) "
            "ORDER BY id", (wanted,))]

    def modules_missing_symbols(self, limit: int | None = 50, *, details: bool = True) -> list[dict[str, Any]]:
        """The modules whose symbols were missing (or corrupt, or failed to load) in the most crashes, most first:
        ``debug_file``, ``debug_id``, ``filename``, ``code_id``, ``crashes``, ``statuses`` (sorted) and one
        ``note`` recorded for them (the largest, as text). Counts come from the ``x`` terms' document counts
        (no scan of the module links); statuses and notes are read for the listed modules only, and not at all
        without ``details``. ``limit`` None lists every such module."""
        conn = self.db.conn
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.crash_terms_vocab USING fts5vocab(main, crash_terms, row)")
        counts = {int(term[1:]): doc for term, doc in conn.execute(
            "SELECT term, doc FROM temp.crash_terms_vocab WHERE term >= 'x' AND term < 'y'") if term[1:].isdigit()}
        modules: dict[int, tuple] = {}
        ids = list(counts)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in conn.execute("SELECT id, debug_file, debug_id, filename, code_id FROM modules WHERE id IN "
                                    f"({','.join('?' * len(chunk))})", chunk):
                modules[row[0]] = row[1:]
        ranked = sorted((i for i in counts if i in modules and counts[i] > 0),
                        key=lambda i: (-counts[i], modules[i][0]))[:None if limit is None else max(1, limit)]
        names = {"M": "missing", "C": "corrupt", "E": "error"}
        out = []
        for module_id in ranked:
            debug_file, debug_id, filename, code_id = modules[module_id]
            row = {"debug_file": debug_file, "debug_id": debug_id, "filename": filename, "code_id": code_id,
                   "crashes": counts[module_id]}
            out.append(row)
            if not details:
                continue
            letters, note = conn.execute(
                "SELECT group_concat(DISTINCT substr(l.status, j.key + 1, 1)), "
                "max(json_extract(l.notes, '$[' || j.key || ']')) FROM crash_module_links l, json_each(l.modules) j "
                "WHERE l.crash IN (SELECT rowid FROM crash_terms WHERE crash_terms MATCH ?) AND j.value = ? "
                "AND substr(l.status, j.key + 1, 1) IN ('M', 'C', 'E')", (f"x{module_id}", module_id)).fetchone()
            row["statuses"] = sorted(names[c] for c in (letters or "").split(",") if c in names)
            row["note"] = note
        return out

    # ------------------------------------------------------------------ reads

    def _rowid_raw(self, conn, crash_id: str) -> tuple[int, str]:
        row = conn.execute("SELECT id, raw FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()
        if row is None:
            raise CrashNotFound(crash_id)
        return row[0], codec.text(row[1])

    def exists(self, crash_id: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone() is not None

    def state_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.db.conn.execute("SELECT state, count(*) FROM crashes GROUP BY state"):
            counts[state] = n
        return counts

    def compact(self, *, vacuum: bool = True, progress=None):
        """Train compression dictionaries from the stored documents if there are none, recompress the documents
        with them, and (``vacuum``) give the freed space back to the file system: see
        :mod:`crashdesk.store.compaction`. Returns a ``CompactResult``."""
        from crashdesk.store.compaction import compact

        return compact(self, vacuum=vacuum, progress=progress)

    def count(self) -> int:
        return self.db.conn.execute("SELECT count(*) FROM crashes").fetchone()[0]

    def processed(self, crash_id: str) -> dict | None:
        return self._processed_of(self.db.conn, "c.crash_id = ?", crash_id, missing=CrashNotFound(crash_id))

    @staticmethod
    def _processed_of(conn, where: str, key: Any, missing: Exception | None = None) -> dict | None:
        """The processed crash of the crash ``where`` selects, put together from its two parts when it was
        stored split (:mod:`crashdesk.store.split_document`)."""
        row = conn.execute("SELECT c.processed, s.doc, s.split FROM crashes c LEFT JOIN signature_inputs s "
                           f"ON s.crash = c.id WHERE {where}", (key,)).fetchone()
        if row is None:
            if missing is not None:
                raise missing
            return None
        processed = _unpack(row[0])
        if row[2] is None or processed is None:
            return processed
        return join_processed(processed, _unpack(row[1]), row[2])

    def annotations(self, crash_id: str) -> dict[str, Any]:
        conn = self.db.conn
        return json.loads(self._rowid_raw(conn, crash_id)[1])

    def dumps(self, crash_id: str) -> dict[str, DumpRef]:
        conn = self.db.conn
        rowid, _ = self._rowid_raw(conn, crash_id)
        return {name: DumpRef(sha, size) for name, sha, size in
                conn.execute("SELECT name, sha256, size FROM dumps WHERE crash = ? ORDER BY name", (rowid,))}

    def dump_path(self, crash_id: str, name: str = MAIN_DUMP) -> Path:
        refs = self.dumps(crash_id)
        if name not in refs:
            raise StoreError(f"crash {crash_id} has no dump named {name!r}")
        return self.blobs.path(refs[name].sha256)

    def read_dump(self, crash_id: str, name: str = MAIN_DUMP) -> bytes:
        return self.dump_path(crash_id, name).read_bytes()

    def search(self, query: str = "", *, facets: Sequence[str] = (), sort: str = "-date", offset: int = 0,
               limit: int = 100, facets_size: int = 50):
        """Search with the query language; returns a :class:`crashdesk.store.search.SearchResult`
        (``total``, ``hits``, ``facets`` in Crash Stats' shape). See :mod:`crashdesk.store.search`."""
        from crashdesk.store.search import search

        return search(self, query, facets=facets, sort=sort, offset=offset, limit=limit,
                      facets_size=facets_size)

    def get(self, crash_id: str) -> dict[str, Any]:
        """Everything stored for one crash (what ``crashdesk show --json`` prints)."""
        conn = self.db.conn
        conn.row_factory = None
        cur = conn.execute("SELECT * FROM crashes WHERE crash_id = ?", (crash_id,))
        row = cur.fetchone()
        if row is None:
            raise CrashNotFound(crash_id)
        names = [d[0] for d in cur.description]
        data = dict(zip(names, row, strict=True))
        rowid = data.pop("id")
        data.pop("version_key", None)
        data["annotations"] = json.loads(codec.text(data.pop("raw")))
        data["notes"] = json.loads(data["notes"])
        data["processed"] = self._processed_of(conn, "c.id = ?", rowid)
        data["server_processed"] = _unpack(data["server_processed"])
        data["dumps"] = [
            {"name": n, "sha256": s, "size": z, "path": str(self.blobs.path(s))}
            for n, s, z in conn.execute("SELECT name, sha256, size FROM dumps WHERE crash = ? ORDER BY name",
                                        (rowid,))
        ]
        modules = [
            dict(zip(("filename", "debug_file", "debug_id", "code_id", "version", "base_addr", "symbol_status",
                      "symbol_note"), r, strict=True))
            for r in conn.execute(
                "SELECT m.filename, m.debug_file, m.debug_id, m.code_id, m.version, cm.base_addr, "
                "cm.symbol_status, cm.symbol_note FROM crash_modules cm JOIN modules m ON m.id = cm.module "
                "WHERE cm.crash = ?", (rowid,))
        ]
        _base_addrs_from(modules, data["processed"])
        data["modules"] = sorted(modules, key=lambda m: (m["base_addr"] is not None, m["base_addr"] or ""))
        data["signature_history"] = [
            {"signature": s, "proto_signature": p, "notes": json.loads(n), "profile": prof, "run_id": run,
             "created_at": at, "active": bool(a)}
            for s, p, n, prof, run, at, a in conn.execute(
                "SELECT signature, proto_signature, notes, profile, run_id, created_at, active "
                "FROM signature_history WHERE crash = ? ORDER BY id", (rowid,))
        ]
        return data
