"""The slim signature input keeps everything signature generation reads: siggen itself gives the same result
on it as on the whole processed crash, for every reference stackwalk in the test data."""

from __future__ import annotations

import json

from siggen.generator import SignatureGenerator as SiggenGenerator

from crashdesk.engine.signature import crash_data_from_stackwalk
from crashdesk.model.summary import signature_input


def test_siggen_signs_the_slim_input_like_the_whole_document(test_data):
    docs = sorted(test_data.rglob("expected*.json"))
    assert len(docs) >= 10
    siggen = SiggenGenerator()
    compared = 0
    for path in docs:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or "threads" not in doc:
            continue
        full = siggen.generate(crash_data_from_stackwalk(doc, {}))
        slim = siggen.generate(crash_data_from_stackwalk(signature_input(doc), {}))
        assert (slim.signature, slim.extra.get("proto_signature"), slim.notes) == \
            (full.signature, full.extra.get("proto_signature"), full.notes), path
        assert len(json.dumps(signature_input(doc))) <= len(json.dumps(doc))
        compared += 1
    assert compared >= 10


def test_regeneration_reads_the_slim_input(store, test_data):
    folder = test_data / "crashes" / "05-thread"
    processed = json.loads((folder / "expected.json").read_text())
    crash_id = store.add_crash({}, source="import")
    store.save_processed(crash_id, processed)
    (rowid,) = store.db.conn.execute("SELECT id FROM crashes WHERE crash_id = ?", (crash_id,)).fetchone()
    (n,) = store.db.conn.execute("SELECT count(*) FROM signature_inputs WHERE crash = ?", (rowid,)).fetchone()
    assert n == 1
