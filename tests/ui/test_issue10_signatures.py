"""The signatures view over a real store filled from tests/data (reference processed JSON): table, charts
that follow the query and the selection, double-click listing a signature's crashes, compare two."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest


@pytest.fixture
def view(qtbot, store, cases):
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.signatures import SignaturesView

    jobs = Jobs()
    v = SignaturesView(store, jobs)
    qtbot.addWidget(v)
    v.resize(1100, 700)
    v.show()
    yield v
    jobs.cancel_all()
    jobs.wait()


def _signatures(cases) -> Counter:
    from crashdesk.ui.samples import signature_for

    return Counter(signature_for(c.processed, c.annotations).signature for c in cases)


def test_table_and_charts_for_the_whole_store(qtbot, view, cases):
    with qtbot.waitSignals([view.loaded, view.charts_updated], timeout=10000):
        view.set_query("")
    expected = _signatures(cases)
    assert view.model.rowCount() == len(expected)
    shown = {view.model.item(r, 0).text(): int(view.model.item(r, 1).text()) for r in range(view.model.rowCount())}
    assert shown == dict(expected)
    share = view.model.item(0, 2).text()
    assert share == f"{100 * view.table_data.rows[0].count / len(cases):.1f}%"
    # no selection: the charts show every crash of the query, per day and per version
    days = Counter(c.submitted_at[:10] for c in cases)
    assert [d for d in view.by_day.data if d[1]] == sorted(days.items())  # and 0 for the days between
    first, last = (dt.date.fromisoformat(d) for d in (min(days), max(days)))
    assert len(view.by_day.data) == (last - first).days + 1 and view.by_day.chart.title().startswith("Crashes per day")
    from crashdesk.ui.qt import Qt

    (axis,) = view.by_day.chart.axes(Qt.Orientation.Horizontal)
    assert axis.categories() == [d for d, _ in view.by_day.data] and not axis.truncateLabels()  # dates shown whole
    versions = Counter(c.annotations.get("Version") for c in cases)
    assert dict(view.by_version.data) == dict(versions)
    assert sum(view.by_day.counts()) == len(cases)


def test_charts_follow_selection_and_query(qtbot, view, cases):
    with qtbot.waitSignals([view.loaded, view.charts_updated], timeout=10000):
        view.set_query("")
    target = cases[0]
    from crashdesk.ui.samples import signature_for

    sig = signature_for(target.processed, target.annotations).signature
    with qtbot.waitSignal(view.charts_updated, timeout=10000):
        assert view.select_signature(sig)
    assert sum(view.by_day.counts()) == _signatures(cases)[sig]
    assert sig in view.by_day.chart.title()
    # a narrower query: the table and the charts follow it
    with qtbot.waitSignals([view.loaded, view.charts_updated], timeout=10000):
        view.set_query(f'signature:"{sig}"')
    assert view.model.rowCount() == 1
    assert sum(view.by_day.counts()) == _signatures(cases)[sig]


def test_double_click_lists_the_signature_crashes(qtbot, view, store, cases):
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.set_query("product:CrashFactoryDemo")
    index = view.proxy.index(0, 0)
    with qtbot.waitSignal(view.crashes_requested, timeout=2000) as blocker:
        view.table.doubleClicked.emit(index)
    query = blocker.args[0]
    assert query.startswith("product:CrashFactoryDemo signature:=")
    from crashdesk.ui.views.signatures import SIGNATURE_ROLE

    sig = index.data(SIGNATURE_ROLE)
    hits = store.search(query, limit=100).hits
    assert len(hits) == int(view.proxy.index(0, 1).data()) and all(h["signature"] == sig for h in hits)


def test_compare_two_selected_signatures(qtbot, view, cases):
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.set_query("")
    a, b = view.table_data.rows[0].signature, view.table_data.rows[1].signature
    assert not view.compare_button.isEnabled()
    view.select_signature(a)
    view.select_signature(b, add=True)
    assert view.compare_button.isEnabled()
    with qtbot.waitSignal(view.compare_requested, timeout=2000) as blocker:
        view.compare_button.click()
    assert set(blocker.args) == {a, b}


def test_bad_query_is_reported_not_raised(qtbot, view, cases):
    view.set_query("versoin:1.0")
    qtbot.waitUntil(lambda: "Cannot count" in view.summary.text(), timeout=10000)
    assert "versoin" in view.summary.text()
