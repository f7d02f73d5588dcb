#!/usr/bin/env python3
"""Run CrashDesk in a real X11 window (Xvfb + the openbox window manager) and check it as a person would use it:
real key presses through the X server (xdotool), screen captures of the root window.

What it does, on a demo store (tests/data's crashes, from scripts/screenshots.py) in a temporary folder:

1. starts ``python -m crashdesk`` and times the window's mapping; captures the screen every ~20 ms from then
   on and counts captures where the window is still mostly black (no first paint yet);
2. starts a second ``python -m crashdesk`` on the same folder: it must exit at once saying the first is open,
   and the first window must be the active one;
3. types ``os:li`` in the search box (Ctrl+F) and presses Enter once, with the completion popup open;
4. quits with Ctrl+Q and checks that no process of the app's session is left when it has exited;
5. reports Qt warnings the app printed, and saves captures to ``--out`` (default /tmp/crashdesk-xvfb).

Needs: Xvfb, openbox, xdotool, xwininfo, xwd (Debian: ``apt-get install xvfb openbox xdotool x11-utils
x11-apps`` and Qt's xcb libraries, e.g. ``libxcb-cursor0``). Usage:
``python scripts/realwindow_xvfb.py [--out DIR]``; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

CAPTURE = r"""
import sys, time
from PySide6.QtGui import QColor, QGuiApplication
app = QGuiApplication(sys.argv[:1])
out, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
n = 0
saved_first = False
screen = app.primaryScreen()
while time.monotonic() < until:
    t = time.monotonic()
    img = screen.grabWindow(0).toImage()
    # the share of black pixels in the middle of the screen (where the window is), sampled on a grid
    w, h = img.width(), img.height()
    pts = [(x, y) for x in range(w // 8, w - w // 8, 16) for y in range(h // 8, h - h // 8, 16)]
    colours = [img.pixel(x, y) for x, y in pts]
    black = sum(1 for c in colours if QColor(c).lightness() < 8) / len(pts)
    # a window filled with one colour (its background, before Qt's first frame) vs one showing widgets
    uniform = max(colours.count(c) for c in set(colours)) / len(pts)
    print(f"{t:.3f} {black:.3f} {uniform:.3f}", flush=True)
    if n in (0, 3, 10):
        img.save(f"{out}/capture-{n:02d}.png")
    if black < 0.5 and not saved_first:  # what the screen shows the moment it is no longer black
        saved_first = img.save(f"{out}/capture-first-not-black.png")
    n += 1
    time.sleep(0.015)
"""


def session_members(sid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z" and int(fields[3]) == sid:
                out.append(int(entry.name))
    return out


def xdo(env, *args: str, timeout: float = 30) -> str:
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=timeout).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "crashdesk-xvfb")
    args = parser.parse_args(argv)
    for tool in ("Xvfb", "openbox", "xdotool", "xwininfo", "xwd"):
        if shutil.which(tool) is None:
            print(f"realwindow_xvfb: {tool} is missing (apt-get install xvfb openbox xdotool x11-utils x11-apps)", file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crashdesk-xvfb-"))
    from screenshots import build_demo_store

    build_demo_store(work / "home")
    display = next(f":{n}" for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRASHDESK_", "QT_QPA_PLATFORM"))}
    env.update({"DISPLAY": display, "XDG_CONFIG_HOME": str(work / "config"), "XDG_RUNTIME_DIR": str(work)})
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [xvfb]
    failures: list[str] = []
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
                break
            time.sleep(0.05)
        wm = subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(wm)
        time.sleep(1.0)
        capture = subprocess.Popen([sys.executable, "-c", CAPTURE, str(args.out), "12"], env=env,
                                   stdout=subprocess.PIPE, text=True)
        procs.append(capture)
        time.sleep(1.0)
        started = time.monotonic()
        app = subprocess.Popen([sys.executable, "-m", "crashdesk", "--data-dir", str(work / "home")], cwd=str(ROOT),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
        window: list[str] = []
        while not window and app.poll() is None and time.monotonic() - started < 60:
            window = xdo(env, "search", "--onlyvisible", "--name", "CrashDesk").splitlines()
            if not window:
                time.sleep(0.02)
        mapped = time.monotonic()
        if not window:
            print(app.stderr.read() if app.poll() is not None else "", file=sys.stderr)
            failures.append("no CrashDesk window appeared")
            return 1
        window_id = window[0] if window else ""
        print(f"window mapped {mapped - started:.2f} s after start (id {window_id})")
        time.sleep(4.0)  # let it load the list, find/start the collector and processing

        # 2. a second start on the same folder
        second_started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(work / "home")],
                                cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=60)
        print(f"second start: exit {second.returncode} after {time.monotonic() - second_started:.2f} s: "
              f"{second.stderr.strip()}")
        if second.returncode != 0 or "already open" not in second.stderr:
            failures.append("the second start did not hand over to the first window")
        active = xdo(env, "getactivewindow")
        print(f"active window after the second start: {active} (first window {window_id})")
        if active != window_id:
            failures.append("the first window is not the active one after the second start")
        still_one = xdo(env, "search", "--onlyvisible", "--name", "CrashDesk").splitlines()
        print(f"CrashDesk windows on screen: {len(still_one)}")

        # 3. search with the completion popup open: one Enter
        xdo(env, "key", "--window", window_id, "ctrl+f")
        time.sleep(0.3)
        xdo(env, "type", "--delay", "80", "os:li")
        time.sleep(0.6)
        subprocess.run(["xwd", "-root", "-silent", "-out", str(args.out / "popup-open.xwd")], env=env, check=False)
        xdo(env, "key", "Return")
        time.sleep(1.5)
        subprocess.run(["xwd", "-root", "-silent", "-out", str(args.out / "after-enter.xwd")], env=env, check=False)

        # 4. quit
        quit_at = time.monotonic()
        xdo(env, "key", "--window", window_id, "ctrl+q")
        gone = None
        while time.monotonic() - quit_at < 30:
            info = subprocess.run(["xwininfo", "-id", window_id], env=env, capture_output=True, text=True).stdout
            if "IsViewable" not in info:  # unmapped (or destroyed: xwininfo then prints nothing)
                gone = time.monotonic()
                break
            time.sleep(0.02)
        alive_when_gone = session_members(app.pid) if gone else []
        for pid in alive_when_gone:
            if pid != app.pid:
                try:
                    cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    cmd = "(gone)"
                print(f"  alive when the window was gone: {pid} {cmd[:160]}")
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            failures.append("the app did not exit within 30 s of Ctrl+Q")
            app.kill()
        left = session_members(app.pid)
        print(f"window gone {((gone or quit_at) - quit_at):.2f} s after Ctrl+Q; processes of the app's session "
              f"then: {len(alive_when_gone)} (the app itself counts one); after exit: {left}")
        if left:
            failures.append(f"processes left after the app exited: {left}")
        if len(alive_when_gone) > 1:
            failures.append(f"{len(alive_when_gone) - 1} worker process(es) alive when the window was gone")
        err = app.stderr.read()
        warnings = [line for line in err.splitlines() if line.strip()]
        print(f"app stderr lines: {len(warnings)}")
        for line in warnings[:20]:
            print(f"  {line}")
        capture.wait(30)
        samples = [line.split() for line in capture.stdout.read().splitlines()]
        after_map = [(float(t), float(b)) for t, b, _u in samples if float(t) >= mapped - 0.05]
        # the first capture showing widgets: not black and not one flat colour (the window's background)
        widgets = next((float(t) for t, b, u in samples
                        if float(t) >= mapped - 0.05 and float(b) < 0.5 and float(u) < 0.97), None)
        first_paint = next((t for t, b in after_map if b < 0.5), None)
        black = [t for t, b in after_map if b >= 0.5 and (first_paint is None or t < first_paint)]
        print(f"screen captures from mapping to the first painted one: {len(black)} mostly black"
              + (f"; first painted capture {first_paint - mapped:+.2f} s after the window was seen mapped"
                 if first_paint is not None else "; never painted")
              + (f"; first capture showing widgets {widgets - mapped:+.2f} s" if widgets is not None else ""))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
    print("captures in", args.out)
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
