"""The Modules tab's symbol-lookup explainer and the debuginfod servers in Settings: a crash processed against a
real Microsoft-style symbol server on 127.0.0.1, shown in a real crash view (offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashdesk.cli import main
from tests.symbols.remote_fixtures import PDB_ID, FileServer, symstore_routes

pytest.importorskip("symbolic", reason="native debug files need the symbolic library (no wheel on this platform)")

MINI = Path(__file__).resolve().parents[1] / "data" / "unwind" / "mini-windows" / "mini.dmp"
NTDLL = "/wntdll.pdb/971F98E5CE6041FFB2D7235BBEB345781/wntdll.pdb"


@pytest.fixture
def processed_home(tmp_path: Path, capsys):
    server = FileServer()
    server.routes.update(symstore_routes())
    home = tmp_path / "home"
    try:
        assert main(["import", "--data-dir", str(home), "--json", str(MINI)]) == 0
        crash_id = json.loads(capsys.readouterr().out)["imported"][0]["crash_id"]
        assert main(["process", "--data-dir", str(home), "--workers", "1", "--symbols-url", server.url]) == 0
        capsys.readouterr()
        yield home, crash_id, server
    finally:
        server.close()


def test_modules_tab_explains_each_module(qtbot, processed_home, open_crash_view) -> None:
    home, crash_id, server = processed_home
    view = open_crash_view(home, crash_id, "modules")
    tab = view.modules
    # it opens on a module that lacks symbols, with every URL asked and what to do
    text = tab.explain.toPlainText()
    assert tab.explain_title.text() in ("Symbol lookup: ntdll.dll", "Symbol lookup: kernel32.dll")
    assert "Tried, in order:" in text and "HTTP 404" in text and "file.ptr" in text
    assert "What you can do:" in text and "Add a build folder" in text
    assert tab.retry_button.isEnabled()
    # the module that was symbolicated: the PDB URL with its status, and the file used
    rows = {tab.proxy.index(r, 0).data(): r for r in range(tab.proxy.rowCount())}
    tab.table.selectRow(rows["crash.exe"])
    text = tab.explain.toPlainText()
    assert f"{server.url}/crash.pdb/{PDB_ID}/crash.pdb: HTTP 200, downloaded" in text
    assert "Used: native debug file" in text and "crash.pdb" in text
    # a module no frame needed says so
    tab.table.selectRow(rows["dbghelp.dll"])
    assert "no stack frame is in this module" in tab.explain.toPlainText()
    # "Retry now" asks for the fetch, as the fetch button does
    with qtbot.waitSignal(view.fetch_symbols_requested, timeout=2000) as sig:
        tab.retry_button.click()
    assert sig.args == [crash_id]


def test_settings_keep_debuginfod_servers(qtbot, settings) -> None:
    from crashdesk.ui.dialogs.settings import KEYS, SettingsDialog, settings_list

    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    dlg.debuginfod_urls.add_item("https://debuginfod.example.org")
    dlg.debuginfod_urls.add_item("http://127.0.0.1:8002")
    dlg.save()
    assert settings_list(settings, KEYS["debuginfod_urls"]) == ["https://debuginfod.example.org",
                                                               "http://127.0.0.1:8002"]
    again = SettingsDialog(settings)
    qtbot.addWidget(again)
    assert again.debuginfod_urls.items() == ["https://debuginfod.example.org", "http://127.0.0.1:8002"]
