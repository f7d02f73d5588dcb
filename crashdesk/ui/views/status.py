"""Status bar pieces: the collector's submit URL (click to copy), sync state, background work, counts."""

from __future__ import annotations

from crashdesk.ui.qt import QApplication, QEvent, QLabel, QProgressBar, QStatusBar, Qt, QToolButton, Signal


class StatusBar(QStatusBar):
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.collector = QToolButton()
        self.collector.setObjectName("collector_url")
        self.collector.setAutoRaise(True)
        self.collector.clicked.connect(self._on_collector_clicked)
        self.sync = QLabel("Sync: idle")
        self.processing = QLabel()
        self.work = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setMaximumHeight(16)
        self.progress.setTextVisible(False)
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.setAutoRaise(True)
        self.cancel.clicked.connect(self.cancel_requested)
        self.count = QLabel()
        self.addWidget(self.collector)
        self.addWidget(self.sync)
        self.addWidget(self.processing)
        self.addPermanentWidget(self.work)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.cancel)
        self.addPermanentWidget(self.count)
        self.url: str | None = None
        self.set_collector(None, "Collector: starting…")
        self.set_work([])

    def event(self, event) -> bool:
        """Qt lays the bar out again on a layout request (a label's text grew, the progress bar came) and shows
        the normal widgets while doing so, under a temporary message that is still up: the two texts were
        drawn over each other. Hide them again as Qt's own message does: not as an explicit hide, so Qt shows
        them when the message goes."""
        handled = super().event(event)
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Show) and self.currentMessage():
            for widget in (self.collector, self.sync, self.processing):
                if widget.isVisible():
                    widget.hide()
                    widget.setAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide, False)
        return handled

    def set_collector(self, url: str | None, message: str = "") -> None:
        self.url = url
        if url:
            self.collector.setText(f"Collector: {url}")
            self.collector.setToolTip("The local collector's submit URL: click to copy it")
            self.collector.setEnabled(True)
        else:
            self.collector.setText(message or "collector not running")
            self.collector.setToolTip(message or "")
            self.collector.setEnabled(False)

    def set_sync(self, text: str) -> None:
        self.sync.setText(f"Sync: {text}")

    def set_processing(self, text: str) -> None:
        self.processing.setText(text)

    def set_count(self, shown: int, total_in_store: int | None = None) -> None:
        text = f"{shown:,} crash{'es' if shown != 1 else ''}"
        if total_in_store is not None and total_in_store != shown:
            text += f" of {total_in_store:,}"
        self.count.setText(text)

    def set_work(self, items: list[tuple[float, str]]) -> None:
        """Show the running visible jobs: one text, and a progress bar (busy when the fraction is unknown)."""
        if not items:
            self.work.setText("")
            self.progress.hide()
            self.cancel.hide()
            return
        fraction, text = items[0]
        more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
        self.work.setText(text + more)
        self.progress.show()
        self.cancel.show()
        if fraction < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))

    def _on_collector_clicked(self) -> None:
        if self.url:
            QApplication.clipboard().setText(self.url)
            self.showMessage("Submit URL copied to the clipboard", 3000)
