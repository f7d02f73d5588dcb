"""The sync panel against a real CrashDesk collector on 127.0.0.1 (its read API is a Socorro server) holding
crashes from tests/data, with a real keyring backend in tmp_path (keyrings.alt's PlaintextKeyring)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = sorted(p for root in (DATA / "crashes", DATA / "ui") for p in root.iterdir()
               if (p / "expected.json").is_file())

TOKEN = "c0ffee00c0ffee00c0ffee00c0ffee00"


@pytest.fixture
def remote(tmp_path):
    """A collector serving crashes submitted in the last hours (the sync's default range is 7 days)."""
    from crashdesk.collector import Collector, CollectorConfig
    from crashdesk.store import CrashStore
    from crashdesk.ui.samples import signature_for

    home = tmp_path / "remote"
    now = dt.datetime.now(dt.UTC)
    ids = []
    with CrashStore.open(home) as s:
        for n, folder in enumerate(CASES[:4]):
            ann = json.loads((folder / "annotations.json").read_text())
            processed = json.loads((folder / "expected.json").read_text())
            when = (now - dt.timedelta(hours=n + 1)).isoformat(timespec="seconds")
            cid = s.add_crash(ann, {}, source="collector", submitted_at=when)
            s.save_processed(cid, processed, signature=signature_for(processed, ann))
            ids.append(cid)
    collector = Collector(home, CollectorConfig(host="127.0.0.1", port=0, token=TOKEN, threads=4))
    base = collector.start().removesuffix("/submit")
    yield base, ids
    collector.stop()


@pytest.fixture
def panel(qtbot, store, data_dir, keyring_home):
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.sync_panel import SyncPanel

    jobs = Jobs()
    p = SyncPanel(store, jobs, data_dir)
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    yield p
    jobs.cancel_all()
    jobs.wait()


def test_add_server_token_in_keyring_test_and_sync(qtbot, panel, remote, store, data_dir):
    import keyring

    from crashdesk.config.secrets import SERVICE

    base, ids = remote
    panel.name_edit.setText("colleague")
    panel.url_edit.setText(base)
    panel.token_edit.setText(TOKEN)
    with qtbot.waitSignal(panel.refreshed, timeout=10000):
        panel.add_button.click()
    assert keyring.get_password(SERVICE, base) == TOKEN
    assert TOKEN not in (data_dir / "servers.json").read_text()
    assert panel.token_edit.text() == ""
    assert [panel.servers.item(0, c).text() for c in range(3)] == ["colleague", base, "in the keyring"]

    panel.servers.selectRow(0)
    with qtbot.waitSignal(panel.connection_tested, timeout=20000) as tested:
        panel.test_button.click()
    ok, text = tested.args
    assert ok and text.startswith("OK") and f"{len(ids)} crash(es)" in text and "keyring" in text

    panel.server_combo.setCurrentText("colleague")
    with qtbot.waitSignal(panel.sync_finished, timeout=60000) as done:
        panel.run_button.click()
    summary = done.args[0]
    assert summary.complete, summary.lines()
    assert summary.progress.fetched == len(ids)
    assert sorted(r[0] for r in store.db.conn.execute("SELECT crash_id FROM crashes")) == sorted(ids)
    assert all(store.get(cid)["source"] == "server:colleague" for cid in ids)
    assert "found 4" in panel.result.toPlainText() and panel.progress.format() == "Complete"
    qtbot.waitUntil(lambda: panel.syncs.rowCount() == 1, timeout=5000)
    assert panel.syncs.item(0, 0).text() == "colleague" and panel.syncs.item(0, 5).text() == "complete"


def test_cancel_and_failures_are_reported(qtbot, panel, remote, store):
    base, ids = remote
    panel.name_edit.setText("colleague")
    panel.url_edit.setText(base)
    with qtbot.waitSignal(panel.refreshed, timeout=10000):
        panel.add_button.click()
    panel.server_combo.setCurrentText("colleague")
    with qtbot.waitSignal(panel.sync_finished, timeout=60000) as done:
        panel.run_button.click()
        panel.cancel_button.click()  # before the first request goes out
    assert done.args[0].cancelled and panel.progress.format() == "Cancelled"
    assert "cancelled" in panel.result.toPlainText()
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()

    # a server that is not there: the test says so, nothing is raised
    panel.servers.clearSelection()
    panel.url_edit.setText("http://127.0.0.1:9/")
    with qtbot.waitSignal(panel.connection_tested, timeout=30000) as tested:
        panel.test_button.click()
    assert tested.args[0] is False and tested.args[1].startswith("Failed")
    # a bad filter is refused with the sync package's message
    panel.params_edit.setPlainText("_columns=x")
    with qtbot.waitSignal(panel.sync_failed, timeout=10000) as failed:
        panel.run_button.click()
    assert "_columns" in failed.args[0] and "Sync failed" in panel.result.toPlainText()
