"""File → Export with the redaction preview (pytest-qt, offscreen, real store and real dumps): export a
selection, check the preview, change a field's action, confirm, import the bundle elsewhere; the crash list's
context menu and the signatures view offer the same dialog; Settings edits the stored policy.

docs/screenshots/export-preview.png was grabbed by this test (CRASHDESK_SCREENSHOTS=docs/screenshots)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from crashdesk.services.importing import import_path
from crashdesk.store import CrashStore
from crashdesk.store.bundles import read_bundle

ROOT = Path(__file__).resolve().parents[2]
DUMP_A = ROOT / "tests/data/crashes/01-null-deref/dump.dmp"
DUMP_B = ROOT / "tests/data/crashes/05-thread/dump.dmp"
SECRET = {"Email": "ui.secret@example.com", "Comments": "call me at home", "Notes": "free text words",
          "InstallPath": "/home/uiuser/apps/demo", "ProductName": "CrashFactoryDemo", "Version": "1.4.2"}


def _fill(store):
    a = import_path(store, DUMP_A, annotations=SECRET)[0].crash_id
    b = import_path(store, DUMP_B, annotations={**SECRET, "Email": "other@example.com"})[0].crash_id
    return a, b


def _select_all(window):
    window.table.selectAll()


def test_export_selection_with_preview_confirm_and_import_elsewhere(qtbot, store, make_window, tmp_path):
    a, b = _fill(store)
    window = make_window(store)
    _select_all(window)
    assert sorted(window.selected_crash_ids()) == sorted([a, b])
    dialog = window.export.export_from_menu()        # File → Export… with a selection
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.prepared is not None, timeout=30000)
    rows = {dialog.table.item(r, 0).text(): r for r in range(dialog.table.rowCount())}
    assert set(rows) == set(SECRET)
    counts = {name: dialog.table.item(r, 2).text() for name, r in rows.items()}
    assert counts["Email"] == "2 removed" and counts["Comments"] == "2 removed"
    assert counts["Notes"] == "2 masked" and counts["InstallPath"] == "2 leaves scrubbed"
    assert counts["ProductName"] == "2 leaves as it is"
    assert "2 go scrubbed" in dialog.dumps_label.text()
    # this export only: keep Notes
    dialog.table.cellWidget(rows["Notes"], 1).setCurrentText("keep")
    qtbot.waitUntil(lambda: dialog.prepared is not None and
                    dialog.prepared.preview.fields["Notes"].get("keep") == 2, timeout=30000)
    dialog.show()
    qtbot.waitExposed(dialog)
    out = Path(os.environ.get("CRASHDESK_SCREENSHOTS", tmp_path))
    assert dialog.grab().save(str(out / "export-preview.png"))
    dest = tmp_path / "shared.zip"
    dialog.dest_edit.setText(str(dest))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        dialog.export_button.click()
    assert dest.is_file()
    blob = b"".join(zipfile.ZipFile(dest).read(n) for n in zipfile.ZipFile(dest).namelist())
    assert b"ui.secret@example.com" not in blob and b"other@example.com" not in blob and b"uiuser" not in blob
    # the stored policy was not changed by the per-export choice
    from crashdesk.services.sharing import load_policy
    assert load_policy(Path(store.db.path).parent).action_for("Notes")[0] == "mask"
    # import elsewhere
    with CrashStore.open(tmp_path / "elsewhere") as other:
        results = import_path(other, dest)
        assert sorted(r.crash_id for r in results) == sorted([a, b])
        got = other.get(a)["annotations"]
    assert got["Notes"] == "free text words" and "Email" not in got and "Comments" not in got
    assert got["InstallPath"] == "/home/xxxxxx/apps/demo"


def test_cancel_and_context_menus_and_signature_export(qtbot, store, make_window, tmp_path):
    a, b = _fill(store)
    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=15000)
    # the crash list's context menu carries the export action
    assert window.export_action is window.export.selection_action
    # the lazy list fills its rows in the background, and a refresh (the window notices the store changed
    # under it) may replace the rows: select until the selection names a crash whose row has loaded
    qtbot.waitUntil(lambda: (window.table.selectRow(0), len(window.selected_crash_ids()) == 1)[1], timeout=15000)
    dialog = window.export.export_selection()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.prepared is not None, timeout=30000)
    assert len(dialog.prepared.crashes) == 1
    dialog.refresh_preview()
    dialog.cancel_job()                      # cancelling leaves nothing prepared and nothing written
    assert dialog.prepared is None and not dialog.export_button.isEnabled()
    dialog.close()
    # unscrubbed dumps are said loudly
    dialog = window.export.export_selection()
    qtbot.addWidget(dialog)
    dialog.unscrubbed.setChecked(True)
    qtbot.waitUntil(lambda: dialog.prepared is not None and "UNSCRUBBED" in dialog.dumps_label.text(),
                    timeout=30000)
    dialog.close()
    # the signatures view: every crash of the selected signature
    views = window.decision
    views.show_tab(1)
    qtbot.waitUntil(lambda: views.signatures.proxy.rowCount() >= 1, timeout=15000)
    assert views.signatures.table.actions() == [window.export.signature_action]
    views.signatures.table.selectRow(0)
    sig = views.signatures.selected_signatures()[0]
    dialog = window.export.export_signatures()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.prepared is not None, timeout=30000)
    want = {cid for cid in (a, b) if store.get(cid)["signature"] == sig}
    assert {c.crash_id for c in dialog.prepared.crashes} == want
    dialog.close()


def test_settings_edits_the_stored_export_policy(qtbot, store, tmp_path):
    from crashdesk.services.sharing import load_policy
    from crashdesk.ui.dialogs.export_policy import ExportPolicyDialog

    data_dir = Path(store.db.path).parent
    dialog = ExportPolicyDialog(data_dir)
    qtbot.addWidget(dialog)
    dialog.add_rule("ReleaseChannel", "remove")
    dialog.ips.setChecked(False)
    dialog.show()
    qtbot.waitExposed(dialog)
    out = Path(os.environ.get("CRASHDESK_SCREENSHOTS", tmp_path))
    assert dialog.grab().save(str(out / "export-policy.png"))
    dialog.save()
    policy = load_policy(data_dir)
    assert policy.rules == {"ReleaseChannel": "remove"} and policy.scrub_ips is False
    # an export now follows it
    a, _b = _fill(store)
    from crashdesk.services.sharing import ExportOptions, export
    export(store, [a], tmp_path / "x.zip", ExportOptions(policy=policy))
    assert "ReleaseChannel" not in read_bundle(tmp_path / "x.zip")[0].raw_crash
