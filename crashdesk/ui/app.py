"""Start the desktop app: QApplication, the data folder's store, the local collector, the main window."""

from __future__ import annotations

import os
import sys

from crashdesk.config.paths import resolve_paths
from crashdesk.errors import CrashDeskError


def run_app(data_dir: str | None = None) -> int:
    """Open the workstation on ``data_dir`` (else ``$CRASHDESK_HOME``, else the platform folder); return the
    exit status."""
    from crashdesk.ui.collector_link import CollectorState, find_or_start
    from crashdesk.ui.icons import app_icon
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QApplication, QMessageBox, QSettings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CrashDesk")
    app.setOrganizationName("CrashDesk")
    app.setWindowIcon(app_icon())
    paths = resolve_paths(data_dir)
    try:
        from crashdesk.store import CrashStore

        store = CrashStore.open(paths.ensure().data_dir)
    except (CrashDeskError, OSError) as exc:
        QMessageBox.critical(None, "CrashDesk", f"Cannot open the data folder {paths.data_dir}:\n{exc}")
        return 1
    jobs = Jobs()
    window = MainWindow(store, settings=QSettings("CrashDesk", "CrashDesk"), jobs=jobs,
                        collector=CollectorState(None, "looking for the local collector…"))
    window.setWindowIcon(app_icon())
    jobs.submit(lambda cancel, report: find_or_start(paths), on_done=window.set_collector,
                on_error=lambda exc: window.set_collector(CollectorState(None, f"collector not running: {exc}")))
    window.show()
    quit_after = os.environ.get("CRASHDESK_QUIT_AFTER_MS")  # packaging smoke test: start, paint, quit cleanly
    if quit_after and quit_after.isdigit():
        from crashdesk.ui.qt import QTimer

        QTimer.singleShot(int(quit_after), app.quit)
    try:
        return int(app.exec())
    finally:
        jobs.wait(5000)
        store.close()
