"""Issue 19 items 5 and 6 against a real collector on 127.0.0.1: gzip bombs refused while inflating (dumps and
JSON extras), deeply nested JSON and lone surrogates answered 400 with a reason in the rejection log, and
nothing left on disk by a refused submission."""

from __future__ import annotations

import gzip
import zlib

import pytest
from collector_helpers import DATA, rejection_log, request_bytes, send_raw, stored_files

from crashdesk.collector.config import Limits

DUMP = (DATA / "01-null-deref" / "dump.dmp").read_bytes()
BOUNDARY = "----hostile-input-boundary"


def _gzip_zeros(size: int, prefix: bytes, suffix: bytes) -> bytes:
    """gzip of ``prefix + size zero bytes + suffix``, made piecewise (the inflated form never exists here)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [comp.compress(prefix)]
    zeros = bytes(1 << 20)
    for _ in range(size >> 20):
        out.append(comp.compress(zeros))
    out.append(comp.compress(suffix))
    out.append(comp.flush())
    return b"".join(out)


def _extra_body(extra_json: bytes, *, with_dump: bool = True) -> bytes:
    out = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="extra"; filename="extra.json"\r\n'
           f"Content-Type: application/json\r\n\r\n").encode() + extra_json + b"\r\n"
    if with_dump:
        out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload_file_minidump"; '
                f'filename="a.dmp"\r\nContent-Type: application/octet-stream\r\n\r\n').encode() + DUMP + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def _send(collector, body: bytes, *, gz: bool = False, raw_gzip: bool = False) -> tuple[int, bytes]:
    headers = {"Content-Encoding": "gzip"} if raw_gzip else None
    status, _, answer = send_raw(collector.port, request_bytes(body, BOUNDARY, gzip_body=gz, extra_headers=headers))
    return status, answer


def _last_reason(data_dir) -> str:
    return rejection_log(data_dir)[-1]["reason"]


def test_gzip_bomb_dump_is_refused_while_inflating(collector, data_dir):
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="ProductName"\r\n\r\nBomb\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload_file_minidump"; filename="a.dmp"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\nMDMP").encode()
    bomb = _gzip_zeros(200 << 20, head, f"\r\n--{BOUNDARY}--\r\n".encode())
    assert len(bomb) < 300_000  # ~200 KB on the wire for 200 MB once inflated
    status, answer = _send(collector, bomb, raw_gzip=True)
    assert (status, answer) == (413, b"Discarded=too_large_decompressed")
    assert _last_reason(data_dir) == "too_large_decompressed"
    assert stored_files(data_dir) == [] and collector.store.count() == 0


def test_inflate_limit_scales_with_the_wire_size():
    from crashdesk.collector.parsing import inflate_limit

    limits = Limits()
    assert inflate_limit(limits, 250_000) == limits.max_request_size  # never less than a plain upload
    assert inflate_limit(limits, 1_000_000) == 100_000_000
    assert inflate_limit(limits, 20 << 20) == limits.max_decompressed_size


def test_a_real_gzipped_crashpad_upload_still_passes(collector, data_dir):
    status, _, answer = send_raw(collector.port, (DATA / "01-null-deref" / "upload.http").read_bytes())
    assert status == 200 and answer.startswith(b"CrashID=bp-")


def test_gzipped_json_extra_with_too_many_values_is_refused(collector, data_dir):
    extra = b'{"ProductName": "Bomb", "list": [' + b"[]," * 400_000 + b"[]]}"
    status, answer = _send(collector, _extra_body(extra), gz=True)
    assert (status, answer) == (413, b"Discarded=json_too_large")
    assert stored_files(data_dir) == [] and collector.store.count() == 0


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_extra_is_a_400(collector, data_dir, depth):
    extra = b'{"ProductName": "Deep", "x": ' + b"[" * depth + b"]" * depth + b"}"
    status, answer = _send(collector, _extra_body(extra))
    assert (status, answer) == (400, b"Discarded=malformed_json_too_deep")
    entry = rejection_log(data_dir)[-1]
    assert entry["reason"] == "malformed_json_too_deep" and "64" in entry["detail"]
    assert stored_files(data_dir) == [] and collector.store.count() == 0


@pytest.mark.parametrize("extra", [b'{"ProductName": "\\ud800"}', b'{"\\udfff": "key"}',
                                   b'{"ProductName": "ok", "n": {"deep": ["\\udbff x"]}}'])
def test_lone_surrogate_is_a_400_and_leaves_no_dump(collector, data_dir, extra):
    status, answer = _send(collector, _extra_body(extra))
    assert (status, answer) == (400, b"Discarded=malformed_invalid_unicode")
    assert _last_reason(data_dir) == "malformed_invalid_unicode"
    assert stored_files(data_dir) == [] and collector.store.count() == 0


def test_paired_surrogate_escape_is_fine(collector, data_dir):
    status, answer = _send(collector, _extra_body(b'{"ProductName": "smile \\ud83d\\ude00"}'))
    assert status == 200 and answer.startswith(b"CrashID=bp-")
    crash_id = answer.decode().strip().removeprefix("CrashID=bp-")
    assert collector.store.annotations(crash_id)["ProductName"] == "smile \U0001f600"


def test_nesting_within_the_bound_is_kept(collector, data_dir):
    extra = b'{"ProductName": "Nested", "x": ' + b"[" * 60 + b"1" + b"]" * 60 + b', "s": "[[[[{{{{"}'
    status, answer = _send(collector, _extra_body(extra))
    assert status == 200, answer


def test_gzip_helper_roundtrip():
    assert gzip.decompress(_gzip_zeros(1 << 20, b"a", b"b")) == b"a" + bytes(1 << 20) + b"b"


def test_unterminated_escaped_quotes_are_refused_promptly(collector, data_dir):
    """``"\\"\\"\\"...`` without a closing quote made the JSON shape check quadratic (40 KB: 10 s of CPU;
    this 400 KB one would have taken over 15 minutes): now one linear pass, then json.loads refuses it."""
    extra = b'{"ProductName": "x", "s": "' + b'\\"' * 200_000 + b"}"
    status, answer = _send(collector, _extra_body(extra))
    assert (status, answer) == (400, b"Discarded=malformed_invalid_json")
    assert stored_files(data_dir) == []
