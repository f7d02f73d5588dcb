"""Whether a window can open here, checked before the QApplication exists.

Without a usable display Qt aborts the process (SIGABRT, exit 134) with its own message, whose hint about
missing libraries is often wrong (it blamed ``libxcb-cursor0`` on a machine lacking ``libxcb-icccm4`` and
``libxcb-keysyms1``). :func:`display_problem` names what is missing instead: no display at all, a display
that nothing listens on, or the system libraries Qt's X11 plugin cannot load (read from ``ldd`` on the plugin,
the dynamic loader's own answer). No Qt module is imported here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

HEADLESS = {"offscreen", "minimal", "vnc", "linuxfb", "eglfs", "minimalegl", "vkkhrdisplay"}
HOW_TO = ("run it headless with QT_QPA_PLATFORM=offscreen, or use the command line (crashdesk --help)")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships a library, by Debian's naming rule: ``libxcb-icccm.so.4`` ->
    ``libxcb-icccm4``, ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0`` (a dash when the name ends in a
    digit)."""
    base, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    base = base.lower()
    if not version:
        return base
    return f"{base}-{version}" if base[-1:].isdigit() else f"{base}{version}"


def missing_libraries(library: Path) -> list[str]:
    """The shared libraries ``library`` needs that the dynamic loader cannot find (``ldd``'s "not found"),
    each once, in ldd's order; [] when ldd is absent."""
    ldd = shutil.which("ldd")
    if ldd is None or not library.is_file():
        return []
    try:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(_NOT_FOUND.findall(out)))


def xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _x11_display_listens(display: str) -> bool:
    """Whether an X server answers for ``DISPLAY`` (its Unix socket, or TCP 6000+N for ``host:N``)."""
    m = re.fullmatch(r"(?:(?P<host>[^:/]*)/?(?:unix)?)?:(?P<num>\d+)(?:\.\d+)?", display)
    if not m:
        return True  # a form we do not know: let Qt try
    host, num = m.group("host") or "", int(m.group("num"))
    if host in ("", "unix", "localhost") and Path(f"/tmp/.X11-unix/X{num}").exists():
        return True
    if host in ("", "unix"):
        # abstract sockets (Linux) are not visible as files: try connecting to @/tmp/.X11-unix/XN
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(f"\0/tmp/.X11-unix/X{num}")
            return True
        except OSError:
            return False
    try:
        with socket.create_connection((host, 6000 + num), timeout=2):
            return True
    except OSError:
        return False


def _wayland_listens(name: str) -> bool:
    path = Path(name) if os.path.isabs(name) else Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / name
    return path.exists()


def display_problem(environ: dict[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """One line saying why no window can open, or None when one can (or when Qt is told to run headless)."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux") and not platform.startswith("freebsd"):
        return None  # Windows and macOS always have their native platform plugin
    wanted = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if wanted in HEADLESS:
        return None
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if wanted.startswith("wayland") or (not wanted and wayland and _wayland_listens(wayland)):
        return None
    if not display:
        if wayland:
            return f"no display: WAYLAND_DISPLAY={wayland} has no compositor listening and DISPLAY is not set; {HOW_TO}"
        return f"no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set); {HOW_TO}"
    plugin = xcb_plugin()
    missing = missing_libraries(plugin) if plugin else []
    if missing:
        packages = " ".join(debian_package(m) for m in missing)
        return (f"cannot open a window: Qt's X11 plugin needs system libraries that are missing: "
                f"{', '.join(missing)} (Debian/Ubuntu: apt install {packages}); {HOW_TO}")
    if not _x11_display_listens(display):
        return f"no X server answers on DISPLAY={display}; {HOW_TO}"
    return None
