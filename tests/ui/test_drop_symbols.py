"""Issue 17: dropping a .sym file, a native debug file or a folder on the main window does what Settings →
Symbols → "Add build folder" does (background scan, re-walk, report of signature changes), while a dropped
minidump still imports. Real QDropEvent/QMimeData on the real window, real files from tests/data/native."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crashdesk.ui.qt import QDropEvent, QMimeData, QPoint, Qt, QUrl

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "tests" / "data" / "native"
ABORT_DUMP = NATIVE / "abort" / "abort.20180103.145440.12345.20827.dmp"


def _cli(home: Path, *args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "crashdesk", *args, "--data-dir", str(home)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


@pytest.fixture
def abort_home(tmp_path):
    """A data folder holding the abort crash, processed without its symbols (module "abort" missing)."""
    home = tmp_path / "home"
    _cli(home, "import", str(ABORT_DUMP))
    _cli(home, "process")
    return home


def _drop(window, paths: list[Path]) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return event


def _open(home: Path):
    from crashdesk.store import CrashStore

    return CrashStore.open(home)


def test_dropping_a_sym_file_installs_it_by_its_module_line_and_rewalks(qtbot, make_window, abort_home, tmp_path):
    store = _open(abort_home)
    window = make_window(store)
    dropped = tmp_path / "renamed-by-user.txt"  # named anyhow: the MODULE line names it in the store
    shutil.copy(NATIVE / "abort" / "abort.sym", dropped)
    module_line = (NATIVE / "abort" / "abort.sym").read_text().splitlines()[0].split()
    debug_id, debug_file = module_line[3], module_line[4]
    with qtbot.waitSignal(window.symbols_added, timeout=120_000) as done:
        event = _drop(window, [dropped])
        assert event.isAccepted()
    report = done.args[0]
    assert report is not None and len(report.crashes) == 1
    assert report.gained[0]["modules"] == ["abort"]  # the dump's name for the module
    # stored under the MODULE line's name (abort.debug, from dump_syms) and under the dump's name (abort)
    for name in (debug_file, "abort"):
        stored = abort_home / "cache" / "symbols" / name / debug_id / f"{name}.sym"
        assert stored.read_bytes() == dropped.read_bytes()
    panel = window.symbols_dialog.panel
    assert window.symbols_dialog.isVisible()
    assert "1 crashes gained symbols" in panel.report.toPlainText()
    assert "changed signature" in panel.status.text()
    data = store.get(report.crashes[0])
    assert any(m["debug_file"] == "abort" and m["symbol_status"] == "loaded" for m in data["modules"])
    window.jobs.wait()


def test_dropping_a_native_file_adds_its_folder_and_a_folder_with_dumps_does_not_import_them(
        qtbot, make_window, abort_home, tmp_path, settings):
    pytest.importorskip("symbolic", reason="native debug files need the 'symbolic' package (no wheel here)")
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(NATIVE / "abort" / "abort.debug", build / "abort.debug")  # ELF with DWARF, no .sym beside it
    shutil.copy(ABORT_DUMP, build / "old-test.dmp")
    store = _open(abort_home)
    window = make_window(store)
    with qtbot.waitSignal(window.symbols_added, timeout=120_000) as done:
        _drop(window, [build / "abort.debug"])
    report = done.args[0]
    assert report is not None and report.folder == str(build)
    assert report.gained[0]["modules"] == ["abort"]
    assert str(build) in (settings.value("symbols/paths") or [])
    # the command line sees the folder too
    from crashdesk.config.symbol_sources import load

    assert str(build) in load(abort_home).paths
    # dropping the folder itself: a build folder; its dump is counted, not imported
    count = store.count()
    with qtbot.waitSignal(window.symbols_added, timeout=120_000):
        _drop(window, [build])
    assert store.count() == count
    assert "1 minidump(s) inside the dropped folder were not imported" in window.status.currentMessage()
    window.jobs.wait()


def test_a_dump_and_a_sym_dropped_together_go_each_their_way(qtbot, make_window, store, tmp_path):
    from crashdesk.ui.drops import classify

    other = tmp_path / "notes.txt"
    other.write_text("not a symbol file")
    plan = classify([str(ABORT_DUMP), str(NATIVE / "elf-o2" / "clones.sym"), str(NATIVE / "elf-o2" / "clones"),
                     str(NATIVE / "mini-windows" / "crash.pdb"), str(other), str(tmp_path / "gone.dmp.missing")])
    assert plan.imports == [str(ABORT_DUMP)]
    assert plan.sym_files == [str(NATIVE / "elf-o2" / "clones.sym")]
    assert plan.build_folders == [str(NATIVE / "elf-o2"), str(NATIVE / "mini-windows")]
    assert plan.ignored == [str(other), str(tmp_path / "gone.dmp.missing")]
    bundle = tmp_path / "bundle"
    (bundle / "raw_crash").mkdir(parents=True)
    assert classify([str(bundle)]).imports == [str(bundle)]

    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    with qtbot.waitSignal(window.imports_finished, timeout=30_000) as imported, \
            qtbot.waitSignal(window.symbols_added, timeout=120_000) as added:
        _drop(window, [ABORT_DUMP, NATIVE / "elf-o2" / "clones.sym"])
    assert len(imported.args[0].crash_ids) == 1
    assert added.args[0] is not None and added.args[0].folder.endswith("clones.sym")
    window.jobs.wait()


def test_a_drop_of_nothing_usable_is_refused(qtbot, make_window, store, tmp_path):
    from crashdesk.ui.qt import QDragEnterEvent

    window = make_window(store, wait_for_list=False)
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(text))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert not enter.isAccepted()
    mime.setUrls([QUrl.fromLocalFile(str(NATIVE / "abort" / "abort.sym"))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    assert window.symbols_dialog is None


def test_a_dropped_bundle_zip_still_imports(qtbot, make_window, store, abort_home, tmp_path):
    bundle = tmp_path / "crashes.zip"
    _cli(abort_home, "export", "--query", "", "--zip", "-o", str(bundle), "--yes")
    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    with qtbot.waitSignal(window.imports_finished, timeout=30_000) as imported:
        _drop(window, [bundle])
    assert len(imported.args[0].crash_ids) == 1 and not imported.args[0].failures
    assert store.count() == 1
    assert window.symbols_dialog is None  # nothing went to the symbol flow
