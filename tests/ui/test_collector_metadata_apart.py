"""A crash received by the real collector (a recorded Crashpad upload replayed over HTTP): the Annotations tab
lists what the reporter sent, and the collector's own metadata (``metadata``, ``submitted_timestamp``,
``uuid``) apart (issue 20)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLLECTOR_DATA = Path(__file__).resolve().parents[1] / "data" / "collector" / "01-null-deref"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector"))


def test_collector_metadata_is_shown_apart(qtbot, tmp_path):
    from collector_helpers import crash_id_from, send_raw

    from crashdesk.collector import Collector, CollectorConfig
    from crashdesk.ui.detail import load_detail
    from crashdesk.ui.views.crash_view import CrashView

    collector = Collector(tmp_path / "home", CollectorConfig(port=0))
    collector.start()
    try:
        status, _, body = send_raw(collector.port, (COLLECTOR_DATA / "upload.http").read_bytes())
        assert status == 200
        crash_id = crash_id_from(body)
        detail = load_detail(collector.store, crash_id)
    finally:
        collector.stop()
    sent = json.loads((COLLECTOR_DATA / "annotations.json").read_text())
    view = CrashView()
    qtbot.addWidget(view)
    view.show_crash(detail)
    view.setCurrentWidget(view.annotations)
    tab = view.annotations
    keys = {tab.model.index(r, 0).data() for r in range(tab.model.rowCount())}
    meta_keys = {tab.meta_model.index(r, 0).data() for r in range(tab.meta_model.rowCount())}
    assert set(sent) <= keys
    assert {"metadata", "submitted_timestamp", "uuid"} <= meta_keys
    assert not keys & {"metadata", "submitted_timestamp", "uuid"}
    assert not tab.meta_box.isHidden()
    uuid_row = next(r for r in range(tab.meta_model.rowCount()) if tab.meta_model.index(r, 0).data() == "uuid")
    assert tab.meta_model.index(uuid_row, 1).data() == crash_id
