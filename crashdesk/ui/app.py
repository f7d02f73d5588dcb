"""Start the desktop app: QApplication, the data folder's store, the local collector, processing, the window."""

from __future__ import annotations

import os
import sys

from crashdesk.config.paths import resolve_paths
from crashdesk.errors import CrashDeskError


def _settings_list(settings, key: str) -> list[str]:
    value = settings.value(key, []) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def run_app(data_dir: str | None = None) -> int:
    """Open the workstation on ``data_dir`` (else ``$CRASHDESK_HOME``, else the platform folder); return the
    exit status."""
    from crashdesk.ui.collector_link import CollectorState, find_or_start
    from crashdesk.ui.icons import app_icon
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.processing_link import start_processing
    from crashdesk.ui.qt import QApplication, QEventLoop, QMessageBox, QSettings, delete_now

    existing = QApplication.instance()
    if existing is None:
        from crashdesk.ui.display_check import display_problem

        problem = display_problem()
        if problem:  # before Qt aborts the process with its own (often wrong) hint
            print(f"crashdesk: {problem}", file=sys.stderr)
            return 1
    app = existing or QApplication(sys.argv[:1])
    app.setApplicationName("CrashDesk")
    app.setOrganizationName("CrashDesk")
    app.setWindowIcon(app_icon())
    quit_after = os.environ.get("CRASHDESK_QUIT_AFTER_MS")  # packaging smoke test: start, paint, quit cleanly
    quit_after_ms = int(quit_after) if quit_after and quit_after.isdigit() else None
    if not data_dir and not os.environ.get("CRASHDESK_HOME"):  # issue 10: the data folder chosen in Settings
        data_dir = str(QSettings("CrashDesk", "CrashDesk").value("general/data_dir", "") or "") or None
    paths = resolve_paths(data_dir)
    from crashdesk.ui.single_instance import InstanceServer, ask_running_app_to_raise

    if ask_running_app_to_raise(paths.data_dir):  # one app per data folder: raise the one already open
        print(f"crashdesk: CrashDesk is already open on {paths.data_dir}: its window was raised", file=sys.stderr)
        return 0
    read_only = False
    try:
        from crashdesk.store import CrashStore
        from crashdesk.store.schema import upgrade_needed

        paths.check()
        read_only = paths.data_dir.is_dir() and not paths.writable
        notice = None
        if not read_only:
            pending = upgrade_needed(paths.ensure().data_dir / "crashdesk.sqlite")
            if pending:  # a store from an older CrashDesk: opening it migrates it, minutes for a large one
                notice = upgrade_notice(pending)
        try:
            store = CrashStore.open(paths.data_dir, read_only=read_only)
        finally:
            if notice is not None:
                notice.close()
    except (CrashDeskError, OSError) as exc:
        print(f"crashdesk: cannot open the data folder {paths.data_dir}: {exc}", file=sys.stderr)
        box = QMessageBox(QMessageBox.Icon.Critical, "CrashDesk",
                          f"Cannot open the data folder {paths.data_dir}:\n{exc}")
        if quit_after_ms is not None:  # the smoke test's deadline holds for this dialog too
            from crashdesk.ui.qt import QTimer

            QTimer.singleShot(quit_after_ms, box.reject)
        box.exec()
        return 1
    settings = QSettings("CrashDesk", "CrashDesk")
    from crashdesk.ui.symbol_settings import pull

    pull(settings, paths.data_dir, writable=not read_only)  # the folders/servers `crashdesk config` may have set
    jobs = Jobs()
    window = MainWindow(store, settings=settings, jobs=jobs, cache_dir=paths.cache_dir,
                        collector=CollectorState(None, "looking for the local collector", starting=True))
    window.setWindowIcon(app_icon())
    instance = InstanceServer(paths.data_dir, window.raise_window, window)
    instance.listen()
    if read_only:
        window.set_read_only(f"The data folder {paths.data_dir} is read-only: crashes can be searched and read, "
                             "but nothing is collected, processed or changed.")
    from crashdesk.ui.native_background import set_native_background

    set_native_background(window)  # X11: the server fills the window at once, not black until the first frame
    window.show()
    if quit_after_ms is not None:
        from crashdesk.ui.qt import QTimer

        QTimer.singleShot(quit_after_ms, window.close)
    # collector and processing start in the background: the window paints first. What they start is also
    # kept here, so it is stopped on exit even when the window closed before their callbacks were delivered.
    started: dict[str, object] = {}

    def collector_job(cancel, report):
        started["collector"] = state = find_or_start(paths, on_received=window.notify_crash_received)
        return state

    def processing_job(cancel, report):
        started["processing"] = service = start_processing(
            store, paths, on_result=window.notify_crash_processed, on_progress=window.notify_processing_progress,
            symbol_paths=_settings_list(settings, "symbols/paths"),
            symbol_urls=_settings_list(settings, "symbols/urls"),
            debuginfod_urls=_settings_list(settings, "symbols/debuginfod"),
            mozilla_symbols=str(settings.value("symbols/mozilla_for_mozilla_products", "true")).lower() != "false")
        return service

    def shutdown() -> None:
        """End worker processes and the collector (bounded); runs when the window closes, again harmlessly
        at exit. Nothing of CrashDesk outlives the window."""
        started["closing"] = True  # nothing starts any more
        jobs.wait(15000)
        service = started.get("processing") or window.processing
        if service is not None:
            service.cancel()
            service.join(10)
        from crashdesk.ui.processing_link import end_helper_processes

        end_helper_processes()
        collector = started.get("collector")
        (collector if isinstance(collector, CollectorState) else window.collector).stop()
        window.collector.stop()  # a collector taken over later (watch_collector)

    window.shutdown_hook = shutdown

    def collector_found(state: CollectorState) -> None:
        window.set_collector(state)
        window.watch_collector(paths)

    if read_only:  # both write to the data folder
        window.set_collector(CollectorState(None, "collector not running: the data folder is read-only"))
        window.status.set_processing("Processing not running: the data folder is read-only")
    else:
        def start_background() -> None:
            # after the window's first paint: their imports and process spawning hold the interpreter, and
            # the window stayed black until they let the GUI thread paint
            if started.get("background") or started.get("closing"):
                return
            started["background"] = True
            jobs.submit(collector_job, on_done=collector_found,
                        on_error=lambda exc: window.set_collector(CollectorState(None,
                                                                                 f"collector not running: {exc}")))
            jobs.submit(processing_job, on_done=window.attach_processing,
                        on_error=lambda exc: window.status.set_processing(f"Processing not running: {exc}"))

        from crashdesk.ui.qt import QTimer

        window.first_painted.connect(start_background)
        QTimer.singleShot(2000, window, start_background)  # no paint (a minimised start): start anyway
    try:
        if existing is None:
            return int(app.exec())
        # embedded in a running QApplication (tests, a host app): run until the window closes, without
        # QApplication.exit(), which would make every later event loop of the host return at once
        loop = QEventLoop()
        window.closed.connect(loop.quit)
        if window.isVisible():
            loop.exec()
        return 0
    finally:
        shutdown()
        instance.close()
        store.close()
        if existing is not None:
            # embedded: leave no closed-but-alive window or pending callbacks behind in the host application
            delete_now(jobs)
            delete_now(window)


def upgrade_notice(crashes: int):
    """A window saying the store is being upgraded, painted before the (blocking) migration starts."""
    from crashdesk.ui.qt import QApplication, QProgressDialog

    count = f"{crashes:,} crash" + ("" if crashes == 1 else "es")
    dialog = QProgressDialog(f"Upgrading the crash store ({count}) to this version of CrashDesk.\n"
                             "A large store takes a few minutes; nothing is lost if CrashDesk is closed meanwhile.",
                             None, 0, 0)
    dialog.setWindowTitle("CrashDesk")
    dialog.setMinimumDuration(0)
    dialog.show()
    for _ in range(5):  # let it paint: the migration holds this thread until it is done
        QApplication.processEvents()
    return dialog
