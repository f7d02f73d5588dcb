"""The raw crash the collector serves equals the one Mozilla's Antenna stores for the same upload.

``tests/data/collector/antenna-reference/<name>.antenna.json`` was recorded by running Antenna's own
``BreakpadSubmitterResource`` on each upload (``scripts/antenna_reference.py``; see PROVENANCE.md there): real
Crashpad uploads (from the corpus, and one with attachments) and hand-made requests for issue 26's items. Each upload is sent here byte for
byte to a collector on 127.0.0.1 (the Crashpad ones chunked, as Crashpad sent them) and the answer, the raw
crash from ``/api/RawCrash/`` and the dump sizes are compared; only the crash id and the arrival time differ.

The one deliberate difference: a dump part whose name keeps nothing once sanitised is stored by Antenna under
the empty name and here as ``unnamed_dump`` with a collector note saying so (README, collector section).
"""

from __future__ import annotations

import json
import re

import pytest
from collector_helpers import DATA, crash_id_from, send_raw

REFERENCE = DATA / "antenna-reference"
CASES = sorted(p.name[: -len(".antenna.json")] for p in REFERENCE.glob("*.antenna.json"))
TOKEN = "s3cret"  # the stage submitter token the reference was recorded with
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def _request(name: str) -> bytes:
    crafted = REFERENCE / "requests" / f"{name}.http"
    return crafted.read_bytes() if crafted.exists() else (DATA / name / "upload.http").read_bytes()


def _as_stored_here(raw: dict) -> dict:
    """Antenna's raw crash with the deliberate difference applied: the empty dump name -> unnamed_dump."""
    raw = json.loads(json.dumps(raw))
    checksums = raw["metadata"]["dump_checksums"]
    if "" in checksums:
        checksums["unnamed_dump"] = checksums.pop("")
    return raw


def test_the_reference_covers_real_crashpad_uploads_and_issue_26():
    assert {"01-null-deref", "04-divzero", "05-thread", "unnamed-dump-part", "deflate-label-plain-body",
            "invalid-utf8-field", "upper-case-uuid", "crashpad-attachments"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_raw_crash_matches_antennas(http, make_collector, name):
    expected = json.loads((REFERENCE / f"{name}.antenna.json").read_text())
    collector = make_collector(token=TOKEN)
    status, _, body = send_raw(collector.port, _request(name))
    assert status == expected["status"], body
    if not expected["body"].startswith("CrashID=bp-"):
        assert body.decode() == expected["body"]
        assert collector.store.count() == 0
        return
    crash_id = crash_id_from(body)
    if expected["raw_crash"]["uuid"] != expected["body"].strip()[len("CrashID=bp-"):]:
        pytest.fail("reference record is inconsistent")
    raw = http.get(f"{collector.base_url}/api/RawCrash/", params={"crash_id": crash_id},
                   headers={"Auth-Token": TOKEN}).json()
    assert raw.pop("uuid") == crash_id
    assert TIMESTAMP.match(raw.pop("submitted_timestamp"))
    want = _as_stored_here(expected["raw_crash"])
    chosen = want.pop("uuid")
    want.pop("submitted_timestamp")
    if name.endswith("-uuid"):  # the stage submitter chose the id
        assert crash_id == chosen
    ours_notes = raw["metadata"]["collector_notes"]
    if "" in expected["dump_sizes"]:
        assert ours_notes[-1].endswith("stored as unnamed_dump")
        ours_notes.pop()
    assert raw == want
    sizes = {n: ref.size for n, ref in collector.store.dumps(crash_id).items()}
    assert sizes == {("unnamed_dump" if n == "" else n): s for n, s in expected["dump_sizes"].items()}
