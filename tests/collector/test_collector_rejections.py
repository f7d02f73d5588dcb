"""Refused submissions: Antenna's status and body for each reason, nothing left on disk, and a log entry."""

from __future__ import annotations

import gzip
import json

import pytest
from collector_helpers import multipart_body, rejection_log, request_bytes, send_raw, stored_files

from crashdesk.collector.throttle import rules_from_json

DUMP = b"MDMP" + bytes(range(256)) * 8
FIELDS = {"ProductName": "Test", "Version": "1.0"}


def _ok_body(**kw):
    return multipart_body(FIELDS, {"upload_file_minidump": DUMP}, **kw)


def _bomb_body() -> bytes:
    # 8 MiB of zeros inflating from ~8 KiB: past the 1 MiB decompressed limit set below
    body, boundary = multipart_body(FIELDS, {"upload_file_minidump": b"\0" * (8 * 1024 * 1024)},
                                    boundary="bomb")
    return gzip.compress(body, 9)


def _cases():
    body, b = _ok_body()
    garbage = b"this is not a multipart document at all"
    cases = {
        "no_content_type": (request_bytes(body, None), 400, "Discarded=malformed_no_content_type"),
        "wrong_content_type": (request_bytes(body, None, content_type="application/json"), 400,
                               "Discarded=malformed_wrong_content_type"),
        "no_boundary": (request_bytes(body, None, content_type="multipart/form-data"), 400,
                        "Discarded=malformed_no_boundary"),
        "empty_body": (request_bytes(b"", b), 400, "Discarded=malformed_no_content_length"),
        "empty_chunked_body": (request_bytes(b"", b, chunked=True), 400,
                               "Discarded=malformed_no_content_length"),
        "bad_gzip": (request_bytes(body, b, extra_headers={"Content-Encoding": "gzip"}), 400,
                     "Discarded=malformed_bad_gzip"),
        "truncated_gzip": (request_bytes(gzip.compress(body)[:-30], b,
                                         extra_headers={"Content-Encoding": "gzip"}), 400,
                           "Discarded=malformed_bad_gzip"),
        "broken_framing": (request_bytes(garbage, b), 400, "Discarded=malformed_invalid_payload_structure"),
        "unterminated": (request_bytes(body[: len(body) // 2], b), 400,
                         "Discarded=malformed_invalid_payload_structure"),
    }
    j_bad = (f'--{b}\r\nContent-Disposition: form-data; name="extra"\r\nContent-Type: application/json\r\n\r\n'
             f'{{"ProductName": \r\n--{b}--\r\n').encode()
    cases["invalid_json"] = (request_bytes(j_bad, b), 400, "Discarded=malformed_invalid_json")
    j_list, jb = multipart_body(json_extra=["not", "an", "object"])
    cases["invalid_json_value"] = (request_bytes(j_list, jb), 400, "Discarded=malformed_invalid_json_value")
    dump_only, db = multipart_body({}, {"upload_file_minidump": DUMP})
    cases["no_annotations"] = (request_bytes(dump_only, db), 400, "Discarded=malformed_no_annotations")
    empty_json, eb = multipart_body(json_extra={})
    cases["empty_json"] = (request_bytes(empty_json, eb), 400, "Discarded=malformed_no_annotations")
    for reserved in ("raw_crash", "dump_names", "processed_crash"):
        bad_name, nb = multipart_body(FIELDS, {reserved: DUMP})
        cases[f"dump_name_{reserved}"] = (request_bytes(bad_name, nb), 400,
                                          "Discarded=malformed_invalid_dump_name")
    many_fields, fb = multipart_body({f"k{i}": "v" for i in range(30)})
    cases["too_many_fields"] = (request_bytes(many_fields, fb), 400, "Discarded=malformed_too_many_fields")
    many_files, mb = multipart_body(FIELDS, {f"upload_file_minidump_{i}": DUMP for i in range(5)})
    cases["too_many_files"] = (request_bytes(many_files, mb), 400, "Discarded=malformed_too_many_files")
    cases["gzip_bomb"] = (request_bytes(_bomb_body(), "bomb", extra_headers={"Content-Encoding": "gzip"}), 413,
                          "Discarded=too_large_decompressed")
    big_field, gb = multipart_body({"ProductName": "x" * 300_000})
    cases["annotation_too_large"] = (request_bytes(big_field, gb), 413, "Discarded=annotation_too_large")
    uuid_body, ub = multipart_body({**FIELDS, "uuid": "de1bb258-cbbf-4589-a673-34f800160918"})
    cases["unauthorized_uuid"] = (request_bytes(uuid_body, ub), 401, "Discarded=unauthorized_uuid")
    return cases


CASES = _cases()
LIMITS = {"max_fields": 20, "max_files": 3, "max_decompressed_size": 1024 * 1024, "max_annotation_size": 200_000}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_submission_is_refused_without_a_trace(http, make_collector, name):
    request, status, expected = CASES[name]
    collector = make_collector(limits=LIMITS)
    got_status, headers, body = send_raw(collector.port, request)
    assert (got_status, body.decode()) == (status, expected)
    assert headers["content-type"].startswith("text/plain")
    assert collector.store.count() == 0
    assert stored_files(collector.data_dir) == []
    log = rejection_log(collector.data_dir)
    assert [(e["status"], "Discarded=" + e["reason"]) for e in log] == [(status, expected)]
    assert collector.stats()["rejected"] == {expected.removeprefix("Discarded="): 1}


@pytest.mark.parametrize("chunked", [False, True])
def test_body_larger_than_the_wire_limit_is_413(http, make_collector, chunked):
    collector = make_collector(limits={"max_request_size": 64 * 1024})
    body, b = multipart_body(FIELDS, {"upload_file_minidump": bytes(200 * 1024)})
    status, _, text = send_raw(collector.port, request_bytes(body, b, chunked=chunked))
    assert status == 413
    assert collector.store.count() == 0
    assert stored_files(collector.data_dir) == []
    assert [e["reason"] for e in rejection_log(collector.data_dir)] == ["too_large"]


def test_exactly_the_wire_limit_passes(http, make_collector):
    body, b = _ok_body()
    collector = make_collector(limits={"max_request_size": len(body)})
    status, _, text = send_raw(collector.port, request_bytes(body, b))
    assert status == 200 and text.startswith(b"CrashID=bp-")


def test_uuid_with_bearer_token_but_not_a_crash_id(http, make_collector):
    collector = make_collector(token="s3cret")
    body, b = multipart_body({**FIELDS, "uuid": "de1bb258-cbbf-4589-a673-34f802160928"})  # throttle digit 2
    status, _, text = send_raw(collector.port, request_bytes(
        body, b, extra_headers={"Authorization": "Bearer s3cret"}))
    assert (status, text) == (400, b"Discarded=malformed_invalid_uuid")


def test_uuid_with_bearer_token_is_honoured_once(http, make_collector):
    collector = make_collector(token="s3cret")
    chosen = "de1bb258-cbbf-4589-a673-34f800160928"
    body, b = multipart_body({**FIELDS, "uuid": chosen}, {"upload_file_minidump": DUMP})
    request = request_bytes(body, b, extra_headers={"Authorization": "Bearer s3cret"})
    assert send_raw(collector.port, request)[2] == f"CrashID=bp-{chosen}\n".encode()
    assert send_raw(collector.port, request)[2] == f"CrashID=bp-{chosen}\n".encode()  # a retry: same crash
    assert collector.store.count() == 1
    assert collector.store.read_dump(chosen) == DUMP


def test_throttle_rule_reject_answers_200_discarded(http, make_collector):
    throttler = rules_from_json({"rules": [
        {"name": "no_beta", "annotation": "ReleaseChannel", "op": "eq", "value": "beta", "result": "REJECT"},
        {"name": "accept_everything", "result": "ACCEPT"}]})
    collector = make_collector(throttler=throttler)
    body, b = multipart_body({**FIELDS, "ReleaseChannel": "beta"}, {"upload_file_minidump": DUMP})
    status, _, text = send_raw(collector.port, request_bytes(body, b))
    assert (status, text) == (200, b"Discarded=rule_no_beta")
    assert collector.store.count() == 0 and stored_files(collector.data_dir) == []
    body, b = multipart_body({**FIELDS, "ReleaseChannel": "release"}, {"upload_file_minidump": DUMP})
    status, _, text = send_raw(collector.port, request_bytes(body, b))
    assert status == 200 and text.startswith(b"CrashID=bp-")


def test_products_list_rejects_other_products(http, make_collector):
    collector = make_collector(throttler=rules_from_json({"products": ["Other"]}))
    body, b = _ok_body()
    assert send_raw(collector.port, request_bytes(body, b))[1:] [1] == b"Discarded=rule_unsupported_product"


def test_fake_accept_answers_an_id_but_stores_nothing(http, make_collector):
    collector = make_collector(throttler=rules_from_json({"rules": [{"name": "b2g", "result": "FAKEACCEPT"}]}))
    body, b = _ok_body()
    status, _, text = send_raw(collector.port, request_bytes(body, b))
    assert status == 200 and text.startswith(b"CrashID=bp-")
    assert collector.store.count() == 0 and stored_files(collector.data_dir) == []


def test_get_on_submit_is_405_and_unknown_path_404(http, collector):
    assert http.get(f"{collector.base_url}/submit").status_code == 405
    assert http.get(f"{collector.base_url}/nope").status_code == 404


def test_rejection_log_is_readable_for_the_panel(http, make_collector):
    from crashdesk.collector import recent_rejections

    collector = make_collector()
    for _ in range(3):
        send_raw(collector.port, request_bytes(b"x", None, content_type="text/plain"))
    entries = recent_rejections(collector.data_dir, limit=2)
    assert len(entries) == 2
    assert all(e["reason"] == "malformed_wrong_content_type" and e["peer"] == "127.0.0.1" for e in entries)
    json.dumps(entries)
