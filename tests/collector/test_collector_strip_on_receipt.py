"""Strip on receipt (issue 23): with the option on, the collector removes its removed fields (Email, the
telemetry ids) from the Crashpad annotations inside the received dump too, so importing that dump alone does
not bring them back; off (the default) the dump is stored byte for byte as sent. A real Crashpad dump whose
process annotation ``Vendor`` was renamed ``EMAIL`` (odd case) with an address as its value is uploaded."""

from __future__ import annotations

import hashlib
import json
import struct

from collector_helpers import DATA, crash_id_from, multipart_body, request_bytes, send_raw

from crashdesk.engine.minidump import Minidump
from crashdesk.engine.minidump import constants as C
from crashdesk.engine.minidump.extras import annotations as dump_annotations

CASE = DATA / "01-null-deref"
ADDRESS = b"s3@cret.mail"


def _dump_with_email() -> bytes:
    data = bytearray((CASE / "dump.dmp").read_bytes())
    with Minidump.from_bytes(bytes(data)) as dump:
        e = dump.stream(C.CRASHPAD_INFO)
        srva = struct.unpack_from("<I", data, e.rva + 40)[0]
        for i in range(struct.unpack_from("<I", data, srva)[0]):
            krva, vrva = struct.unpack_from("<II", data, srva + 4 + 8 * i)
            if bytes(data[krva + 4:krva + 10]) == b"Vendor":
                struct.pack_into("<I", data, krva, 5)
                data[krva + 4:krva + 10] = b"EMAIL\0"
                data[vrva + 4:vrva + 16] = ADDRESS
    with Minidump.from_bytes(bytes(data)) as dump:
        assert dump_annotations(dump)["EMAIL"] == ADDRESS.decode()
    return bytes(data)


def _upload(collector, dump: bytes) -> str:
    annotations = json.loads((CASE / "annotations.json").read_text())
    annotations["Email"] = "form@example.com"
    body, boundary = multipart_body({k: str(v) for k, v in annotations.items()}, {"upload_file_minidump": dump})
    return crash_id_from(send_raw(collector.port, request_bytes(body, boundary))[2])


def test_strip_on_receipt_removes_the_annotation_inside_the_dump(make_collector):
    collector = make_collector(strip_dump_annotations=True)
    sent = _dump_with_email()
    crash_id = _upload(collector, sent)
    row = collector.store.get(crash_id)
    stored = collector.store.read_dump(crash_id)
    assert "Email" not in row["annotations"]
    assert ADDRESS not in stored and stored != sent and len(stored) == len(sent)
    with Minidump.from_bytes(stored) as dump:
        found = dump_annotations(dump)
    assert "EMAIL" not in found and found["ProductName"] == "CrashFactoryDemo"
    assert row["annotations"]["metadata"]["dump_checksums"]["upload_file_minidump"] == \
        hashlib.sha256(stored).hexdigest()
    assert "Removed EMAIL from the Crashpad annotations of upload_file_minidump." in \
        row["annotations"]["metadata"]["collector_notes"]


def test_off_by_default_the_dump_is_kept_as_sent(make_collector):
    collector = make_collector()
    sent = _dump_with_email()
    crash_id = _upload(collector, sent)
    assert collector.store.read_dump(crash_id) == sent
    assert "Email" not in collector.store.get(crash_id)["annotations"]   # the form field is still removed
