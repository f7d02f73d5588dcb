"""The "open on server" link of a synced crash is the server's report page, ``/report/index/<id>``, however the
server's address was saved (issue 20: a saved ``.../api/`` address gave a link that was a 404)."""

from __future__ import annotations

import httpx
import pytest
from conftest import FAST_RETRY, TOKEN
from socorro_fake import FakeSocorro

from crashdesk.sync import Secret, ServerTarget, SyncOptions, SyncQuery, SyncRunner
from crashdesk.sync.runner import report_url


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/"])
def test_synced_crash_links_to_the_report_page(store, crashes, suffix):
    fake = FakeSocorro(list(crashes[:3]), tokens={TOKEN: {"view_pii", "view_rawdump"}}).start()
    try:
        target = ServerTarget("fake", fake.url + suffix, Secret(TOKEN), concurrency=2)
        summary = SyncRunner(store, target, SyncQuery.build(()), SyncOptions(retry=FAST_RETRY)).run()
        assert summary.complete, summary.lines()
        for crash in crashes[:3]:
            assert store.get(crash.crash_id)["source_url"] == f"{fake.url}/report/index/{crash.crash_id}"
    finally:
        fake.stop()


def test_report_url_shapes():
    assert report_url("https://crash-stats.mozilla.org/api/", "abc") == \
        "https://crash-stats.mozilla.org/report/index/abc"
    assert report_url("https://host:8443/prefix/", "x") == "https://host:8443/prefix/report/index/x"
    assert httpx.URL(report_url("http://127.0.0.1:9/", "x")).path == "/report/index/x"
