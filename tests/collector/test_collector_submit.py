"""Accepted submissions from an ordinary HTTP client (httpx): both annotation styles, extra dumps, gzip,
chunked bodies, Antenna's clean-up and notes, and the health endpoints."""

from __future__ import annotations

import gzip
import hashlib
import json

from collector_helpers import crash_id_from, multipart_body, request_bytes, send_raw

DUMP = b"MDMP" + bytes(range(256)) * 40


def test_httpx_multipart_post_with_additional_dumps(http, collector):
    files = {
        "upload_file_minidump": ("a.dmp", DUMP, "application/octet-stream"),
        "upload_file_minidump_browser": ("b.dmp", DUMP[::-1], "application/octet-stream"),
        "memory_report": ("memory-report.json.gz", gzip.compress(b"{}"), "application/gzip"),
    }
    data = {"ProductName": "Demo", "Version": "2.0", "Email": "qa@example.com", "URL": "https://x.test/"}
    r = http.post(collector.submit_url, data=data, files=files)
    assert r.status_code == 200
    crash_id = crash_id_from(r.content)
    store = collector.store
    assert sorted(store.dumps(crash_id)) == ["memory_report", "upload_file_minidump",
                                             "upload_file_minidump_browser"]
    assert store.read_dump(crash_id, "upload_file_minidump_browser") == DUMP[::-1]
    raw = store.annotations(crash_id)
    assert "Email" not in raw and raw["URL"] == "https://x.test/"
    notes = raw["metadata"]["collector_notes"]
    assert "Removed Email from raw crash." in notes
    assert "unknown content type: memory_report application/gzip" in notes
    assert raw["metadata"]["dump_checksums"]["upload_file_minidump"] == hashlib.sha256(DUMP).hexdigest()
    assert raw["metadata"]["payload_compressed"] == "0"


def test_json_extra_and_form_fields_both_styles(http, collector):
    body, b = multipart_body({"Early": "dropped by the JSON part"}, {"upload_file_minidump": DUMP},
                             json_extra={"ProductName": "Demo", "Version": "3.1", "Nested": {"a": 1}})
    # a form field after the JSON part is added on top of it
    body = body.replace(f"--{b}--".encode(),
                        f'--{b}\r\nContent-Disposition: form-data; name="Late"\r\n\r\nyes\r\n--{b}--'.encode())
    status, _, text = send_raw(collector.port, request_bytes(body, b))
    assert status == 200
    raw = collector.store.annotations(crash_id_from(text))
    assert raw["ProductName"] == "Demo" and raw["Late"] == "yes" and "Early" not in raw
    assert raw["Nested"] == {"a": 1}
    assert raw["metadata"]["payload"] == "json"
    assert raw["metadata"]["collector_notes"] == [
        "includes annotations in both json-encoded extra and formdata parts"]


def test_annotations_without_a_dump_are_accepted(http, collector):
    r = http.post(collector.submit_url, files={"ProductName": (None, "Demo"), "Version": (None, "1")})
    assert r.status_code == 200
    crash_id = crash_id_from(r.content)
    assert collector.store.dumps(crash_id) == {}
    assert collector.store.annotations(crash_id)["metadata"]["dump_checksums"] == {}


def test_gzip_and_chunked_from_httpx(http, collector):
    body, b = multipart_body({"ProductName": "Demo", "Version": "1"}, {"upload_file_minidump": DUMP})
    packed = gzip.compress(body)

    def pieces():
        for i in range(0, len(packed), 333):
            yield packed[i:i + 333]

    r = http.post(collector.submit_url, content=pieces(), headers={
        "Content-Type": f"multipart/form-data; boundary={b}", "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.request.headers.get("transfer-encoding") == "chunked"
    crash_id = crash_id_from(r.content)
    assert collector.store.read_dump(crash_id) == DUMP
    meta = collector.store.annotations(crash_id)["metadata"]
    assert meta["payload_compressed"] == "1" and meta["payload_size"] == len(packed)


def test_undecodable_annotation_is_dropped_with_a_note(http, collector):
    b = "bnd"
    body = (f'--{b}\r\nContent-Disposition: form-data; name="ProductName"\r\n\r\nDemo\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="Bad"\r\n\r\n').encode() + b"\xff\xfe\r\n" + \
        f"--{b}--\r\n".encode()
    status, _, text = send_raw(collector.port, request_bytes(body, b))
    assert status == 200
    raw = collector.store.annotations(crash_id_from(text))
    assert "Bad" not in raw
    # Antenna's wording (collector.md §3.3: dropped with a note); Socorro tools read these notes
    assert raw["metadata"]["collector_notes"] == [
        "extract payload text part exception: invalid text or charset: utf-8"]


def test_url_query_fills_in_missing_product_and_version(http, collector):
    body, b = multipart_body({"SomeKey": "v"}, {"upload_file_minidump": DUMP})
    status, _, text = send_raw(collector.port, request_bytes(
        body, b, target="/submit?product=FromUrl&version=9.9&guid=abc"))
    assert status == 200
    crash_id = crash_id_from(text)
    raw = collector.store.annotations(crash_id)
    assert (raw["ProductName"], raw["Version"], raw["guid"]) == ("FromUrl", "9.9", "abc")
    assert raw["metadata"]["collector_notes"] == ["ProductName taken from the URL query (product=)",
                                                  "Version taken from the URL query (version=)",
                                                  "guid taken from the URL query (guid=)"]
    row = collector.store.get(crash_id)
    assert (row["product"], row["version"]) == ("FromUrl", "9.9")


def test_received_hook_is_called_after_commit(http, make_collector):
    seen = []

    def hook(crash_id: str) -> None:
        seen.append((crash_id, collector.store.exists(crash_id)))

    collector = make_collector(on_received=hook)
    r = http.post(collector.submit_url, files={"ProductName": (None, "Demo")})
    crash_id = crash_id_from(r.content)
    assert seen == [(crash_id, True)]


def test_health_endpoints(http, collector):
    base = collector.base_url
    r = http.get(f"{base}/__lbheartbeat__")
    assert r.status_code == 200 and r.content == b"" and r.headers["content-type"].startswith("application/json")
    r = http.get(f"{base}/__heartbeat__")
    assert r.status_code == 200 and r.json() == {"errors": []}
    r = http.get(f"{base}/__version__")
    assert r.status_code == 200
    from crashdesk import __version__
    assert r.json()["version"] == __version__


def test_stats_count_accepted(http, collector):
    for _ in range(3):
        http.post(collector.submit_url, files={"ProductName": (None, "Demo")})
    stats = collector.stats()
    assert stats["accepted"] == 3 and stats["submit_url"] == collector.submit_url
    json.dumps(stats)
