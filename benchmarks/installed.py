"""CrashDesk run as an installed package runs it: with its bytecode compiled.

pip compiles a package's bytecode when it installs it, and PyInstaller bundles it; a checkout run with
``PYTHONDONTWRITEBYTECODE`` (as some sandboxes and CI images set it) would instead compile every CrashDesk module
from source in every new process, which is not what a user's command or worker pays. The benchmarks that start
CrashDesk processes call :func:`compile_bytecode` first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compile_bytecode(tree: Path = ROOT) -> None:
    """Write the ``__pycache__`` files of ``tree``'s ``crashdesk`` package (what ``pip install`` does)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "crashdesk")], check=False,
                   stdout=subprocess.DEVNULL)  # fmt: skip
