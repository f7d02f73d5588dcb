"""The app's side of generic signatures: the workbench's Modules tab (module rules validated live, at their
line) and the Settings table product -> profile that processing and the command line follow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def bench(qtbot, store, tmp_path):
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.workbench import RegenerationWorkbench

    jobs = Jobs()
    w = RegenerationWorkbench(store, jobs, tmp_path / "profiles")
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitUntil(lambda: "<b>mozilla</b>" in w.profile_info.text(), timeout=10000)
    yield w
    jobs.cancel_all()
    jobs.wait()


def test_modules_tab_edits_module_rules_with_errors_at_their_line(qtbot, bench, tmp_path):
    from crashdesk.engine.signature import generic_lists, load_profile

    with qtbot.waitSignal(bench.profile_loaded, timeout=10000, check_params_cb=lambda n: n == "mine"):
        bench.create_profile("mine", "generic")
    editor = bench.editors["module_rules.txt"]
    assert editor.toPlainText() == generic_lists.texts()["module_rules"]
    assert not editor.isReadOnly() and editor.errors == []
    text = "+app /opt/mine/*\nnot a rule\n" + editor.toPlainText()
    with qtbot.waitSignal(editor.validated, timeout=5000):
        editor.setPlainText(text)
    assert [e.line for e in editor.errors] == [2]
    assert "+app GLOB" in editor.errors[0].message
    assert not bench.save_lists()
    editor.setPlainText(text.replace("not a rule\n", "-app libvendor*.so\n"))
    assert editor.validate() == []
    assert bench.save_lists()
    rules = load_profile(tmp_path / "profiles" / "mine").lists.module_rules
    assert [r.text() for r in rules[:2]] == ["+app /opt/mine/*", "-app libvendor*.so"]
    grab = bench.grab()
    assert not grab.isNull()
    bench.list_tabs.setCurrentWidget(editor)
    bench.grab().save(str(tmp_path / "modules-tab.png"))


def test_settings_product_table_is_the_rule_processing_follows(qtbot, settings, tmp_path):
    from crashdesk.config.signature_profiles import load_choice
    from crashdesk.services.processing import default_worker_config
    from crashdesk.ui.dialogs.settings import SettingsDialog
    from crashdesk.ui.jobs import Jobs

    home = tmp_path / "home"
    jobs = Jobs()
    dlg = SettingsDialog(settings, profiles_dir=home / "profiles", data_dir=home, jobs=jobs)
    qtbot.addWidget(dlg)
    assert dlg.profile_combo.currentText() == "generic"  # the built-in rule's default
    dlg.add_product_profile("MyApp", "generic-v1")
    dlg.add_product_profile("", "")  # empty rows are ignored
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        dlg.accept()
    jobs.wait()
    saved = json.loads((home / "signature-profiles.json").read_text(encoding="utf-8"))
    assert saved == {"default": "generic", "products": {"MyApp": "generic-v1"}}
    choice = load_choice(home)
    assert choice.for_product("myapp") == "generic-v1" and choice.for_product("Firefox") == "mozilla"

    class Paths:  # what default_worker_config reads from crashdesk.config.paths.Paths
        data_dir = home
        profiles = home / "profiles"
        symbols_cache = home / "cache" / "symbols"

    config = default_worker_config(Paths())
    assert config.product_profiles == (("MyApp", "generic-v1"),) and config.default_profile == "generic"
    again = SettingsDialog(settings, profiles_dir=home / "profiles", data_dir=home)
    qtbot.addWidget(again)
    assert again.product_profile_pairs() == [("MyApp", "generic-v1")]


def test_workbench_opens_the_profile_the_store_signs_with(qtbot, store, tmp_path):
    """A store of non-Mozilla crashes, signed with the profile processing picks for them (generic; the signature
    from the real engine and tests/data's processed crash): the workbench opens "generic"; a store of a Mozilla
    product's crashes (signed mozilla), or of none, keeps "mozilla"."""
    from crashdesk.engine.signature.choice import ProfileChoice
    from crashdesk.services.regeneration import usual_profile
    from crashdesk.store import CrashStore
    from crashdesk.store.crashes import NewCrash
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.samples import signature_for
    from crashdesk.ui.views.workbench import RegenerationWorkbench

    data = Path(__file__).resolve().parents[1] / "data" / "crashes" / "05-thread"
    processed = json.loads((data / "expected.json").read_text())
    demo = json.loads((data / "annotations.json").read_text())
    firefox = {**demo, "ProductName": "Firefox"}
    stores = {}
    for name, ann in (("demo", demo), ("firefox", firefox), ("empty", None)):
        s = stores[name] = CrashStore.open(tmp_path / name)
        if ann is not None:
            sig = signature_for(processed, ann)
            sig.profile = ProfileChoice().for_annotations(ann)
            s.add_many([NewCrash(ann, processed=processed, signature=sig) for _ in range(3)])
    assert [usual_profile(stores[n]) for n in ("demo", "firefox", "empty")] == ["generic", "mozilla", None]
    jobs = Jobs()
    try:
        for name, expected in (("demo", "generic"), ("firefox", "mozilla"), ("empty", "mozilla")):
            w = RegenerationWorkbench(stores[name], jobs, tmp_path / "profiles")
            qtbot.addWidget(w)
            qtbot.waitUntil(lambda w=w: w.usual_checked, timeout=10000)
            qtbot.waitUntil(lambda w=w, e=expected: f"<b>{e}</b>" in w.profile_info.text(), timeout=10000)
            assert w.profile_name == expected
    finally:
        jobs.cancel_all()
        jobs.wait()
        for s in stores.values():
            s.close()
