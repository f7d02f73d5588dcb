"""A crash that failed processing says so in the crash header, with the reason (issue 20: it said "(not
processed yet)"). The failure comes from the real processing service on a dump that is not a minidump."""

from __future__ import annotations

from crashdesk.services.processing import ProcessingService
from crashdesk.services.worker import WorkerConfig
from crashdesk.ui.detail import load_detail
from crashdesk.ui.views.crash_view import CrashView


def test_failed_crash_header_says_failed_and_why(qtbot, store):
    bad = store.add_crash({"ProductName": "X"}, {"upload_file_minidump": b"this is no minidump" * 10},
                          source="import")
    waiting = store.add_crash({"ProductName": "Y"}, {}, source="import")
    service = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1)
    service.restrict_to([bad])
    service.run_until_empty()
    row = store.get(bad)
    assert row["state"] == "failed" and row["notes"]
    view = CrashView()
    qtbot.addWidget(view)
    view.show_crash(load_detail(store, bad))
    header = view.summary.signature.text()
    assert header.startswith("(processing failed: ") and row["notes"][-1] in header
    assert view.summary.signature.toolTip() == header  # the whole text, however long
    view.show_crash(load_detail(store, waiting))
    assert view.summary.signature.text() == "(not processed yet)"
