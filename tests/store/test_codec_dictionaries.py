"""Documents compressed with dictionaries trained on the store's own documents (``crashdesk.store.codec``,
``crashdesk.store.dictionaries``): round trips, blobs of every earlier kind still read, hostile or corrupt blobs
raise the typed error, and a store trains, keeps and finds its dictionaries."""

from __future__ import annotations

import copy
import json
import zlib

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.store import CrashStore, codec, dictionaries
from crashdesk.store import crashes as crashes_module
from crashdesk.store.crashes import NewCrash, SignatureRecord
from crashdesk.store.errors import StoreError


def _documents(test_data, n):
    """``n`` processed crashes varied from the corpus (what a store's documents look like)."""
    docs = []
    for k in range(n):
        name = ("01-null-deref", "05-thread")[k % 2]
        doc = json.loads((test_data / "crashes" / name / "expected.json").read_text())
        doc["crash_info"]["address"] = f"0x{k * 4099:016x}"
        doc["modules"] = doc["modules"][k % 3:]
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def trained(test_data_module):
    docs = _documents(test_data_module, 240)
    data = dictionaries.train([codec.dumps(d) for d in docs])
    return docs, codec.register_dictionary(data), data


@pytest.fixture(scope="module")
def test_data_module(request):
    return request.config.rootpath / "tests" / "data"


def test_dictionary_round_trip_smaller_and_named_in_the_frame(trained):
    docs, dict_id, _ = trained
    for doc in docs[:20]:
        raw = codec.dumps(doc)
        blob = codec.compress(raw, dict_id)
        assert zstandard.get_frame_parameters(blob).dict_id == dict_id
        assert codec.unpack(blob) == doc
        assert len(blob) < len(codec.compress(raw))  # the dictionary carries what documents share
    batch = codec.compress_many([codec.dumps(d) for d in docs[:30]], [dict_id, None, dict_id] * 10)
    assert [codec.unpack(b) for b in batch] == docs[:30]
    assert [zstandard.get_frame_parameters(b).dict_id for b in batch[:3]] == [dict_id, 0, dict_id]
    assert codec.compress_many_later([codec.dumps(d) for d in docs[:40]], dict_id).result() == [
        codec.compress(codec.dumps(d), dict_id) for d in docs[:40]]


def test_blobs_of_earlier_versions_still_read(trained):
    docs, _, _ = trained
    doc = docs[0]
    assert codec.unpack(zlib.compress(json.dumps(doc).encode())) == doc  # before schema v8
    assert codec.unpack(zstandard.ZstdCompressor(level=1).compress(json.dumps(doc).encode())) == doc  # v8..v10


def _hostile(blob: bytes) -> list[bytes]:
    frame = zstandard.ZstdCompressor(level=1).compress(b'{"a": 1}')
    huge = bytearray(frame)
    return [
        b"", b"\x00", b"garbage that is not compressed", blob[:10], blob[:-5], blob[:4] + b"\xff" * 40,
        blob[:20] + bytes(b ^ 0x5A for b in blob[20:60]) + blob[60:],
        zstandard.ZstdCompressor(write_content_size=False).compress(b"[1]"),  # no declared size
        zstandard.ZstdCompressor().compress(b"not json {"), zlib.compress(b"\xff\xfe not utf-8"),
        bytes(huge[:5]) + b"\xff" * 8 + bytes(huge[13:]),
    ]


def test_hostile_or_corrupt_blobs_raise_the_typed_error(trained):
    docs, dict_id, _ = trained
    blob = codec.compress(codec.dumps(docs[0]), dict_id)
    for bad in _hostile(blob):
        with pytest.raises(codec.CorruptDocument):
            codec.unpack(bad)
    assert issubclass(codec.CorruptDocument, StoreError)
    # a frame naming a dictionary nobody holds
    other = zstandard.train_dictionary(8192, [codec.dumps(d) for d in docs[:200]], dict_id=1234567)
    unknown = zstandard.ZstdCompressor(dict_data=other).compress(codec.dumps(docs[1]))
    with pytest.raises(codec.CorruptDocument, match="1234567"):
        codec.unpack(unknown)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=200))
def test_any_bytes_decode_or_raise_the_typed_error(trained, noise, at):
    _, dict_id, _ = trained
    blob = codec.compress(b'{"k": "' + b"v" * 300 + b'"}', dict_id)
    for bad in (noise, blob[:at] + noise + blob[at + len(noise):], b"\x28\xb5\x2f\xfd" + noise):
        try:
            codec.unpack(bad)
        except codec.CorruptDocument:
            pass


def test_register_refuses_a_clash_and_non_dictionaries(trained):
    _, dict_id, data = trained
    assert codec.register_dictionary(data) == dict_id  # the same one again: fine
    clash = bytearray(data)
    clash[-1] ^= 1
    with pytest.raises(codec.CorruptDocument):
        codec.register_dictionary(bytes(clash))
    with pytest.raises(codec.CorruptDocument):
        codec.register_dictionary(b"\x00" * 100)


def _items(test_data, n):
    ann = json.loads((test_data / "crashes" / "05-thread" / "annotations.json").read_text())
    return [NewCrash({**ann, "Seq": str(k)}, processed=doc, signature=SignatureRecord(f"sig{k % 5}"))
            for k, doc in enumerate(_documents(test_data, n))]


def test_a_bulk_write_trains_the_stores_dictionaries_and_later_writes_use_them(tmp_path, test_data):
    store = CrashStore.open(tmp_path / "s")
    few = store.add_many(_items(test_data, 20))  # too few to train on
    assert store.db.conn.execute("SELECT count(*) FROM codec_dictionaries").fetchone()[0] == 0
    items = _items(test_data, dictionaries.TRAIN_MIN + 10)
    ids = store.add_many(items)
    kinds = dict(store.db.conn.execute("SELECT kind, id FROM codec_dictionaries"))
    assert set(kinds) == set(dictionaries.KINDS)
    conn = store.db.conn
    blob = conn.execute("SELECT processed FROM crashes WHERE crash_id = ?", (ids[0],)).fetchone()[0]
    assert zstandard.get_frame_parameters(blob).dict_id == kinds["processed"]
    slim = conn.execute("SELECT doc FROM signature_inputs WHERE crash = (SELECT id FROM crashes WHERE crash_id = ?)",
                        (ids[0],)).fetchone()[0]
    assert zstandard.get_frame_parameters(slim).dict_id == kinds["signature_input"]
    # one crash at a time (the processing service's path) uses the dictionary too
    single = store.add_crash(items[0].annotations, source="import")
    store.save_processed(single, items[3].processed)
    blob = conn.execute("SELECT processed FROM crashes WHERE crash_id = ?", (single,)).fetchone()[0]
    assert zstandard.get_frame_parameters(blob).dict_id == kinds["processed"]
    for crash_id, item in zip([*few, *ids], [*_items(test_data, 20), *items], strict=True):
        assert store.processed(crash_id) == item.processed
    assert store.processed(single) == items[3].processed
    store.close()
    # a process that never saw the dictionary (the registry emptied): opening the store loads them
    saved = dict(codec._dictionaries)
    codec._dictionaries.clear()
    codec._local.__dict__.clear()
    try:
        with CrashStore.open(tmp_path / "s") as again:
            assert again.processed(ids[5]) == items[5].processed
    finally:
        codec._dictionaries.update(saved)


def test_a_dictionary_another_process_trained_is_found_in_the_store(tmp_path, test_data):
    reader = CrashStore.open(tmp_path / "s")  # opened before any dictionary exists
    writer = CrashStore.open(tmp_path / "s")
    ids = writer.add_many(_items(test_data, dictionaries.TRAIN_MIN))
    dict_id = writer._dict_ids["processed"]
    codec._dictionaries.pop(dict_id)  # as if trained by another process
    codec._local.__dict__.clear()
    assert reader.processed(ids[7]) == _documents(test_data, 8)[7]
    reader.close()
    writer.close()


def test_a_failed_batch_leaves_no_dictionary_and_the_next_one_trains_again(tmp_path, test_data, monkeypatch):
    monkeypatch.setattr(crashes_module, "CHUNK", dictionaries.TRAIN_MIN + 10)  # trains on the first chunk
    store = CrashStore.open(tmp_path / "s")
    items = _items(test_data, dictionaries.TRAIN_MIN + 50)
    items[-1] = copy.copy(items[-1])
    items[-1].processed = {**items[-1].processed, "bad": {1, 2}}  # not JSON: the batch fails after training
    with pytest.raises(TypeError):
        store.add_many(items)
    assert store.db.conn.execute("SELECT count(*) FROM codec_dictionaries").fetchone()[0] == 0
    assert store._dict_id("processed") is None
    ids = store.add_many(_items(test_data, dictionaries.TRAIN_MIN)[:dictionaries.TRAIN_MIN - 10])
    assert store._dict_id("processed") is None  # not enough yet
    ids += store.add_many(_items(test_data, dictionaries.TRAIN_MIN)[dictionaries.TRAIN_MIN - 10:])  # with the stored
    assert store.db.conn.execute("SELECT count(*) FROM codec_dictionaries").fetchone()[0] == len(dictionaries.KINDS)
    assert store.processed(ids[-1]) == _documents(test_data, dictionaries.TRAIN_MIN)[-1]
    assert store.processed(ids[0]) == _documents(test_data, 1)[0]  # written before: no dictionary, still read
    store.close()


def test_one_crash_at_a_time_trains_once_there_are_enough(tmp_path, test_data):
    store = CrashStore.open(tmp_path / "s")
    items = _items(test_data, dictionaries.TRAIN_MIN + 2)
    ids = []
    for item in items:
        crash_id = store.add_crash(item.annotations, source="collector")
        store.save_processed(crash_id, item.processed)
        ids.append(crash_id)
    kinds = dict(store.db.conn.execute("SELECT kind, id FROM codec_dictionaries"))
    assert set(kinds) == set(dictionaries.KINDS)
    blob = store.db.conn.execute("SELECT processed FROM crashes WHERE crash_id = ?", (ids[-1],)).fetchone()[0]
    assert zstandard.get_frame_parameters(blob).dict_id == kinds["processed"]
    assert [store.processed(c) for c in ids] == [i.processed for i in items]
    store.close()


def test_documents_too_small_for_a_dictionary_are_stored_without_one(tmp_path):
    """A store whose crashes have next to nothing in them (no modules, threads or annotations: an empty
    processed crash, as a dump with no streams gives) reaches the training threshold with documents zstd cannot
    train on. Every crash is still stored and reads back; those kinds simply have no dictionary, and the
    store does not try again on every write."""
    store = CrashStore.open(tmp_path / "s")
    ids = []
    for n in range(dictionaries.TRAIN_MIN + 20):
        crash_id = store.add_crash({}, source="collector")
        store.save_processed(crash_id, {"status": "ERROR_NO_THREAD_LIST", "n": n},
                             signature=SignatureRecord("EMPTY: no crashing thread identified"))
        ids.append(crash_id)
    assert [store.processed(c)["n"] for c in ids] == list(range(len(ids)))
    kinds = {kind for (kind,) in store.db.conn.execute("SELECT kind FROM codec_dictionaries")}
    assert "thread_terms" not in kinds and "annotations" not in kinds
    assert {"thread_terms", "annotations"} <= store._untrainable
    assert dictionaries.train([b""] * 500) is None and dictionaries.train([b"x" * 9] * 500) is None
    store.close()


def test_a_corrupt_stored_document_is_a_typed_error_for_the_reader(tmp_path, test_data):
    store = CrashStore.open(tmp_path / "s")
    ids = store.add_many(_items(test_data, dictionaries.TRAIN_MIN))
    with store.db.write() as conn:
        blob = conn.execute("SELECT processed FROM crashes WHERE crash_id = ?", (ids[0],)).fetchone()[0]
        conn.execute("UPDATE crashes SET processed = ? WHERE crash_id = ?", (blob[:30] + b"\x00" * 30, ids[0]))
    with pytest.raises(codec.CorruptDocument):
        store.processed(ids[0])
    assert store.processed(ids[1]) is not None  # the others are untouched
    store.close()


def test_stored_counts_count_each_kinds_documents_up_to_the_bound(tmp_path, test_data):
    """The one-query count behind "enough documents to train yet?" counts what each kind's column holds,
    capped at the bound, as stored_samples' own count does."""
    store = CrashStore.open(tmp_path / "s")
    items = _items(test_data, 6)
    ids = [store.add_crash(item.annotations, source="collector") for item in items]
    for crash_id, item in zip(ids[:4], items, strict=False):
        store.save_processed(crash_id, item.processed)
    conn = store.db.conn
    full = {kind: conn.execute(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL").fetchone()[0]
            for kind, (table, column) in dictionaries.COLUMNS.items()}
    assert full["processed"] == 4 and full["annotations"] == 6
    kinds = list(dictionaries.KINDS)
    assert dictionaries.stored_counts(conn, kinds, 100) == full
    assert dictionaries.stored_counts(conn, kinds, 5) == {k: min(n, 5) for k, n in full.items()}
    assert dictionaries.stored_counts(conn, ["annotations"], 3) == {"annotations": 3}
    store.close()
