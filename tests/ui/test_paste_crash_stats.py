"""Crash Stats habits in the search bar (issue 20): a pasted ``bp-`` crash id or report URL opens that crash; a
pasted Crash Stats search URL becomes the equivalent query."""

from __future__ import annotations

import pytest

from crashdesk.engine.query import parse_query
from crashdesk.ui.searching import pasted_query


@pytest.mark.parametrize("template", ["bp-{}", "{}", "  {}  ", "https://crash-stats.mozilla.org/report/index/{}",
                                      "https://crash-stats.mozilla.org/report/index/bp-{}#tab-details",
                                      "http://127.0.0.1:8787/report/index/{}"])
def test_pasted_crash_id_opens_that_crash(qtbot, make_window, store, cases, template):
    window = make_window(store)
    target = cases[-1]
    window.search_bar.set_text(template.format(target.crash_id.upper() if "bp-" in template else target.crash_id))
    window.search_bar.submit()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1 and window.crash_view.detail is not None
                    and window.crash_view.detail.crash_id == target.crash_id, timeout=10000)
    assert window.search_bar.error.isHidden()
    assert window.search_bar.text() == f"crash_id:{target.crash_id}"


def test_pasted_search_url_becomes_the_query(qtbot, make_window, store, cases):
    window = make_window(store)
    product = cases[0].annotations["ProductName"]
    url = f"https://crash-stats.mozilla.org/search/?product={product}&_facets=signature&page=2#facet=signature"
    window.search_bar.set_text(url)
    window.search_bar.submit()
    expected = store.search(f'product:"{product}"', limit=0).total
    qtbot.waitUntil(lambda: window.model.query == f'product:="{product}"' and window.model.total == expected,
                    timeout=10000)
    assert window.search_bar.text() == f'product:="{product}"'
    assert window.search_bar.error.isHidden()


def test_search_url_translation():
    q = pasted_query("https://crash-stats.mozilla.org/search/?product=Firefox&product=Thunderbird&version=120.0"
                     "&signature=~OOM&platform=Windows&date=%3E%3D2024-10-01T00%3A00%3A00.000Z&_columns=date")
    assert q == ('signature:~"OOM" (product:="Firefox" OR product:="Thunderbird") version:="120.0" '
                 'os:="Windows" date:>="2024-10-01T00:00:00.000Z"')
    parse_query(q)  # a valid query
    assert pasted_query("https://crash-stats.mozilla.org/signature/?signature=OOM%20%7C%20small") == \
        'signature:="OOM | small"'
    assert pasted_query("https://example.com/somewhere") is None
    assert pasted_query("product:Firefox") is None
