"""The settings dialog: values round-trip through QSettings (an ini file in tmp_path), symbol folders keep
their order, the collector token goes to the keyring (keyrings.alt's file backend in tmp_path) and never to
QSettings, and the dark theme really darkens the palette."""

from __future__ import annotations

import pytest


@pytest.fixture
def restore_theme():
    from crashdesk.ui.qt import QApplication

    app = QApplication.instance()
    palette, style = app.palette(), app.style().name()
    yield
    from crashdesk.ui.theme import apply_theme

    apply_theme("light")
    app.setStyle(style)
    app.setPalette(palette)


def test_settings_round_trip_and_order(qtbot, settings, tmp_path, keyring_home, restore_theme):
    from crashdesk.ui.dialogs.settings import KEYS, SettingsDialog, settings_list
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.sources import SourceMap

    profiles = tmp_path / "profiles"
    (profiles / "team").mkdir(parents=True)
    jobs = Jobs()
    dlg = SettingsDialog(settings, profiles_dir=profiles, data_dir=tmp_path / "home", jobs=jobs)
    qtbot.addWidget(dlg)
    dlg.data_dir_edit.setText(str(tmp_path / "elsewhere"))
    for folder in ("/syms/a", "/syms/b", "/syms/c"):
        dlg.symbol_paths.add_item(folder)
    dlg.symbol_paths.add_item("/syms/a")  # no duplicates
    dlg.symbol_paths.list.setCurrentRow(2)
    dlg.symbol_paths.move_current(-1)  # c before b
    dlg.symbol_urls.add_item("https://symbols.example.org/")
    dlg.symbol_urls.add_item("https://symbols.mozilla.org/")
    dlg.symbol_urls.list.setCurrentRow(0)
    dlg.symbol_urls.remove_current()
    dlg.cache_spin.setValue(512)
    assert dlg.mozilla_symbols.isChecked()  # the app's default: Mozilla's server for Mozilla products
    dlg.mozilla_symbols.setChecked(False)
    dlg.add_mapping("/build/crashfactory-demo", str(tmp_path / "src"))
    dlg.add_mapping("", "")  # empty rows are ignored
    assert [dlg.profile_combo.itemText(i) for i in range(dlg.profile_combo.count())] == ["mozilla", "generic", "generic-v1", "team"]
    dlg.profile_combo.setCurrentText("team")
    dlg.theme_combo.setCurrentIndex(2)
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        dlg.accept()
    jobs.wait()

    assert settings_list(settings, KEYS["symbol_paths"]) == ["/syms/a", "/syms/c", "/syms/b"]
    assert settings_list(settings, KEYS["symbol_urls"]) == ["https://symbols.mozilla.org/"]
    assert int(settings.value(KEYS["cache_mb"])) == 512
    assert settings.value(KEYS["mozilla_symbols"]) == "false"
    assert settings.value(KEYS["profile"]) == "team" and settings.value(KEYS["theme"]) == "dark"
    assert settings.value(KEYS["data_dir"]) == str(tmp_path / "elsewhere")
    # the crash view's source map reads the same mappings
    assert SourceMap.from_settings(settings).mappings == [("/build/crashfactory-demo", str(tmp_path / "src"))]

    # a second dialog shows what was saved
    again = SettingsDialog(settings, profiles_dir=profiles)
    qtbot.addWidget(again)
    assert again.symbol_paths.items() == ["/syms/a", "/syms/c", "/syms/b"]
    assert again.cache_spin.value() == 512 and again.profile_combo.currentText() == "team"
    assert not again.mozilla_symbols.isChecked()
    assert again.theme == "dark" and again.mapping_pairs() == [("/build/crashfactory-demo", str(tmp_path / "src"))]


def test_token_goes_to_the_keyring_only(qtbot, settings, tmp_path, keyring_home, restore_theme):
    import keyring

    from crashdesk.collector.auth import KEYRING_SERVICE, KEYRING_USER, resolve_token
    from crashdesk.ui.dialogs.settings import SettingsDialog
    from crashdesk.ui.jobs import Jobs

    token = "f00dfeedf00dfeedf00dfeed"
    jobs = Jobs()
    dlg = SettingsDialog(settings, jobs=jobs)
    qtbot.addWidget(dlg)
    dlg.token_edit.setText(token)
    dlg.save()
    jobs.wait()
    qtbot.waitUntil(lambda: "stored in the keyring" in dlg.token_note.text(), timeout=5000)
    assert keyring.get_password(KEYRING_SERVICE, KEYRING_USER) == token
    assert resolve_token() == token  # what the collector will use
    settings.sync()
    assert token not in open(settings.fileName(), encoding="utf-8").read()
    assert dlg.token_edit.text() == ""
    dlg.clear_token.click()
    jobs.wait()
    qtbot.waitUntil(lambda: "removed" in dlg.token_note.text(), timeout=5000)
    assert keyring.get_password(KEYRING_SERVICE, KEYRING_USER) is None


def test_dark_and_light_themes(qtbot, restore_theme):
    from crashdesk.ui.theme import apply_theme, is_dark

    assert apply_theme("dark") == "dark" and is_dark()
    assert apply_theme("light") == "light" and not is_dark()
    assert apply_theme("nonsense") == "system"
