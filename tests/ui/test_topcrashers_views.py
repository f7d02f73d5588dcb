"""The Top crashers view and the versions side-by-side window over a real store with a known distribution
(relative to now): what the table shows, sorting, the new/spike marks, click-through to the crash list and
to the signature view, and the comparison reachable from both views."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from crashdesk.model.crash_id import new_crash_id
from crashdesk.store.crashes import NewCrash, SignatureRecord

NOW = dt.datetime.now(dt.UTC)


def _crash(sig, age, version="2.0", product="App", os_name="Linux", uptime=None):
    ann = {"ProductName": product, "Version": version, "os": os_name}
    if uptime is not None:
        ann["UptimeTS"] = str(uptime)
    return NewCrash(ann, source="import", crash_id=new_crash_id(),
                    submitted_at=(NOW - age).isoformat(timespec="microseconds"),
                    signature=SignatureRecord(sig, profile="test"))


def _days(n, hours=0):
    return dt.timedelta(days=n, hours=hours)


@pytest.fixture
def known(store):
    crashes = []
    # this week (2.0): steady x6, mover x4, fresh x5 (burst on the last day: new and spiking), rare x1
    crashes += [_crash("steady::run", _days(d, 3), uptime=10 if d < 2 else 3600) for d in range(6)]
    crashes += [_crash("mover::up", _days(2, h)) for h in range(4)]
    crashes += [_crash("fresh | burst", dt.timedelta(hours=h + 1), os_name="Windows NT") for h in range(5)]
    crashes += [_crash("rare", _days(5))]
    # the week before (2.0): steady x5, mover x1, rare x2
    crashes += [_crash("steady::run", _days(8 + d % 5)) for d in range(5)]
    crashes += [_crash("mover::up", _days(9)), _crash("rare", _days(10)), _crash("rare", _days(11))]
    # version 1.9: steady x3, old::gone x2
    crashes += [_crash("steady::run", _days(3), version="1.9") for _ in range(3)]
    crashes += [_crash("old::gone", _days(3), version="1.9") for _ in range(2)]
    store.add_many(crashes)
    return crashes


@pytest.fixture
def jobs():
    from crashdesk.ui.jobs import Jobs

    j = Jobs()
    yield j
    j.cancel_all()
    j.wait()


def _column(view, col):
    return [view.proxy.index(r, col).data() for r in range(view.proxy.rowCount())]


def _loaded_view(qtbot, store, jobs):
    """The Top crashers view shown and loaded with no query."""
    from crashdesk.ui.views.topcrashers import TopCrashersView

    view = TopCrashersView(store, jobs)
    qtbot.addWidget(view)
    view.resize(1300, 600)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=15000):
        view.set_query("")
    return view


def test_top_crashers_table(qtbot, store, known, jobs):
    from crashdesk.ui.views.topcrashers import HEADERS

    view = _loaded_view(qtbot, store, jobs)
    # defaults: the product with crashes, its newest version, the last 7 days against the 7 before
    assert view.product_combo.currentText() == "App" and view.version_combo.currentText() == "2.0"
    week = [c for c in known if c.annotations["Version"] == "2.0" and NOW - c_time(c) < _days(7)]
    counts = Counter(c.signature.signature for c in week)
    col = {h: i for i, h in enumerate(HEADERS)}
    rows = {view.proxy.index(r, col["Signature"]).data(): r for r in range(view.proxy.rowCount())}
    assert set(rows) == set(counts)
    for sig, n in counts.items():
        r = rows[sig]
        assert int(view.proxy.index(r, col["Crashes"]).data()) == n
        assert view.proxy.index(r, col["Share"]).data() == f"{100 * n / len(week):.2f}%"
    # ranks in count order: steady::run 6 (rank 1 the week before too), fresh 5 (new), mover::up 4, rare 1
    assert _column(view, col["Rank"]) == ["1", "2", "3", "4"]
    assert view.proxy.index(rows["steady::run"], col["Change"]).data() == "="
    assert view.proxy.index(rows["fresh | burst"], col["Change"]).data() == "new"
    assert view.proxy.index(rows["mover::up"], col["Change"]).data() == "="   # rank 3 then and now
    assert view.proxy.index(rows["rare"], col["Change"]).data() == "-2"       # rank 2 -> 4
    assert view.proxy.index(rows["rare"], col["Share before"]).data() == f"{100 * 2 / 8:.2f}%"
    assert view.proxy.index(rows["steady::run"], col["Start-up"]).data() == f"{100 * 2 / 6:.0f}%"
    assert view.proxy.index(rows["mover::up"], col["Start-up"]).data() == "—"  # no uptime: unknown, not 0%
    assert "spike" in view.proxy.index(rows["fresh | burst"], col["Last 8 days"]).data()
    assert "spike" not in view.proxy.index(rows["steady::run"], col["Last 8 days"]).data()
    assert view.proxy.index(rows["fresh | burst"], col["Platforms"]).data() == "Windows NT 100%"
    assert "1 new, 1 spiking" in view.summary.text()

    # sortable: by crashes ascending puts the single crash first; by signature, alphabetical
    view.table.sortByColumn(col["Crashes"], qtbot_order(True))
    assert view.proxy.index(0, col["Signature"]).data() == "rare"
    view.table.sortByColumn(col["Signature"], qtbot_order(True))
    assert _column(view, col["Signature"]) == sorted(counts, key=str.lower)

    # double-click: a query listing exactly that signature's crashes in the scope
    with qtbot.waitSignal(view.crashes_requested, timeout=2000) as listed:
        view.table.doubleClicked.emit(view.proxy.index(rows_after_sort(view, col, "mover::up"), 0))
    assert store.search(listed.args[0], limit=100).total == counts["mover::up"]
    # open in the signature view
    assert view.select_signature("rare")
    with qtbot.waitSignal(view.signature_requested, timeout=2000) as opened:
        view.signature_button.click()
    assert opened.args == ["rare"]


def c_time(c):
    return dt.datetime.fromisoformat(c.submitted_at)


def qtbot_order(ascending):
    from crashdesk.ui.qt import Qt

    return Qt.SortOrder.AscendingOrder if ascending else Qt.SortOrder.DescendingOrder


def rows_after_sort(view, col, sig):
    return next(r for r in range(view.proxy.rowCount()) if view.proxy.index(r, col["Signature"]).data() == sig)


def test_against_another_version(qtbot, store, known, jobs):
    from crashdesk.ui.views.topcrashers import HEADERS, TopCrashersView

    view = TopCrashersView(store, jobs)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=15000):
        view.set_query("")
    with qtbot.waitSignal(view.loaded, timeout=15000):
        view.against_combo.setCurrentText("1.9")
        view.refresh()
    col = {h: i for i, h in enumerate(HEADERS)}
    by_sig = {view.proxy.index(r, col["Signature"]).data(): r for r in range(view.proxy.rowCount())}
    # in 1.9 only steady::run (3 of 5 crashes, rank 1) and old::gone; everything else is new in 2.0
    assert view.proxy.index(by_sig["steady::run"], col["Share before"]).data() == "60.00%"
    assert view.proxy.index(by_sig["mover::up"], col["Change"]).data() == "new"
    assert view.report.mode == "version" and view.report.previous_total == 5


def test_versions_side_by_side(qtbot, store, known, jobs):
    from crashdesk.ui.views.topcrashers import COMPARE_HEADERS, VersionsWindow

    win = VersionsWindow(store, jobs)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.loaded, timeout=15000):
        win.open_for("App", "1.9", "2.0", focus=("steady::run",))
    a = Counter(c.signature.signature for c in known if c.annotations["Version"] == "1.9")
    b = Counter(c.signature.signature for c in known if c.annotations["Version"] == "2.0")
    col = {h: i for i, h in enumerate(COMPARE_HEADERS)}
    shown = _column(win, col["Signature"])
    assert set(shown) == set(a) | set(b)
    statuses = _column(win, col["Status"])
    # new ones first (most crashes first), then the disappeared, then the rest by share moved
    new = sorted((s for s in b if s not in a), key=lambda s: (-b[s], s))
    assert shown[:len(new)] == new and set(statuses[:len(new)]) == {"new"}
    assert shown[len(new)] == "old::gone" and statuses[len(new)] == "gone"
    ta, tb = sum(a.values()), sum(b.values())
    r = shown.index("steady::run")
    assert win.proxy.index(r, col["Change"]).data() == f"{100 * (b['steady::run'] / tb - a['steady::run'] / ta):+.2f}"
    assert win.table.currentIndex().row() == r  # the focused signature is selected
    # the chart: the ten biggest movers, biggest first
    assert len(win.chart.movers) == min(10, len(shown))
    changes = [abs(m[1]) for m in win.chart.movers]
    assert changes == sorted(changes, reverse=True)
    # periods: the last 7 days against the 7 before
    with qtbot.waitSignal(win.loaded, timeout=15000):
        win.by_period.setChecked(True)
        win.refresh()
    assert win.comparison.total_b == sum(1 for c in known if NOW - c_time(c) < _days(7))
    with qtbot.waitSignal(win.crashes_requested, timeout=2000) as listed:
        win.table.doubleClicked.emit(win.proxy.index(0, 0))
    assert store.search(listed.args[0]).total > 0


def test_reachable_from_the_main_window(qtbot, store, known, make_window):
    from crashdesk.ui.decision_views import TAB_TITLES

    window = make_window(store)
    dv = window.decision
    assert TAB_TITLES.index("Top crashers") == TAB_TITLES.index("Signatures") + 1
    with qtbot.waitSignal(dv.topcrashers.loaded, timeout=15000):
        dv.show_tab(TAB_TITLES.index("Top crashers"))
    assert dv.topcrashers.select_signature("mover::up")
    # click-through to the signature view, the signature selected
    with qtbot.waitSignal(dv.signatures.loaded, timeout=15000):
        dv.topcrashers.signature_button.click()
    assert dv.tabs.currentWidget() is dv.signatures
    qtbot.waitUntil(lambda: dv.signatures.selected_signatures() == ["mover::up"], timeout=5000)
    # from the signature view: the versions side by side, that signature selected
    dv.signatures.versions_button.click()
    vw = dv.versions_windows[-1]
    qtbot.waitUntil(lambda: vw.comparison is not None, timeout=15000)
    assert vw.product_combo.currentText() == "App"
    sel = vw.table.currentIndex()
    assert sel.isValid() and vw.proxy.index(sel.row(), 1).data() == "mover::up"
    # from the top crashers view too
    dv.show_tab(TAB_TITLES.index("Top crashers"))
    dv.topcrashers.versions_button.click()
    assert len(dv.versions_windows) == 2
    qtbot.waitUntil(lambda: dv.versions_windows[-1].comparison is not None, timeout=15000)
    assert dv.versions_windows[-1].b_combo.currentText() == "2.0"
    # double-click in top crashers: the crash list shows that signature's crashes
    dv.show_tab(TAB_TITLES.index("Top crashers"))
    tc = dv.topcrashers
    row = next(r for r in range(tc.proxy.rowCount()) if tc.proxy.index(r, 2).data() == "steady::run")
    tc.table.doubleClicked.emit(tc.proxy.index(row, 0))
    assert dv.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=10000)


def test_background_jobs_keep_their_connection(qtbot, store, jobs):
    """Each pool thread keeps one warm SQLite connection across jobs (PySide drops a pool thread's Python
    thread state after every job, which used to throw away a threading.local connection each time)."""
    seen = []
    for _ in range(8):
        done = []
        jobs.submit(lambda c, r: id(store.db.conn), on_done=done.append)
        qtbot.waitUntil(lambda done=done: bool(done), timeout=5000)
        seen.append(done[0])
    threads = jobs.read_pool.maxThreadCount()
    assert len(set(seen)) <= threads
    assert len(store.db._all) <= threads + 1  # the pool's threads and this one


def test_an_empty_window_offers_the_days_up_to_the_newest_crash(qtbot, store, jobs):
    """Crashes imported from an earlier time (all older than the last 7 days): the window up to now holds none;
    the view says when the newest is and ends the window just after it with one click, then "Up to now" goes
    back. The counts are the store's crashes in the window it then shows."""
    from crashdesk.ui.qt import Qt
    from crashdesk.ui.views.topcrashers import HEADERS

    old = [_crash("old::a", _days(20, h)) for h in range(3)] + [_crash("old::b", _days(22))] + [
        _crash("older::c", _days(40))]
    store.add_many(old)
    newest = max(c_time(c) for c in old)
    view = _loaded_view(qtbot, store, jobs)
    assert view.proxy.rowCount() == 0 and view.report.total == 0
    assert view.newest_button.isVisible() and not view.now_button.isVisible()
    assert abs(view.newest - newest) < dt.timedelta(seconds=1)
    assert f"{newest:%Y-%m-%d %H:%M}" in view.summary.text()
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.mouseClick(view.newest_button, Qt.MouseButton.LeftButton)
    scope = view.report.scope
    assert scope.start <= newest < scope.end
    inside = Counter(c.signature.signature for c in old if scope.start <= c_time(c) < scope.end)
    col = HEADERS.index("Signature"), HEADERS.index("Crashes")
    assert {view.proxy.index(r, col[0]).data(): int(view.proxy.index(r, col[1]).data())
            for r in range(view.proxy.rowCount())} == dict(inside) and sum(inside.values()) == 4
    assert not view.newest_button.isVisible() and view.now_button.isVisible()
    with qtbot.waitSignal(view.loaded, timeout=15000):
        view.now_button.click()
    assert view.report.total == 0 and view.end is None and not view.now_button.isVisible()
