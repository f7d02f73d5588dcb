"""The search bar's syntax help and facet clicks on OR queries (issue 20: the grammar documented where the user
types, and facet clicks that keep a query's meaning)."""

from __future__ import annotations

from crashdesk.engine.query import SYNTAX_HELP, parse_query
from crashdesk.ui.mainwindow import add_term, quote_term
from crashdesk.ui.views.search_bar import SearchBar


def test_help_button_shows_the_syntax_including_not_and_the_crashing_thread(qtbot):
    bar = SearchBar(("product",))
    qtbot.addWidget(bar)
    bar.show()
    assert not bar.help.isVisible()
    bar.help_button.click()
    assert bar.help.isVisible()
    shown = bar.help.text()
    for words in ("NOT A, -A, !A", "A AND B", "crashing thread", "Mac OS X", "up to 8 deep"):
        assert words in shown and words in SYNTAX_HELP
    assert "crashing thread" in bar.help_button.toolTip()
    bar.help_button.click()
    assert not bar.help.isVisible()


def test_facet_click_on_an_or_query_keeps_the_or_together():
    query = add_term("product:A OR product:B", "os:Linux")
    root = parse_query(query).root
    assert type(root).__name__ == "And"
    assert type(root.items[0]).__name__ == "Or"
    assert add_term("product:A", "os:Linux") == "product:A os:Linux"
    assert add_term("", "os:Linux") == "os:Linux"


def test_facet_values_that_look_like_syntax_are_quoted():
    for value in ('say "hi"', "and", "OR", "x)", "back\\slash", "(anonymous namespace)::f"):
        term = parse_query(quote_term("product", value)).root
        assert term.value == value
