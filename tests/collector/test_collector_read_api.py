"""The Crash Stats API subset the collector serves, and Mozilla's own crashstats-tools against it."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess

import pytest
from collector_helpers import DATA, crash_id_from, send_raw

from crashdesk.store.crashes import SignatureRecord

TOKEN = "0123456789abcdef0123456789abcdef"
CASE = DATA / "01-null-deref"


@pytest.fixture
def served(make_collector):
    """A token-protected collector holding one real Crashpad crash, processed with the reference output."""
    collector = make_collector(token=TOKEN)
    crash_id = crash_id_from(send_raw(collector.port, (CASE / "upload.http").read_bytes())[2])
    return collector, crash_id


def _process(collector, crash_id: str) -> dict:
    processed = json.loads((CASE / "expected.json").read_text())
    collector.store.save_processed(crash_id, processed,
                                   signature=SignatureRecord("page_measure_width", "page_measure_width | main"))
    return processed


def test_raw_crash_meta_with_and_without_token(http, served):
    collector, crash_id = served
    url = f"{collector.base_url}/api/RawCrash/"
    full = http.get(url, params={"crash_id": crash_id, "format": "meta"}, headers={"Auth-Token": TOKEN})
    assert full.status_code == 200 and full.headers["content-type"].startswith("application/json")
    meta = full.json()
    annotations = json.loads((CASE / "annotations.json").read_text())
    assert {k: meta[k] for k in annotations} == annotations
    assert meta["uuid"] == crash_id and meta["version"] == 2
    sha = __import__("hashlib").sha256((CASE / "dump.dmp").read_bytes()).hexdigest()
    assert meta["metadata"]["dump_checksums"] == {"upload_file_minidump": sha}
    anonymous = http.get(url, params={"crash_id": crash_id}).json()
    assert "metadata" not in anonymous and anonymous["ProductName"] == annotations["ProductName"]
    wrong = http.get(url, params={"crash_id": crash_id}, headers={"Auth-Token": "nope"})
    assert (wrong.status_code, wrong.json()) == (403, {"error": "API Token not matched"})


def test_raw_crash_dump_download_and_errors(http, served):
    collector, crash_id = served
    url = f"{collector.base_url}/api/RawCrash/"
    dump = http.get(url, params={"crash_id": crash_id, "format": "raw", "name": "dump"},
                    headers={"Auth-Token": TOKEN})
    assert dump.status_code == 200 and dump.content == (CASE / "dump.dmp").read_bytes()
    assert dump.headers["content-type"] == "application/octet-stream"
    assert f'filename="{crash_id}.dmp"' in dump.headers["content-disposition"]
    denied = http.get(url, params={"crash_id": crash_id, "format": "raw"})
    assert denied.status_code == 403
    assert denied.json() == {"error": "Binary response requires permissions: View Raw Dumps"}
    missing_name = http.get(url, params={"crash_id": crash_id, "format": "raw", "name": "nope"})
    assert missing_name.status_code == 404  # existence is checked before permission
    other = "00000000-0000-0000-0000-000000261129"
    assert http.get(url, params={"crash_id": other}).json() == {"error": f"Not found: CrashIDNotFound {other}"}
    bad = http.get(url, params={"crash_id": "bp-" + crash_id})
    assert bad.status_code == 400 and "'uuid'" in bad.json()["error"]
    fmt = http.get(url, params={"crash_id": crash_id, "format": "json"})
    assert fmt.status_code == 400 and "'format'" in fmt.json()["error"]
    required = http.get(url)
    assert required.json() == {"errors": {"crash_id": ["This field is required."]}}


def test_processed_crash_shape(http, served):
    collector, crash_id = served
    url = f"{collector.base_url}/api/ProcessedCrash/"
    assert http.get(url, params={"crash_id": crash_id}).status_code == 404  # not processed yet
    processed = _process(collector, crash_id)
    doc = http.get(url, params={"crash_id": crash_id, "format": "meta"}, headers={"Auth-Token": TOKEN}).json()
    assert doc["uuid"] == crash_id and doc["signature"] == "page_measure_width"
    assert doc["json_dump"] == processed
    assert doc["product"] == "CrashFactoryDemo" and doc["version"] == "1.4.2"
    assert doc["os_name"] == processed["system_info"]["os"]
    assert doc["reason"] == processed["crash_info"]["type"]
    thread = processed["crash_info"]["crashing_thread"]
    assert doc["crashing_thread"] == thread
    assert doc["crashing_thread_name"] == processed["threads"][thread]["thread_name"]
    assert doc["thread_count"] == processed["thread_count"]
    assert doc["collector_metadata"]["dump_checksums"]
    anonymous = http.get(url, params={"crash_id": crash_id}).json()
    assert "collector_metadata" not in anonymous and anonymous["json_dump"] == processed


def test_supersearch(http, served):
    collector, crash_id = served
    url = f"{collector.base_url}/api/SuperSearch/"
    assert http.get(url).json()["total"] == 0  # as on Crash Stats, searchable once processed
    _process(collector, crash_id)
    r = http.get(url, params={"product": "CrashFactoryDemo", "_columns": ["uuid", "signature", "build_id"]})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1
    assert body["hits"] == [{"uuid": crash_id, "signature": "page_measure_width", "build_id": 20250101120000}]
    assert body["facets"]["signature"] == [{"term": "page_measure_width", "count": 1}]
    assert http.get(url, params={"product": "Other"}).json()["total"] == 0
    assert http.get(url, params={"signature": "~measure"}).json()["total"] == 1
    assert http.get(url, params={"signature": "!~measure"}).json()["total"] == 0
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).date().isoformat()
    assert http.get(url, params={"date": f"<{old}"}).json()["total"] == 0
    assert http.get(url, params={"date": old}).status_code == 400  # no operator
    too_wide = http.get(url, params={"date": [">=2020-01-01", "<2026-01-01"]})
    assert too_wide.status_code == 400 and "365" in too_wide.json()["error"]
    assert http.get(url, params={"_columns": "nope"}).status_code == 400
    assert http.get(url, params={"_results_number": "1001"}).status_code == 400
    assert http.get(url, params={"_facets_size": "0"}).json()["facets"] == {}


def test_api_routing(http, served):
    collector, _ = served
    r = http.get(f"{collector.base_url}/api/SuperSearch", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/api/SuperSearch/"
    r = http.get(f"{collector.base_url}/api/Platforms/")
    assert (r.status_code, r.json()) == (404, {"error": "No service called 'Platforms'"})


def test_open_on_loopback_without_a_token(http, make_collector):
    collector = make_collector()
    crash_id = crash_id_from(send_raw(collector.port, (CASE / "upload.http").read_bytes())[2])
    url = f"{collector.base_url}/api/RawCrash/"
    meta = http.get(url, params={"crash_id": crash_id}, headers={"Auth-Token": "ignored"}).json()
    assert meta["metadata"]["dump_checksums"]
    assert http.get(url, params={"crash_id": crash_id, "format": "raw"}).status_code == 200


def _crashstats_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"crashstats-tools is not installed (pip install crashstats-tools): no `{name}` command")
    return path


def test_crashstats_tools_fetch_data_and_supersearch(served, tmp_path):
    collector, crash_id = served
    processed = _process(collector, crash_id)
    env = {**os.environ, "CRASHSTATS_API_TOKEN": TOKEN}
    out = tmp_path / "fetched"
    run = subprocess.run(
        [_crashstats_tool("fetch-data"), "--host", collector.base_url, "--raw", "--dumps", "--processed",
         str(out), f"bp-{crash_id}"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    date = "20" + crash_id[-6:]
    raw = json.loads((out / "raw_crash" / date / crash_id).read_text())
    assert raw["uuid"] == crash_id and raw["metadata"]["dump_checksums"]
    assert (out / "upload_file_minidump" / crash_id).read_bytes() == (CASE / "dump.dmp").read_bytes()
    assert json.loads((out / "dump_names" / crash_id).read_text()) == ["upload_file_minidump"]
    assert json.loads((out / "processed_crash" / crash_id).read_text())["json_dump"] == processed

    search = subprocess.run(
        [_crashstats_tool("supersearch"), "--host", collector.base_url, "--product=CrashFactoryDemo",
         "--_columns=uuid", "--_columns=signature"], capture_output=True, text=True, env=env, timeout=120)
    assert search.returncode == 0, search.stderr
    assert search.stdout == f"{crash_id}\tpage_measure_width\n"


def test_processed_crash_of_a_synced_crash_is_the_servers(http, make_collector):
    collector = make_collector()
    server_doc = {"uuid": "0bba929f-8721-460c-dead-a43c20071027", "signature": "OOM | small",
                  "product": "Firefox", "json_dump": {"crash_info": {"type": "EXCEPTION_BREAKPOINT"}}}
    crash_id = collector.store.add_crash({"ProductName": "Firefox"}, source="server:test",
                                         crash_id=server_doc["uuid"], server_signature="OOM | small",
                                         server_processed=server_doc)
    r = http.get(f"{collector.base_url}/api/ProcessedCrash/", params={"crash_id": crash_id})
    assert r.status_code == 200 and r.json() == server_doc


def test_a_colleagues_crashdesk_syncs_from_the_collector(served, tmp_path, capsys):
    from crashdesk.cli import main
    from crashdesk.store import CrashStore

    collector, crash_id = served
    processed = _process(collector, crash_id)
    other = tmp_path / "colleague"
    os.environ["CRASHDESK_API_TOKEN"] = TOKEN
    try:
        code = main(["sync", "--server", collector.base_url, "--with-dumps", "--data-dir", str(other)])
    finally:
        del os.environ["CRASHDESK_API_TOKEN"]
    assert code == 0, capsys.readouterr().err
    with CrashStore.open(other) as store:
        row = store.get(crash_id)
        assert row["source"].startswith("server:")
        assert store.read_dump(crash_id) == (CASE / "dump.dmp").read_bytes()
        assert row["server_processed"]["json_dump"] == processed
        assert row["server_signature"] == "page_measure_width"
