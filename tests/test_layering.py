"""Nothing below the UI loads Qt: import every non-UI module in a fresh interpreter and look."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import crashdesk


def _non_ui_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(crashdesk.__path__, prefix="crashdesk."):
        if info.name.startswith("crashdesk.ui") or info.name == "crashdesk.__main__":
            continue
        names.append(info.name)
    return names


def test_no_module_below_the_ui_imports_qt():
    modules = _non_ui_modules()
    assert "crashdesk.store.crashes" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
