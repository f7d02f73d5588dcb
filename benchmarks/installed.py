"""CrashDesk as a user runs it: installed by pip, with its bytecode compiled.

Two ways to run the ``crashdesk`` command in a benchmark:

* :func:`installed_command` -- the ``crashdesk`` console script of a virtual environment under
  ``benchmarks/.work/`` into which ``pip install <checkout>`` installed the package and its dependencies, as a user
  installs it (rebuilt when the checkout's sources change). Its interpreter starts only with what such an
  environment has: none of the development machine's own start-up hooks (``.pth`` files of an editable install or
  of the machine's site-packages, which here cost ~20-60 ms of every process);
* :func:`checkout_command` -- ``python -m crashdesk`` from the checkout with this interpreter, its bytecode compiled
  first (:func:`compile_bytecode`): pip compiles a package's bytecode when it installs it and PyInstaller bundles
  it, while a checkout run under ``PYTHONDONTWRITEBYTECODE`` would compile every module from source in every
  process.

Each also gives the matching ``python -c pass`` command, the start-up no Python command avoids."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"


def compile_bytecode(tree: Path = ROOT) -> None:
    """Write the ``__pycache__`` files of ``tree``'s ``crashdesk`` package (what ``pip install`` does)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "crashdesk")], check=False,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def checkout_command(tree: Path = ROOT) -> tuple[list[str], list[str]]:
    """(``crashdesk`` command, ``pass`` command) running ``tree``'s package with this interpreter (run it with
    ``cwd=tree``)."""
    compile_bytecode(tree)
    return [sys.executable, "-m", "crashdesk"], [sys.executable, "-c", "pass"]


def _source_digest(tree: Path) -> str:
    digest = hashlib.sha256()
    files = [tree / "pyproject.toml", *sorted((tree / "crashdesk").rglob("*.py"))]
    for path in files:
        digest.update(str(path.relative_to(tree)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def installed_command(tree: Path = ROOT) -> tuple[list[str], list[str]]:
    """(``crashdesk`` command, ``pass`` command) of a virtual environment holding ``tree`` installed by pip
    (``benchmarks/.work/venv-<tree>-<digest of its sources>``; created on first use, ~30 s and ~1 GB with Qt)."""
    tree_key = hashlib.sha256(str(tree.resolve()).encode()).hexdigest()[:8]
    venv = WORK / f"venv-{tree_key}-{_source_digest(tree)}"
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python = bindir / ("python.exe" if sys.platform == "win32" else "python")
    if not (venv / "installed").exists():
        for old in WORK.glob(f"venv-{tree_key}-*"):  # one environment per checkout is enough
            shutil.rmtree(old, ignore_errors=True)
        print(f"installing {tree} into {venv} (pip install, not editable) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(tree)],
                       check=True)  # fmt: skip
        (venv / "installed").write_text(str(tree))
    return [str(bindir / "crashdesk")], [str(python), "-c", "pass"]


def crashdesk_command(tree: Path = ROOT, *, installed: bool = True) -> tuple[list[str], list[str]]:
    """:func:`installed_command` or :func:`checkout_command`."""
    return installed_command(tree) if installed else checkout_command(tree)
