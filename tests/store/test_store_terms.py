"""Schema v8: module, function and annotation searches go through ``crash_terms`` (an FTS5 inverted index)
instead of B-tree indexes over the side tables. These tests check the index against the side tables it
summarises, the migration of a v7 database, and the one-pass facet counting against the per-facet SQL."""

from __future__ import annotations

import json
import zlib

import pytest

from crashdesk.model.summary import frame_rows
from crashdesk.store import CrashStore, annotation_columns, codec, search_text
from crashdesk.store import crashes as crashes_module
from crashdesk.store.crashes import NewCrash, SignatureRecord
from crashdesk.store.schema import SCHEMA_VERSION, upgrade_needed
from crashdesk.store.search import FACET_COLUMNS, column_facets_one_pass, facet_counts
from crashdesk.store.terms import ASCII_FOLD


def _case(test_data, name):
    folder = test_data / "crashes" / name
    return json.loads((folder / "annotations.json").read_text()), json.loads((folder / "expected.json").read_text())


@pytest.fixture
def filled(store, test_data):
    """Crashes from both corpus cases, written by both write paths, with varied annotations."""
    items = []
    for n in range(12):
        name = ("01-null-deref", "05-thread")[n % 2]
        ann, processed = _case(test_data, name)
        ann = {**ann, "URL": f"https://host{n % 3}.example.com/page?n={n}", "ProcessType": ("gpu", "GPU", "tab")[n % 3],
               "Note": "ÉCOLE" if n % 4 == 0 else "école"}
        processed = json.loads(json.dumps(processed))
        if n % 3 == 1:  # not every crash loads every module
            processed["modules"] = processed["modules"][:-2]
        if n % 5 == 0:  # a module whose symbols went missing
            processed["modules"][0]["loaded_symbols"] = False
            processed["modules"][0]["missing_symbols"] = True
        sig = SignatureRecord(f"sig{n % 4} | {name}", None, [], "generic")
        if n < 8:
            items.append(NewCrash(ann, processed=processed, signature=sig,
                                  submitted_at=f"2026-11-{10 + n:02d}T10:00:00.000000+00:00"))
        else:
            crash_id = store.add_crash(ann, source="collector")
            store.save_processed(crash_id, processed, signature=sig)
    store.add_many(items)
    return store


def _ids(store, sql, params=()):
    return {r[0] for r in store.db.conn.execute(sql, params)}


def _raw(store) -> dict[str, dict]:
    """Each crash's raw annotations (the oracle for ann.KEY searches)."""
    return {cid: store.annotations(cid) for (cid,) in store.db.conn.execute("SELECT crash_id FROM crashes")}


def _hits(store, query):
    return {h["crash_id"] for h in store.search(query, limit=1000).hits}


def test_module_searches_agree_with_the_module_links(filled):
    conn = filled.db.conn
    names = [r[0] for r in conn.execute("SELECT DISTINCT filename FROM modules")]
    assert len(names) >= 5
    sizes = set()
    for name in names:
        expected = _ids(filled, "SELECT c.crash_id FROM crash_modules cm JOIN modules m ON m.id = cm.module "
                                "JOIN crashes c ON c.id = cm.crash WHERE m.filename = ?", (name,))
        assert _hits(filled, f'module:="{name}"') == expected, name
        sizes.add(len(expected))
    assert len(sizes) > 1  # some modules are in fewer crashes than others
    some = names[0][:4]
    expected = _ids(filled, "SELECT c.crash_id FROM crash_modules cm JOIN modules m ON m.id = cm.module "
                            "JOIN crashes c ON c.id = cm.crash WHERE m.filename LIKE ?", (f"%{some}%",))
    assert _hits(filled, f"module:~{some}") == expected
    assert _hits(filled, "module:~no-such-module-anywhere") == set()


def test_missing_symbol_lookups_agree_with_the_statuses(filled):
    conn = filled.db.conn
    rows = conn.execute("SELECT DISTINCT m.filename FROM crash_modules cm JOIN modules m ON m.id = cm.module "
                        "WHERE cm.symbol_status = 'missing'").fetchall()
    assert rows
    for (name,) in rows:
        expected = sorted(_ids(filled, "SELECT c.crash_id FROM crash_modules cm JOIN modules m ON m.id = cm.module "
                                       "JOIN crashes c ON c.id = cm.crash WHERE m.filename = ? "
                                       "AND cm.symbol_status = 'missing'", (name,)))
        assert sorted(filled.crash_ids_missing_symbols(filename=name)) == expected


def _stored_frames(store) -> dict[str, list]:
    """Each crash's stored frames as the processed documents give them (``model.summary.frame_rows``: the
    crashing thread), the oracle for the frame searches (the store keeps only their terms)."""
    return {crash_id: frame_rows(store.processed(crash_id)) if blob is not None else []
            for crash_id, blob in store.db.conn.execute("SELECT crash_id, processed FROM crashes")}


def _frame_hits(frames: dict[str, list], predicate) -> set[str]:
    return {crash_id for crash_id, rows in frames.items() if any(predicate(r) for r in rows)}


def test_function_searches_agree_with_the_frames(filled):
    frames = _stored_frames(filled)
    functions = sorted({r.function for rows in frames.values() for r in rows if r.function})
    assert len(functions) > 5
    for fn in functions:
        expected = _frame_hits(frames, lambda r, fn=fn: r.function is not None and r.function.lower() == fn.lower())
        assert _hits(filled, f'function:="{fn}"') == expected, fn
    part = functions[0][1:5]
    expected = _frame_hits(frames, lambda r: r.function is not None and part.lower() in r.function.lower())
    assert _hits(filled, f'function:~"{part}"') == expected


def test_file_searches_agree_with_the_frames(filled, test_data):
    # one crash whose frames name no function or file, one never processed: the __null__ answers
    ann, processed = _case(test_data, "05-thread")
    bare = json.loads(json.dumps(processed))
    for thread in bare["threads"]:
        for frame in thread["frames"]:
            frame.pop("function", None)
            frame.pop("file", None)
            frame.pop("inlines", None)
    bare.pop("crashing_thread", None)
    filled.add_many([NewCrash(ann, processed=bare), NewCrash(ann)])
    frames = _stored_frames(filled)
    files = sorted({r.file for rows in frames.values() for r in rows if r.file})
    assert len(files) > 3
    sizes = set()
    for name in files:
        expected = _frame_hits(frames, lambda r, name=name: r.file is not None and r.file.lower() == name.lower())
        assert _hits(filled, f'file:="{name}"') == expected, name
        sizes.add(len(expected))
    assert len(sizes) > 1
    base = files[0].replace("\\", "/").rsplit("/", 1)[-1]
    for op, part, test in (("~", base[1:6], lambda f, p: p in f), ("^", files[0][:5], str.startswith),
                           ("$", base[-4:], str.endswith), ("~", files[-1][-3:-1], lambda f, p: p in f)):
        expected = _frame_hits(frames, lambda r, p=part.lower(), t=test: r.file is not None and t(r.file.lower(), p))
        assert expected, (op, part)
        assert _hits(filled, f'file:{op}"{part}"') == expected, (op, part)
    for fld in ("file", "function"):
        expected = {crash_id for crash_id, rows in frames.items() if not any(getattr(r, fld) for r in rows)}
        assert len(expected) == 2
        assert _hits(filled, f"{fld}:__null__") == expected, fld


def test_annotation_exact_search_keeps_sqlite_nocase_semantics(filled):
    for key, value in (("ProcessType", "gpu"), ("ProcessType", "GPU"), ("Note", "école"), ("Note", "ÉCOLE"),
                       ("URL", "https://host1.example.com/page?n=4")):
        expected = {cid for cid, raw in _raw(filled).items() if isinstance(raw.get(key), str) and
                    raw[key].translate(ASCII_FOLD) == value.translate(ASCII_FOLD)}  # SQLite's NOCASE
        assert expected
        assert _hits(filled, f'ann.{key}:="{value}"') == expected, (key, value)
    # ASCII folds, other letters do not (SQLite's NOCASE): "école" and "ÉCOLE" stay apart
    assert _hits(filled, 'ann.Note:="école"') != _hits(filled, 'ann.Note:="ÉCOLE"')
    assert _hits(filled, 'ann.ProcessType:="gpu"') == _hits(filled, 'ann.ProcessType:="GPU"')


def test_signature_contains_uses_every_signature_a_crash_can_have(filled):
    expected = _ids(filled, "SELECT crash_id FROM crashes WHERE signature LIKE '%ig1 | 05%'")
    assert expected
    assert _hits(filled, 'signature:~"ig1 | 05"') == expected
    # after a re-signature the new name is searchable and the old one no longer matches that crash
    crash_id = next(iter(expected))
    filled.record_signature(crash_id, SignatureRecord("brand new | thing", None, [], "generic"))
    assert _hits(filled, "signature:~rand new") == {crash_id}
    assert crash_id not in _hits(filled, 'signature:~"ig1 | 05"')


def test_replacing_annotations_moves_their_search_terms(filled):
    crash_id = next(iter(_hits(filled, 'ann.ProcessType:="tab"')))
    filled.replace_annotations(crash_id, {"ProductName": "Other", "ProcessType": "rdd"})
    assert crash_id not in _hits(filled, 'ann.ProcessType:="tab"')
    assert crash_id in _hits(filled, 'ann.ProcessType:="rdd"')
    conn = filled.db.conn
    rowid = conn.execute("SELECT id FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()[0]
    assert annotation_columns.crash_values(conn, rowid) == [("ProcessType", "rdd"), ("ProductName", "Other")]
    assert crash_id in _hits(filled, "ann.ProcessType:~dd") and crash_id not in _hits(filled, "ann.ProcessType:~tab")
    assert crash_id in _hits(filled, "ann.URL:__null__")


def test_one_pass_facets_equal_the_per_facet_sql(filled):
    filled.add_crash({"ProductName": "Odd\x1e\x1fName", "Version": "1.0"}, source="import")  # holds the separator
    filled.add_crash({"ProductName": "odd\x1e\x1fname", "Version": "1.0"}, source="import")
    conn = filled.db.conn
    columns = list(FACET_COLUMNS)
    for where, params in (("c.state = ?", ["processed"]), ("c.id > ?", [3]), ("1", [])):
        together = column_facets_one_pass(conn, columns, where, params, 50)
        for facet in columns:
            assert together[facet] == facet_counts(conn, facet, where, params, 50), facet


def test_a_v7_database_migrates_with_its_links_and_terms(tmp_path, v7_database, caplog):
    v7_database(tmp_path / "crashdesk.sqlite")
    assert upgrade_needed(tmp_path / "crashdesk.sqlite") == 1
    store = CrashStore.open(tmp_path)
    try:
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert "upgrading the crash store from schema 7" in caplog.text  # said before the long part
        assert upgrade_needed(tmp_path / "crashdesk.sqlite") is None
        crash = store.get("abcdef01-2345-6789-abcd-ef0123261120")
        assert [(m["filename"], m["base_addr"], m["symbol_status"], m["symbol_note"]) for m in crash["modules"]] == [
            ("libfoo.so", "0x1000", "loaded", None), ("libbar.so", "0x2000", "missing", "not on any server")]
        assert crash["processed"] == {"modules": [{"filename": "libfoo.so"}], "threads": []}  # zlib still reads
        assert crash["annotations"] == {"ProductName": "Old", "URL": "https://x.example/a"}
        for query in ("module:libbar.so", "module:libfoo.so@1.0", "function:~robni", 'ann.URL:="https://x.example/a"',
                      "ann.URL:~example", "signature:~_sig", "Frobnicate"):
            assert store.search(query).total == 1, query
        assert store.search("module:libbar.so@>=3").total == 0
        assert store.crash_ids_missing_symbols(filename="libbar.so") == ["abcdef01-2345-6789-abcd-ef0123261120"]
        assert store.crash_ids_missing_symbols(filename="libfoo.so") == []
        got = {b["term"]: b["count"] for b in store.search("", facets=["module"]).facets["module"]}
        assert got == {"libfoo.so": 1, "libbar.so": 1}
    finally:
        store.close()


def test_codec_reads_zlib_and_zstd_and_writes_zstd():
    doc = {"a": [1, 2, {"b": "é"}], "n": None}
    packed = codec.pack(doc)
    assert packed[:4] == b"\x28\xb5\x2f\xfd"
    assert codec.unpack(packed) == doc
    assert codec.unpack(zlib.compress(json.dumps(doc).encode())) == doc
    assert codec.unpack(codec.pack({"big": 1 << 70})) == {"big": 1 << 70}  # past orjson's integers


def _varied(test_data, n):
    """n crashes from the two corpus cases, each with a module and a function of its own."""
    out = []
    for i in range(n):
        ann, processed = _case(test_data, ("01-null-deref", "05-thread")[i % 2])
        processed = json.loads(json.dumps(processed))
        processed["modules"].append({"filename": f"plugin{i % 37}.so", "debug_file": f"plugin{i % 37}.so",
                                     "debug_id": f"{i % 37:032X}0", "base_addr": "0x7f0000000000",
                                     "missing_symbols": i % 2 == 0})
        frames = processed["threads"][processed["crash_info"]["crashing_thread"]]["frames"]
        frames[0] = {**frames[0], "function": f"Plugin{i % 53}::Run"}
        out.append(NewCrash({**ann, "Seq": str(i)}, processed=processed, crash_id=None,
                            signature=SignatureRecord(f"Plugin{i % 53}::Run", None, [], "generic"),
                            submitted_at=f"2026-11-{1 + i % 28:02d}T10:00:00.000000+00:00"))
    return out


def test_a_batch_of_several_chunks_stores_what_the_one_by_one_path_stores(tmp_path, test_data, monkeypatch):
    monkeypatch.setattr(crashes_module, "CHUNK", 64)
    items = _varied(test_data, 230)  # several chunks, new modules and names in each
    bulk, single = CrashStore.open(tmp_path / "bulk"), CrashStore.open(tmp_path / "single")
    try:
        ids = bulk.add_many(items)
        for crash_id, item in zip(ids, items, strict=True):
            single.add_crash(item.annotations, source=item.source, crash_id=crash_id,
                             submitted_at=item.submitted_at)
            single.save_processed(crash_id, item.processed, signature=item.signature)
        ignored = {"received_at", "processed_at", "signature_history"}
        for crash_id in ids[::23]:
            a, b = bulk.get(crash_id), single.get(crash_id)
            assert {k: v for k, v in a.items() if k not in ignored} == {k: v for k, v in b.items()
                                                                        if k not in ignored}
        for query in ("module:plugin5.so", "module:~plugin1", "function:=Plugin7::Run", "function:~gin4",
                      'ann.Seq:="17"', "ann.Seq:~9", "signature:~gin3", "Plugin12"):
            assert {h["crash_id"] for h in bulk.search(query, limit=500).hits} == {
                h["crash_id"] for h in single.search(query, limit=500).hits}, query
        assert sorted(bulk.crash_ids_missing_symbols(filename="plugin4.so")) == sorted(
            single.crash_ids_missing_symbols(filename="plugin4.so"))
        assert bulk.search("", facets=["module"]).facets == single.search("", facets=["module"]).facets
    finally:
        bulk.close()
        single.close()


def test_a_batch_of_several_chunks_is_all_or_nothing(store, test_data, monkeypatch):
    monkeypatch.setattr(crashes_module, "CHUNK", 64)
    items = _varied(test_data, 150)
    items[120].processed["bad"] = {1, 2}  # not JSON: fails while the first chunks are already written
    with pytest.raises(TypeError):
        store.add_many(items)
    assert store.count() == 0
    conn = store.db.conn
    for table in ("annotation_columns", "file_names", "crash_module_links", "crash_terms", "crash_fts", "signature_history"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert conn.execute("SELECT count(*) FROM modules WHERE filename LIKE 'plugin%'").fetchone()[0] == 0
    # the ids it saw in the rolled-back transaction are not remembered: the same crashes go in cleanly now
    del items[120].processed["bad"]
    assert len(store.add_many(items)) == 150
    assert store.search("module:plugin3.so").total == len([i for i in range(150) if i % 37 == 3])


def test_modules_missing_symbols_counts_agree_with_the_links_through_reprocessing(filled, test_data):
    def direct():
        return {(r[0], r[1]): (r[2], r[3]) for r in filled.db.conn.execute(
            "SELECT m.debug_file, m.debug_id, count(DISTINCT cm.crash), group_concat(DISTINCT cm.symbol_status) "
            "FROM crash_modules cm JOIN modules m ON m.id = cm.module "
            "WHERE cm.symbol_status IN ('missing', 'corrupt', 'error') GROUP BY m.id")}

    def listed():
        return {(r["debug_file"], r["debug_id"]): (r["crashes"], ",".join(r["statuses"]))
                for r in filled.modules_missing_symbols(None)}

    assert listed() == direct() and direct()
    # reprocess every crash that missed symbols, now with them loaded: the counts must drop to nothing
    _, processed = _case(test_data, "05-thread")
    for crash_id in filled.crash_ids_missing_symbols():
        filled.save_processed(crash_id, processed)
    assert direct() == {} and listed() == {}
    noted = filled.search("", limit=1).hits[0]["crash_id"]
    broken = json.loads(json.dumps(processed))
    broken["modules"][1]["loaded_symbols"] = False
    broken["modules"][1]["corrupt_symbols"] = True
    m = broken["modules"][1]
    filled.save_processed(noted, broken, symbol_notes={(m["debug_file"], m["debug_id"].upper()): "bad line 3"})
    rows = filled.modules_missing_symbols(10)
    assert [(r["filename"], r["crashes"], r["statuses"], r["note"]) for r in rows] == [
        (m["filename"], 1, ["corrupt"], "bad line 3")]


def _module_variants(test_data):
    """A crash, then copies of it whose module lists the C-speed link path must take or hand on unchanged."""
    ann, processed = _case(test_data, "01-null-deref")
    processed["modules"][1]["version"] = None  # stackwalkers write null for a module without a version

    def change(edit):
        doc = json.loads(json.dumps(processed))
        edit(doc["modules"])
        return doc

    edits = [
        lambda m: None,                                               # as processed: the cache path
        lambda m: m[1].update(base_addr="0x00007f0000000000"),        # loaded elsewhere (ASLR)
        lambda m: m[0].update(loaded_symbols=0, missing_symbols=1),   # flags as integers
        lambda m: m[0].pop("corrupt_symbols"),                        # a flag missing
        lambda m: m[0].update(missing_symbols=None),                  # a flag null
        lambda m: m[2].update(debug_id=12345),                        # an identity field not a string
        lambda m: m[2].update(base_addr=4096),                        # a base address not a string
        lambda m: m.append(dict(m[0])),                               # the same module listed twice
        lambda m: m.insert(1, ["not", "a", "module"]),                # not a dict
        lambda m: m[3].update(filename=""),                           # no file name: left out
        lambda m: m.append({**m[0], "filename": "brand-new.so"}),     # a module the store has not seen
        lambda m: m.clear(),                                          # no modules at all
    ]
    return ann, processed, [change(edit) for edit in edits]


def test_module_links_from_the_cache_store_what_the_general_path_stores(tmp_path, test_data, monkeypatch):
    ann, processed, docs = _module_variants(test_data)
    ids = [f"{n:08x}-0000-4000-8000-000000261129" for n in range(len(docs))]

    def fill(folder):
        store = CrashStore.open(folder)
        store.add_many([NewCrash(ann, processed=processed)])  # the modules are cached after this commit
        store.add_many([NewCrash({**ann, "Seq": str(n)}, processed=doc, crash_id=crash_id)
                        for n, (doc, crash_id) in enumerate(zip(docs, ids, strict=True))])
        conn = store.db.conn
        out = (
            [(*row[1:], search_text.read(conn, row[0])[0][1]) for row in (
                conn.execute("SELECT c.id, l.modules, l.base_addrs, l.status, l.notes FROM crashes c "
                             "LEFT JOIN crash_module_links l ON l.crash = c.id WHERE c.crash_id = ?",
                             (crash_id,)).fetchone() for crash_id in ids)],
            conn.execute("SELECT m.filename, m.debug_id, m.version, c.crashes FROM module_counts c "
                         "JOIN modules m ON m.id = c.module ORDER BY 1, 2, 3").fetchall(),
        )
        store.close()
        return out

    taken = []
    cached_links = CrashStore._cached_links

    def counting(self, doc):
        result = cached_links(self, doc)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(CrashStore, "_cached_links", counting)
    fast = fill(tmp_path / "fast")
    assert taken[0] is False  # the first crash: nothing cached yet
    assert taken[1:4] == [True, True, True]  # as processed, moved, integer flags
    # a base address not a string takes it too (base addresses are read from the processed crash, not linked)
    assert not any(taken[4:7]) and taken[7] and not any(taken[8:])
    monkeypatch.setattr(CrashStore, "_cached_links", lambda self, doc: None)
    general = fill(tmp_path / "general")
    assert fast == general
    rows = fast[0]
    assert rows[0][2] == "".join("C" if m["corrupt_symbols"] else "L" if m["loaded_symbols"] else
                                 "M" if m["missing_symbols"] else "." for m in docs[0]["modules"])
    assert rows[2][2][0] == "M"  # integer flags read as booleans
    assert rows[-1][0] is None  # no modules: no links row, as the general path does
    assert json.loads(rows[7][0]) == json.loads(rows[0][0])  # a module listed twice is linked once


def test_compress_many_writes_what_compress_writes():
    docs = [codec.dumps({"n": n, "pad": "é" * n}) for n in range(40)]
    expected = [codec.compress(d) for d in docs]
    assert codec.compress_many(docs) == expected
    assert codec.compress_many_later(docs).result() == expected
    few = codec.compress_many_later(docs[:3])  # not worth a hand-over: done at once, same bytes
    assert few.done() and few.result() == expected[:3]
    assert codec.compress_many([b"", b"{}"]) == [codec.compress(b""), codec.compress(b"{}")]
    assert codec.compress_many([]) == []
    assert [codec.unpack(b) for b in expected] == [{"n": n, "pad": "é" * n} for n in range(40)]


def test_compression_in_the_background_works_in_a_forked_child():
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("this platform cannot fork")
    docs = [codec.dumps({"n": n}) for n in range(20)]
    assert codec.compress_many_later(docs).result(timeout=30) == codec.compress_many(docs)  # thread started here
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_compress_later_in_child, (docs,)).get(timeout=60) == codec.compress_many(docs)


def _compress_later_in_child(docs):
    return codec.compress_many_later(docs).result(timeout=30)


def test_frame_names_are_the_frame_rows_names(test_data):
    """What the store indexes of the frames (``frame_names``) is exactly the functions and files of the rows
    ``frame_rows`` lists, over every processed crash in the test data."""
    from crashdesk.model.summary import frame_names

    docs = 0
    for path in sorted(test_data.rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(doc, dict) or "threads" not in doc:
            continue
        docs += 1
        for every in (False, True):
            rows = frame_rows(doc, all_threads=every)
            assert frame_names(doc, all_threads=every) == ([r.function for r in rows if r.function],
                                                          [r.file for r in rows if r.file]), path
    assert docs > 20
