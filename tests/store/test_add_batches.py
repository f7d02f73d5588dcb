"""``CrashStore.add_batches``: a stream of batches, each committed on another thread while the next batch's
rows are drafted, stores exactly what one ``add_many`` per batch stores; a failing batch keeps nothing of
itself and loses none of the batches before it; rows drafted for row ids that another writer took meanwhile
are built again."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash, SignatureRecord
from crashdesk.store.errors import DuplicateCrash
from tests.store.test_search_bulk_ingest import IGNORED, _side_rows

QUERIES = ("function:~tile", "module:libc.so.6", "page_measure", "ann.Seq:3", "thread:any function:~main",
           "ann.ProductName:Raw", "frame.module:libc.so.6@>=0.0", "thread:any frame.module:demo-viewer@>=0.0",
           "thread:main frame.module:libc.so.6", "file:~c")


def _crashes(test_data, count: int) -> list[NewCrash]:
    """``count`` crashes made from the two real ones in tests/data (each with its own id and annotations), one
    in five raw only."""
    cases = []
    for name, sig in (("01-null-deref", "page_measure_width"), ("05-thread", "tile_blit")):
        folder = test_data / "crashes" / name
        cases.append((json.loads((folder / "annotations.json").read_text()),
                      json.loads((folder / "expected.json").read_text()), sig))
    out = []
    for n in range(count):
        ann, processed, sig = cases[n % 2]
        crash_id = f"{n:08x}-0000-4000-8000-000000261207"
        if n % 5 == 4:
            out.append(NewCrash({"ProductName": "Raw", "Seq": str(n)}, source="collector", crash_id=crash_id,
                                submitted_at="2026-12-07T09:00:00.000000+00:00"))
            continue
        out.append(NewCrash({**ann, "Seq": str(n)}, source="import", crash_id=crash_id, processed=processed,
                            submitted_at=f"2026-12-0{1 + n % 7}T10:00:00.000000+00:00",
                            signature=SignatureRecord(sig, f"{sig} | x", ["n"], "generic")))
    return out


def _same_crashes(a: CrashStore, b: CrashStore, ids: list[str]) -> None:
    for crash_id in ids:
        one, two = a.get(crash_id), b.get(crash_id)
        assert {k: v for k, v in one.items() if k not in IGNORED} == {k: v for k, v in two.items()
                                                                    if k not in IGNORED}
        assert _side_rows(a, crash_id) == _side_rows(b, crash_id)
    for query in QUERIES:
        hits = [sorted(h["crash_id"] for h in store.search(query, limit=500).hits) for store in (a, b)]
        assert hits[0] == hits[1], query
        assert hits[0] or query == "ann.Seq:3", query  # each query finds something


def _same_as_add_many(folder, store: CrashStore, batches: list[list[NewCrash]]) -> None:
    """``store`` holds what one add_many per batch stores in a new store in ``folder``."""
    reference = CrashStore.open(folder)
    try:
        for batch in batches:
            reference.add_many(batch)
        _same_crashes(reference, store, [c.crash_id for batch in batches for c in batch])
    finally:
        reference.close()


def test_a_stream_of_batches_stores_what_add_many_stores(tmp_path, test_data):
    crashes = _crashes(test_data, 23)
    batches = [crashes[0:5], crashes[5:6], [], crashes[6:15], crashes[15:23]]
    reference = CrashStore.open(tmp_path / "many")
    streamed = CrashStore.open(tmp_path / "stream")
    try:
        expected = [reference.add_many(batch) for batch in batches]
        got = list(streamed.add_batches(batches))
        assert got == expected == [[c.crash_id for c in batch] for batch in batches]
        assert streamed.count() == 23
        _same_crashes(reference, streamed, [c.crash_id for c in crashes])
        # the row ids follow each other as add_many gives them
        assert (streamed.db.conn.execute("SELECT crash_id FROM crashes ORDER BY id").fetchall()
                == reference.db.conn.execute("SELECT crash_id FROM crashes ORDER BY id").fetchall())
        assert streamed.db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert not streamed.db.conn.in_transaction
        assert streamed.ingest_seconds["draft"] > 0 and streamed.ingest_seconds["commit"] > 0
    finally:
        reference.close()
        streamed.close()


def test_a_failing_batch_keeps_nothing_of_itself_and_loses_no_earlier_batch(tmp_path, test_data):
    crashes = _crashes(test_data, 12)
    store = CrashStore.open(tmp_path / "s")
    try:
        duplicate = NewCrash({"ProductName": "Dup"}, crash_id=crashes[1].crash_id)
        stream = store.add_batches([crashes[0:4], crashes[4:8] + [duplicate], crashes[8:12]])
        assert next(stream) == [c.crash_id for c in crashes[0:4]]
        with pytest.raises(DuplicateCrash):
            next(stream)
        assert store.count() == 4
        assert store.search("ann.Seq:5").total == 0
        assert store.db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        # the store goes on: the failed batch again, without its duplicate, and the last one
        assert list(store.add_batches([crashes[4:8], crashes[8:12]])) == [
            [c.crash_id for c in crashes[4:8]], [c.crash_id for c in crashes[8:12]]]
        _same_as_add_many(tmp_path / "r", store, [crashes])
    finally:
        store.close()


def test_an_error_while_a_batch_commits_keeps_that_batch(tmp_path, test_data):
    crashes = _crashes(test_data, 6)
    store = CrashStore.open(tmp_path / "s")
    try:
        # the second batch's bad crash id is found while its rows are drafted, as the first batch commits
        with pytest.raises(ValueError, match="not a crash id"):
            list(store.add_batches([crashes[0:3], [*crashes[3:5], NewCrash({}, crash_id="not-an-id")]]))
        assert sorted(r[0] for r in store.db.conn.execute("SELECT crash_id FROM crashes")) == sorted(
            c.crash_id for c in crashes[0:3])
        assert not store.db.conn.in_transaction
        assert store.add_many(crashes[3:6]) == [c.crash_id for c in crashes[3:6]]
        _same_as_add_many(tmp_path / "r", store, [crashes])
    finally:
        store.close()


def test_rows_drafted_for_ids_another_writer_took_are_built_again(tmp_path, test_data):
    crashes = _crashes(test_data, 10)
    store = CrashStore.open(tmp_path / "s")
    other = CrashStore.open(tmp_path / "s")  # another writer on the same file (the collector, another process)
    try:
        stream = store.add_batches([crashes[0:4], crashes[4:10]])
        assert len(next(stream)) == 4  # by now the second batch's rows are drafted for the ids after the first's
        taken = other.add_many([NewCrash({"ProductName": "Other"}, source="collector")])[0]
        assert next(stream) == [c.crash_id for c in crashes[4:10]]
        with pytest.raises(StopIteration):
            next(stream)
        assert store.count() == 11
        assert store.get(taken)["product"] == "Other"
        _same_as_add_many(tmp_path / "r", store, [crashes])
    finally:
        other.close()
        store.close()


def test_duplicates_skipped_in_a_stream_leave_the_rest_correct(tmp_path, test_data):
    crashes = _crashes(test_data, 9)
    store = CrashStore.open(tmp_path / "s")
    try:
        store.add_many([crashes[5]])
        got = list(store.add_batches([crashes[0:3], crashes[3:9]], if_exists="ignore"))
        assert got == [[c.crash_id for c in crashes[0:3]], [c.crash_id for c in crashes[3:9]]]
        assert store.count() == 9
        _same_as_add_many(tmp_path / "r", store, [[crashes[5]], crashes[0:3], crashes[3:5] + crashes[6:9]])
    finally:
        store.close()


def _vocabulary(store: CrashStore) -> dict[str, list[tuple[str, int]]]:
    """Every term of the three full-text indexes with the number of crashes holding it (what searches match)."""
    conn = store.db.conn
    out = {}
    for table in ("crash_fts", "crash_terms", "thread_terms"):
        conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.v_{table} USING fts5vocab(main, {table}, row)")
        out[table] = conn.execute(f"SELECT term, doc FROM temp.v_{table} ORDER BY term").fetchall()
    return out


# text that JSON must escape or that a tokenizer treats specially, in the values the full-text indexes take
AWKWARD = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ['"quoted" \\back\\slash', "tab\there\nnewline", "nul\x00inside", "emoji \U0001f4a5 and \u202eRTL",
     "ünïcödé wörds", "a" * 3000, "{\"json\": [1, 2]}", "'; DROP TABLE crashes; --"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(AWKWARD, min_size=1, max_size=6), signature=AWKWARD)
def test_full_text_inserted_from_the_commit_thread_equals_the_row_by_row_path(tmp_path_factory, test_data, values,
                                                                              signature):
    crashes = _crashes(test_data, 6)
    for n, crash in enumerate(crashes):
        crash.annotations = {**crash.annotations, **{f"Awkward{k}": v for k, v in enumerate(values)}}
        if crash.signature is not None:
            crash.signature = SignatureRecord(signature + str(n), None, [], "generic")
    folder = tmp_path_factory.mktemp("fts")
    reference = CrashStore.open(folder / "many")
    streamed = CrashStore.open(folder / "stream")
    try:
        reference.add_many(crashes[:3])
        reference.add_many(crashes[3:])
        assert list(streamed.add_batches([crashes[:3], crashes[3:]])) == [
            [c.crash_id for c in crashes[:3]], [c.crash_id for c in crashes[3:]]]
        assert _vocabulary(streamed) == _vocabulary(reference)
        assert _vocabulary(streamed)["crash_fts"]  # the texts were indexed at all
    finally:
        reference.close()
        streamed.close()


def test_a_statement_failing_on_the_commit_thread_rolls_the_transaction_back(tmp_path):
    store = CrashStore.open(tmp_path)
    try:
        store.add_many([NewCrash({"ProductName": "Kept"})])
        conn = store.db.conn
        store.db.begin(conn)
        conn.execute("INSERT INTO settings (key, value) VALUES ('written-before', 'x')")
        wait = store.db.commit_later(conn, [("INSERT INTO settings (key, value) VALUES ('late', ?)", ("y",)),
                                            ("INSERT INTO no_such_table VALUES (?)", (1,))])
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            wait()
        assert not conn.in_transaction
        assert conn.execute("SELECT count(*) FROM settings WHERE key IN ('written-before', 'late')").fetchone() == (0,)
        assert store.count() == 1
        # the connection goes on
        assert len(store.add_many([NewCrash({"ProductName": "Next"})])) == 1
        assert store.count() == 2
    finally:
        store.close()


def test_add_many_names_the_crashes_it_skipped_as_stored(tmp_path, test_data):
    crashes = _crashes(test_data, 6)
    store = CrashStore.open(tmp_path / "s")
    try:
        store.add_many([crashes[1], crashes[4]])
        again = NewCrash({"ProductName": "Again"}, crash_id=crashes[2].crash_id)  # the same id later in the batch
        skipped: list[str] = []
        ids = store.add_many([*crashes, again], if_exists="ignore", skipped=skipped)
        assert ids == [c.crash_id for c in crashes] + [crashes[2].crash_id]
        assert skipped == [crashes[1].crash_id, crashes[4].crash_id, crashes[2].crash_id]
        assert store.count() == 6 and store.get(crashes[2].crash_id)["product"] != "Again"
        _same_as_add_many(tmp_path / "r", store, [[crashes[1], crashes[4]], crashes[0:1] + crashes[2:4] + crashes[5:]])
    finally:
        store.close()
