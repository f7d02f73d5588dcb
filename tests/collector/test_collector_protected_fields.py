"""Issue 19 item 7: protected fields (one list, crashdesk.model.protected_fields) are never usable by an
anonymous SuperSearch caller: a protected filter is dropped (as Crash Stats does), so ``moz_crash_reason=^prefix``
no longer reveals the protected ``MozCrashReason`` one prefix at a time; with the token it still filters."""

from __future__ import annotations

import json

import pytest
from collector_helpers import DATA, crash_id_from, multipart_body, request_bytes, send_raw

from crashdesk.collector import supersearch
from crashdesk.model.protected_fields import annotation_is_protected, processed_field_is_protected
from crashdesk.store.crashes import SignatureRecord

TOKEN = "0123456789abcdef0123456789abcdef"
CASE = DATA / "01-null-deref"
SECRET = "MOZ_RELEASE_ASSERT(token == s3cr3t-value)"


@pytest.fixture
def served(make_collector):
    collector = make_collector(token=TOKEN)
    annotations = json.loads((CASE / "annotations.json").read_text())
    annotations.update({"MozCrashReason": SECRET, "URL": "https://private.example/secret",
                        "PHCKind": "FreedPage"})
    body, boundary = multipart_body({k: str(v) for k, v in annotations.items()},
                                    {"upload_file_minidump": (CASE / "dump.dmp").read_bytes()})
    crash_id = crash_id_from(send_raw(collector.port, request_bytes(body, boundary))[2])
    processed = json.loads((CASE / "expected.json").read_text())
    collector.store.save_processed(crash_id, processed,
                                   signature=SignatureRecord("page_measure_width", "page_measure_width | main"))
    return collector, crash_id


def test_anonymous_protected_filter_reveals_nothing(http, served):
    collector, crash_id = served
    url = f"{collector.base_url}/api/SuperSearch/"
    token = {"Auth-Token": TOKEN}
    # with the token the filter works (the data is there to be revealed)
    assert http.get(url, params={"moz_crash_reason": "^MOZ_RELEASE"}, headers=token).json()["total"] == 1
    assert http.get(url, params={"moz_crash_reason": "^nothing-like-it"}, headers=token).json()["total"] == 0
    # anonymous: the filter is dropped, so matching and non-matching prefixes answer the same
    totals = set()
    for prefix in ("M", "MOZ_RELEASE_ASSERT(token == s", "X", "__null__", "!^M", "~s3cr3t"):
        r = http.get(url, params={"moz_crash_reason": prefix})
        assert r.status_code == 200
        totals.add(r.json()["total"])
    assert totals == {1}
    # nor as a column, facet or sort key
    r = http.get(url, params={"_facets": ["signature"], "_sort": "-date", "_columns": ["uuid", "signature"]})
    assert SECRET not in r.text and r.json()["hits"][0]["uuid"] == crash_id


def test_anonymous_raw_crash_hides_the_list(http, served):
    collector, crash_id = served
    url = f"{collector.base_url}/api/RawCrash/"
    anonymous = http.get(url, params={"crash_id": crash_id}).json()
    assert not [k for k in anonymous if annotation_is_protected(k)]
    assert SECRET not in json.dumps(anonymous) and "private.example" not in json.dumps(anonymous)
    full = http.get(url, params={"crash_id": crash_id}, headers={"Auth-Token": TOKEN}).json()
    assert full["MozCrashReason"] == SECRET and full["PHCKind"] == "FreedPage"


def test_no_supersearch_field_reads_protected_data_anonymously():
    """Every SuperSearch name that maps onto a protected field is dropped for anonymous callers."""
    assert supersearch.is_protected("moz_crash_reason")
    assert annotation_is_protected("MozCrashReason") and annotation_is_protected("Email")
    assert annotation_is_protected("URL") and annotation_is_protected("PHCBaseAddress")
    assert processed_field_is_protected("user_comments") and processed_field_is_protected("phc_kind")
    assert not annotation_is_protected("ProductName") and not processed_field_is_protected("signature")
    names = set(supersearch.FILTER_FIELDS) | set(supersearch.COLUMNS) | set(supersearch.FACETS)
    protected = {n for n in names if supersearch.is_protected(n)}
    assert "moz_crash_reason" in protected
    params = {n: ["^x"] for n in supersearch.FILTER_FIELDS}
    params["_facets"] = sorted(supersearch.FACETS)
    anonymous = supersearch.plan(params, full=False)
    for name in protected:
        qfield = supersearch.FILTER_FIELDS.get(name)
        if qfield:
            assert f"{qfield}:" not in anonymous.query
        assert name not in anonymous.facets and name not in anonymous.columns
    assert "ann.MozCrashReason:" in supersearch.plan(params, full=True).query
