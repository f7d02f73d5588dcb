"""UI fixtures: a real store in tmp_path filled from tests/data (reference processed JSON), QSettings in
tmp_path, and a main window over them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
CASE_DIRS = sorted([*(DATA / "crashes").iterdir(), *(DATA / "ui").iterdir()], key=lambda p: p.name)
CASES = [p for p in CASE_DIRS if (p / "expected.json").is_file()]


@dataclass
class Case:
    name: str
    folder: Path
    crash_id: str
    annotations: dict[str, Any]
    processed: dict[str, Any]
    submitted_at: str

    @property
    def dump(self) -> Path | None:
        p = self.folder / "dump.dmp"
        return p if p.is_file() else None


def fill_store(store) -> list[Case]:
    """One crash per test case, processed with its reference output, signed by the signature engine."""
    from crashdesk.ui.samples import signature_for

    out = []
    base = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    for n, folder in enumerate(CASES):
        annotations = json.loads((folder / "annotations.json").read_text())
        processed = json.loads((folder / "expected.json").read_text())
        when = (base + dt.timedelta(hours=n)).isoformat(timespec="seconds")
        dump = folder / "dump.dmp"
        dumps = {"upload_file_minidump": dump.read_bytes()} if dump.is_file() else {}
        crash_id = store.add_crash(annotations, dumps, source="import", submitted_at=when)
        store.save_processed(crash_id, processed, signature=signature_for(processed, annotations))
        out.append(Case(folder.name, folder, crash_id, annotations, processed, when))
    return out


@pytest.fixture
def cases(store) -> list[Case]:
    return fill_store(store)


@pytest.fixture
def settings(tmp_path):
    from crashdesk.ui.qt import QSettings

    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    """Build a MainWindow over a store and wait until its first load finished."""
    from crashdesk.ui.mainwindow import MainWindow

    windows = []

    def make(store, *, wait_for_list: bool = True, **kw):
        window = MainWindow(store, settings=settings, **kw)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        if wait_for_list:
            qtbot.waitUntil(lambda: window.model.rowCount() > 0 and window.crash_view.detail is not None,
                            timeout=15000)
        return window

    yield make
    for w in windows:
        w.jobs.cancel_all()
        w.jobs.wait(10000)


@pytest.fixture
def open_crash_view(qtbot):
    """Open a stored crash in a CrashView on one of its tabs (``"modules"``, ...): returns the view; the stores
    it opened are closed at teardown."""
    from crashdesk.store import CrashStore
    from crashdesk.ui.detail import load_detail
    from crashdesk.ui.views.crash_view import CrashView

    stores = []

    def open_(data_dir, crash_id: str, tab: str = "modules"):
        store = CrashStore.open(data_dir)
        stores.append(store)
        view = CrashView()
        qtbot.addWidget(view)
        view.show_crash(load_detail(store, crash_id))
        view.setCurrentIndex(view.indexOf(getattr(view, tab)))
        return view

    yield open_
    for store in stores:
        store.close()


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_gui_thread():
    """No automatic garbage collection during a UI test: it could run on a background job's thread and destroy
    Qt objects there (a crash); collect here, on the GUI thread, instead (see crashdesk.ui.gc_guard)."""
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if was_enabled:
        gc.enable()
