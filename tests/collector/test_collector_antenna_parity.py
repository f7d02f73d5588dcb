"""Issue 26: where the collector answered differently from Antenna, checked over HTTP on 127.0.0.1.

Expected values come from ../shared/protocols/collector.md and from Antenna's behaviour (its Falcon app: JSON
error documents; ``/__version__`` = its ``version.json`` keys; the stage submitter's ``uuid`` checked as sent;
dump names sanitised to ``[A-Za-z0-9_]``; only ``gzip`` inflated; its collector-note wordings)."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import zlib

import pytest
from collector_helpers import (
    crash_id_from,
    multipart_body,
    rejection_log,
    request_bytes,
    send_raw,
    stored_files,
)

from crashdesk import __version__

DUMP = b"MDMP" + bytes(range(256)) * 4
OTHER = b"MDMP" + b"\x01" * 700
FIELDS = {"ProductName": "Test", "Version": "1.0"}
CHOSEN = "de1bb258-cbbf-4589-a673-34f800160928"


def _part(b: str, name: str, value: bytes, *, headers: str = "", filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{b}\r\nContent-Disposition: {disposition}\r\n{headers}\r\n".encode() + value + b"\r\n"


def _doc(b: str, *parts: bytes) -> bytes:
    return b"".join(parts) + f"--{b}--\r\n".encode()


def _fields(b: str) -> bytes:
    return b"".join(_part(b, k, v.encode()) for k, v in FIELDS.items())


def _dump_part(b: str, name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    return _part(b, name, data, headers=f"Content-Type: {ctype}\r\n", filename="x.dmp")


def _submit(collector, body: bytes, b: str, **kw) -> tuple[int, bytes]:
    status, _, text = send_raw(collector.port, request_bytes(body, b, **kw))
    return status, text


def _accepted(collector, body: bytes, b: str, **kw) -> tuple[str, dict]:
    status, text = _submit(collector, body, b, **kw)
    assert status == 200, text
    crash_id = crash_id_from(text)
    return crash_id, collector.store.annotations(crash_id)


# --- the health endpoints and unknown paths -------------------------------------------------------------------


def test_version_answers_exactly_antennas_four_keys(http, collector):
    r = http.get(f"{collector.base_url}/__version__")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    data = r.json()
    assert sorted(data) == ["build", "commit", "source", "version"]  # no "name" (monitoring checks the set)
    assert data["version"] == __version__ and data["source"] == "crashdesk"


def test_the_facts_left_out_of_version_are_in_crashdesk_version():
    out = subprocess.run([sys.executable, "-m", "crashdesk", "--version"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0] == f"crashdesk {__version__}"  # what scripts read stays the first line
    assert any(line.startswith(f"collector: crashdesk-collector {__version__}") for line in lines)


def test_healthy_heartbeat_answers_an_empty_error_list(http, collector):
    r = http.get(f"{collector.base_url}/__heartbeat__")
    assert (r.status_code, r.json()) == (200, {"errors": []})
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/nope", "/submit/", "/Submit", "/__version__/x", "/"])
def test_unknown_path_answers_a_json_404(http, collector, path):
    r = http.get(f"{collector.base_url}{path}")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json() == {"title": "404 Not Found"}


def test_head_answers_headers_without_a_body(http, collector):
    r = http.head(f"{collector.base_url}/nope")
    assert (r.status_code, r.content) == (404, b"") and r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == str(len(json.dumps({"title": "404 Not Found"})))
    r = http.head(f"{collector.base_url}/__heartbeat__")  # Antenna's health resources answer GET only
    assert (r.status_code, r.content, r.headers["allow"]) == (405, b"", "GET, OPTIONS")
    # the connection stays usable: the next answer is not read from a stray body
    assert http.get(f"{collector.base_url}/__heartbeat__").json() == {"errors": []}


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/submit", "POST, OPTIONS"), ("PUT", "/submit", "POST, OPTIONS"),
    ("POST", "/__heartbeat__", "GET, OPTIONS"), ("DELETE", "/__version__", "GET, OPTIONS"),
    ("POST", "/__lbheartbeat__", "GET, OPTIONS")])
def test_wrong_method_answers_a_json_405_with_allow(http, collector, method, path, allow):
    r = http.request(method, f"{collector.base_url}{path}")
    assert r.status_code == 405 and r.headers["allow"] == allow
    assert r.headers["content-type"] == "application/json" and r.json() == {"title": "405 Method Not Allowed"}


def test_options_names_the_methods(http, collector):
    r = http.options(f"{collector.submit_url}")
    assert (r.status_code, r.content, r.headers["allow"]) == (200, b"", "POST")


# --- the stage submitter's uuid --------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [CHOSEN.upper(), CHOSEN[:9] + CHOSEN[9:].upper(), f" {CHOSEN}", f"{CHOSEN} ",
                                  f"bp-{CHOSEN}"])
def test_authenticated_uuid_is_taken_as_sent_or_refused(http, make_collector, sent):
    collector = make_collector(token="s3cret")
    body, b = multipart_body({**FIELDS, "uuid": sent}, {"upload_file_minidump": DUMP})
    status, text = _submit(collector, body, b, extra_headers={"Authorization": "Bearer s3cret"})
    assert (status, text) == (400, b"Discarded=malformed_invalid_uuid")
    assert collector.store.count() == 0 and stored_files(collector.data_dir) == []
    assert rejection_log(collector.data_dir)[-1]["reason"] == "malformed_invalid_uuid"


def test_authenticated_lower_case_uuid_is_honoured(http, make_collector):
    collector = make_collector(token="s3cret")
    body, b = multipart_body({**FIELDS, "uuid": CHOSEN}, {"upload_file_minidump": DUMP})
    crash_id, raw = _accepted(collector, body, b, extra_headers={"Authorization": "Bearer s3cret"})
    assert crash_id == CHOSEN and raw["uuid"] == CHOSEN


def test_authenticated_uuid_that_is_not_a_string_is_refused(http, make_collector):
    collector = make_collector(token="s3cret")
    body, b = multipart_body(json_extra={**FIELDS, "uuid": 12345})
    status, text = _submit(collector, body, b, extra_headers={"Authorization": "Bearer s3cret"})
    assert (status, text) == (400, b"Discarded=malformed_invalid_uuid")


# --- dump part names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["-", "$$$", "\u20ac\u20ac", ".."])
def test_dump_part_whose_name_keeps_nothing_is_accepted_under_a_safe_name(http, collector, name):
    b = "bnd"
    body = _doc(b, _fields(b), _dump_part(b, name, DUMP))
    crash_id, raw = _accepted(collector, body, b)
    assert collector.store.read_dump(crash_id, "unnamed_dump") == DUMP
    assert raw["metadata"]["dump_checksums"] == {"unnamed_dump": hashlib.sha256(DUMP).hexdigest()}
    assert any("stored as unnamed_dump" in n for n in raw["metadata"]["collector_notes"])
    assert all(p.suffix != ".part" for p in stored_files(collector.data_dir))


def test_several_unnamed_dump_parts_are_all_kept(http, collector):
    b = "bnd"
    third = b"MDMP" + b"\x03" * 100
    body = _doc(b, _fields(b), _dump_part(b, "-", DUMP), _dump_part(b, "!", OTHER),
                _dump_part(b, "unnamed_dump", third), _dump_part(b, "-", DUMP[:-1]))
    crash_id, raw = _accepted(collector, body, b)
    dumps = collector.store.dumps(crash_id)
    # a part named unnamed_dump keeps its name; the nameless ones move aside; "-" again replaces "-"
    assert {name: collector.store.read_dump(crash_id, name) for name in dumps} == {
        "unnamed_dump": third, "unnamed_dump_2": OTHER, "unnamed_dump_3": DUMP[:-1]}
    assert set(raw["metadata"]["dump_checksums"]) == set(dumps)


def test_unnamed_dump_parts_still_count_against_the_dump_cap(http, make_collector):
    collector = make_collector(limits={"max_files": 3})
    b = "bnd"
    body = _doc(b, _fields(b), *(_dump_part(b, "-" * (i + 1), DUMP) for i in range(5)))
    assert _submit(collector, body, b) == (400, b"Discarded=malformed_too_many_files")
    assert collector.store.count() == 0 and stored_files(collector.data_dir) == []


@pytest.mark.parametrize("name", ["raw_crash", "dump_names", "processed_crash", "raw_crash!"])
def test_reserved_dump_names_are_still_refused(http, collector, name):
    b = "bnd"
    body = _doc(b, _fields(b), _dump_part(b, name, DUMP))
    assert _submit(collector, body, b) == (400, b"Discarded=malformed_invalid_dump_name")
    assert stored_files(collector.data_dir) == []


# --- Content-Encoding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["deflate", "br", "identity", "compress"])
def test_non_gzip_encoding_on_a_plain_body_is_read_as_it_is(http, collector, encoding):
    body, b = multipart_body(FIELDS, {"upload_file_minidump": DUMP})
    crash_id, raw = _accepted(collector, body, b, extra_headers={"Content-Encoding": encoding})
    assert collector.store.read_dump(crash_id) == DUMP and raw["ProductName"] == "Test"
    assert raw["metadata"]["payload_compressed"] == "0" and raw["metadata"]["payload_size"] == len(body)


def test_deflate_compressed_body_is_refused_as_antenna_refuses_it(http, collector):
    # Antenna inflates only gzip: a really deflated body is read as multipart and its framing is broken
    body, b = multipart_body(FIELDS, {"upload_file_minidump": DUMP})
    status, text = _submit(collector, zlib.compress(body), b, extra_headers={"Content-Encoding": "deflate"})
    assert (status, text) == (400, b"Discarded=malformed_invalid_payload_structure")
    assert stored_files(collector.data_dir) == []


def test_gzip_is_still_inflated(http, collector):
    body, b = multipart_body(FIELDS, {"upload_file_minidump": DUMP})
    crash_id, raw = _accepted(collector, gzip.compress(body), b, extra_headers={"Content-Encoding": "gzip"})
    assert collector.store.read_dump(crash_id) == DUMP and raw["metadata"]["payload_compressed"] == "1"


# --- annotation parts and Antenna's notes ----------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "charset"), [("", "utf-8"), ("Content-Type: text/plain\r\n", "utf-8"),
                                                  ("Content-Type: text/plain; charset=nope\r\n", "nope")])
def test_undecodable_annotation_gets_antennas_note(http, collector, headers, charset):
    b = "bnd"
    body = _doc(b, _fields(b), _part(b, "Bad", b"\xff\xfe\xfd", headers=headers))
    _, raw = _accepted(collector, body, b)
    assert "Bad" not in raw
    assert raw["metadata"]["collector_notes"] == [
        f"extract payload text part exception: invalid text or charset: {charset}"]


def test_json_part_with_parameters_is_the_json_extra(http, collector):
    b = "bnd"
    extra = json.dumps({"ProductName": "Json", "Version": "2"}).encode()
    body = _doc(b, _part(b, "extra", extra, headers="Content-Type: application/json; charset=utf-8\r\n"))
    _, raw = _accepted(collector, body, b)
    assert raw["ProductName"] == "Json" and raw["metadata"]["payload"] == "json"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_json_extra_in_other_unicode_encodings_is_read(http, collector, encoding):
    b = "bnd"
    extra = json.dumps({"ProductName": "Caf\u00e9", "Version": "2"}, ensure_ascii=False).encode(encoding)
    body = _doc(b, _part(b, "extra", extra, headers="Content-Type: application/json\r\n"))
    _, raw = _accepted(collector, body, b)
    assert raw["ProductName"] == "Caf\u00e9"


def test_upper_case_text_plain_part_is_a_dump_with_a_note(http, collector):
    b = "bnd"
    body = _doc(b, _fields(b), _part(b, "Shout", b"LOUD", headers="Content-Type: TEXT/PLAIN\r\n"))
    crash_id, raw = _accepted(collector, body, b)
    assert "Shout" not in raw and collector.store.read_dump(crash_id, "Shout") == b"LOUD"
    assert raw["metadata"]["collector_notes"] == ["unknown content type: Shout TEXT/PLAIN"]


def test_empty_filename_counts_as_no_filename(http, collector):
    b = "bnd"
    body = _doc(b, _fields(b), _part(b, "Comments", b"hello", filename=""))
    crash_id, raw = _accepted(collector, body, b)
    assert raw["Comments"] == "hello" and collector.store.dumps(crash_id) == {}


def test_unknown_content_type_note_names_the_part_as_sent(http, collector):
    b = "bnd"
    report = gzip.compress(b"{}")
    body = _doc(b, _fields(b), _dump_part(b, "memory-report", report, "application/gzip; x=1"))
    crash_id, raw = _accepted(collector, body, b)
    assert raw["metadata"]["collector_notes"] == ["unknown content type: memory-report application/gzip; x=1"]
    assert collector.store.read_dump(crash_id, "memoryreport") == report


def test_both_styles_note_comes_once_and_last(http, collector):
    b = "bnd"
    extra = json.dumps({"ProductName": "Json"}).encode()
    body = _doc(b, _part(b, "extra", extra, headers="Content-Type: application/json\r\n"),
                _dump_part(b, "attachment", b"x", "text/x-log"), _part(b, "Version", b"3"),
                _part(b, "extra2", extra, headers="Content-Type: application/json\r\n"))
    _, raw = _accepted(collector, body, b)
    assert raw["metadata"]["collector_notes"] == [
        "unknown content type: attachment text/x-log",
        "includes annotations in both json-encoded extra and formdata parts"]
    assert raw["metadata"]["payload"] == "json"


def test_two_json_parts_without_form_fields_get_no_both_styles_note(http, collector):
    b = "bnd"
    body = _doc(b, *(_part(b, f"extra{i}", json.dumps({"ProductName": str(i)}).encode(),
                           headers="Content-Type: application/json\r\n") for i in range(2)))
    _, raw = _accepted(collector, body, b)
    assert raw["ProductName"] == "1" and raw["metadata"]["collector_notes"] == []


def test_an_undecodable_field_still_counts_as_a_form_field(http, collector):
    b = "bnd"
    body = _doc(b, _part(b, "extra", json.dumps(FIELDS).encode(), headers="Content-Type: application/json\r\n"),
                _part(b, "Bad", b"\xff"))
    _, raw = _accepted(collector, body, b)
    assert raw["metadata"]["collector_notes"] == [
        "extract payload text part exception: invalid text or charset: utf-8",
        "includes annotations in both json-encoded extra and formdata parts"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_json_extra_cannot_hide_values_from_the_shape_check(http, collector, encoding):
    """Attack: reading UTF-16/32 extras (as Antenna does) must not weaken issue 19's JSON bounds. A character
    such as U+0122 holds a quote byte, so a byte scan of the UTF-16 text would take 30,000 values for a string
    and let them all be parsed; the shape check reads the UTF-8 form instead."""
    b = "bnd"
    doc = '{"ProductName": "x", "a": ["\u0122"' + ", []" * 30000 + ', "\u0122"]}'
    data = doc.encode(encoding)  # UTF-16 without a BOM is told apart by its zero bytes, as json.loads does
    body = _doc(b, _part(b, "extra", data, headers="Content-Type: application/json\r\n"))
    assert _submit(collector, body, b) == (413, b"Discarded=json_too_large")
    assert collector.store.count() == 0
