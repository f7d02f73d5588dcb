"""The crash list model and the main window's search, facets, sorting and keyboard over a real store."""

from __future__ import annotations

from crashdesk.ui.jobs import Jobs
from crashdesk.ui.models.crash_list import Col, CrashIdRole, CrashListModel
from crashdesk.ui.qt import QApplication, Qt


def test_list_model_fetches_pages_lazily(qtbot, store, cases):
    jobs = Jobs()
    model = CrashListModel(jobs, store)
    model.page_size = 3
    with qtbot.waitSignal(model.search_finished, timeout=10000) as blocker:
        model.refresh()
    assert blocker.args == [len(cases)]
    assert model.rowCount() == 3
    loaded = [3]
    while model.canFetchMore():
        with qtbot.waitSignal(model.page_loaded, timeout=10000) as page:
            model.fetchMore()
        loaded.append(page.args[0])
        assert model.rowCount() == page.args[0]
    assert loaded == [3, 6, len(cases)] if len(cases) <= 9 else loaded[-1] == len(cases)
    assert not model.canFetchMore()
    ids = {model.index(r, 0).data(CrashIdRole) for r in range(model.rowCount())}
    assert ids == {c.crash_id for c in cases}
    jobs.wait()


def test_list_sorts_by_column(qtbot, store, cases):
    jobs = Jobs()
    model = CrashListModel(jobs, store)
    with qtbot.waitSignal(model.search_finished, timeout=10000):
        model.sort(Col.DATE, Qt.SortOrder.DescendingOrder)
    newest_first = [c.crash_id for c in sorted(cases, key=lambda c: c.submitted_at, reverse=True)]
    assert [model.crash_id(r) for r in range(model.rowCount())] == newest_first
    with qtbot.waitSignal(model.search_finished, timeout=10000):
        model.sort(Col.REASON, Qt.SortOrder.AscendingOrder)
    reasons = [model.index(r, Col.REASON).data() for r in range(model.rowCount())]
    assert reasons == sorted((c.processed["crash_info"]["type"] for c in cases), key=str.lower)
    with qtbot.waitSignal(model.search_finished, timeout=10000):
        model.sort(Col.SIGNATURE, Qt.SortOrder.DescendingOrder)
    sigs = [model.index(r, Col.SIGNATURE).data() for r in range(model.rowCount())]
    assert sigs == sorted(sigs, key=str.lower, reverse=True)
    jobs.wait()


def test_search_bar_filters_the_list(qtbot, store, cases, make_window):
    window = make_window(store)
    assert window.model.total == len(cases)
    expected = {c.crash_id for c in cases if "SIGABRT" in c.processed["crash_info"]["type"]}
    assert expected  # the test data has abort crashes
    window.search_bar.set_text("reason:SIGABRT")
    with qtbot.waitSignal(window.model.search_finished, timeout=10000) as blocker:
        window.search_bar.submit()
    assert blocker.args == [len(expected)]
    assert {window.model.crash_id(r) for r in range(window.model.rowCount())} == expected
    assert window.status.count.text().startswith(f"{len(expected)} crash")


def test_query_error_is_shown_at_its_position(qtbot, store, cases, make_window):
    window = make_window(store)
    query = "product:CrashFactoryDemo nosuchfield:1"
    window.search_bar.set_text(query)
    with qtbot.waitSignal(window.model.search_failed, timeout=10000):
        window.search_bar.submit()
    assert window.search_bar.error.isVisible()
    assert window.search_bar.error_position == query.index("nosuchfield")
    assert "nosuchfield" in window.search_bar.error.text()
    assert window.model.rowCount() == len(cases)  # the previous results stay


def test_facet_counts_follow_the_query_and_click_filters(qtbot, store, cases, make_window):
    window = make_window(store)
    qtbot.waitUntil(lambda: bool(window.facets.terms("module")), timeout=10000)
    with_codec = {c.crash_id for c in cases
                  if any(m["filename"] == "libdemo_codec.so" for m in c.processed["modules"])}
    terms = dict(window.facets.terms("module"))
    assert terms["libdemo_codec.so"] == len(with_codec)
    assert dict(window.facets.terms("product")) == {"CrashFactoryDemo": len(cases)}

    top = next(window.facets.topLevelItem(i) for i in range(window.facets.topLevelItemCount())
               if window.facets.topLevelItem(i).text(0) == "Module")
    item = next(top.child(j) for j in range(top.childCount()) if top.child(j).text(0) == "libdemo_codec.so")
    window.facets.scrollToItem(item)
    rect = window.facets.visualItemRect(item)
    with qtbot.waitSignal(window.model.search_finished, timeout=10000) as blocker:
        qtbot.mouseClick(window.facets.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert "module:libdemo_codec.so" in window.search_bar.text()
    assert blocker.args == [len(with_codec)]
    assert {window.model.crash_id(r) for r in range(window.model.rowCount())} == with_codec
    # the facet counts now follow the narrowed query
    qtbot.waitUntil(lambda: sum(n for _, n in window.facets.terms("product")) == len(with_codec), timeout=10000)


def test_completion_offers_fields_and_known_values(qtbot, store, cases, make_window):
    from crashdesk.ui.views.search_bar import completions

    window = make_window(store)
    qtbot.waitUntil(lambda: bool(window.search_bar.values.get("product")), timeout=10000)
    assert "product:" in completions("prod", window.search_bar.fields, window.search_bar.values)
    assert completions("product:Crash", window.search_bar.fields, window.search_bar.values) == [
        "product:CrashFactoryDemo"]
    assert "-signature:" in completions("-sig", window.search_bar.fields, window.search_bar.values)


def test_keyboard_search_focus_next_crash_and_copy_signature(qtbot, store, cases, make_window):
    window = make_window(store)
    window.activateWindow()
    window.table.setFocus()
    window.find_action.trigger()
    assert window.search_bar.edit.hasFocus() or QApplication.focusWidget() is window.search_bar.edit
    first = window.current_crash_id()
    with qtbot.waitSignal(window.detail_shown, timeout=10000) as shown:
        window.next_action.trigger()
    assert shown.args[0] == window.model.crash_id(1) != first
    window.copy_sig_action.trigger()
    expected = window.model.row_data(1)["signature"]
    assert QApplication.clipboard().text() == expected


def test_multi_select_and_column_chooser(qtbot, store, cases, make_window):
    window = make_window(store)
    window.table.selectAll()
    assert len(window.selected_crash_ids()) == len(cases)
    window.column_actions[Col.CPU].setChecked(False)
    assert window.table.isColumnHidden(Col.CPU)
    window.column_actions[Col.CRASH_ID].setChecked(True)
    assert not window.table.isColumnHidden(Col.CRASH_ID)


def test_window_remembers_last_query_and_columns(qtbot, store, cases, make_window, settings):
    window = make_window(store)
    window.search_bar.set_text("product:CrashFactoryDemo")
    with qtbot.waitSignal(window.model.search_finished, timeout=10000):
        window.search_bar.submit()
    window.column_actions[Col.OS].setChecked(False)
    window.close()
    again = make_window(store)
    assert again.search_bar.text() == "product:CrashFactoryDemo"
    assert again.table.isColumnHidden(Col.OS)
    assert "product:CrashFactoryDemo" in again.search_bar.history


def test_ctrl_click_on_a_facet_excludes_it(qtbot, store, cases, make_window):
    window = make_window(store)
    qtbot.waitUntil(lambda: bool(window.facets.terms("signature")), timeout=10000)
    top = next(window.facets.topLevelItem(i) for i in range(window.facets.topLevelItemCount())
               if window.facets.topLevelItem(i).text(0) == "Signature")
    item = top.child(0)
    term = item.text(0)
    expected = {c.crash_id for c in cases if store.get(c.crash_id)["signature"] != term}
    rect = window.facets.visualItemRect(item)
    with qtbot.waitSignal(window.model.search_finished, timeout=10000) as blocker:
        qtbot.mouseClick(window.facets.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.ControlModifier, rect.center())
    assert window.search_bar.text().startswith("-signature:=")
    assert blocker.args == [len(expected)]
    assert {window.model.crash_id(r) for r in range(window.model.rowCount())} == expected
