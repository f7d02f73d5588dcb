"""Issue 19 item 2: DNS rebinding. ``Host`` must name an address the collector listens on (or an allowed
name), and a cross-origin browser request must not read dumps; every refusal is in the rejection log."""

from __future__ import annotations

import socket

import pytest
from collector_helpers import DATA, crash_id_from, rejection_log, send_raw

from crashdesk.collector.host_check import HostPolicy

CASE = DATA / "01-null-deref"


@pytest.fixture
def served(make_collector):
    """A collector without a token (loopback clients have full access) holding one crash."""
    def make(**kw):
        collector = make_collector(**kw)
        crash_id = crash_id_from(send_raw(collector.port, (CASE / "upload.http").read_bytes())[2])
        return collector, crash_id
    return make


def _get(collector, crash_id: str, headers: dict[str, str]) -> tuple[int, bytes]:
    head = {"Host": f"127.0.0.1:{collector.port}", "Connection": "close", **headers}
    request = (f"GET /api/RawCrash/?crash_id={crash_id}&format=raw HTTP/1.1\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n").encode()
    status, _, body = send_raw(collector.port, request)
    return status, body


def test_rebound_host_cannot_read_dumps(served, data_dir):
    collector, crash_id = served()
    status, body = _get(collector, crash_id, {"Host": f"attacker.example:{collector.port}"})
    assert status == 421 and b"MDMP" not in body
    entry = rejection_log(data_dir)[-1]
    assert entry["reason"] == "host_not_allowed" and "attacker.example" in entry["detail"]
    assert entry["path"] == "/api/RawCrash/"
    dump = (CASE / "dump.dmp").read_bytes()
    for host in (f"127.0.0.1:{collector.port}", "127.0.0.1", f"localhost:{collector.port}", "LOCALHOST.",
                 f"127.0.0.2:{collector.port}", f"[::1]:{collector.port}"):
        assert _get(collector, crash_id, {"Host": host}) == (200, dump), host


def test_allow_list_names_are_accepted(served):
    collector, crash_id = served(allowed_hosts=("crashes.example.org", "*.corp.example"))
    assert _get(collector, crash_id, {"Host": "crashes.example.org:443"})[0] == 200
    assert _get(collector, crash_id, {"Host": "collector.corp.example"})[0] == 200
    assert _get(collector, crash_id, {"Host": "corp.example.attacker.example"})[0] == 421


@pytest.mark.parametrize("headers", [
    {"Origin": "http://attacker.example"},
    {"Origin": "http://localhost:3000"},  # another local server: another origin
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-site"},
])
def test_cross_origin_browser_request_cannot_read_dumps(served, data_dir, headers):
    collector, crash_id = served()
    headers = {k: v.format(port=collector.port) for k, v in headers.items()}
    status, body = _get(collector, crash_id, headers)
    assert status == 403 and b"MDMP" not in body
    assert rejection_log(data_dir)[-1]["reason"] == "cross_origin"


def test_same_origin_and_no_origin_are_fine(served):
    collector, crash_id = served()
    assert _get(collector, crash_id, {"Origin": f"http://127.0.0.1:{collector.port}"})[0] == 200
    assert _get(collector, crash_id, {"Origin": f"http://localhost:{collector.port}",
                                      "Sec-Fetch-Site": "same-origin"})[0] == 200


def test_cross_origin_submission_is_refused(served, data_dir):
    collector, _ = served()
    upload = (CASE / "upload.http").read_bytes()
    head, sep, body = upload.partition(b"\r\n\r\n")
    forged = head + b"\r\nOrigin: http://attacker.example" + sep + body
    status, _, answer = send_raw(collector.port, forged)
    assert (status, answer) == (403, b"Discarded=cross_origin")
    assert collector.store.count() == 1  # only the fixture's crash
    rebound = head.replace(b"Host: 127.0.0.1:43919", b"Host: attacker.example:8787") + sep + body
    assert send_raw(collector.port, rebound)[0] == 421
    assert [e["reason"] for e in rejection_log(data_dir)[-2:]] == ["cross_origin", "host_not_allowed"]


def test_policy_for_other_binds():
    wildcard = HostPolicy("0.0.0.0", 8787)
    assert wildcard.host_allowed("192.0.2.7:8787") and wildcard.host_allowed("[2001:db8::1]:8787")
    assert wildcard.host_allowed(socket.gethostname()) and wildcard.host_allowed("localhost")
    assert not wildcard.host_allowed("attacker.example:8787")
    one = HostPolicy("192.0.2.7", 8787)
    assert one.host_allowed("192.0.2.7") and not one.host_allowed("127.0.0.1")
    assert not one.host_allowed("localhost") and not one.host_allowed("192.0.2.8")
    assert one.origin_allowed("http://192.0.2.7:8787", None)
    assert not one.origin_allowed("http://192.0.2.7:8788", None)
    assert not one.origin_allowed("https://192.0.2.7", None)
