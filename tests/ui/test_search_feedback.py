"""Searching while another tab is shown gives feedback (issue 20): the Crashes tab shows the count and the
status bar says where the crashes are."""

from __future__ import annotations


def test_search_from_the_collector_tab_says_where_the_crashes_are(qtbot, make_window, store, cases):
    window = make_window(store)
    dv = window.decision
    dv.tabs.setCurrentWidget(dv.collector)
    product = cases[0].annotations["ProductName"]
    expected = store.search(f'product:"{product}"', limit=0).total
    window.run_query(f'product:"{product}"')
    qtbot.waitUntil(lambda: dv.tabs.tabText(0) == f"Crashes ({expected:,})", timeout=10000)
    message = window.status.currentMessage()
    assert f"{expected:,} crash" in message and "Crashes tab" in message
    assert dv.tabs.currentWidget() is dv.collector  # the user's tab stays
    window.run_query("")
    qtbot.waitUntil(lambda: dv.tabs.tabText(0) == "Crashes", timeout=10000)
