"""The symbol folders and servers of Settings reach the command line (issue 20): ``crashdesk config`` shows and
sets them, ``process`` (and ``collector``) use them after their own flags, ``stackwalk`` does not; the app reads
the same file into its QSettings and writes it when Settings are saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crashdesk.cli.common import symbol_sources
from crashdesk.config.paths import resolve_paths
from crashdesk.config.symbol_sources import SymbolSources, load, save

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes"
SYMBOLS = DATA / "symbols"


def cli(home: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHDESK_")}
    env["CRASHDESK_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "crashdesk", *argv], capture_output=True, text=True, env=env,
                          timeout=300)


def _loaded(home: Path, crash_id: str) -> list[str]:
    shown = json.loads(cli(home, "show", crash_id, "--json").stdout)
    return [m["filename"] for m in shown["modules"] if m["symbol_status"] == "loaded"]


def test_config_then_process_uses_the_settings_folders(tmp_path):
    home = tmp_path / "home"
    r = cli(home, "import", str(DATA / "01-null-deref" / "dump.dmp"), "--json")
    crash_id = json.loads(r.stdout)["imported"][0]["crash_id"]
    r = cli(home, "config", "--add-symbols-path", str(SYMBOLS), "--mozilla-symbols", "off")
    assert r.returncode == 0, r.stderr
    assert str(SYMBOLS) in r.stdout and "Mozilla's symbol server for Mozilla products: off" in r.stdout
    shown = json.loads(cli(home, "config", "--json").stdout)
    assert shown["paths"] == [str(SYMBOLS)] and shown["urls"] == []
    r = cli(home, "process", "--workers", "1")
    assert r.returncode == 0, r.stderr
    loaded = _loaded(home, crash_id)
    assert loaded, "the folder set with crashdesk config was not used by process"
    # stackwalk keeps to what it is given, as minidump-stackwalk does
    walked = json.loads(cli(home, "stackwalk", str(DATA / "01-null-deref" / "dump.dmp"), "--json").stdout)
    assert not any(m.get("loaded_symbols") for m in walked["modules"])
    r = cli(home, "config", "--remove-symbols-path", str(SYMBOLS))
    assert r.returncode == 0 and "symbol folders (0)" in r.stdout
    bad = cli(home, "config", "--add-symbols-url", "ftp://x")
    assert bad.returncode == 2 and "not a symbol server URL" in bad.stderr


def test_flags_come_first_then_settings_each_once(tmp_path):
    paths = resolve_paths(tmp_path / "home").ensure()
    assert symbol_sources(paths, ["/a"], ["https://flag/"]) == {
        "symbol_paths": ["/a"], "symbol_urls": ["https://flag/"], "mozilla_symbol_urls": [], "debuginfod_urls": []}
    save(paths.data_dir, SymbolSources(["/b", "/a"], ["https://set/"], True, ["https://dbg-set/"]))
    got = symbol_sources(paths, ["/a"], ["https://flag/"], ["https://dbg-flag/", "https://dbg-set/"])
    assert got["symbol_paths"] == ["/a", "/b"] and got["symbol_urls"] == ["https://flag/", "https://set/"]
    assert got["debuginfod_urls"] == ["https://dbg-flag/", "https://dbg-set/"]
    assert got["mozilla_symbol_urls"] == ["https://symbols.mozilla.org/"]


def test_app_settings_and_the_file_stay_in_step(qtbot, tmp_path):
    from crashdesk.ui.qt import QSettings
    from crashdesk.ui.symbol_settings import pull, push

    settings = QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)
    data_dir = tmp_path / "home"
    data_dir.mkdir()
    settings.setValue("symbols/paths", ["/from/app"])
    settings.setValue("symbols/urls", ["https://app/"])
    pull(settings, data_dir)  # no file yet: the app's settings are written for the command line
    assert load(data_dir) == SymbolSources(["/from/app"], ["https://app/"], True)
    save(data_dir, SymbolSources(["/from/cli"], [], False))  # crashdesk config changed them
    pull(settings, data_dir)
    assert settings.value("symbols/paths") == ["/from/cli"] or settings.value("symbols/paths") == "/from/cli"
    assert settings.value("symbols/mozilla_for_mozilla_products") == "false"
    settings.setValue("symbols/urls", ["https://new/"])
    push(settings, data_dir)
    assert load(data_dir).urls == ["https://new/"]
