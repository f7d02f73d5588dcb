"""First start (issue 20): no usable display gives one line naming what is missing and how to run headless,
exit 1, instead of Qt's SIGABRT; a bad data folder offscreen does not block CRASHDESK_QUIT_AFTER_MS; a read-only
data folder opens read-only with a banner. The real ``python -m crashdesk`` in subprocesses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crashdesk.ui.display_check import debian_package, missing_libraries, xcb_plugin

ROOT = Path(__file__).resolve().parents[2]


def app(env_changes: dict[str, str | None], *argv: str, wrap: list[str] | None = None, timeout: float = 60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHDESK_")}
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([*(wrap or []), sys.executable, "-m", "crashdesk", *argv], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=str(ROOT))


def one_line(proc) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def test_no_display_is_one_line_and_exit_1(tmp_path):
    proc = app({"QT_QPA_PLATFORM": None, "DISPLAY": None, "WAYLAND_DISPLAY": None},
               "--data-dir", str(tmp_path / "home"))
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])  # Qt's abort was 134 (-6)
    line = one_line(proc)
    assert "no display" in line and "QT_QPA_PLATFORM=offscreen" in line and "crashdesk --help" in line


def test_display_without_libraries_or_server_names_what_is_missing(tmp_path):
    free = next(n for n in range(57, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    proc = app({"QT_QPA_PLATFORM": None, "DISPLAY": f":{free}", "WAYLAND_DISPLAY": None},
               "--data-dir", str(tmp_path / "home"))
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    line = one_line(proc)
    plugin = xcb_plugin()
    # what the dynamic loader itself says about Qt's X11 plugin on this machine
    ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout if plugin else ""
    not_found = list(dict.fromkeys(re.findall(r"^\s*(\S+) => not found", ldd, re.MULTILINE)))
    if not_found:
        for lib in not_found:
            assert lib in line and debian_package(lib) in line
    else:
        assert f"no X server answers on DISPLAY=:{free}" in line
    assert "QT_QPA_PLATFORM=offscreen" in line


def test_debian_package_names():
    assert debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package("libxcb-keysyms.so.1") == "libxcb-keysyms1"
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert debian_package("libdbus-1.so.3") == "libdbus-1-3"
    assert debian_package("libEGL.so.1") == "libegl1"


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("ldd") is None, reason="needs gcc and ldd")
def test_missing_libraries_reads_the_loaders_answer(tmp_path):
    """A real shared object linked against a library that is then removed: ldd's "not found" is reported."""
    (tmp_path / "dep.c").write_text("int dep(void) { return 1; }\n")
    (tmp_path / "use.c").write_text("int dep(void);\nint use(void) { return dep(); }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libcrashdeskgone.so.7"),
                    "-Wl,-soname,libcrashdeskgone.so.7", str(tmp_path / "dep.c")], check=True)
    (tmp_path / "libcrashdeskgone.so").symlink_to("libcrashdeskgone.so.7")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libuse.so"), str(tmp_path / "use.c"),
                    f"-L{tmp_path}", "-lcrashdeskgone"], check=True)
    (tmp_path / "libcrashdeskgone.so.7").unlink()
    assert missing_libraries(tmp_path / "libuse.so") == ["libcrashdeskgone.so.7"]
    assert debian_package("libcrashdeskgone.so.7") == "libcrashdeskgone7"


def test_bad_data_folder_offscreen_does_not_block_quit_after(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = app({"QT_QPA_PLATFORM": "offscreen", "CRASHDESK_QUIT_AFTER_MS": "1500"}, "--data-dir", str(blocker),
               timeout=90)
    assert proc.returncode == 1
    assert f"cannot open the data folder {blocker}" in proc.stderr and "is a file" in proc.stderr
    assert "Traceback" not in proc.stderr


def _unshare_reason() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"no unprivileged mount namespaces: {probe.stderr.strip()}"


def test_read_only_data_folder_opens_the_app(tmp_path, test_data):
    reason = _unshare_reason()
    if reason:
        pytest.skip(reason)
    from crashdesk.store import CrashStore

    home = tmp_path / "home"
    with CrashStore.open(home) as store:
        store.add_crash({"ProductName": "RO"}, {}, source="import")
    before = sorted(p.name for p in home.rglob("*"))
    wrap = ["unshare", "-rm", "sh", "-c",
            f'mount --bind "{home}" "{home}" && mount -o remount,bind,ro "{home}" && exec "$@"', "sh"]
    proc = app({"QT_QPA_PLATFORM": "offscreen", "CRASHDESK_QUIT_AFTER_MS": "2500",
                "XDG_CONFIG_HOME": str(tmp_path / "config")}, "--data-dir", str(home), wrap=wrap, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in home.rglob("*")) == before


def test_read_only_banner(qtbot, tmp_path):
    from crashdesk.store import CrashStore
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QSettings

    home = tmp_path / "home"
    with CrashStore.open(home) as store:
        store.add_crash({"ProductName": "RO"}, {}, source="import")
    store = CrashStore.open(home, read_only=True)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(store, settings=settings)
    qtbot.addWidget(window)
    window.set_read_only("The data folder is read-only")
    window.show()
    qtbot.waitUntil(lambda: window.read_only_banner.isVisible())
    assert window.read_only_banner.text() == "The data folder is read-only"
    assert store.search("product:RO").total == 1
    window.close()
    store.close()
