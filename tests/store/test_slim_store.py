"""Issue 27 (slimstore): annotation values in column chunks, the processed crash split from its signature input,
base addresses read from the processed crash. Each is checked against what the layout it replaces answered:
``ann.KEY`` conditions and facets against the old ``annotations`` table's SQL run on the same data, documents and
module listings against the documents given to the store."""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3

import orjson
import pytest

from crashdesk.engine.query import field_kind, parse_query
from crashdesk.model.summary import signature_input
from crashdesk.store import CrashStore, annotation_columns, codec
from crashdesk.store import crashes as crashes_module
from crashdesk.store.crashes import NewCrash, SignatureRecord
from crashdesk.store.schema import _V_SLIM, MIGRATIONS, _v_slim
from crashdesk.store.search import _Compiler, compile_query
from crashdesk.store.terms import annotation_value_text

# values the LIKE and CAST semantics differ on: case (ASCII and not), LIKE's wildcards and escape, NUL, numbers
# with spaces, signs, exponents, trailing text, hex (not a number to SQLite), empty
VALUES = ["gpu", "GPU", "Gpu-process", "école", "ÉCOLE", "50%", "a_b", "a\\b", "axb", "x\x00tail", " 12", "12abc",
          "1e3", "-5", "+7.5", "0x10", "", "9", "10", "abc", "ABC", "zz top", "Straße", "STRASSE", ".5", "5."]
KEYS = ["ProcessType", "Note", "uptime", "URL", "Odd Key"]


def _annotations(rng: random.Random, n: int) -> dict:
    ann: dict = {"ProductName": rng.choice(["Firefox", "Fenix"])}
    for key in KEYS:
        if rng.random() < 0.8:
            ann[key] = rng.choice(VALUES)
    if rng.random() < 0.2:
        ann["Extra"] = rng.choice([12, 3.5, True, None, ["a", 1], {"k": "v"}])  # not strings: stored as JSON text
    ann["Seq"] = str(n)
    return ann


def _processed(rng: random.Random, n: int) -> dict:
    frames = [{"frame": k, "module": "libx.so", "function": f"fn{rng.randrange(30)}", "offset": f"0x{k:x}",
               "trust": "context" if k == 0 else "scan"} for k in range(rng.randrange(1, 6))]
    crashing = rng.randrange(3)
    threads = [{"thread_name": f"t{i}", "frames": frames if i == crashing else [{"frame": 0, "function": "wait"}]}
               for i in range(3)]
    modules = [{"filename": name, "debug_file": name, "debug_id": f"{k:032X}0", "code_id": "", "version": None,
                "base_addr": f"0x{0x7f0000000000 + (5 - k) * 0x100000:016x}", "loaded_symbols": True}
               for k, name in enumerate(["libx.so", "liby.so", "libz.so"])]
    return {"status": "OK", "crash_info": {"type": "SIGSEGV", "address": "0x0", "crashing_thread": crashing},
            "system_info": {"os": "Linux", "cpu_arch": "amd64"},
            "crashing_thread": {"threads_index": crashing, "frames": json.loads(json.dumps(frames))},
            "threads": threads, "modules": modules, "seq": n}


@pytest.fixture
def varied(store, monkeypatch):
    """A store whose crashes came every way annotations are written: bulk batches of several chunks, one at a
    time, replaced, and some deleted (their row ids used again)."""
    monkeypatch.setattr(crashes_module, "CHUNK", 37)
    monkeypatch.setattr(annotation_columns, "CAP", 50)
    rng = random.Random(7)
    for start in (0, 120):
        store.add_many([NewCrash(_annotations(rng, n), processed=_processed(rng, n),
                                 signature=SignatureRecord(f"sig{n % 5}")) for n in range(start, start + 120)])
    for n in range(240, 260):
        store.add_crash(_annotations(rng, n), source="collector", processed=_processed(rng, n))
    ids = [r[0] for r in store.db.conn.execute("SELECT crash_id FROM crashes ORDER BY id")]
    for cid in rng.sample(ids, 15):
        store.replace_annotations(cid, _annotations(rng, 999))
    with store.db.write() as conn:
        conn.execute("DELETE FROM crashes WHERE crash_id IN (?, ?, ?)", (ids[5], ids[-1], ids[-2]))
    store.add_many([NewCrash({"ProductName": "Late", "Seq": str(n)}) for n in range(3)])  # ids used again
    return store


def _oracle(store) -> sqlite3.Connection:
    """The old ``annotations`` table (key, crash, stored value) built from every crash's raw annotations."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE annotations (key TEXT NOT NULL, crash INTEGER NOT NULL, value TEXT NOT NULL, "
                 "PRIMARY KEY (key, crash)) WITHOUT ROWID")
    conn.execute("CREATE TABLE crashes (id INTEGER PRIMARY KEY, crash_id TEXT)")
    for rowid, cid in store.db.conn.execute("SELECT id, crash_id FROM crashes"):
        conn.execute("INSERT INTO crashes VALUES (?, ?)", (rowid, cid))
        conn.executemany("INSERT INTO annotations VALUES (?, ?, ?)",
                         [(str(k), rowid, annotation_value_text(v)) for k, v in store.annotations(cid).items()])
    return conn


def _old_answer(oracle, query: str) -> set[str]:
    """What the ``annotations``-table SQL (``search._Compiler.annotation`` before issue 27) selected."""
    term = parse_query(query).root
    key = term.annotation_key
    if term.op == "null":
        sql, params = "id NOT IN (SELECT crash FROM annotations WHERE key = ?)", [key]
    else:
        cond, params = _Compiler(dt.datetime.now(dt.UTC)).value_cond("value", term, field_kind(term.field))
        sql, params = f"id IN (SELECT crash FROM annotations WHERE key = ? AND {cond})", [key, *params]
    if term.negate:
        sql = f"NOT coalesce({sql}, 0)"
    return {r[0] for r in oracle.execute(f"SELECT crash_id FROM crashes WHERE {sql}", params)}


def _queries() -> list[str]:
    out = []
    for key in KEYS + ["Extra", "Missing"]:
        name = f'ann."{key}"' if " " in key else f"ann.{key}"
        out += [f"{name}:__null__", f"!{name}:__null__"]
        for value in ["gpu", "G", "%", "_", "\\", "x", "tail", "é", "É", "ss", "1", "abc", "", "}", "true"]:
            quoted = json.dumps(value)
            out += [f"{name}:~{quoted}", f"{name}:^{quoted}", f"{name}:${quoted}", f"!{name}:~{quoted}"]
        for value in ["5", "9.5", "-1", "1e2", "abc", "ab", "0x10", "école"]:
            out += [f"{name}:{op}{json.dumps(value)}" for op in (">", ">=", "<", "<=")]
    return out


def test_annotation_conditions_answer_what_the_annotations_table_answered(varied):
    oracle = _oracle(varied)
    checked = 0
    for query in _queries():
        try:
            parse_query(query)
        except Exception:  # noqa: BLE001 - a spelling the grammar refuses is refused by both
            continue
        expected = _old_answer(oracle, query)
        got = {h["crash_id"] for h in varied.search(query, limit=1000).hits}
        assert got == expected, query
        checked += 1
    assert checked > 400
    # the conditions do select something, and not everything
    assert 0 < len(_old_answer(oracle, "ann.ProcessType:~g")) < varied.count()


def test_annotation_facets_count_what_the_annotations_table_counted(varied):
    oracle = _oracle(varied)
    for query in ("", "product:Firefox", "ann.uptime:>5", "ann.Note:__null__"):
        where, params = compile_query(query)
        ids = {r[0] for r in varied.db.conn.execute(f"SELECT c.id FROM crashes c WHERE {where}", params)}
        for key in KEYS + ["Extra", "Missing"]:
            chosen = ",".join("?" * len(ids))
            expected = oracle.execute(
                f"SELECT value, count(*) AS n FROM annotations WHERE key = ? AND crash IN ({chosen}) "
                "GROUP BY value ORDER BY n DESC, value LIMIT 50", [key, *sorted(ids)]).fetchall()
            got = varied.search(query, facets=(f"ann.{key}",), limit=0).facets[f"ann.{key}"]
            assert [(f["term"], f["count"]) for f in got] == expected, (query, key)


def test_a_deleted_crash_leaves_no_value_for_the_crash_given_its_row_id(store):
    store.add_many([NewCrash({"ProductName": "A", "Token": f"v{n}"}) for n in range(3)])
    last = store.db.conn.execute("SELECT crash_id, id FROM crashes ORDER BY id DESC LIMIT 1").fetchone()
    with store.db.write() as conn:
        conn.execute("DELETE FROM crashes WHERE crash_id = ?", (last[0],))
    new = store.add_many([NewCrash({"ProductName": "B"})])[0]
    assert store.db.conn.execute("SELECT id FROM crashes WHERE crash_id = ?", (new,)).fetchone()[0] == last[1]
    assert new in {h["crash_id"] for h in store.search("ann.Token:__null__").hits}
    assert store.search("ann.Token:~v").total == 2
    assert store.search("", facets=("ann.Token",), limit=0).facets["ann.Token"] == [
        {"term": "v0", "count": 1}, {"term": "v1", "count": 1}]


def _odd_documents() -> list[dict]:
    rng = random.Random(3)
    base = _processed(rng, 0)
    docs = [base]
    differs = json.loads(json.dumps(base))
    differs["crashing_thread"]["frames"] = differs["crashing_thread"]["frames"][:1] + [{"frame": 9}]
    docs.append(differs)  # crashing_thread.frames not the thread's: kept in the rest
    shared = json.loads(json.dumps(base))
    shared["crashing_thread"]["frames"] = shared["threads"][base["crash_info"]["crashing_thread"]]["frames"]
    docs.append(shared)  # one list object in both places
    out_of_range = json.loads(json.dumps(base))
    out_of_range["crash_info"]["crashing_thread"] = 17  # signature_input keeps thread 0
    docs.append(out_of_range)
    docs.append({**json.loads(json.dumps(base)), "threads": []})
    docs.append({**json.loads(json.dumps(base)), "threads": {"not": "a list"}})
    empty = json.loads(json.dumps(base))
    empty["threads"][0] = {}
    empty["crash_info"]["crashing_thread"] = 0
    docs.append(empty)
    typed = json.loads(json.dumps(base))
    typed["crashing_thread"]["frames"] = [dict(f, frame=float(f["frame"])) for f in typed["crashing_thread"]["frames"]]
    docs.append(typed)  # equal to the thread's frames under ==, not as JSON: kept
    docs.append({"status": "OK", "crashing_thread": None, "threads": [None, "x"],
                 "crash_info": {"crashing_thread": 1}})
    docs.append({"no": "threads at all", "\x00": 1})
    return docs


def test_processed_crashes_read_back_exactly_as_given(store):
    docs = _odd_documents()
    bulk = store.add_many([NewCrash({"ProductName": "A", "n": str(n)}, processed=doc) for n, doc in enumerate(docs)])
    one = []
    for n, doc in enumerate(docs):
        cid = store.add_crash({"ProductName": "B", "n": str(n)}, source="collector")
        store.save_processed(cid, doc)
        one.append(cid)
    for cid, doc in [*zip(bulk, docs, strict=True), *zip(one, docs, strict=True)]:
        for got in (store.processed(cid), store.get(cid)["processed"]):
            assert orjson.dumps(got) == orjson.dumps(doc), cid  # same values, types and key order
    conn = store.db.conn
    splits = [conn.execute("SELECT s.split FROM signature_inputs s JOIN crashes c ON c.id = s.crash "
                           "WHERE c.crash_id = ?", (cid,)).fetchone() for cid in bulk]
    assert splits[0][0] is not None and splits[0][0] % 2 == 1  # both copies of the crashing thread taken out
    assert splits[1][0] is not None and splits[1][0] % 2 == 0  # crashing_thread.frames differ: kept
    assert splits[7][0] is not None and splits[7][0] % 2 == 0
    assert splits[4] == (None,) and splits[9] == (None,)  # nothing to split: the document whole
    # regeneration reads the signature input, which is what signature_input() gives
    for cid, doc in zip(bulk, docs, strict=True):
        row = conn.execute("SELECT s.doc FROM signature_inputs s JOIN crashes c ON c.id = s.crash WHERE c.crash_id = ?",
                           (cid,)).fetchone()
        assert (codec.unpack(row[0]) if row else None) == signature_input(doc)
    # the part kept in crashes is smaller than the whole document
    whole = len(codec.compress(codec.dumps(docs[0])))
    rest = len(conn.execute("SELECT processed FROM crashes WHERE crash_id = ?", (bulk[0],)).fetchone()[0])
    assert rest < whole


def test_module_base_addresses_come_from_the_processed_crash(store):
    doc = _processed(random.Random(5), 0)
    doc["modules"].append(dict(doc["modules"][0], base_addr="0x1"))  # listed twice: the first listing counts
    cid = store.add_many([NewCrash({"ProductName": "A"}, processed=doc)])[0]
    got = store.get(cid)["modules"]
    assert [(m["filename"], m["base_addr"]) for m in got] == sorted(
        ((m["filename"], m["base_addr"]) for m in doc["modules"][:3]), key=lambda fm: fm[1])
    assert store.db.conn.execute("SELECT base_addrs FROM crash_module_links").fetchone()[0] == b""


def test_a_store_with_the_annotations_table_migrates_to_columns(tmp_path):
    home = tmp_path / "home"
    rng = random.Random(11)
    with CrashStore.open(home) as store:
        store.add_many([NewCrash(_annotations(rng, n), processed=_processed(rng, n)) for n in range(300)])
        oracle = _oracle(store)
    conn = sqlite3.connect(home / "crashdesk.sqlite")
    conn.execute("CREATE TABLE annotations (key TEXT NOT NULL, crash INTEGER NOT NULL REFERENCES crashes(id) "
                 "ON DELETE CASCADE, value TEXT NOT NULL, PRIMARY KEY (key, crash)) WITHOUT ROWID")
    conn.executemany("INSERT INTO annotations VALUES (?, ?, ?)", oracle.execute("SELECT * FROM annotations"))
    conn.execute("DROP TRIGGER annotation_columns_ad")
    conn.execute("DROP TABLE annotation_columns")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index((_V_SLIM, _v_slim))}")  # the version before it
    conn.commit()
    conn.close()
    with CrashStore.open(home) as store:
        conn = store.db.conn
        assert conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'annotations'").fetchone()[0] == 0
        assert conn.execute("SELECT max(last - first + 1) FROM annotation_columns").fetchone()[0] <= \
            annotation_columns.CAP
        for query in _queries()[::7]:
            try:
                parse_query(query)
            except Exception:  # noqa: BLE001
                continue
            assert {h["crash_id"] for h in store.search(query, limit=1000).hits} == _old_answer(oracle, query), query
        rowid = conn.execute("SELECT min(id) FROM crashes").fetchone()[0]
        assert annotation_columns.crash_values(conn, rowid) == oracle.execute(
            "SELECT key, value FROM annotations WHERE crash = ? ORDER BY key", (rowid,)).fetchall()
