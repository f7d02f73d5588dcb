"""Every-thread search in the app: a structural query typed in the search bar lists the crashes the store's
brute-force oracle expects, and the all-threads view of a query shows the merged call trees (its counts equal
a brute-force merge), lists a node's crashes and opens one."""

from __future__ import annotations

from pathlib import Path

from crashdesk.services.all_threads import all_threads
from tests.store import thread_oracle as O
from tests.store.test_all_threads import brute_force
from tests.store.test_thread_search import _corpus_docs

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _fill(store):
    from crashdesk.store.crashes import NewCrash

    docs = _corpus_docs()
    ids = store.add_many([NewCrash({"ProductName": d["product"]}, processed=d) for d in docs])
    return dict(zip(ids, docs, strict=True))


def test_structural_query_in_the_search_bar(qtbot, store, make_window):
    by_id = _fill(store)
    window = make_window(store)
    text, pred = O.q_stack(("role", "any", ""), [("~", "thread"), ("~", "sleep")], [False])
    expected = {c for c, d in by_id.items() if pred(d)}
    assert expected and len(expected) < len(by_id)
    window.search_bar.set_text(text)
    with qtbot.waitSignal(window.model.search_finished, timeout=10000) as blocker:
        window.search_bar.submit()
    assert blocker.args == [len(expected)]
    assert {window.model.crash_id(r) for r in range(window.model.rowCount())} == expected
    window.resize(1400, 800)
    qtbot.wait(300)
    window.grab().save(str(SHOTS / "search-all-threads.png"))


def test_all_threads_view(qtbot, store, make_window):
    by_id = _fill(store)
    window = make_window(store)
    dialog = window.show_all_threads()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.tree_data is not None or "failed" in dialog.summary.text(), timeout=15000)
    assert dialog.tree_data is not None, dialog.summary.text()
    expected = brute_force(by_id, "any", None)
    assert dialog.tree.topLevelItemCount() == len(expected["roots"])
    first = dialog.tree.topLevelItem(0)
    assert (first.text(0), int(first.text(1).replace(",", "")), int(first.text(2).replace(",", ""))) == (
        expected["roots"][0]["function"], expected["roots"][0]["threads"], expected["roots"][0]["crashes"])
    dialog.tree.setCurrentItem(first)
    assert sorted(dialog.crashes.item(i).text() for i in range(dialog.crashes.count())) == \
        expected["roots"][0]["crash_ids"]
    # filter by role: the main threads only
    with qtbot.waitSignal(dialog.computed, timeout=15000) as blocker:
        dialog.role.setCurrentText("main")
    assert blocker.args == [brute_force(by_id, "main", None)["threads"]]
    assert dialog.tree_data.to_json(ids=True) == brute_force(by_id, "main", None)
    dialog.role.setCurrentText("any")
    qtbot.waitUntil(lambda: dialog.role.currentText() == "any" and dialog.tree_data.threads == expected["threads"],
                    timeout=15000)
    dialog.name.setText("worker")
    with qtbot.waitSignal(dialog.computed, timeout=15000):
        dialog.name.returnPressed.emit()
    assert dialog.tree_data.to_json(ids=True) == brute_force(by_id, "any", "worker")
    # a crash of a node opens in the main window
    dialog.tree.setCurrentItem(dialog.tree.topLevelItem(0))
    crash = dialog.crashes.item(0).text()
    dialog.crash_requested.emit(crash)
    qtbot.waitUntil(lambda: window.crash_view.detail is not None and window.crash_view.detail.crash_id == crash,
                    timeout=15000)
    assert all_threads(store, "", thread_name="worker").threads == dialog.tree_data.threads
    dialog.name.setText("")
    with qtbot.waitSignal(dialog.computed, timeout=15000):
        dialog.name.returnPressed.emit()
    qtbot.wait(200)
    dialog.grab().save(str(SHOTS / "all-threads.png"))
    # exports: the same tree as crashdesk threads prints
    from crashdesk.ui.qt import QApplication

    dialog.copy_json.click()
    import json
    assert json.loads(QApplication.clipboard().text()) == brute_force(by_id, "any", None)
    dialog.copy_text.click()
    assert QApplication.clipboard().text() == all_threads(store, "").to_text()


def test_three_way_compare_tab(qtbot, store, tmp_path):
    """Comparing two crashes fills the 3-way tab: the typical stack of A's group with A and B beside it."""
    import random

    from crashdesk.services.three_way import three_way
    from crashdesk.store.crashes import NewCrash, SignatureRecord
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.compare import CompareView
    from tests.services.test_three_way import _brute_typical, _variants

    docs = {d["product"]: d for d in _corpus_docs()}
    group = _variants(docs["pipeline-inlines-macos-segv"], random.Random(3), 12)
    sig = SignatureRecord("sadness_generator::raise_segfault", None, [], "generic")
    ids = store.add_many([NewCrash({"ProductName": "P"}, processed=d, signature=sig) for d in group]
                         + [NewCrash({"ProductName": "P"}, processed=docs["05-thread"])])
    jobs = Jobs()
    view = CompareView(store, jobs, profiles_dir=tmp_path / "profiles")
    qtbot.addWidget(view)
    view.resize(1300, 700)
    view.show()
    with qtbot.waitSignal(view.three_way_loaded, timeout=15000):
        view.compare_crashes(ids[0], ids[-1])
    expected = _brute_typical(group)
    typical = [view.three.item(r, 1).text() for r in range(view.three.rowCount())]
    assert typical[:len(expected)] == [f for f, _ in expected]
    result = three_way(store, ids[0], ids[-1])
    marked = [view.three.item(r, 3).background().color().name() == "#ffe08a" for r in range(view.three.rowCount())]
    assert marked == ["a-typical" in r.differs for r in result.rows]
    view.tabs.setCurrentIndex(view.tabs.count() - 1)
    qtbot.wait(200)
    view.grab().save(str(SHOTS / "compare-three-way.png"))
    jobs.cancel_all()
    jobs.wait()


def test_crash_against_its_typical_stack_from_the_main_window(qtbot, store, make_window):
    import random

    from crashdesk.store.crashes import NewCrash, SignatureRecord
    from tests.services.test_three_way import _brute_typical, _variants

    docs = {d["product"]: d for d in _corpus_docs()}
    group = _variants(docs["pipeline-inlines-macos-segv"], random.Random(5), 8)
    sig = SignatureRecord("sadness_generator::raise_segfault", None, [], "generic")
    store.add_many([NewCrash({"ProductName": "P"}, processed=d, signature=sig) for d in group])
    window = make_window(store)
    crash = window.current_crash_id()
    cw = window.compare_with_typical()
    qtbot.addWidget(cw)
    qtbot.waitUntil(lambda: cw.view.three_way is not None, timeout=15000)
    assert cw.view.tabs.currentWidget() is cw.view.three_view
    expected = _brute_typical(group)
    assert [cw.view.three.item(r, 1).text() for r in range(len(expected))] == [f for f, _ in expected]
    processed = store.processed(crash)
    rows_a = O.display_rows(processed["threads"][O.crashing_index(processed)])
    assert [cw.view.three.item(r, 3).text() for r in range(len(rows_a))] == rows_a
    assert all(cw.view.three.item(r, 4).text() == "" for r in range(cw.view.three.rowCount()))
