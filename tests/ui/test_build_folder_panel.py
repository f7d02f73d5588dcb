"""Settings → Symbols → "Add build folder": the scan and re-walk run in the background with progress, the
folder joins the symbol folders, and the report shows the crashes that gained symbols and the signature
changes; Cancel stops it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "tests" / "data" / "native"

pytest.importorskip("symbolic", reason="native debug files need the 'symbolic' package (no wheel on this platform)")


def _cli(home: Path, *args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "crashdesk", *args, "--data-dir", str(home)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def test_add_build_folder_runs_in_the_background_and_reports(qtbot, settings, tmp_path):
    from crashdesk.ui.dialogs.settings import SettingsDialog
    from crashdesk.ui.jobs import Jobs

    home = tmp_path / "home"
    _cli(home, "import", str(NATIVE / "abort" / "abort.20180103.145440.12345.20827.dmp"))
    _cli(home, "process")
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(NATIVE / "abort" / "abort.debug", build / "abort.debug")

    jobs = Jobs()
    dlg = SettingsDialog(settings, data_dir=home, jobs=jobs)
    qtbot.addWidget(dlg)
    dlg.tabs.setCurrentIndex(1)
    dlg.resize(820, 640)
    dlg.show()
    panel = dlg.build_folder
    with qtbot.waitSignal(panel.finished, timeout=120_000) as blocker:
        panel.start(str(build))
        assert not panel.button.isEnabled() and panel.cancel_button.isVisible()
    report = blocker.args[0]
    assert report is not None and len(report.crashes) == 1 and report.gained[0]["modules"] == ["abort"]
    assert str(build) in dlg.symbol_paths.items()
    text = panel.report.toPlainText()
    assert "1 crashes gained symbols" in text and "->  libc-2.23.so | main" in text
    assert panel.button.isEnabled() and not panel.cancel_button.isVisible()
    assert "1 crashes re-walked, 1 gained symbols, 1 changed signature" in panel.status.text()
    shot = tmp_path / "settings-build-folder.png"  # docs/screenshots/settings-build-folder.png was made so
    assert dlg.grab().save(str(shot)) and shot.stat().st_size > 10_000
    jobs.wait()


def test_cancel_stops_the_scan(qtbot, settings, tmp_path):
    from crashdesk.ui.dialogs.settings import SettingsDialog
    from crashdesk.ui.jobs import Jobs

    build = tmp_path / "build"
    build.mkdir()
    for i in range(3000):
        (build / f"f{i}.txt").write_text("x" * 20)
    jobs = Jobs()
    dlg = SettingsDialog(settings, data_dir=tmp_path / "home", jobs=jobs)
    qtbot.addWidget(dlg)
    panel = dlg.build_folder
    with qtbot.waitSignal(panel.finished, timeout=120_000) as blocker:
        panel.start(str(build))
        panel.cancel()
    assert blocker.args[0] is None or blocker.args[0].cancelled
    assert panel.button.isEnabled()
    jobs.wait()


def test_the_rewalk_uses_every_symbol_source_the_settings_dialog_holds(qtbot, settings, tmp_path):
    """The re-walk processes as the app does: the dialog's folders (those that exist), servers, debuginfod
    servers and Mozilla's server when its box is ticked."""
    from crashdesk.symbols.sources import MOZILLA_SYMBOL_SERVER
    from crashdesk.ui.dialogs.settings import SettingsDialog
    from crashdesk.ui.jobs import Jobs

    folder = tmp_path / "syms"
    folder.mkdir()
    dlg = SettingsDialog(settings, data_dir=tmp_path / "home", jobs=Jobs())
    qtbot.addWidget(dlg)
    dlg.symbol_paths.set_items([str(folder), str(tmp_path / "gone")])
    dlg.symbol_urls.set_items(["https://symbols.example.test/"])
    dlg.debuginfod_urls.set_items(["https://debuginfod.example.test/"])
    for ticked in (True, False):
        dlg.mozilla_symbols.setChecked(ticked)
        assert dlg.build_folder._rewalk_sources() == {
            "symbol_paths": [folder], "symbol_urls": ["https://symbols.example.test/"],
            "debuginfod_urls": ["https://debuginfod.example.test/"],
            "mozilla_symbol_urls": [MOZILLA_SYMBOL_SERVER] if ticked else []}
