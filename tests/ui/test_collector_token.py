"""Issue 19 item 1: the app's own collector takes its read-API token where ``crashdesk collector`` does
($CRASHDESK_COLLECTOR_TOKEN, else the keyring), and the collector panel offers to create one when none is set
(stored in a real keyring backend: keyrings.alt's PlaintextKeyring in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes" / "05-thread"


def _submit(url: str) -> str:
    annotations = json.loads((DATA / "annotations.json").read_text())
    files = {"upload_file_minidump": ("dump.dmp", (DATA / "dump.dmp").read_bytes(), "application/octet-stream")}
    r = httpx.post(url, data=annotations, files=files, timeout=30, trust_env=False)
    assert r.status_code == 200, r.text
    return r.text.strip().removeprefix("CrashID=bp-")


def _raw_dump(base: str, crash_id: str, token: str | None) -> httpx.Response:
    headers = {"Auth-Token": token} if token is not None else {}
    return httpx.get(f"{base}/api/RawCrash/", params={"crash_id": crash_id, "format": "raw"}, headers=headers,
                     timeout=30, trust_env=False)


@pytest.fixture
def app_collector(tmp_path):
    from crashdesk.config.paths import resolve_paths
    from crashdesk.ui.collector_link import find_or_start

    states = []

    def start():
        state = find_or_start(resolve_paths(tmp_path / "home"), port=0)
        assert state.url, state.message
        states.append(state)
        return state

    yield start
    for state in states:
        state.stop()


def test_app_collector_uses_the_environment_token(app_collector, monkeypatch):
    token = "app-collector-token-0123456789"
    monkeypatch.setenv("CRASHDESK_COLLECTOR_TOKEN", token)
    state = app_collector()
    base = state.url.removesuffix("/submit")
    crash_id = _submit(state.url)
    assert _raw_dump(base, crash_id, "wrong").status_code == 403  # as the CLI collector answers
    assert _raw_dump(base, crash_id, None).status_code == 403  # anonymous: no dumps
    ok = _raw_dump(base, crash_id, token)
    assert ok.status_code == 200 and ok.content == (DATA / "dump.dmp").read_bytes()


def test_app_collector_uses_the_keyring_token(app_collector, monkeypatch, keyring_home):
    from crashdesk.collector.auth import create_token

    monkeypatch.delenv("CRASHDESK_COLLECTOR_TOKEN", raising=False)
    token = create_token()
    state = app_collector()
    base = state.url.removesuffix("/submit")
    crash_id = _submit(state.url)
    assert _raw_dump(base, crash_id, "wrong").status_code == 403
    assert _raw_dump(base, crash_id, token).status_code == 200


def test_panel_offers_a_token_on_first_run_and_the_collector_uses_it(qtbot, app_collector, monkeypatch,
                                                                      keyring_home, tmp_path):
    import keyring

    from crashdesk.collector.auth import KEYRING_SERVICE, KEYRING_USER
    from crashdesk.store import CrashStore
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.qt import QApplication
    from crashdesk.ui.views.collector_panel import CollectorPanel

    monkeypatch.delenv("CRASHDESK_COLLECTOR_TOKEN", raising=False)
    state = app_collector()
    base = state.url.removesuffix("/submit")
    crash_id = _submit(state.url)
    assert _raw_dump(base, crash_id, None).status_code == 200  # no token yet: open on loopback
    store = CrashStore.open(tmp_path / "home")
    jobs = Jobs()
    panel = CollectorPanel(store, jobs, tmp_path / "home")
    qtbot.addWidget(panel)
    panel.resize(1000, 600)
    panel.show()
    with qtbot.waitSignal(panel.refreshed, timeout=5000):
        panel.set_state(state.url, "started the local collector", state.handle)
    qtbot.waitUntil(lambda: panel.token_offer.isVisible(), timeout=5000)
    with qtbot.waitSignal(panel.token_created, timeout=10000):
        panel.token_button.click()
    token = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    assert token and len(token) >= 32
    assert QApplication.clipboard().text() == token
    # the running collector protects the API at once; a later refresh keeps the message, not the offer
    assert _raw_dump(base, crash_id, None).status_code == 403
    assert _raw_dump(base, crash_id, "wrong").status_code == 403
    assert _raw_dump(base, crash_id, token).status_code == 200
    with qtbot.waitSignal(panel.refreshed, timeout=5000):
        panel.refresh()
    assert panel.token_button.isHidden() and "created" in panel.token_label.text()
    jobs.wait()
    store.close()


def test_panel_does_not_offer_when_a_token_is_set(qtbot, monkeypatch, tmp_path):
    from crashdesk.store import CrashStore
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.collector_panel import CollectorPanel

    monkeypatch.setenv("CRASHDESK_COLLECTOR_TOKEN", "set-in-the-environment-0123456789")
    store = CrashStore.open(tmp_path / "home")
    jobs = Jobs()
    panel = CollectorPanel(store, jobs, tmp_path / "home")
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.refreshed, timeout=5000):
        panel.refresh()
    assert not panel.token_offer.isVisible()
    jobs.wait()
    store.close()


def test_settings_creates_a_token_in_the_keyring(qtbot, settings, keyring_home, monkeypatch):
    import keyring

    from crashdesk.collector.auth import KEYRING_SERVICE, KEYRING_USER, resolve_token
    from crashdesk.ui.dialogs.settings import SettingsDialog
    from crashdesk.ui.jobs import Jobs

    monkeypatch.delenv("CRASHDESK_COLLECTOR_TOKEN", raising=False)
    jobs = Jobs()
    dlg = SettingsDialog(settings, jobs=jobs)
    qtbot.addWidget(dlg)
    dlg.new_token.click()
    jobs.wait()
    qtbot.waitUntil(lambda: "stored in the keyring" in dlg.token_note.text(), timeout=5000)
    token = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    assert token and len(token) >= 32 and dlg.token_edit.text() == token  # shown once, to hand to readers
    assert resolve_token() == token
    dlg.save()  # saving the dialog keeps the token out of QSettings
    jobs.wait()
    settings.sync()
    assert token not in open(settings.fileName(), encoding="utf-8").read()
    assert keyring.get_password(KEYRING_SERVICE, KEYRING_USER) == token
