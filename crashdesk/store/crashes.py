"""``CrashStore``: crashes in, processed results and signatures recorded, the processing queue, and reads.

Every write that belongs together happens in one transaction: a raw crash with its dumps and annotations; a
processed crash with its columns, frames, modules, signature history entry and full-text row.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.model.crash_id import new_crash_id, normalize_crash_id
from crashdesk.model.summary import columns_from, frame_rows, module_rows, signature_input
from crashdesk.model.versions import version_key
from crashdesk.store.blobs import BlobStore
from crashdesk.store.db import Database
from crashdesk.store.errors import CrashNotFound, DuplicateCrash, StoreError

STATES = ("received", "processing", "processed", "failed")
MAIN_DUMP = "upload_file_minidump"


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _pack(obj: Any) -> bytes | None:
    if obj is None:
        return None
    return zlib.compress(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), 3)


def _unpack(blob: bytes | None) -> Any:
    if blob is None:
        return None
    return json.loads(zlib.decompress(blob))


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


class CrashStore:
    """The crash store over ``<data>/crashdesk.sqlite`` and ``<data>/dumps/``."""

    def __init__(self, database: Path, blob_root: Path) -> None:
        self.db = Database(Path(database))
        self.blobs = BlobStore(Path(blob_root))

    @classmethod
    def open(cls, data_dir: Path) -> CrashStore:
        data_dir = Path(data_dir)
        return cls(data_dir / "crashdesk.sqlite", data_dir / "dumps")

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
        with self.db.write() as conn:
            self._insert(conn, crash_id, annotations, refs, source=source, submitted_at=submitted_at,
                         server_signature=server_signature, server_processed=server_processed,
                         source_url=source_url, notes=notes, if_exists=if_exists)
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
                server_processed, source_url, notes, if_exists) -> int:
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
                    (server_signature, _pack(server_processed), source_url, server_signature, row[0]),
                )
                return row[0]
            raise DuplicateCrash(crash_id)
        annotations = {str(k): v for k, v in annotations.items()}
        cols = columns_from(annotations, server_processed)
        now = utcnow()
        cur = conn.execute(
            "INSERT INTO crashes (crash_id, source, source_url, submitted_at, received_at, state, product, "
            "version, version_key, build_id, channel, os, os_version, cpu, reason, address, crashing_thread, "
            "signature, server_signature, notes, raw, server_processed) "
            "VALUES (?,?,?,?,?,'received',?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (crash_id, source, source_url, submitted_at or now, now, cols.product, cols.version,
             version_key(cols.version), cols.build_id, cols.channel, cols.os, cols.os_version, cols.cpu,
             cols.reason, cols.address, cols.crashing_thread, server_signature, server_signature,
             json.dumps(list(notes)), json.dumps(annotations, ensure_ascii=False), _pack(server_processed)),
        )
        rowid = cur.lastrowid
        conn.executemany("INSERT INTO dumps (crash, name, sha256, size) VALUES (?,?,?,?)",
                         [(rowid, name, ref.sha256, ref.size) for name, ref in refs.items()])
        conn.executemany(
            "INSERT OR REPLACE INTO annotations (crash, key, value) VALUES (?,?,?)",
            [(rowid, k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
             for k, v in annotations.items()],
        )
        if server_signature or server_processed:
            self._index_fts(conn, rowid, server_signature, server_processed, annotations)
            if server_signature:
                conn.execute(
                    "INSERT INTO signature_history (crash, signature, proto_signature, notes, profile, "
                    "created_at, active) VALUES (?,?,?,?,?,?,0)",
                    (rowid, server_signature, None, "[]", f"server:{source.removeprefix('server:')}", now),
                )
        else:
            self._index_fts(conn, rowid, None, None, annotations)
        return rowid

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
        """Record a processing result in one transaction: columns, frames, modules, signature, FTS row.
        ``symbol_notes`` maps (debug file, debug id) to why a module's symbols were missing or corrupt."""
        with self.db.write() as conn:
            rowid, raw = self._rowid_raw(conn, crash_id)
            annotations = json.loads(raw)
            cols = columns_from(annotations, processed)
            conn.execute(
                "UPDATE crashes SET processed = ?, processed_at = ?, state = 'processed', claimed_by = NULL, "
                "claimed_at = NULL, os = coalesce(?, os), os_version = coalesce(?, os_version), "
                "cpu = coalesce(?, cpu), reason = ?, address = ?, crashing_thread = ?, notes = ? WHERE id = ?",
                (_pack(processed), utcnow(), cols.os, cols.os_version, cols.cpu, cols.reason, cols.address,
                 cols.crashing_thread, json.dumps(list(notes)), rowid),
            )
            conn.execute("DELETE FROM frames WHERE crash = ?", (rowid,))
            conn.executemany(
                "INSERT OR REPLACE INTO frames (crash, thread, frame, inline_depth, module, function, file, "
                "line, offset, module_offset, function_offset, trust) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(rowid, r.thread, r.frame, r.inline_depth, r.module, r.function, r.file, r.line, r.offset,
                    r.module_offset, r.function_offset, r.trust)
                 for r in frame_rows(processed, all_threads=all_thread_frames)],
            )
            self._index_function_names(conn, {r.function for r in frame_rows(processed,
                                                                              all_threads=all_thread_frames)})
            conn.execute("DELETE FROM crash_modules WHERE crash = ?", (rowid,))
            linked: set[int] = set()
            for m in module_rows(processed):
                module_id = self._module_id(conn, m.filename, m.debug_file, m.debug_id, m.code_id, m.version)
                note = (symbol_notes or {}).get((m.debug_file, m.debug_id.upper()))
                conn.execute(
                    "INSERT OR REPLACE INTO crash_modules (crash, module, base_addr, symbol_status, symbol_note) "
                    "VALUES (?,?,?,?,?)", (rowid, module_id, m.base_addr, m.symbol_status, note))
                linked.add(module_id)
            self._count_module_links(conn, dict.fromkeys(linked, 1))
            sig_text = None
            if signature is not None:
                self._record_signature(conn, rowid, signature)
                sig_text = signature.signature
            else:
                sig_text = conn.execute("SELECT signature FROM crashes WHERE id = ?", (rowid,)).fetchone()[0]
            self._index_fts(conn, rowid, sig_text, processed, annotations)
            self._store_signature_input(conn, rowid, processed)

    @staticmethod
    def _module_id(conn, filename, debug_file, debug_id, code_id, version) -> int:
        row = conn.execute(
            "SELECT id FROM modules WHERE filename = ? AND debug_file = ? AND debug_id = ? AND code_id = ? "
            "AND version = ?", (filename, debug_file, debug_id, code_id, version)).fetchone()
        if row:
            return row[0]
        return conn.execute(
            "INSERT INTO modules (filename, debug_file, debug_id, code_id, version) VALUES (?,?,?,?,?)",
            (filename, debug_file, debug_id, code_id, version)).lastrowid

    @staticmethod
    def _store_signature_input(conn, rowid: int, processed: dict | None) -> None:
        slim = signature_input(processed)
        if slim is not None:
            conn.execute("INSERT OR REPLACE INTO signature_inputs (crash, doc) VALUES (?, ?)", (rowid, _pack(slim)))

    @staticmethod
    def _index_fts(conn, rowid: int, signature: str | None, processed: dict | None,
                   annotations: Mapping[str, Any]) -> None:
        functions = " ".join(r.function for r in frame_rows(processed) if r.function) if processed else ""
        values = " ".join(v for v in annotations.values() if isinstance(v, str))
        conn.execute("DELETE FROM crash_fts WHERE rowid = ?", (rowid,))
        conn.execute("INSERT INTO crash_fts (rowid, signature, functions, annotations) VALUES (?,?,?,?)",
                     (rowid, signature or "", functions, values))

    def _record_signature(self, conn, rowid: int, sig: SignatureRecord) -> None:
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
        conn.execute("UPDATE crash_fts SET signature = ? WHERE rowid = ?", (sig.signature, rowid))

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
                conn.execute("UPDATE crash_fts SET signature = ? WHERE rowid = ?", (sig or "", rowid))
                restored += 1
        return restored

    def add_many(self, crashes: Iterable[NewCrash], *, if_exists: str = "error") -> list[str]:
        """Store many crashes, each optionally with its processed crash and signature, in one transaction
        (bulk import, benchmarks, sync batches): the same rows :meth:`add_crash` + :meth:`save_processed`
        write, with one commit for the batch and module ids looked up once per batch. All or nothing.
        ``if_exists``: ``error`` raises :class:`DuplicateCrash`, ``ignore`` skips crashes already stored."""
        items = list(crashes)
        prepared = []
        for item in items:
            refs = self._write_blobs(item.dumps or {})
            crash_id = normalize_crash_id(item.crash_id) if item.crash_id else new_crash_id()
            prepared.append((crash_id, item, refs))
        ids: list[str] = []
        module_ids: dict[tuple[str, str, str, str, str], int] = {}
        functions: set[str | None] = set()
        links: dict[int, int] = {}
        conn = self.db.conn
        # Foreign-key checks cost a parent lookup per side-table row; this batch only links rows it has just
        # inserted, so they are switched off for its transaction (the pragma is per connection, and cannot
        # change inside a transaction).
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with self.db.write() as conn:
                for crash_id, item, refs in prepared:
                    if conn.execute("SELECT 1 FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone():
                        if if_exists == "ignore":
                            ids.append(crash_id)
                            continue
                        raise DuplicateCrash(crash_id)
                    self._insert_full(conn, crash_id, item, refs, module_ids, functions, links)
                    ids.append(crash_id)
                self._index_function_names(conn, functions)
                self._count_module_links(conn, links)
        finally:
            conn.execute("PRAGMA foreign_keys = ON")
        return ids

    @staticmethod
    def _count_module_links(conn, added: Mapping[int, int]) -> None:
        """Add newly linked crashes to ``module_counts`` (the module facet over the whole store); a trigger
        takes removed links off."""
        conn.executemany("INSERT INTO module_counts (module, crashes) VALUES (?, ?) ON CONFLICT (module) "
                         "DO UPDATE SET crashes = crashes + excluded.crashes", list(added.items()))

    @staticmethod
    def _index_function_names(conn, names: Iterable[str | None]) -> None:
        """Add frame function names to the ``function_names`` dictionary (the search's trigram index)."""
        conn.executemany("INSERT OR IGNORE INTO function_names (name) VALUES (?)",
                         [(n,) for n in names if n])

    def _insert_full(self, conn, crash_id: str, item: NewCrash, refs: Mapping[str, DumpRef],
                     module_ids: dict[tuple[str, str, str, str, str], int], functions: set[str | None],
                     link_counts: dict[int, int]) -> int:
        annotations = {str(k): v for k, v in item.annotations.items()}
        processed = item.processed
        cols = columns_from(annotations, processed if processed is not None else item.server_processed)
        now = utcnow()
        sig = item.signature
        signature = sig.signature if sig is not None else item.server_signature
        state = "processed" if processed is not None else "received"
        notes = list(item.notes)
        rowid = conn.execute(
            "INSERT INTO crashes (crash_id, source, source_url, submitted_at, received_at, processed_at, state, "
            "product, version, version_key, build_id, channel, os, os_version, cpu, reason, address, "
            "crashing_thread, signature, server_signature, proto_signature, signature_profile, notes, raw, "
            "processed, server_processed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (crash_id, item.source, item.source_url, item.submitted_at or now, now,
             now if processed is not None else None, state, cols.product, cols.version,
             version_key(cols.version), cols.build_id, cols.channel, cols.os, cols.os_version, cols.cpu,
             cols.reason, cols.address, cols.crashing_thread, signature, item.server_signature,
             sig.proto_signature if sig else None, sig.profile if sig else None,
             json.dumps(notes, ensure_ascii=False), json.dumps(annotations, ensure_ascii=False),
             _pack(processed), _pack(item.server_processed)),
        ).lastrowid
        conn.executemany("INSERT INTO dumps (crash, name, sha256, size) VALUES (?,?,?,?)",
                         [(rowid, name, ref.sha256, ref.size) for name, ref in refs.items()])
        conn.executemany(
            "INSERT OR REPLACE INTO annotations (crash, key, value) VALUES (?,?,?)",
            [(rowid, k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
             for k, v in annotations.items()])
        if item.server_signature:
            conn.execute(
                "INSERT INTO signature_history (crash, signature, proto_signature, notes, profile, created_at, "
                "active) VALUES (?,?,?,?,?,?,0)",
                (rowid, item.server_signature, None, "[]", f"server:{item.source.removeprefix('server:')}", now))
        fts_functions = ""
        if processed is not None:
            rows = frame_rows(processed, all_threads=item.all_thread_frames)
            conn.executemany(
                "INSERT OR REPLACE INTO frames (crash, thread, frame, inline_depth, module, function, file, "
                "line, offset, module_offset, function_offset, trust) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(rowid, r.thread, r.frame, r.inline_depth, r.module, r.function, r.file, r.line, r.offset,
                  r.module_offset, r.function_offset, r.trust) for r in rows])
            functions.update(r.function for r in rows)
            crashing = rows if not item.all_thread_frames else frame_rows(processed)
            fts_functions = " ".join(r.function for r in crashing if r.function)
            self._store_signature_input(conn, rowid, processed)
            links = {}
            for m in module_rows(processed):
                key = (m.filename, m.debug_file, m.debug_id, m.code_id, m.version)
                module_id = module_ids.get(key)
                if module_id is None:
                    module_id = module_ids[key] = self._module_id(conn, *key)
                links[module_id] = (rowid, module_id, m.base_addr, m.symbol_status)
            conn.executemany("INSERT OR REPLACE INTO crash_modules (crash, module, base_addr, symbol_status) "
                             "VALUES (?,?,?,?)", list(links.values()))
            for module_id in links:
                link_counts[module_id] = link_counts.get(module_id, 0) + 1
            if sig is not None:
                conn.execute(
                    "INSERT INTO signature_history (crash, signature, proto_signature, notes, profile, run_id, "
                    "created_at, active) VALUES (?,?,?,?,?,?,?,1)",
                    (rowid, sig.signature, sig.proto_signature, json.dumps(list(sig.notes), ensure_ascii=False),
                     sig.profile, sig.run_id, now))
        values = " ".join(v for v in annotations.values() if isinstance(v, str))
        conn.execute("INSERT INTO crash_fts (rowid, signature, functions, annotations) VALUES (?,?,?,?)",
                     (rowid, signature or "", fts_functions, values))
        return rowid

    def replace_annotations(self, crash_id: str, annotations: Mapping[str, Any], *,
                            notes: Sequence[str] | None = None) -> None:
        """Replace a crash's raw annotations (e.g. when the raw crash arrives after its processed crash):
        the annotation rows, the columns read from them, and the full-text row, in one transaction. ``notes``,
        when given, replace the crash's notes too."""
        annotations = {str(k): v for k, v in annotations.items()}
        with self.db.write() as conn:
            rowid, _ = self._rowid_raw(conn, crash_id)
            if notes is not None:
                conn.execute("UPDATE crashes SET notes = ? WHERE id = ?",
                             (json.dumps(list(notes), ensure_ascii=False), rowid))
            cols = columns_from(annotations, None)
            conn.execute(
                "UPDATE crashes SET raw = ?, product = ?, version = ?, version_key = ?, build_id = ?, channel = ?, "
                "os = coalesce(os, ?) WHERE id = ?",
                (json.dumps(annotations, ensure_ascii=False), cols.product, cols.version, version_key(cols.version),
                 cols.build_id, cols.channel, cols.os, rowid))
            conn.execute("DELETE FROM annotations WHERE crash = ?", (rowid,))
            conn.executemany(
                "INSERT OR REPLACE INTO annotations (crash, key, value) VALUES (?,?,?)",
                [(rowid, k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                 for k, v in annotations.items()])
            values = " ".join(v for v in annotations.values() if isinstance(v, str))
            conn.execute("UPDATE crash_fts SET annotations = ? WHERE rowid = ?", (values, rowid))

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
        where, params = ["cm.symbol_status IN ('missing', 'error', 'corrupt')"], []
        for column, value in (("m.debug_file", debug_file), ("m.debug_id", debug_id), ("m.filename", filename)):
            if value:
                where.append(f"{column} = ? COLLATE NOCASE")
                params.append(value)
        sql = ("SELECT DISTINCT c.crash_id FROM crash_modules cm JOIN modules m ON m.id = cm.module "
               "JOIN crashes c ON c.id = cm.crash WHERE " + " AND ".join(where) + " ORDER BY c.id")
        return [r[0] for r in self.db.conn.execute(sql, params)]

    # ------------------------------------------------------------------ reads

    def _rowid_raw(self, conn, crash_id: str) -> tuple[int, str]:
        row = conn.execute("SELECT id, raw FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()
        if row is None:
            raise CrashNotFound(crash_id)
        return row[0], row[1]

    def exists(self, crash_id: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone() is not None

    def state_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.db.conn.execute("SELECT state, count(*) FROM crashes GROUP BY state"):
            counts[state] = n
        return counts

    def count(self) -> int:
        return self.db.conn.execute("SELECT count(*) FROM crashes").fetchone()[0]

    def processed(self, crash_id: str) -> dict | None:
        row = self.db.conn.execute("SELECT processed FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()
        if row is None:
            raise CrashNotFound(crash_id)
        return _unpack(row[0])

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
        data["annotations"] = json.loads(data.pop("raw"))
        data["notes"] = json.loads(data["notes"])
        data["processed"] = _unpack(data["processed"])
        data["server_processed"] = _unpack(data["server_processed"])
        data["dumps"] = [
            {"name": n, "sha256": s, "size": z, "path": str(self.blobs.path(s))}
            for n, s, z in conn.execute("SELECT name, sha256, size FROM dumps WHERE crash = ? ORDER BY name",
                                        (rowid,))
        ]
        data["modules"] = [
            dict(zip(("filename", "debug_file", "debug_id", "code_id", "version", "base_addr", "symbol_status",
                      "symbol_note"), r, strict=True))
            for r in conn.execute(
                "SELECT m.filename, m.debug_file, m.debug_id, m.code_id, m.version, cm.base_addr, "
                "cm.symbol_status, cm.symbol_note FROM crash_modules cm JOIN modules m ON m.id = cm.module "
                "WHERE cm.crash = ? ORDER BY cm.base_addr", (rowid,))
        ]
        data["signature_history"] = [
            {"signature": s, "proto_signature": p, "notes": json.loads(n), "profile": prof, "run_id": run,
             "created_at": at, "active": bool(a)}
            for s, p, n, prof, run, at, a in conn.execute(
                "SELECT signature, proto_signature, notes, profile, run_id, created_at, active "
                "FROM signature_history WHERE crash = ? ORDER BY id", (rowid,))
        ]
        return data
