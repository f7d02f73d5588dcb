"""The collector panel against a real collector on 127.0.0.1 with throttle rules: URL and snippets, a real
Crashpad-style upload arriving in the live feed, a refused upload listed with its reason, the rules shown."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes" / "05-thread"


@pytest.fixture
def running(tmp_path):
    from crashdesk.collector import Collector, CollectorConfig
    from crashdesk.collector.throttle import rules_from_json

    home = tmp_path / "home"
    throttler = rules_from_json({"products": ["CrashFactoryDemo"], "rules": [
        {"name": "no_aurora", "annotation": "ReleaseChannel", "op": "eq", "value": "aurora", "result": "REJECT"},
        {"name": "accept_everything", "result": "ACCEPT"}]})
    config = CollectorConfig(host="127.0.0.1", port=0, throttler=throttler, threads=2)
    collector = Collector(home, config)
    yield home, collector, config
    collector.stop()


def test_panel_shows_url_feed_rejections_and_rules(qtbot, running):
    from crashdesk.store import CrashStore
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.qt import QApplication
    from crashdesk.ui.views.collector_panel import CollectorPanel

    home, collector, config = running
    store = CrashStore.open(home)
    jobs = Jobs()
    panel = CollectorPanel(store, jobs, home)
    qtbot.addWidget(panel)
    assert "Starting…" in panel.status.text() and not panel.copy_button.isEnabled()  # issue 29: no red flash
    config.on_received = panel.post_received
    url = collector.start()
    panel.set_state(url, "started the local collector", collector)
    panel.resize(1100, 750)
    panel.show()
    assert "Running" in panel.status.text()
    assert panel.url_edit.text() == url and url.startswith("http://127.0.0.1:") and url.endswith("/submit")
    assert f"--url={url}" in panel.snippet_edits["Crashpad"].toPlainText()
    assert url in panel.snippet_edits["Breakpad"].toPlainText()
    panel.copy_button.click()
    assert QApplication.clipboard().text() == url
    qtbot.waitUntil(lambda: panel.rules.rowCount() > 0, timeout=5000)
    rules = [[panel.rules.item(r, c).text() for c in range(3)] for r in range(panel.rules.rowCount())]
    assert rules[0][0] == "(product list)" and "CrashFactoryDemo" in rules[0][2]
    assert [r[:2] for r in rules[1:]] == [["no_aurora", "REJECT"], ["accept_everything", "ACCEPT"],
                                          ["(no rule matched)", "REJECT"]]

    annotations = json.loads((DATA / "annotations.json").read_text())
    files = {"upload_file_minidump": ("dump.dmp", (DATA / "dump.dmp").read_bytes(), "application/octet-stream")}
    with qtbot.waitSignal(panel.refreshed, timeout=15000):
        r = httpx.post(url, data=annotations, files=files, timeout=30)  # the feed refreshes by itself
    assert r.status_code == 200 and r.text.startswith("CrashID=bp-")
    crash_id = r.text.strip().removeprefix("CrashID=bp-")
    qtbot.waitUntil(lambda: panel.feed.rowCount() == 1, timeout=10000)
    assert panel.feed.item(0, 1).text() == crash_id
    assert panel.feed.item(0, 2).text() == annotations["ProductName"]

    # refused: a product the rules do not accept, and a body that is not a submission
    other = {**annotations, "ProductName": "SomethingElse"}
    r2 = httpx.post(url, data=other, files=files, timeout=30)
    r3 = httpx.post(url, content=b"not multipart", headers={"Content-Type": "text/plain"}, timeout=30)
    assert r2.status_code == 200 and "Discarded" in r2.text
    assert r3.status_code >= 400
    panel.refresh_button.click()
    qtbot.waitUntil(lambda: panel.rejections.rowCount() == 2, timeout=10000)
    reasons = [panel.rejections.item(r, 2).text() for r in range(2)]
    assert reasons[1] == "rule_unsupported_product"  # newest first
    assert reasons[0] and reasons[0] != reasons[1]
    assert panel.rejections.item(0, 1).text() == str(r3.status_code)
    assert store.count() == 1
    jobs.wait()
    store.close()


def test_panel_without_collector(qtbot, tmp_path):
    from crashdesk.store import CrashStore
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.collector_panel import CollectorPanel

    store = CrashStore.open(tmp_path / "home")
    jobs = Jobs()
    panel = CollectorPanel(store, jobs, tmp_path / "home")
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.refreshed, timeout=5000):
        panel.set_state("http://127.0.0.1:8765/submit", "attached to the running collector (pid 1)")
    assert panel.feed.rowCount() == 0 and panel.rejections.rowCount() == 0
    assert "not visible here" in panel.rules_note.text()
    jobs.wait()
    store.close()
