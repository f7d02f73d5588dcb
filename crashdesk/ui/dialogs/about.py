"""Help → About CrashDesk: the version, and what the collector's ``/__version__`` leaves out (it answers only
Antenna's four keys): the collector's own name, the Python and Qt the app runs on, the data folder."""

from __future__ import annotations

from pathlib import Path

from crashdesk.model.build_info import about_lines
from crashdesk.ui.qt import (
    PYSIDE_VERSION,
    QDialog,
    QDialogButtonBox,
    QLabel,
    Qt,
    QVBoxLayout,
    qVersion,
)


def about_text(data_dir: Path | None = None) -> list[str]:
    """The lines the About box shows (also what a test reads)."""
    lines = about_lines()
    lines.append(f"Qt {qVersion()} (PySide6 {PYSIDE_VERSION})")
    if data_dir is not None:
        lines.append(f"data folder: {data_dir}")
    return lines


class AboutDialog(QDialog):
    def __init__(self, parent=None, data_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CrashDesk")
        self.setMinimumWidth(520)
        self.lines = about_text(data_dir)
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>CrashDesk</b> {self.lines[0].split(' ', 1)[1]}")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        layout.addWidget(QLabel("Crash triage for Breakpad and Crashpad minidumps, offline."))
        self.details = QLabel("\n".join(self.lines[1:]))
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setWordWrap(True)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
