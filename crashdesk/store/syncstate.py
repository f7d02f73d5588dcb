"""Sync bookkeeping beside the crashes: one row per saved sync (its watermark) and one per crash it found.

A sync job is a saved query against one server. ``covered_from``..``watermark`` is the submission-time range
whose search results have been completely listed; every crash found there has a ``sync_items`` row whose
``state`` says whether it is stored (``done``), still to fetch (``pending``), failed last time (``failed``,
retried on the next run) or reported missing by the server several runs in a row (``gone``). Because an item
becomes ``done`` only after its crash is in the store, and adding a crash that is already there changes
nothing, a run killed at any point resumes without duplicates or gaps.

The tables are created here, idempotently (``IF NOT EXISTS``), the first time a :class:`SyncState` is
opened on a database, so this module is self-contained and does not take a number in ``schema.MIGRATIONS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crashdesk.store.crashes import CrashStore

SYNC_SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_jobs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,             -- hash of server URL + filters
    server TEXT NOT NULL,                 -- saved server name, or the host for a plain URL
    base_url TEXT NOT NULL,
    filters TEXT NOT NULL,                -- JSON list of [key, value] SuperSearch filters
    covered_from TEXT,                    -- submission-time range completely listed: covered_from..watermark
    watermark TEXT,
    created_at TEXT NOT NULL,
    last_run_at TEXT,
    last_status TEXT,                     -- complete | incomplete | cancelled | running
    last_summary TEXT                     -- JSON summary of the last run
);
CREATE TABLE IF NOT EXISTS sync_items (
    job INTEGER NOT NULL REFERENCES sync_jobs(id) ON DELETE CASCADE,
    crash_id TEXT NOT NULL,
    submitted TEXT,                       -- the hit's date
    state TEXT NOT NULL DEFAULT 'pending', -- pending | done | failed | gone
    dumps TEXT,                           -- NULL (not asked) | done | none | forbidden
    attempts INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0,    -- consecutive 404s
    error TEXT,
    updated_at TEXT,
    PRIMARY KEY (job, crash_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sync_items_state ON sync_items(job, state);
"""

GONE_AFTER_MISSES = 3


@dataclass(frozen=True)
class SyncJob:
    id: int
    key: str
    server: str
    base_url: str
    filters: list[list[str]]
    covered_from: str | None
    watermark: str | None
    last_run_at: str | None = None
    last_status: str | None = None


@dataclass(frozen=True)
class SyncItem:
    crash_id: str
    state: str
    dumps: str | None


def _now() -> str:
    from crashdesk.store.crashes import utcnow

    return utcnow()


class SyncState:
    """Sync jobs and items in the store's database. Call from one thread at a time (the sync's writer)."""

    def __init__(self, store: CrashStore) -> None:
        self.store = store
        with store.db.write() as conn:
            for statement in SYNC_SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    @property
    def _conn(self):
        return self.store.db.conn

    # ------------------------------------------------------------------ jobs

    def job(self, key: str, *, server: str, base_url: str, filters: Iterable[tuple[str, str]]) -> SyncJob:
        """The job with this key, created when new."""
        with self.store.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sync_jobs (key, server, base_url, filters, created_at) "
                "VALUES (?,?,?,?,?)",
                (key, server, base_url, json.dumps([list(f) for f in filters]), _now()),
            )
            conn.execute(
                "UPDATE sync_jobs SET server = ?, base_url = ? WHERE key = ?", (server, base_url, key)
            )
        return self.get_job(key)

    def get_job(self, key: str) -> SyncJob:
        row = self._conn.execute(
            "SELECT id, key, server, base_url, filters, covered_from, watermark, last_run_at, last_status "
            "FROM sync_jobs WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            raise KeyError(key)
        return SyncJob(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6], row[7], row[8])

    def jobs(self) -> list[dict[str, Any]]:
        """Every saved sync with its item counts (for ``crashdesk sync --list`` and the UI)."""
        out = []
        for row in self._conn.execute(
            "SELECT id, key, server, base_url, filters, covered_from, watermark, last_run_at, last_status "
            "FROM sync_jobs ORDER BY id"
        ):
            counts = self.counts(row[0])
            out.append(
                {
                    "key": row[1],
                    "server": row[2],
                    "base_url": row[3],
                    "filters": json.loads(row[4]),
                    "covered_from": row[5],
                    "watermark": row[6],
                    "last_run_at": row[7],
                    "last_status": row[8],
                    "items": counts,
                }
            )
        return out

    def set_coverage(self, job_id: int, covered_from: str | None, watermark: str | None) -> None:
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE sync_jobs SET covered_from = ?, watermark = ? WHERE id = ?",
                (covered_from, watermark, job_id),
            )

    def start_run(self, job_id: int) -> None:
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE sync_jobs SET last_run_at = ?, last_status = 'running' WHERE id = ?", (_now(), job_id)
            )

    def finish_run(self, job_id: int, status: str, summary: Mapping[str, Any]) -> None:
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE sync_jobs SET last_status = ?, last_summary = ? WHERE id = ?",
                (status, json.dumps(summary, default=str), job_id),
            )

    # ------------------------------------------------------------------ items

    def add_items(self, job_id: int, hits: Iterable[tuple[str, str | None]]) -> int:
        """Record found crashes (``(crash_id, date)``); return how many were new to this job."""
        now = _now()
        with self.store.db.write() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO sync_items (job, crash_id, submitted, updated_at) VALUES (?,?,?,?)",
                [(job_id, cid, date, now) for cid, date in hits],
            )
            return conn.total_changes - before

    def to_fetch(self, job_id: int, *, with_dumps: bool) -> list[SyncItem]:
        """Items this run must work on: not yet stored, or stored without the dumps now asked for."""
        sql = (
            "SELECT crash_id, state, dumps FROM sync_items WHERE job = ? AND (state IN ('pending', 'failed')"
        )
        if with_dumps:
            sql += " OR (state = 'done' AND (dumps IS NULL OR dumps = 'forbidden'))"
        sql += ") ORDER BY submitted, crash_id"
        return [SyncItem(*row) for row in self._conn.execute(sql, (job_id,))]

    def mark_done(self, job_id: int, crash_id: str, dumps: str | None) -> None:
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE sync_items SET state = 'done', dumps = coalesce(?, dumps), attempts = attempts + 1, "
                "misses = 0, error = NULL, updated_at = ? WHERE job = ? AND crash_id = ?",
                (dumps, _now(), job_id, crash_id),
            )

    def mark_done_many(self, job_id: int, done: Iterable[tuple[str, str | None]]) -> None:
        """``mark_done`` for many items in one transaction."""
        now = _now()
        with self.store.db.write() as conn:
            conn.executemany(
                "UPDATE sync_items SET state = 'done', dumps = coalesce(?, dumps), attempts = attempts + 1, "
                "misses = 0, error = NULL, updated_at = ? WHERE job = ? AND crash_id = ?",
                [(dumps, now, job_id, crash_id) for crash_id, dumps in done],
            )

    def stored_dumps_of(self, crash_ids: Iterable[str]) -> dict[str, set[str]]:
        """For those of ``crash_ids`` already in the store: their stored dump names."""
        ids = list(crash_ids)
        out: dict[str, set[str]] = {}
        conn = self._conn
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for crash_id, name in conn.execute(
                f"SELECT c.crash_id, d.name FROM crashes c LEFT JOIN dumps d ON d.crash = c.id "
                f"WHERE c.crash_id IN ({marks})",
                chunk,
            ):
                names = out.setdefault(crash_id, set())
                if name is not None:
                    names.add(name)
        return out

    def mark_failed(self, job_id: int, crash_id: str, error: str, *, missing: bool = False) -> str:
        """Record a failure; a crash the server said it does not have ``GONE_AFTER_MISSES`` runs in a row
        becomes ``gone`` (kept for the record, no longer retried). Returns the new state."""
        with self.store.db.write() as conn:
            row = conn.execute(
                "SELECT state, misses FROM sync_items WHERE job = ? AND crash_id = ?", (job_id, crash_id)
            ).fetchone()
            if row is None:
                return "pending"
            if row[0] == "done":  # only the dumps failed: the crash itself stays stored
                conn.execute(
                    "UPDATE sync_items SET error = ?, updated_at = ? WHERE job = ? AND crash_id = ?",
                    (error, _now(), job_id, crash_id),
                )
                return "done"
            misses = row[1] + 1 if missing else 0
            state = "gone" if misses >= GONE_AFTER_MISSES else "failed"
            conn.execute(
                "UPDATE sync_items SET state = ?, attempts = attempts + 1, misses = ?, error = ?, "
                "updated_at = ? "
                "WHERE job = ? AND crash_id = ?",
                (state, misses, error, _now(), job_id, crash_id),
            )
            return state

    def counts(self, job_id: int) -> dict[str, int]:
        counts = {"pending": 0, "done": 0, "failed": 0, "gone": 0}
        for state, n in self._conn.execute(
            "SELECT state, count(*) FROM sync_items WHERE job = ? GROUP BY state", (job_id,)
        ):
            counts[state] = n
        return counts

    def items(self, job_id: int) -> list[dict[str, Any]]:
        return [
            dict(zip(("crash_id", "submitted", "state", "dumps", "attempts", "error"), row, strict=True))
            for row in self._conn.execute(
                "SELECT crash_id, submitted, state, dumps, attempts, error FROM sync_items WHERE job = ? "
                "ORDER BY submitted, crash_id",
                (job_id,),
            )
        ]

    # ------------------------------------------------------------------ crashes

    def attach_dumps(self, crash_id: str, dumps: Mapping[str, Any]) -> int:
        """Add dumps (bytes, or ``DumpRef`` already in the blob folder) to a crash stored earlier without them
        (a later sync asked for dumps), and queue it for local processing so it is re-stackwalked with the
        user's symbols. Returns how many were added."""
        refs = {}
        for name, data in dumps.items():
            if isinstance(data, bytes | bytearray | memoryview):
                refs[name] = (self.store.blobs.put(bytes(data)), len(data))
            else:
                refs[name] = (data.sha256, data.size)
        added = 0
        with self.store.db.write() as conn:
            row = conn.execute("SELECT id FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()
            if row is None:
                return 0
            for name, (sha, size) in refs.items():
                cur = conn.execute(
                    "INSERT OR IGNORE INTO dumps (crash, name, sha256, size) VALUES (?,?,?,?)",
                    (row[0], name, sha, size),
                )
                added += cur.rowcount
            if added:
                conn.execute(
                    "UPDATE crashes SET state = 'received' WHERE id = ? AND state != 'processing'", (row[0],)
                )
        return added

    def stored_dump_names(self, crash_id: str) -> set[str] | None:
        """Names of the crash's stored dumps, or ``None`` when the crash is not stored at all."""
        row = self._conn.execute("SELECT id FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()
        if row is None:
            return None
        return {r[0] for r in self._conn.execute("SELECT name FROM dumps WHERE crash = ?", (row[0],))}
