"""Smaller parts: throttle rules, the token lookup, access rules, SuperSearch planning, slow clients."""

from __future__ import annotations

import datetime as dt
import random
import socket
import threading

import pytest
from collector_helpers import crash_id_from, multipart_body, request_bytes, send_raw

from crashdesk.collector.auth import TokenMismatch, has_full_access, resolve_token
from crashdesk.collector.errors import CollectorError
from crashdesk.collector.parsing import sanitize_dump_name
from crashdesk.collector.supersearch import SuperSearchError, date_window, plan
from crashdesk.collector.throttle import Throttler, rules_from_json


def test_throttle_first_match_wins_and_no_match_rejects():
    t = rules_from_json({"rules": [
        {"name": "keep_comments", "annotation": "Comments", "op": "exists", "result": "ACCEPT"},
        {"name": "skip", "annotation": "ProcessType", "op": "in", "value": ["gpu"], "result": "CONTINUE"},
        {"name": "nightly", "annotation": "ReleaseChannel", "op": "regex", "value": "nightly.*",
         "result": "DEFER"}]})
    assert (t.throttle({"Comments": "x", "ReleaseChannel": "nightly"}).result, "ACCEPT") == ("ACCEPT", "ACCEPT")
    d = t.throttle({"ProcessType": "gpu", "ReleaseChannel": "nightly-try"})
    assert (d.result, d.rule) == ("DEFER", "nightly")
    d = t.throttle({"ReleaseChannel": "release"})
    assert (d.result, d.rule) == ("REJECT", "NO_MATCH")
    assert Throttler().throttle({}).result == "ACCEPT"


def test_throttle_percentage_samples():
    t = rules_from_json({"rules": [{"name": "sample", "result": "ACCEPT", "percentage": 10}]})
    t._rng = random.Random(7)
    results = [t.throttle({"ProductName": "X"}).result for _ in range(2000)]
    accepted = results.count("ACCEPT")
    assert 100 < accepted < 300 and results.count("REJECT") == 2000 - accepted


def test_bad_rules_are_typed_errors():
    for doc in ([], {"rules": [{"result": "ACCEPT"}]}, {"rules": [{"name": "x", "result": "MAYBE"}]},
                {"rules": [{"name": "x", "annotation": "A", "op": "regex", "value": "("}]}):
        with pytest.raises(CollectorError):
            rules_from_json(doc)


def test_sanitize_dump_name():
    assert sanitize_dump_name("upload_file_minidump-browser!") == "upload_file_minidumpbrowser"
    assert len(sanitize_dump_name("a" * 50)) == 30


def test_token_from_environment(monkeypatch):
    monkeypatch.setenv("CRASHDESK_COLLECTOR_TOKEN", "from-env")
    assert resolve_token() == "from-env"
    assert resolve_token("explicit") == "explicit"


def test_access_rules():
    assert has_full_access(None, "anything", "127.0.0.1") is True
    assert has_full_access(None, None, "::1") is True
    assert has_full_access(None, None, "192.168.1.5") is False
    assert has_full_access("t", None, "127.0.0.1") is False
    assert has_full_access("t", "t", "10.0.0.1") is True
    with pytest.raises(TokenMismatch):
        has_full_access("t", "u", "127.0.0.1")


def test_supersearch_date_window_rules():
    now = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    low, up, _, _ = date_window([], now)
    assert (up - low, up) == (dt.timedelta(days=7), now)
    low, up, low_inc, up_inc = date_window([">=2026-11-01", ">2026-11-10", "<2026-11-20", "<=2026-11-25"], now)
    assert (low.day, up.day, low_inc, up_inc) == (10, 20, False, False)
    low, up, _, _ = date_window(["<2026-06-01T00:00:00Z"], now)
    assert up - low == dt.timedelta(days=7)
    with pytest.raises(SuperSearchError):
        date_window(["2026-11-01"], now)


def test_supersearch_plan_translates_operators():
    p = plan({"signature": ["~OOM", "=exact sig"], "product": ["A", "B"], "build_id": [">=2026", "<2027"],
              "uuid": ["__null__"], "_sort": ["-date", "bogus"], "_columns": ["uuid"]},
             now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    assert '(signature:~"OOM" OR signature:="exact sig")' in p.query
    assert '(product:="A" OR product:="B")' in p.query
    assert 'build_id:>="2026"' in p.query and 'build_id:<"2027"' in p.query
    assert "crash_id:__null__" in p.query
    assert p.sort == ["-date"] and p.columns == ["uuid"]


def test_slow_client_does_not_hold_up_others(make_collector):
    """One worker thread: a client trickling its body must not block another submission."""
    collector = make_collector(threads=1)
    body, b = multipart_body({"ProductName": "Slow"}, {"upload_file_minidump": b"MDMP" * 1000})
    request = request_bytes(body, b)
    slow = socket.create_connection(("127.0.0.1", collector.port), timeout=30)
    try:
        slow.sendall(request[: len(request) // 2])
        fast_body, fb = multipart_body({"ProductName": "Fast"})
        status, _, text = send_raw(collector.port, request_bytes(fast_body, fb))
        assert status == 200
        assert collector.store.annotations(crash_id_from(text))["ProductName"] == "Fast"
        slow.sendall(request[len(request) // 2:])
        answer = b""
        while not answer.endswith(b"\n") or b"CrashID" not in answer:
            chunk = slow.recv(4096)
            if not chunk:
                break
            answer += chunk
        assert b"200 OK" in answer and b"CrashID=bp-" in answer
    finally:
        slow.close()
    assert collector.store.count() == 2


def test_deferred_crash_is_stored_but_not_handed_to_processing(make_collector, http):
    seen = []
    throttler = rules_from_json({"rules": [{"name": "later", "result": "DEFER"}]})
    collector = make_collector(throttler=throttler, on_received=seen.append)
    r = http.post(collector.submit_url, files={"ProductName": (None, "Demo")})
    crash_id = crash_id_from(r.content)
    assert crash_id[-7] == "1" and collector.store.exists(crash_id)
    assert seen == []


def test_stop_answers_what_it_stored(data_dir):
    """A stop during a burst: every crash stored was answered (no client is left retrying a stored crash)."""
    import httpx

    from crashdesk.collector import Collector, CollectorConfig
    from crashdesk.store import CrashStore

    collector = Collector(data_dir, CollectorConfig(port=0))
    url = collector.start()
    answered: list[str] = []
    failures: list[str] = []

    def submit() -> None:
        with httpx.Client(trust_env=False, timeout=30) as client:
            for _ in range(40):
                try:
                    r = client.post(url, files={"ProductName": (None, "Stop"),
                                                "upload_file_minidump": ("a.dmp", b"MDMP" * 50_000)})
                except httpx.HTTPError as exc:
                    failures.append(type(exc).__name__)
                    return
                answered.append(crash_id_from(r.content))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    while len(answered) < 10:
        threading.Event().wait(0.01)
    collector.stop()
    for t in threads:
        t.join(30)
    assert failures  # the burst really was cut short
    with CrashStore.open(data_dir) as store:
        assert all(store.exists(i) for i in answered)
        assert store.count() == len(answered)


def test_unwritable_spool_answers_500_and_client_may_retry(make_collector, http):
    collector = make_collector()
    spool = collector.data_dir / "dumps" / ".incoming"
    spool.rmdir()
    spool.write_text("not a folder")  # every dump write now fails with an OSError
    r = http.post(collector.submit_url, files={"ProductName": (None, "Disk"),
                                               "upload_file_minidump": ("a.dmp", b"MDMP" * 10)})
    assert (r.status_code, r.content) == (500, b"")
    assert collector.store.count() == 0
    beat = http.get(f"{collector.base_url}/__heartbeat__")
    assert beat.status_code == 503 and [e["name"] for e in beat.json()["errors"]] == ["spool"]
    spool.unlink()
    spool.mkdir()
    r = http.post(collector.submit_url, files={"ProductName": (None, "Disk"),
                                               "upload_file_minidump": ("a.dmp", b"MDMP" * 10)})
    assert r.status_code == 200 and collector.store.read_dump(crash_id_from(r.content)) == b"MDMP" * 10


def test_chunk_reader_hands_out_received_pieces_in_order(tmp_path):
    from crashdesk.collector.request_body import BodyGuard

    buf = BodyGuard(tmp_path).buffer("127.0.0.1")
    pieces = [bytes([i]) * n for i, n in enumerate((5, 70000, 1, 3))]
    for piece in pieces:
        buf.append(piece)
    buf.append(b"")
    assert len(buf) == sum(map(len, pieces))
    reader = buf.getfile()
    got = []
    while chunk := reader.read(65536):
        assert len(chunk) <= 65536
        got.append(chunk)
    assert b"".join(got) == b"".join(pieces)
    assert reader.read(10) == b""


def test_gzip_stream_inflates_identically_in_any_piece_size():
    import gzip
    import io

    from crashdesk.collector.errors import Discarded
    from crashdesk.collector.parsing import _inflate, _read

    rng = random.Random(7)
    raw = rng.randbytes(200_000) + bytes(600_000) + rng.randbytes(1000)
    packed = gzip.compress(raw, 6)
    for step in (1000, 65536, len(packed)):
        pieces = [packed[i:i + step] for i in range(0, len(packed), step)]
        assert b"".join(_inflate(iter(pieces), len(raw))) == raw
    with pytest.raises(Discarded) as bomb:
        b"".join(_inflate(_read(io.BytesIO(packed), len(packed)), len(raw) - 1))
    assert bomb.value.reason == "too_large_decompressed"
    with pytest.raises(Discarded) as cut:
        b"".join(_inflate(iter([packed[:-20]]), len(raw)))
    assert cut.value.reason == "malformed_bad_gzip"


def _raw_crash_item(crash_id: str) -> dict:
    return {"annotations": {"ProductName": "Units", "Version": "1"}, "dumps": {}, "source": "collector",
            "crash_id": crash_id}


def test_group_commit_waits_for_announced_requests_but_never_holds_a_lone_one(tmp_path):
    from crashdesk.collector.durable import GroupCommitter
    from crashdesk.model.crash_id import new_crash_id
    from crashdesk.store.crashes import CrashStore

    store = CrashStore.open(tmp_path)
    committer = GroupCommitter(store, gather_seconds=60)
    try:
        # alone: committed at once (a 60 s gather would blow the 20 s commit timeout)
        lone = new_crash_id()
        with committer.arriving() as arrival:
            assert committer.commit(_raw_crash_item(lone), timeout=20, arrival=arrival) == lone
        assert committer.groups == 1

        # two requests under way: the first one's crash waits for the second one's to share its transaction
        ids = [new_crash_id(), new_crash_id()]
        first_arrival, second = committer.arriving(), committer.arriving()
        results: list[str] = []
        first = threading.Thread(target=lambda: results.append(
            committer.commit(_raw_crash_item(ids[0]), timeout=20, arrival=first_arrival)))
        first.start()
        committer.commit(_raw_crash_item(ids[1]), timeout=20, arrival=second)
        first.join(20)
        assert results == [ids[0]]
        assert committer.groups == 2 and committer.committed == 3
        assert all(store.exists(i) for i in [lone, *ids])

        # a request that is refused settles its announcement: nobody waits for it
        refused = committer.arriving()
        refused.settle()
        refused.settle()
        third = new_crash_id()
        assert committer.commit(_raw_crash_item(third), timeout=20) == third
    finally:
        committer.close()
        store.close()
