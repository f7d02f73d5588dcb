"""Batch signing (in process and with worker processes), JSON Lines handling and the regeneration report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashdesk.engine.signature import (
    SignatureGenerator,
    SignatureResult,
    create_profile_from_mozilla,
    load_profile,
    mozilla_profile,
    regeneration_report,
    sign_many,
)
from crashdesk.engine.signature.batch import sign_json_lines

DATA = Path(__file__).resolve().parents[1] / "data" / "signatures"


def _cases() -> list[dict]:
    with open(DATA / "cases_subset.jsonl", encoding="utf-8") as fp:
        return [json.loads(line) for line in fp if line.strip()]


@pytest.mark.parametrize("processes", [1, 2])
def test_sign_many_in_order_and_equal_to_siggen(processes):
    cases = _cases()
    items = [(c["id"], {"crash_data": c["crash_data"]}) for c in cases]
    seen = []
    out = list(sign_many(items, mozilla_profile(), processes=processes, chunk_size=17, progress=seen.append))
    assert [crash_id for crash_id, _ in out] == [c["id"] for c in cases]
    assert [r.signature for _, r in out] == [c["expected_signature"] for c in cases]
    assert sum(seen) == len(cases)
    assert all(isinstance(r, SignatureResult) for _, r in out)


def test_sign_json_lines_one_record_per_line_including_bad_ones():
    good = {"id": "a", "crash_data": {"threads": [{"frames": [{"function": "f(int)"}]}]}}
    stackwalk = {"id": "b", "stackwalk": {"status": "OK", "crash_info": {"crashing_thread": 0},
                                          "threads": [{"frames": []}]}, "annotations": {}}
    both = {"id": "c", "crash_data": {"threads": [{"frames": [{"function": "wins"}]}]},
            "stackwalk": {"threads": [{"frames": [{"function": "loses"}]}]}}
    unicode_sep = {"id": "d\u2028e", "crash_data": {"threads": [{"frames": [{"function": "x\u2028y"}]}]}}
    lines = [
        json.dumps(good).encode(),
        b"{not json",
        b"",
        b"[1, 2]",
        json.dumps({"id": "n"}).encode(),
        b"\xff\xfe",
        json.dumps(stackwalk).encode(),
        json.dumps(both).encode(),
        json.dumps(unicode_sep, ensure_ascii=False).encode("utf-8"),
        b"[" * 100000,
    ]
    records = list(sign_json_lines([line + b"\n" for line in lines]))
    assert len(records) == len(lines)
    assert records[0] == {"id": "a", "signature": "f", "proto_signature": "f", "notes": []}
    for i in (1, 2, 3, 4, 5, 9):
        assert "error" in records[i] and records[i]["line"] == i + 1 and records[i]["signature"] is None
    assert records[4]["id"] == "n"
    assert records[6]["signature"] == "EMPTY: no frame data available; OK"
    assert records[7]["signature"] == "wins"
    # U+2028 does not split a JSON Lines record; in the signature it is whitespace and becomes a space
    assert records[8]["id"] == "d\u2028e" and records[8]["signature"] == "x y"


def test_sign_json_lines_with_workers_matches_single_process():
    payload = [json.dumps({"id": c["id"], "crash_data": c["crash_data"]}).encode() + b"\n" for c in _cases()]
    payload.insert(5, b"garbage\n")
    single = list(sign_json_lines(payload, processes=1))
    multi = list(sign_json_lines(payload, processes=2, chunk_size=13))
    assert single == multi
    assert len(single) == len(payload)


def test_regeneration_report_counts_pairs_merges_and_splits():
    rows = [
        (1, "A", "A"), (2, "A", "A"),          # unchanged
        (3, "B", "A"), (4, "B", "A"),          # B merges into A
        (5, "C", "C1"), (6, "C", "C2"), (7, "C", "C2"),  # C splits into C1/C2
        (8, None, "D"),                        # never had a signature
    ]
    report = regeneration_report(rows)
    assert (report.total, report.changed, report.unchanged) == (8, 6, 2)
    assert report.pairs == {("B", "A"): 2, ("C", "C1"): 1, ("C", "C2"): 2, (None, "D"): 1}
    assert report.merges == {"A": {"A": 2, "B": 2}}
    assert report.splits == {"C": {"C1": 1, "C2": 2}}
    assert report.changes[3] == ("B", "A") and 1 not in report.changes
    assert (report.old_buckets, report.new_buckets) == (4, 4)
    as_dict = report.to_dict(limit=1)
    assert as_dict["pairs"] == [{"old": "B", "new": "A", "count": 2}]
    assert as_dict["merges"][0]["new"] == "A" and as_dict["merges"][0]["count"] == 4


def test_regeneration_between_profiles_reports_the_edit(tmp_path):
    """Old = siggen's expected signatures; new = an edited profile, checked against siggen given the same
    list folder; the report's figures are those of the reference pairs."""
    import copy

    import siggen.generator as siggen_generator

    dest = tmp_path / "edited"
    create_profile_from_mozilla(dest)
    with open(dest / "prefix_signature_re.txt", "a", encoding="utf-8") as fp:
        fp.write("\nmozilla::\n")
    gen = SignatureGenerator(load_profile(dest))
    reference = siggen_generator.SignatureGenerator(signature_list_dir=str(dest))
    cases = [c for c in _cases() if "RunWatchdog" not in json.dumps(c["crash_data"])]
    rows = [(c["id"], c["expected_signature"], gen.generate(c["crash_data"])) for c in cases]
    expected_new = {c["id"]: reference.generate(copy.deepcopy(c["crash_data"])).signature for c in cases}
    report = regeneration_report(rows)
    assert report.total == len(cases)
    assert report.changed == sum(1 for c in cases if c["expected_signature"] != expected_new[c["id"]])
    assert report.changed > 0
    for crash_id, (old, new) in report.changes.items():
        assert new == expected_new[crash_id]
        assert new.startswith(old) or "mozilla::" in old


@pytest.mark.parametrize("processes", [1, 2])
def test_sign_many_decodes_stored_bytes_in_workers(processes):
    cases = _cases()[:40]
    items = [(c["id"], json.dumps({"crash_data": c["crash_data"]}).encode()) for c in cases]
    items.append(("broken", b"\x00not json"))
    out = dict(sign_many(items, mozilla_profile(), processes=processes, chunk_size=7, decode=json.loads))
    assert [out[c["id"]].signature for c in cases] == [c["expected_signature"] for c in cases]
    assert out["broken"].signature == "" and "could not be decoded" in out["broken"].notes[0]


@pytest.mark.parametrize("processes", [1, 2])
def test_regenerate_end_to_end_keeps_results_for_changed_crashes(processes):
    from crashdesk.engine.signature import regenerate

    cases = _cases()
    # old signatures: siggen's, except a few made stale on purpose
    items = [(c["id"], c["expected_signature"] if i % 10 else "stale", {"crash_data": c["crash_data"]})
             for i, c in enumerate(cases)]
    seen = []
    report = regenerate(items, mozilla_profile(), processes, progress=seen.append, chunk_size=11)
    stale = [c for i, c in enumerate(cases) if i % 10 == 0]
    assert report.total == len(cases) and sum(seen) == len(cases)
    assert report.changed == sum(1 for c in stale if c["expected_signature"] != "stale")
    assert report.splits.get("stale") is not None or len({c["expected_signature"] for c in stale}) == 1
    for c in stale:
        assert report.changes[c["id"]] == ("stale", c["expected_signature"])
        assert report.results[c["id"]].signature == c["expected_signature"]
