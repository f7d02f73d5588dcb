"""Fuzz targets (hypothesis, bounded example counts) for the collector's parsers: multipart form fields and
JSON extras. The contract for any input: either a submission whose annotations the store can write (UTF-8
JSON), or a :class:`Discarded` with a client-error or busy status and a reason; never another exception, and
nothing left in the spool folder either way."""

from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.collector.config import Limits
from crashdesk.collector.errors import Discarded
from crashdesk.collector.parsing import RequestInfo, parse_submission

BOUNDARY = "fuzz-boundary-7f3a"
LIMITS = Limits(max_fields=40, max_files=4, max_decompressed_size=1 << 20, max_annotation_size=1 << 16,
                max_json_depth=16, max_json_values=2000)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

CHARSETS = [None, "utf-8", "UTF-8", "latin-1", "utf-16", "utf-7", "ascii", "cp1252", "rot13", "base64",
            "zlib", "nonsense", "utf-8-sig", "idna", "punycode", "unicode_escape", "raw_unicode_escape"]
CONTENT_TYPES = [None, "text/plain", "application/json", "application/octet-stream", "text/html",
                 "application/x-unknown", "multipart/mixed"]


def _check(body: bytes, tmp_path, *, gzip_body: bool = False) -> None:
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    if gzip_body:
        import gzip

        body = gzip.compress(body)
    info = RequestInfo(f"multipart/form-data; boundary={BOUNDARY}", "gzip" if gzip_body else None, len(body))
    try:
        sub = parse_submission(info, io.BytesIO(body), LIMITS, spool)
    except Discarded as refused:
        assert refused.status in (400, 401, 413, 503) and refused.reason
    else:
        json.dumps(sub.annotations, ensure_ascii=False).encode("utf-8")  # what the store will write
        sub.discard_files()
        sub.release()
    assert list(spool.iterdir()) == []


_names = st.one_of(st.text(max_size=20), st.sampled_from(["extra", "upload_file_minidump", "ProductName",
                                                         "raw_crash", "a\"b", "é", "\ud800x"]))


@st.composite
def form_parts(draw):
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(_names)
        ctype = draw(st.sampled_from(CONTENT_TYPES))
        charset = draw(st.sampled_from(CHARSETS))
        filename = draw(st.one_of(st.none(), st.text(max_size=10)))
        value = draw(st.binary(max_size=200))
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        head = f"Content-Disposition: {disposition}\r\n"
        if ctype is not None:
            head += f"Content-Type: {ctype}" + (f"; charset={charset}" if charset else "") + "\r\n"
        parts.append(f"--{BOUNDARY}\r\n".encode("utf-8", "surrogatepass") + head.encode("utf-8", "surrogatepass")
                     + b"\r\n" + value + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@SETTINGS
@given(body=form_parts(), gz=st.booleans())
def test_fuzz_multipart_form_fields(tmp_path, body, gz):
    _check(body, tmp_path, gzip_body=gz)


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children,
                                                                               max_size=5)),
    max_leaves=40)

_json_noise = st.sampled_from([b"\\ud800", b"\\udfff", b"\\ud83d\\ude00", b"[" * 40, b"]" * 40, b"{" * 40,
                               b'"', b"\\", b"\x00", b"\xff\xfe", b"1e999999", b"-", b",", b":", b"NaN",
                               b"Infinity", b"\xed\xa0\x80"])


@st.composite
def json_extras(draw):
    doc = {"ProductName": "Fuzz", **draw(st.dictionaries(st.text(max_size=10), _json_values, max_size=6))}
    raw = bytearray(json.dumps(doc, allow_nan=True).encode())
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(raw)))
        raw[pos:pos] = draw(_json_noise)
    return bytes(raw)


@SETTINGS
@given(extra=json_extras(), with_dump=st.booleans(), gz=st.booleans())
def test_fuzz_json_extras(tmp_path, extra, with_dump, gz):
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="extra"; filename="extra.json"\r\n'
            f"Content-Type: application/json\r\n\r\n").encode() + extra + b"\r\n"
    if with_dump:
        body += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload_file_minidump"; '
                 f'filename="a.dmp"\r\nContent-Type: application/octet-stream\r\n\r\nMDMP\x93\xa7').encode() + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    _check(body, tmp_path, gzip_body=gz)


def test_field_in_a_charset_whose_decoder_raises_a_bare_unicode_error(tmp_path):
    """Found by the fuzzer: ``punycode`` raises ``UnicodeError`` (not ``UnicodeDecodeError``) on bad input."""
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="ProductName"\r\n\r\nok\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="Odd"\r\n'
            f"Content-Type: text/plain; charset=punycode\r\n\r\n\xff-\r\n--{BOUNDARY}--\r\n").encode("latin-1")
    spool = tmp_path / "spool"
    spool.mkdir()
    sub = parse_submission(RequestInfo(f"multipart/form-data; boundary={BOUNDARY}", None, len(body)),
                           io.BytesIO(body), LIMITS, spool)
    assert sub.annotations == {"ProductName": "ok"}
    # dropped with Antenna's note, which names the charset, not the field (issue 26)
    assert sub.notes == ["extract payload text part exception: invalid text or charset: punycode"]
