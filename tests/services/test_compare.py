"""Comparisons over real processed crashes from the test data."""

from __future__ import annotations

import json

from siggen.generator import SignatureGenerator as SiggenGenerator

from crashdesk.engine.signature import crash_data_from_stackwalk
from crashdesk.services.compare import (
    align_frames,
    compare_crashes,
    compare_signatures,
    crashing_frames,
    explain_signature,
)
from crashdesk.store.crashes import SignatureRecord


def _store_case(store, test_data, case, signature, **ann_extra):
    folder = test_data / "crashes" / case
    ann = json.loads((folder / "annotations.json").read_text())
    ann.update(ann_extra)
    processed = json.loads((folder / "expected.json").read_text())
    crash_id = store.add_crash(ann, source="import")
    store.save_processed(crash_id, processed, signature=SignatureRecord(signature, profile="generic"))
    return crash_id, processed


def test_same_crash_twice_aligns_every_frame_as_same(store, test_data):
    a, processed = _store_case(store, test_data, "05-thread", "tile_blit")
    b, _ = _store_case(store, test_data, "05-thread", "tile_blit", URL="https://example.com/")
    cmp = compare_crashes(store.get(a), store.get(b))
    thread = processed["threads"][processed["crash_info"]["crashing_thread"]]
    assert cmp.identical_frames == len(thread["frames"]) == len(cmp.frames)
    assert cmp.annotations == [("URL", None, "https://example.com/")]
    assert cmp.modules == []
    assert cmp.frames[0].left_role == "signature"


def test_different_crashes_show_where_stacks_part(store, test_data):
    a, pa = _store_case(store, test_data, "01-null-deref", "page_measure_width")
    b, pb = _store_case(store, test_data, "05-thread", "tile_blit")
    cmp = compare_signatures(store, "page_measure_width", "tile_blit")
    assert cmp is not None and {cmp.left_id, cmp.right_id} == {a, b}
    left = [r.left for r in cmp.frames if r.left is not None]
    right = [r.right for r in cmp.frames if r.right is not None]
    assert left == crashing_frames(store.get(a)) and right == crashing_frames(store.get(b))
    assert cmp.frames[0].status != "same" and "function" in cmp.frames[0].differs
    # both dumps come from the same build: the modules they share match, the differences are the extra ones
    shared = {m["filename"] for m in pa["modules"]} & {m["filename"] for m in pb["modules"]}
    assert all(name not in shared for name, _l, _r in cmp.modules)


def test_alignment_keeps_order_and_marks_inserted_frames():
    left = [{"module": "m", "function": f} for f in ("a", "b", "c")]
    right = [{"module": "m", "function": f} for f in ("a", "x", "b", "c")]
    rows = align_frames(left, right)
    assert [r.status for r in rows] == ["same", "right-only", "same", "same"]


def test_explaining_a_stored_signature_against_a_profile(store, test_data):
    a, processed = _store_case(store, test_data, "05-thread", "something older")
    ann = json.loads((test_data / "crashes" / "05-thread" / "annotations.json").read_text())
    expected = SiggenGenerator().generate(crash_data_from_stackwalk(processed, ann)).signature
    explanation = explain_signature(store, a, "mozilla")
    assert explanation.stored == "something older"
    assert explanation.regenerated.signature == expected
    assert explanation.regenerated.explanation and explanation.roles[0] == "signature"
