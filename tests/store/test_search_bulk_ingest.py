"""``CrashStore.add_many`` (bulk ingest used by the benchmark and bulk imports) stores exactly what
``add_crash`` + ``save_processed`` store, so search sees no difference between the two paths."""

from __future__ import annotations

import json

import pytest

from crashdesk.store import CrashStore, annotation_columns, search_text
from crashdesk.store.crashes import NewCrash, SignatureRecord
from crashdesk.store.errors import DuplicateCrash

IGNORED = {"received_at", "processed_at", "dumps", "signature_history"}


def _case(test_data, name):
    folder = test_data / "crashes" / name
    return (json.loads((folder / "annotations.json").read_text()), (folder / "dump.dmp").read_bytes(),
            json.loads((folder / "expected.json").read_text()))


def _side_rows(store: CrashStore, crash_id: str):
    conn = store.db.conn
    rowid = conn.execute("SELECT id FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()[0]
    # the frame and module terms, by name (each store numbers its names in its own order)
    names = {"f": dict(conn.execute("SELECT id, name FROM function_names")),
             "p": dict(conn.execute("SELECT id, name FROM file_names")),
             "m": dict(conn.execute("SELECT id, filename || '/' || debug_id FROM modules"))}
    names["x"] = names["m"]
    (terms_annotations, processed), fts = search_text.read(conn, rowid)  # what crash_terms and crash_fts index
    frames = sorted((t[0], names[t[0]][int(t[1:])]) for t in processed.split())
    annotations = annotation_columns.crash_values(conn, rowid)
    fts = (*fts, terms_annotations)
    return frames, annotations, fts


def test_add_many_matches_the_one_by_one_path(tmp_path, test_data):
    one = CrashStore.open(tmp_path / "one")
    many = CrashStore.open(tmp_path / "many")
    try:
        items = []
        for name, sig in (("01-null-deref", "page_measure_width"), ("05-thread", "tile_blit")):
            ann, dump, processed = _case(test_data, name)
            record = SignatureRecord(sig, f"{sig} | x", ["n"], "generic")
            crash_id = one.add_crash(ann, {"upload_file_minidump": dump}, source="import",
                                     submitted_at="2026-11-01T10:00:00.000000+00:00")
            one.save_processed(crash_id, processed, signature=record)
            items.append(NewCrash(ann, {"upload_file_minidump": dump}, source="import", crash_id=crash_id,
                                  submitted_at="2026-11-01T10:00:00.000000+00:00", processed=processed,
                                  signature=record))
        items.append(NewCrash({"ProductName": "Raw"}, source="collector"))
        ids = many.add_many(items)
        assert ids[:2] == [i.crash_id for i in items[:2]]
        for crash_id in ids[:2]:
            a, b = one.get(crash_id), many.get(crash_id)
            assert {k: v for k, v in a.items() if k not in IGNORED} == {k: v for k, v in b.items()
                                                                        if k not in IGNORED}
            assert [d["sha256"] for d in a["dumps"]] == [d["sha256"] for d in b["dumps"]]
            assert [(h["signature"], h["profile"], h["active"]) for h in a["signature_history"]] == [
                (h["signature"], h["profile"], h["active"]) for h in b["signature_history"]]
            assert _side_rows(one, crash_id) == _side_rows(many, crash_id)
        assert many.get(ids[2])["state"] == "received"
        for query in ("function:~tile", "module:libc.so.6", "page_measure", "ann.ProductName:Raw",
                      "function:=main"):
            assert one.search(query).total + (query == "ann.ProductName:Raw") == many.search(query).total
        # foreign keys are back on after the batch
        assert many.db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        one.close()
        many.close()


def test_add_many_is_all_or_nothing(store):
    first = store.add_many([NewCrash({"ProductName": "A"})])[0]
    with pytest.raises(DuplicateCrash):
        store.add_many([NewCrash({"ProductName": "B"}), NewCrash({"ProductName": "C"}, crash_id=first)])
    assert store.count() == 1
    assert store.add_many([NewCrash({"ProductName": "C"}, crash_id=first)], if_exists="ignore") == [first]
    assert store.count() == 1


def test_module_facet_over_everything_stays_exact_through_reprocessing(store, test_data):
    ann, dump, processed = _case(test_data, "05-thread")
    ann2, _, processed2 = _case(test_data, "01-null-deref")
    ids = store.add_many([NewCrash(ann, processed=processed), NewCrash(ann2, processed=processed2)])
    one = store.add_crash(ann, source="collector")
    store.save_processed(one, processed)
    # reprocess with one module gone and another listed twice (a REPLACE inside one crash)
    changed = json.loads(json.dumps(processed))
    dropped = changed["modules"].pop()
    changed["modules"].append(dict(changed["modules"][0]))
    store.save_processed(ids[0], changed)
    store.save_processed(one, processed)  # same again: nothing may be counted twice

    def direct():
        return dict(store.db.conn.execute(
            "SELECT m.filename, count(DISTINCT cm.crash) FROM crash_modules cm JOIN modules m ON m.id = cm.module "
            "GROUP BY m.filename").fetchall())

    got = {b["term"]: b["count"] for b in store.search("", facets=["module"], limit=0).facets["module"]}
    assert got == direct()
    assert got[dropped["filename"]] == 2  # crash 2 and the collector crash still load it
    filtered = {b["term"]: b["count"] for b in store.search("state:processed", facets=["module"]).facets["module"]}
    assert filtered == got
