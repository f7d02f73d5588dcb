"""Schema v14 (issue 27, ingest at 1M): the full-text indexes keep a bulk batch's new terms in memory until the
transaction ends, so a batch is written as one segment per index (FTS5's default 1 MiB wrote it as several, each
merged again later), and searches answer the same."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import zstandard

from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash, SignatureRecord
from crashdesk.store.schema import FTS_HASHSIZE, SCHEMA_VERSION

INDEXES = ("thread_terms", "crash_terms", "crash_fts")
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "store-v10"


def _crash(n: int) -> NewCrash:
    frames = [{"frame": k, "module": "libx.so", "function": f"fn_{n}_{k}", "trust": "cfi" if k else "context"}
              for k in range(100)]
    processed = {"status": "OK", "crash_info": {"type": "SIGSEGV", "crashing_thread": 0},
                 "system_info": {"os": "Linux", "cpu_arch": "amd64"},
                 "threads": [{"thread_name": f"T{n}", "frames": frames}],
                 "modules": [{"filename": "libx.so", "debug_file": "libx.so", "debug_id": "A" * 33}]}
    return NewCrash({"ProductName": "Firefox", "Note": f"word{n}"}, processed=processed,
                    signature=SignatureRecord(f"fn_{n}_0"))


def _segments(conn, index: str) -> int:
    return conn.execute(f"SELECT count(DISTINCT segid) FROM {index}_idx").fetchone()[0]


@pytest.mark.parametrize("hashsize", [FTS_HASHSIZE, 1 << 20])
def test_a_bulk_batch_is_one_segment_per_index(tmp_path, hashsize):
    with CrashStore.open(tmp_path) as store:
        conn = store.db.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        if hashsize != FTS_HASHSIZE:  # FTS5's default: the same batch needs several segments (what v14 avoids)
            with store.db.write() as c:
                c.execute(f"INSERT INTO thread_terms (thread_terms, rank) VALUES ('hashsize', {hashsize})")
        ids = store.add_many([_crash(n) for n in range(200)])
        if hashsize == FTS_HASHSIZE:
            assert [_segments(conn, index) for index in INDEXES] == [1, 1, 1]
        else:
            assert _segments(conn, "thread_terms") > 1
        for n in (0, 77, 199):
            assert [h["crash_id"] for h in store.search(f'thread:any function:="fn_{n}_50"').hits] == [ids[n]]
            assert [h["crash_id"] for h in store.search(f"function:=fn_{n}_99").hits] == [ids[n]]
            assert [h["crash_id"] for h in store.search(f"word{n}").hits] == [ids[n]]


def test_a_migrated_store_keeps_new_terms_until_the_end_of_a_transaction(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    data = zstandard.ZstdDecompressor().decompress((FIXTURE / "store.sqlite.zst").read_bytes())
    (home / "crashdesk.sqlite").write_bytes(data)
    conn = sqlite3.connect(home / "crashdesk.sqlite")
    assert conn.execute("SELECT count(*) FROM crash_terms_config WHERE k = 'hashsize'").fetchone()[0] == 0
    conn.close()
    with CrashStore.open(home) as store:
        conn = store.db.conn
        assert [conn.execute(f"SELECT v FROM {index}_config WHERE k = 'hashsize'").fetchone()[0]
                for index in INDEXES] == [FTS_HASHSIZE] * 3
        before = {index: _segments(conn, index) for index in INDEXES}
        ids = store.add_many([_crash(n) for n in range(200)])
        assert all(_segments(conn, index) <= before[index] + 1 for index in INDEXES)
        assert [h["crash_id"] for h in store.search('thread:any function:="fn_5_50"').hits] == [ids[5]]
