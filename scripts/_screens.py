"""The offscreen window plumbing the screenshot scripts share: the Qt application, waiting for the window, and
grabbing a widget into a small PNG."""

from __future__ import annotations

import time
from pathlib import Path


class Screens:
    """A Fusion-styled ``QApplication`` (the running one if any); :meth:`grab` saves ``<out>/<prefix><name>.png``
    and remembers the path in :attr:`shots`."""

    def __init__(self, out: Path, *, prefix: str = "", timeout: float = 10.0) -> None:
        from crashdesk.ui.qt import QApplication

        self.app = QApplication.instance() or QApplication([])
        self.app.setStyle("Fusion")
        self.out = out
        self.prefix = prefix
        self.timeout = timeout
        self.shots: list[str] = []

    def settle(self) -> None:
        for _ in range(5):
            self.app.processEvents()

    def wait_until(self, predicate, timeout: float | None = None) -> None:
        """Process events until ``predicate()`` holds (RuntimeError after ``timeout`` seconds), then settle."""
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not predicate():
            self.app.processEvents()
            if time.monotonic() > end:
                raise RuntimeError("timed out waiting for the window")
            time.sleep(0.01)
        self.settle()

    def grab(self, widget, name: str) -> str:
        """Save ``widget`` as an 8-bit indexed PNG (small files); return its path."""
        from crashdesk.ui.qt import QImage, Qt

        self.settle()
        path = self.out / f"{self.prefix}{name}.png"
        image = widget.grab().toImage().convertToFormat(
            QImage.Format.Format_Indexed8,
            Qt.ImageConversionFlag.ThresholdDither | Qt.ImageConversionFlag.AvoidDither)
        image.save(str(path), "PNG")
        self.shots.append(str(path))
        return str(path)
