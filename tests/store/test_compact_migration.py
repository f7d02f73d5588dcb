"""The issue-27 storage migration on a store written by the previous schema (v10): ``tests/data/store-v10`` holds
a store built by that revision's CrashDesk and that revision's answers to a set of searches
(``tests/data/store-v10/build.py``). After the migration every search gives the same crashes, every document
reads the same, the module links read the same through ``crash_modules``; compacting then changes none of it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import zstandard

from crashdesk.store import CrashStore, codec
from crashdesk.store.crashes import NewCrash
from crashdesk.store.schema import SCHEMA_VERSION

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "store-v10"


@pytest.fixture
def old_store(tmp_path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    data = zstandard.ZstdDecompressor().decompress((FIXTURE / "store.sqlite.zst").read_bytes())
    (home / "crashdesk.sqlite").write_bytes(data)
    return home


def _old_contents(db: Path) -> dict:
    """What the v10 store holds, read with plain SQL before anything migrates it."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 10
        docs = {cid: (codec.unpack(p), json.loads(raw)) for cid, p, raw in
                conn.execute("SELECT crash_id, processed, raw FROM crashes")}
        modules = {}
        for cid, *row in conn.execute(
                "SELECT c.crash_id, m.filename, m.debug_id, cm.base_addr, cm.symbol_status, cm.symbol_note "
                "FROM crash_modules cm JOIN modules m ON m.id = cm.module JOIN crashes c ON c.id = cm.crash "
                "ORDER BY c.crash_id, cm.base_addr, m.filename"):
            modules.setdefault(cid, []).append(tuple(row))
        frames = conn.execute("SELECT count(*) FROM frames").fetchone()[0]
    finally:
        conn.close()
    return {"docs": docs, "modules": modules, "frames": frames}


def _check(store: CrashStore, old: dict, answers: dict) -> None:
    for query, expected in answers.items():
        assert sorted(h["crash_id"] for h in store.search(query, limit=1000).hits) == expected, query
    for crash_id, (processed, raw) in old["docs"].items():
        assert store.processed(crash_id) == processed
        assert store.annotations(crash_id) == raw
        got = store.get(crash_id)
        assert got["annotations"] == raw
        mods = sorted((m["filename"], m["debug_id"], m["base_addr"], m["symbol_status"], m["symbol_note"])
                      for m in got["modules"])
        assert mods == sorted(old["modules"].get(crash_id, [])), crash_id


def test_a_v10_store_migrates_with_the_same_answers(old_store):
    answers = json.loads((FIXTURE / "answers.json").read_text())
    assert sum(map(len, answers.values())) > 200 and all(answers.values())  # every query finds something
    old = _old_contents(old_store / "crashdesk.sqlite")
    assert old["frames"] > 0
    with CrashStore.open(old_store) as store:
        conn = store.db.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'frames'").fetchone()[0] == 0
        kinds = dict(conn.execute("SELECT typeof(base_addrs), count(*) FROM crash_module_links GROUP BY 1"))
        assert kinds["blob"] > 0 and kinds["text"] == 1  # the crash with a short base address keeps JSON text
        _check(store, old, answers)
        # new crashes written after the migration are found together with the old ones
        cid = next(iter(answers["function:=tile_blit"]))
        processed, raw = old["docs"][cid]
        new = store.add_many([NewCrash(raw, processed=processed)])[0]
        for query in ("function:=tile_blit", "file:~demo_viewer", "file:^nptl", "module:libdemo_codec.so"):
            assert sorted(h["crash_id"] for h in store.search(query, limit=1000).hits) == sorted(
                [*answers[query], new]), query
        assert store.processed(new) == processed


def test_compacting_a_migrated_store_keeps_every_answer_and_shrinks_it(old_store):
    answers = json.loads((FIXTURE / "answers.json").read_text())
    old = _old_contents(old_store / "crashdesk.sqlite")
    with CrashStore.open(old_store) as store:
        store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        migrated = (old_store / "crashdesk.sqlite").stat().st_size
        # the fixture is small: train with what there is
        import crashdesk.store.dictionaries as dictionaries

        saved = dictionaries.TRAIN_MIN, dictionaries.MIN_TRAIN_BYTES
        dictionaries.TRAIN_MIN, dictionaries.MIN_TRAIN_BYTES = 10, 0
        try:
            result = store.compact()
        finally:
            dictionaries.TRAIN_MIN, dictionaries.MIN_TRAIN_BYTES = saved
        assert set(result.dictionaries_trained) == set(dictionaries.KINDS)
        assert result.documents_recompressed >= 3 * 16  # processed, signature input and raw of each crash
        assert result.bytes_after < migrated
        blobs = store.db.conn.execute("SELECT processed, raw FROM crashes WHERE processed IS NOT NULL").fetchall()
        assert all(zstandard.get_frame_parameters(p).dict_id for p, _ in blobs)
        assert all(isinstance(r, bytes) for _, r in blobs)
        _check(store, old, answers)
        # the documents stored whole before v13 are split from their signature input, and the base addresses the
        # processed crash gives are no longer kept in the links (issue 27, slimstore)
        conn = store.db.conn
        assert conn.execute("SELECT count(*) FROM signature_inputs WHERE split IS NOT NULL").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM crash_module_links WHERE length(base_addrs) > 0").fetchone()[0] == 0
        again = store.compact(vacuum=False)  # nothing left to do
        assert again.documents_recompressed == 0 and again.dictionaries_trained == []
    saved = dict(codec._dictionaries)
    codec._dictionaries.clear()  # as in a new process: the dictionaries come from the store
    codec._local.__dict__.clear()
    try:
        with CrashStore.open(old_store) as store:
            _check(store, old, answers)
    finally:
        codec._dictionaries.update(saved)


def _vocab(conn, table: str) -> dict[str, int]:
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.v_{table} USING fts5vocab(main, {table}, row)")
    return dict(conn.execute(f"SELECT term, doc FROM temp.v_{table}"))


def test_contentless_indexes_stay_exact_through_updates_and_deletes(store, test_data):
    """The FTS5 tables keep no content: every change must take out exactly the terms a crash was indexed with.
    After reprocessing, re-signing, an undone run, replaced annotations and deleted crashes, each index holds
    exactly the terms of the crashes still stored (``search_text`` / ``thread_terms_text``: what was indexed)."""
    from crashdesk.store import search_text
    from crashdesk.store.crashes import SignatureRecord

    docs = {}
    for name in ("01-null-deref", "05-thread"):
        folder = test_data / "crashes" / name
        docs[name] = (json.loads((folder / "annotations.json").read_text()),
                      json.loads((folder / "expected.json").read_text()))
    ids = store.add_many([NewCrash({**docs[n][0], "Seq": str(k)}, processed=docs[n][1],
                                   signature=SignatureRecord(f"start{k} | {n}"))
                          for k, n in enumerate(["01-null-deref", "05-thread"] * 4)])
    single = store.add_crash(docs["05-thread"][0], source="collector")
    store.save_processed(single, docs["05-thread"][1])
    store.save_processed(ids[0], docs["05-thread"][1])  # reprocessed with another document
    store.save_processed(single, docs["01-null-deref"][1], all_thread_frames=True)
    store.record_signature(ids[1], SignatureRecord("Qwertyold | x"))
    store.record_signatures([(ids[1], SignatureRecord("Qwertynew | y", run_id="run-1"))])
    store.undo_signature_run("run-1")  # back to Qwertyold
    store.replace_annotations(ids[2], {"ProductName": "Zebra", "Note": "uniquezebra words"})
    store.record_signature(ids[3], SignatureRecord("Doomedword | z"))
    conn = store.db.conn
    conn.execute("DELETE FROM crashes WHERE crash_id IN (?, ?)", (ids[3], ids[4]))

    live = {r[0] for r in conn.execute("SELECT id FROM crashes")}
    expected_terms: dict[str, int] = {}
    for (rowid,) in conn.execute("SELECT crash FROM search_text"):
        assert rowid in live
        (annotations, processed), _ = search_text.read(conn, rowid)
        for term in set(annotations.split()) | set(processed.split()):
            expected_terms[term] = expected_terms.get(term, 0) + 1
    assert _vocab(conn, "crash_terms") == expected_terms
    expected_threads: dict[str, int] = {}
    for rowid, blob in conn.execute("SELECT crash, terms FROM thread_terms_text"):
        assert rowid in live
        for term in set(codec.text(blob).split()):
            expected_threads[term] = expected_threads.get(term, 0) + 1
    assert _vocab(conn, "thread_terms") == expected_threads
    words = _vocab(conn, "crash_fts")
    assert "doomedword" not in words and "qwertynew" not in words and "start1" not in words
    assert words["qwertyold"] == 1 and words["uniquezebra"] == 1 and words["start0"] == 1

    def hits(q):
        return {h["crash_id"] for h in store.search(q, limit=100).hits}
    assert hits("qwertyold") == {ids[1]} and hits("uniquezebra") == {ids[2]} and hits("qwertynew") == set()
