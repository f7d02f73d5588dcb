"""Settings → Symbols → "Add build folder": scan a build folder for native debug files in the background (with
progress and cancel), add it to the symbol folders, re-walk the stored crashes it can symbolicate and show the
report of signature changes (:mod:`crashdesk.services.build_folders`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from crashdesk.ui.qt import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)


def _in_store(data_dir: Path | None, action: Callable[[Any, Any], Any]) -> Any:
    """``action(store, paths)`` over the crash store of ``data_dir`` (the default folder when None), opened in
    the calling (worker) thread and closed after."""
    from crashdesk.config.paths import resolve_paths
    from crashdesk.store import CrashStore

    paths = resolve_paths(str(data_dir) if data_dir else None).ensure()
    store = CrashStore.open(paths.data_dir)
    try:
        return action(store, paths)
    finally:
        store.close()


def _rewalk_progress(report: Callable[[float, str], Any]) -> Callable[[Any], None]:
    """A re-walk's progress callback that reports the finished share and "Re-walking crashes: N of M"."""
    def on_progress(p: Any) -> None:
        finished = p.done + p.failed
        total = finished + p.running + p.queued
        report(finished / max(1, total), f"Re-walking crashes: {finished} of {total}")
    return on_progress


class BuildFolderPanel(QWidget):
    """A button, a progress line with Cancel, and the last report."""

    finished = Signal(object)  # the BuildFolderReport, or None when it failed / was cancelled

    def __init__(self, jobs: Any, data_dir: Path | None, *, add_folder: Callable[[str], None],
                 symbol_sources: Callable[[], dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from crashdesk.engine.native import SUPPORT_MISSING_NOTE, native_support

        self.jobs = jobs
        self.data_dir = data_dir
        self._add_folder = add_folder
        self._sources = symbol_sources
        self._job = None
        self.button = QPushButton("Add build folder…")
        self.button.setToolTip("Scan a build folder for native debug files (ELF/DWARF, PDB/PE, dSYM) and .sym "
                               "files, then re-walk the stored crashes that lacked those symbols")
        self.button.clicked.connect(self._ask)
        self.status = QLabel("" if native_support() else SUPPORT_MISSING_NOTE)
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setPlaceholderText("The report of the last added build folder: crashes that gained symbols, "
                                       "signatures old → new with crash counts.")
        self.report.setMaximumHeight(130)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.report)

    def _ask(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a build folder")
        if folder:
            self.start(folder)

    def start(self, folder: str) -> None:
        """Add ``folder`` to the symbol folders and run the scan + re-walk in the background."""
        if self._job is not None:
            return
        self._add_folder(folder)
        sources = self._rewalk_sources()
        sources["symbol_paths"] = [p for p in sources["symbol_paths"] if p != Path(folder)]
        data_dir = self.data_dir

        def work(cancel, report):
            from crashdesk.services.build_folders import add_build_folder

            return _in_store(data_dir, lambda store, paths: add_build_folder(
                store, paths, Path(folder), **sources, cancel=cancel,
                on_scan=lambda seen, _p: report(-1.0, f"Scanning {folder}: {seen} files…"),
                on_progress=_rewalk_progress(report)))

        self._run(work, f"Scanning {folder}…", "Add build folder")

    def start_symbol_file(self, sym_path: str) -> None:
        """Install one dropped ``.sym`` file into the symbol cache (named by its MODULE line) and re-walk the
        stored crashes that lacked it, in the background, with the same progress, cancel and report."""
        if self._job is not None:
            return
        sources = self._rewalk_sources()
        data_dir = self.data_dir

        def work(cancel, report):
            from crashdesk.services.build_folders import add_symbol_file

            return _in_store(data_dir, lambda store, paths: add_symbol_file(
                store, paths, Path(sym_path), **sources, cancel=cancel,
                on_progress=_rewalk_progress(report)))

        self._run(work, f"Installing {sym_path}…", "Add symbol file")

    def _rewalk_sources(self) -> dict[str, Any]:
        """The symbol sources Settings give processing (``symbol_sources()``: ``symbol_paths``, ``symbol_urls``,
        ``debuginfod_urls``, ``mozilla_symbols``), as the re-walk's keyword arguments: it processes as the app
        does."""
        from crashdesk.symbols.sources import MOZILLA_SYMBOL_SERVER

        given = self._sources()
        return {"symbol_paths": [Path(p) for p in given.get("symbol_paths", []) if Path(p).is_dir()],
                "symbol_urls": list(given.get("symbol_urls", [])),
                "debuginfod_urls": list(given.get("debuginfod_urls", [])),
                "mozilla_symbol_urls": [MOZILLA_SYMBOL_SERVER] if given.get("mozilla_symbols") else []}

    @property
    def busy(self) -> bool:
        return self._job is not None

    def _run(self, work, text: str, title: str) -> None:
        self.button.setEnabled(False)
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)
        self.cancel_button.setVisible(True)
        self.status.setText(text)
        self._job = self.jobs.submit(work, on_done=self._done, on_error=self._failed, on_progress=self._progress,
                                     title=title, visible=True)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()
            self.status.setText("Cancelling…")

    def _progress(self, fraction: float, text: str) -> None:
        if fraction < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))
        self.status.setText(text)

    def _finish(self) -> None:
        self._job = None
        self.button.setEnabled(True)
        self.bar.setVisible(False)
        self.cancel_button.setVisible(False)

    def _done(self, result) -> None:
        from crashdesk.services.build_folders import summarize

        self._finish()
        self.report.setPlainText("\n".join(summarize(result)))
        self.status.setText("Cancelled." if result.cancelled else
                            f"Done: {len(result.crashes)} crashes re-walked, {len(result.gained)} gained symbols, "
                            + (f"{len(result.gained_lines)} gained source lines, " if result.gained_lines else "")
                            + f"{sum(c['crashes'] for c in result.changes)} changed signature.")
        emit(self.finished, result)

    def _failed(self, exc: BaseException) -> None:
        self._finish()
        self.status.setText(f"Adding the symbols failed: {exc}")
        emit(self.finished, None)
