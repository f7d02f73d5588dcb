"""The Modules tab marks a module whose symbols came from a symbol table alone ("loaded, no lines"), counts it
in its summary and explains it: the abort crash (tests/data/native) processed with a copy of its program
stripped of debug information (binutils' objcopy) in a real crash view, offscreen."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from crashdesk.cli import main

pytest.importorskip("symbolic", reason="native debug files need the symbolic library (no wheel on this platform)")

DATA = Path(__file__).resolve().parents[1] / "data" / "native" / "abort"


@pytest.fixture
def home(tmp_path: Path, capsys) -> tuple[Path, str]:
    if shutil.which("objcopy") is None:
        pytest.skip("binutils' objcopy makes the symbol-table-only copy of the program")
    folder = tmp_path / "system"
    folder.mkdir()
    subprocess.run(["objcopy", "--strip-debug", str(DATA / "abort.debug"), str(folder / "abort")], check=True)
    home = tmp_path / "home"
    dump = next(DATA.glob("*.dmp"))
    assert main(["import", "--data-dir", str(home), "--json", str(dump)]) == 0
    crash_id = json.loads(capsys.readouterr().out)["imported"][0]["crash_id"]
    assert main(["process", "--data-dir", str(home), "--workers", "1", "--symbols-path", str(folder)]) == 0
    capsys.readouterr()
    return home, crash_id


def test_modules_tab_marks_symbols_without_source_lines(home, open_crash_view) -> None:
    from crashdesk.ui.models.modules import NO_LINES, ModuleCol

    data_dir, crash_id = home
    view = open_crash_view(data_dir, crash_id, "modules")
    tab = view.modules
    shown = [(tab.model.index(r, ModuleCol.FILENAME).data(), tab.model.index(r, ModuleCol.SYMBOLS).data())
             for r in range(tab.model.rowCount())]
    # the program (listed once per mapping) has names without lines; libc has no symbols at all
    assert {status for name, status in shown if name == "abort"} == {NO_LINES}
    assert dict(shown)["libc-2.23.so"] == "missing"
    n = sum(status == NO_LINES for _, status in shown)
    assert f"{n} loaded ({n} without source lines)" in tab.summary.text()
    rows = {tab.proxy.index(r, 0).data(): r for r in range(tab.proxy.rowCount())}
    tab.table.selectRow(rows["abort"])
    text = tab.explain.toPlainText()
    assert "symbol table alone" in text and "What you can do:" in text
