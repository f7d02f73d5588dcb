"""The regeneration workbench over a real store (reference processed JSON from tests/data) and real profile
folders in tmp_path: create a profile, edit a list with live validation, run, read, apply, undo, cancel."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def bench(qtbot, store, cases, tmp_path):
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.workbench import RegenerationWorkbench

    jobs = Jobs()
    w = RegenerationWorkbench(store, jobs, tmp_path / "profiles")
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitUntil(lambda: "<b>mozilla</b>" in w.profile_info.text(), timeout=10000)  # loaded, not "Loading"
    yield w
    jobs.cancel_all()
    jobs.wait()


def _case(cases, name):
    return next(c for c in cases if c.name == name)


def _functions(case):
    p = case.processed
    return [f.get("function") for f in p["threads"][p["crash_info"]["crashing_thread"]]["frames"]]


def _new_profile(qtbot, bench, name="team"):
    with qtbot.waitSignal(bench.profile_loaded, timeout=10000, check_params_cb=lambda n: n == name):
        bench.create_profile(name, "mozilla")
    return bench.editors["irrelevant_signature_re.txt"]


def test_builtins_are_read_only_and_a_new_profile_copies_siggen_lists(qtbot, bench, tmp_path):
    from crashdesk.engine.signature.profiles import siggen_list_texts

    assert [bench.profile_combo.itemText(i) for i in range(bench.profile_combo.count())] == ["mozilla", "generic", "generic-v1"]
    editor = bench.editors["irrelevant_signature_re.txt"]
    assert editor.isReadOnly() and not bench.save_button.isEnabled()
    assert editor.toPlainText() == siggen_list_texts()["irrelevant_signature_re.txt"].decode()
    editor = _new_profile(qtbot, bench)
    assert bench.profile_name == "team" and not editor.isReadOnly()
    assert (tmp_path / "profiles" / "team" / "profile.json").is_file()
    assert editor.toPlainText() == siggen_list_texts()["irrelevant_signature_re.txt"].decode()
    assert editor.errors == []


def test_bad_regex_lines_are_marked_live_and_block_saving(qtbot, bench, tmp_path):
    editor = _new_profile(qtbot, bench)
    before = (tmp_path / "profiles" / "team" / "irrelevant_signature_re.txt").read_text()
    text = editor.toPlainText().rstrip("\n") + "\nfine_entry\nbroken(\n# a comment (\n[unclosed\n"
    n = text.count("\n")
    with qtbot.waitSignal(editor.validated, timeout=5000):
        editor.setPlainText(text)  # validation runs on its own shortly after typing stops
    assert [e.line for e in editor.errors] == [n - 2, n]
    assert "missing )" in editor.errors[0].message
    assert len(editor.extraSelections()) == 2
    assert f"line {n - 2}" in bench.validation.text()
    assert not bench.save_lists()
    assert (tmp_path / "profiles" / "team" / "irrelevant_signature_re.txt").read_text() == before
    with qtbot.waitSignal(bench.run_failed, timeout=2000):
        bench.start_run()
    # fix them: marks go away, saving works
    editor.setPlainText(text.replace("broken(\n", "broken\\(\n").replace("[unclosed\n", "\\[unclosed\n"))
    assert editor.validate() == [] and editor.extraSelections() == []
    assert bench.save_lists()
    assert "broken\\(" in (tmp_path / "profiles" / "team" / "irrelevant_signature_re.txt").read_text()


def test_run_apply_and_undo(qtbot, bench, store, cases):
    case = _case(cases, "01-null-deref")
    old = store.get(case.crash_id)["signature"]
    funcs = _functions(case)
    assert old == funcs[0]
    editor = _new_profile(qtbot, bench)
    # make the top frame irrelevant: the signature moves to the caller (from the reference stack)
    editor.setPlainText(editor.toPlainText() + f"\n^{funcs[0]}$\n")
    bench.set_query("product:CrashFactoryDemo")
    with qtbot.waitSignal(bench.run_finished, timeout=30000) as blocker:
        bench.start_run()
    run = blocker.args[0]
    rep = run.report
    assert rep.total == len(cases) and rep.changed == 1 and rep.unchanged == len(cases) - 1
    assert dict(rep.pairs) == {(old, funcs[1]): 1}
    assert bench.changed_model.rowCount() == 1
    assert [bench.changed_model.item(0, c).text() for c in range(3)] == [old, funcs[1], "1"]
    assert "1 changed" in bench.summary.text() and bench.apply_button.isEnabled()
    assert bench.progress.value() == 1000
    # the edited list was saved before running
    assert f"^{funcs[0]}$" in (bench.profiles_dir / "team" / "irrelevant_signature_re.txt").read_text()
    # stored vs regenerated for the changed crash
    with qtbot.waitSignal(bench.explain_requested, timeout=2000) as ex:
        bench.explain_button.click()
    assert ex.args == [case.crash_id, "team"]
    # nothing is written before Apply
    assert store.get(case.crash_id)["signature"] == old
    with qtbot.waitSignal(bench.applied, timeout=10000) as applied:
        bench.apply_button.click()
    run_id = applied.args[0]
    assert store.get(case.crash_id)["signature"] == funcs[1]
    assert store.get(case.crash_id)["signature_profile"] == "team"
    qtbot.waitUntil(lambda: bench.history_model.rowCount() == 1, timeout=5000)
    assert bench.history_model.item(0, 3).text() == run_id and bench.history_model.item(0, 2).text() == "1"
    assert not bench.apply_button.isEnabled()
    with qtbot.waitSignal(bench.undone, timeout=10000) as undone:
        bench.undo_button.click()
    assert undone.args == [run_id, 1]
    assert store.get(case.crash_id)["signature"] == old
    qtbot.waitUntil(lambda: bench.history_model.rowCount() == 0, timeout=5000)


def test_merges_and_discard(qtbot, bench, store, cases):
    # two different top frames made irrelevant so both crashes fall through to "main": a merge
    a, b = _case(cases, "02-write-rodata"), _case(cases, "04-divzero")
    fa, fb = _functions(a), _functions(b)
    editor = _new_profile(qtbot, bench)
    editor.setPlainText(editor.toPlainText() + "".join(f"\n^{f}$" for f in (*fa[:2], *fb[:2])) + "\n")
    bench.set_query("")
    with qtbot.waitSignal(bench.run_finished, timeout=30000) as blocker:
        bench.start_run()
    rep = blocker.args[0].report
    assert fa[2] == fb[2] == "main"
    assert rep.changed == 2 and "main" in rep.merges
    assert set(rep.merges["main"]) >= {fa[0], fb[0]}
    top = bench.merges.topLevelItem(0)
    assert top.text(0) == "main" and {top.child(i).text(0) for i in range(top.childCount())} >= {fa[0], fb[0]}
    bench.discard_button.click()
    assert bench.run is None and bench.changed_model.rowCount() == 0
    assert store.get(a.crash_id)["signature"] == fa[0]


def test_cancel_stops_a_long_run_without_changes(qtbot, bench, store, cases):
    from crashdesk.store.crashes import NewCrash, SignatureRecord

    case = _case(cases, "05-thread")
    processed = case.processed
    # enough crashes for several progress steps (the engine reports every 512)
    store.add_many([NewCrash(case.annotations, source="import", processed=processed,
                             signature=SignatureRecord("old-bucket", None, [], "test")) for _ in range(1600)])
    seen: list[float] = []

    def on_progress(fraction, text):
        seen.append(fraction)
        if fraction > 0 and bench.job is not None:
            bench.cancel_button.click()

    bench.set_query("")
    bench.start_run()
    bench.job.signals.progress.connect(on_progress)
    with qtbot.waitSignal(bench.run_failed, timeout=60000) as blocker:
        pass
    assert "cancelled" in blocker.args[0]
    assert bench.run is None and bench.run_button.isEnabled() and not bench.cancel_button.isEnabled()
    assert max(seen) < 1.0
    assert store.db.conn.execute("SELECT count(*) FROM crashes WHERE signature = 'old-bucket'").fetchone()[0] == 1600
    json.dumps(seen)


def test_large_runs_sign_in_worker_processes(qtbot, bench, store, cases, monkeypatch):
    # above IN_PROCESS_LIMIT the workbench signs in a pool of worker processes; the report must be the same
    import crashdesk.ui.views.workbench as workbench

    bench.set_query("")
    with qtbot.waitSignal(bench.run_finished, timeout=30000) as inproc:
        bench.start_run()
    monkeypatch.setattr(workbench, "IN_PROCESS_LIMIT", 2)
    with qtbot.waitSignal(bench.run_finished, timeout=60000) as pooled:
        bench.start_run()
    a, b = inproc.args[0].report, pooled.args[0].report
    assert (a.total, a.changed, a.unchanged) == (b.total, b.changed, b.unchanged) == (len(cases), 0, len(cases))
