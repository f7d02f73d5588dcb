"""Facets after a query (issue 27): rows first, then each facet as it is counted; a newer query cancels the
stale facet work instead of letting it run and dropping its result."""

from __future__ import annotations

import threading
from collections import Counter

from crashdesk.ui import searching
from crashdesk.ui.jobs import Cancelled


def _block_read_pool(window) -> threading.Event:
    """Occupy every read-pool thread until the returned event is set (so queued jobs wait)."""
    release = threading.Event()
    started = threading.Semaphore(0)

    def hold(cancel, report):
        started.release()
        release.wait(30)

    for _ in range(window.jobs.read_pool.maxThreadCount()):
        window.jobs.submit(hold)
    for _ in range(window.jobs.read_pool.maxThreadCount()):
        assert started.acquire(timeout=10)
    return release


def test_a_new_query_cancels_the_stale_facet_jobs(qtbot, make_window, store, cases, monkeypatch):
    window = make_window(store)
    qtbot.waitUntil(lambda: set(window.facets.terms("product")) != set(), timeout=15000)
    ran: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    real = searching.search

    def counting(store_, query, **kw):  # the real search, its outcomes counted per query
        try:
            result = real(store_, query, **kw)
        except Cancelled:
            stopped[query] += 1
            raise
        if kw.get("facets"):
            ran[query] += 1
        return result

    monkeypatch.setattr(searching, "search", counting)
    products = sorted({c.annotations["ProductName"] for c in cases})
    stale, wanted = f'product:"{products[0]}"', f'product:"{products[-1]}" OR os:Linux'
    release = _block_read_pool(window)
    try:
        window._refresh_facets(stale)   # what a finished first page starts ...
        stale_jobs = list(window._facet_jobs)
        window._refresh_facets(wanted)  # ... and the next click, before those jobs got a thread
        assert all(job.cancel.cancelled for job in stale_jobs)
        assert not any(job.cancel.cancelled for job in window._facet_jobs)
    finally:
        release.set()
    with qtbot.waitSignal(window.facets_updated, timeout=15000):
        pass
    window.jobs.wait()
    assert ran[stale] == 0                          # cancelled, not run and ignored
    assert stopped[stale] == len(searching.FACETS)  # each stopped before it read anything
    assert ran[wanted] == len(searching.FACETS)     # each facet once
    expected = store.search(wanted, facets=list(searching.FACETS), limit=0)
    for name in searching.FACETS:
        assert window.facets.terms(name) == [(b["term"], b["count"]) for b in expected.facets[name]][
            :len(window.facets.terms(name))], name
        assert window.facets.terms(name), name


def test_facets_follow_a_filtered_query_from_the_search_bar(qtbot, make_window, store, cases):
    """The user's path: a query typed, its rows, then its facets, counted over the matching crashes only."""
    window = make_window(store)
    product = cases[0].annotations["ProductName"]
    query = f'product:"{product}"'
    expected_total = sum(1 for c in cases if c.annotations.get("ProductName", "").lower() == product.lower())
    with qtbot.waitSignal(window.facets_updated, timeout=15000):
        window.run_query(query)
    assert window.model.total == expected_total
    assert window.facets.terms("product") == [(product, expected_total)]
    assert sum(n for _, n in window.facets.terms("signature")) <= expected_total
