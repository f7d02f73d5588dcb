"""Issue 29: on X11 the main window is not black between being mapped and Qt's first frame. A real X server
(Xvfb) and the real xcb plugin in a child process: the window is shown and the screen read back before Qt has
processed a single event (so before any paint): the X server must already have filled it with the window
colour. Without the fix the same read shows black (checked below too, so the test can fail)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv[:1])
assert app.platformName() == "xcb", app.platformName()
from crashdesk.ui.native_background import set_native_background
w = QLabel("hello")
w.setGeometry(100, 100, 400, 300)
fixed = set_native_background(w) if sys.argv[1] == "fix" else False
w.show()  # maps the X window; Qt paints only when the event loop runs, which it never does here
import time; time.sleep(0.3)  # the X server has mapped it (grabWindow below is a synchronous round trip)
img = app.primaryScreen().grabWindow(0, 150, 150, 10, 10).toImage()
c = img.pixelColor(5, 5)
win = w.palette().color(w.backgroundRole())
print(fixed, c.red(), c.green(), c.blue(), win.red(), win.green(), win.blue())
"""


@pytest.fixture
def xserver(tmp_path):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    display = next(f":{n}" for n in range(300, 400) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
                break
            time.sleep(0.05)
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


def _run(display: str, mode: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_QPA_PLATFORM")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True, timeout=60,
                         cwd=str(ROOT))
    if out.returncode != 0 and "Could not load the Qt platform plugin" in out.stderr:
        pytest.skip("Qt's xcb plugin cannot load here (its X libraries are missing: see .ci/run's list)")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_the_window_shows_its_colour_before_the_first_paint(xserver):
    fixed, *rgb = _run(xserver, "fix")
    assert fixed == "True"
    screen, window = [int(v) for v in rgb[:3]], [int(v) for v in rgb[3:]]
    assert screen == window and sum(window) > 3 * 100  # the palette's light window colour, not black
    unfixed, *rgb = _run(xserver, "plain")
    assert unfixed == "False" and [int(v) for v in rgb[:3]] == [0, 0, 0]  # what Qt alone leaves: black
