"""Bad input never escapes as an exception or a hang: fuzzed bodies, bad command lines, a taken port."""

from __future__ import annotations

import errno
import gzip
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.cli import main
from crashdesk.collector import Collector, CollectorConfig, CollectorError, Limits
from crashdesk.collector.errors import Discarded
from crashdesk.collector.parsing import RequestInfo, parse_submission

BOUNDARY = "fuzzboundary"
VALID = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="ProductName"\r\n\r\nFuzz\r\n'
         f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload_file_minidump"; filename="a.dmp"\r\n'
         f"Content-Type: application/octet-stream\r\n\r\nMDMPdata\r\n--{BOUNDARY}--\r\n").encode()
LIMITS = Limits(max_fields=50, max_files=5, max_decompressed_size=1 << 20, max_annotation_size=1 << 16)


def _parse(body: bytes, tmp_path, *, gz: bool = False) -> None:
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    info = RequestInfo(f"multipart/form-data; boundary={BOUNDARY}", "gzip" if gz else None, len(body))
    try:
        sub = parse_submission(info, io.BytesIO(body), LIMITS, spool)
    except Discarded as refused:
        assert refused.status in (400, 413)
    else:
        assert sub.annotations
        sub.discard_files()
    assert list(spool.iterdir()) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(VALID)), noise=st.binary(max_size=40), pos=st.integers(0, len(VALID)))
def test_mangled_multipart_is_refused_or_parsed(tmp_path, cut, noise, pos):
    body = VALID[:pos] + noise + VALID[pos:]
    _parse(body[: max(cut, 1)] if cut < len(body) else body, tmp_path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=300))
def test_random_gzip_bodies_are_refused_or_parsed(tmp_path, data):
    _parse(data, tmp_path, gz=True)
    _parse(gzip.compress(data), tmp_path, gz=True)


def test_valid_document_parses(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    info = RequestInfo(f"multipart/form-data; boundary={BOUNDARY}", None, len(VALID))
    sub = parse_submission(info, io.BytesIO(VALID), LIMITS, spool)
    assert sub.annotations == {"ProductName": "Fuzz"}
    assert sub.dumps["upload_file_minidump"].path.read_bytes() == b"MDMPdata"
    sub.discard_files()


def test_taken_port_is_a_clear_error(make_collector, tmp_path):
    first = make_collector()
    other = Collector(tmp_path / "other", CollectorConfig(port=first.port))
    with pytest.raises(CollectorError, match="cannot listen") as caught:
        other.start()
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.EADDRINUSE
    # the failed start released the other folder's lock
    again = Collector(tmp_path / "other", CollectorConfig(port=0))
    try:
        assert again.start().endswith("/submit")
    finally:
        again.stop()


@pytest.mark.parametrize(("argv", "code", "text"), [
    (["collector", "--port", "70000"], 2, "--port"),
    (["collector", "--port", "0", "--throttle-rules", "/nonexistent/rules.json"], 1, "throttle rules"),
    (["collector", "--port", "0", "--max-fields", "0"], 2, "positive"),
])
def test_bad_command_lines(data_dir, capsys, argv, code, text):
    assert main([*argv, "--data-dir", str(data_dir), "--no-process"]) == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err
