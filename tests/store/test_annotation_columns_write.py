"""``annotation_columns.write`` as bulk ingest calls it, batch after batch: every value kept where it belongs, and
each write rewriting a bounded number of chunks however long the column already is (a write once merged every
full chunk before it back into the batch: about half of each key's column re-read and rewritten per batch)."""

from __future__ import annotations

import pytest

from crashdesk.store import CrashStore, annotation_columns


@pytest.mark.parametrize("batch", [1, 7, 25, 64, 100])
def test_bulk_batches_rewrite_few_chunks_and_keep_every_value(tmp_path, monkeypatch, batch):
    monkeypatch.setattr(annotation_columns, "CAP", 64)
    with CrashStore.open(tmp_path) as store:
        conn = store.db.conn
        conn.execute("CREATE TEMP TABLE rewritten (n INTEGER)")
        conn.execute("INSERT INTO rewritten VALUES (0)")
        conn.execute("CREATE TEMP TRIGGER count_rewrites AFTER DELETE ON main.annotation_columns "
                     "BEGIN UPDATE rewritten SET n = n + 1; END")
        expected: dict[str, dict[int, str]] = {"A": {}, "B": {}}
        most = 0
        rowid = 1
        for _ in range(1500 // batch):
            changes: dict[str, dict[int, str]] = {"A": {}, "B": {}}
            for crash in range(rowid, rowid + batch):
                changes["A"][crash] = f"a{crash}"
                if crash % 3:  # B has gaps: crashes without that annotation
                    changes["B"][crash] = f"b{crash}"
            rowid += batch
            conn.execute("UPDATE rewritten SET n = 0")
            with store.db.write() as c:
                annotation_columns.write(c, changes)
            most = max(most, conn.execute("SELECT n FROM rewritten").fetchone()[0])
            for key, values in changes.items():
                expected[key].update(values)
        # chunks a write takes back: the ones its crashes join, at most a few per key (not the whole column)
        assert most <= 2 * 4
        for key, values in expected.items():
            rows = conn.execute("SELECT first, last, vals FROM annotation_columns WHERE key = ? ORDER BY first",
                                (key,)).fetchall()
            stored = {}
            previous_last = 0
            for first, last, blob in rows:
                assert previous_last < first <= last and last - first + 1 <= 64  # no overlap, at most CAP
                previous_last = last
                chunk = annotation_columns.decode(blob)
                assert len(chunk) == last - first + 1
                stored.update((first + i, v) for i, v in enumerate(chunk) if v is not None)
            assert stored == values
            assert annotation_columns.crashes_with(conn, key) == sorted(values)
