"""The search bar on its own: completion of the token under the cursor, history walking, error marking."""

from __future__ import annotations

from crashdesk.ui.mainwindow import quote_term
from crashdesk.ui.qt import Qt
from crashdesk.ui.views.search_bar import SearchBar, completions, current_token

FIELDS = ("product", "version", "signature", "module", "ann.")


def test_current_token_and_completions():
    assert current_token('product:Fire version:1', 22) == (13, "version:1")
    assert current_token('signature:"foo b', 16) == (0, 'signature:"foo b')
    values = {"product": ["Firefox", "Focus", "Thunder Bird"]}
    assert completions("pro", FIELDS, values) == ["product:"]
    assert completions("product:f", FIELDS, values) == ["product:Firefox", "product:Focus"]
    assert completions("product:thu", FIELDS, values) == ['product:"Thunder Bird"']
    assert completions("-product:Fi", FIELDS, values) == ["-product:Firefox"]
    assert completions("an", FIELDS, values) == ["ann."]


def test_facet_terms_are_quoted_when_needed():
    assert quote_term("product", "Firefox") == "product:Firefox"
    assert quote_term("signature", "foo | bar()") == 'signature:="foo | bar()"'
    assert quote_term("os", "Linux", exclude=True) == "-os:Linux"


def test_history_walks_with_up_and_down_and_submits_on_enter(qtbot):
    bar = SearchBar(FIELDS)
    qtbot.addWidget(bar)
    bar.add_history("first")
    bar.add_history("second")
    bar.add_history("first")  # moves to the front, no duplicate
    assert bar.history == ["first", "second"]
    bar.show()
    bar.edit.setFocus()
    qtbot.keyClick(bar.edit, Qt.Key.Key_Up)
    assert bar.text() == "first"
    qtbot.keyClick(bar.edit, Qt.Key.Key_Up)
    assert bar.text() == "second"
    qtbot.keyClick(bar.edit, Qt.Key.Key_Down)
    assert bar.text() == "first"
    with qtbot.waitSignal(bar.query_submitted, timeout=2000) as blocker:
        qtbot.keyClick(bar.edit, Qt.Key.Key_Return)
    assert blocker.args == ["first"]


def test_error_marks_the_position_and_escape_clears_it(qtbot):
    bar = SearchBar(FIELDS)
    qtbot.addWidget(bar)
    bar.show()
    bar.set_text("product:x bogus:1")
    bar.show_error("unknown field 'bogus'", 10)
    assert bar.error.isVisible() and bar.edit.cursorPosition() == 10
    assert "<b>b</b>" in bar.error.text()
    bar.edit.setFocus()
    qtbot.keyClick(bar.edit, Qt.Key.Key_Escape)
    assert not bar.error.isVisible()


def test_the_example_in_the_box_is_a_query_over_the_stores_own_values(qtbot):
    from crashdesk.engine.query import parse_query

    bar = SearchBar(FIELDS)
    qtbot.addWidget(bar)

    def example() -> str:
        text = bar.edit.placeholderText()
        return text[len("Search crashes: "):text.index("   (Ctrl+F)")]

    neutral = parse_query(example())
    assert [(t.field, t.op, t.value) for t in neutral.terms] == [
        ("product", "=", "MyApp"), ("version", ">=", "1.2"), ("signature", "~", "parse")]
    # the facets' values, most common first: the example names the store's own product, version and a word of
    # its top signature (not a hex run), quoted as the grammar reads them back
    bar.set_values("product", ['My "Demo" App', "Other"])
    bar.set_values("version", ["2.0 beta"])
    bar.set_values("signature", ["@0x7f44f8656f16 | abort_handler"])
    got = parse_query(example())
    assert [(t.field, t.op, t.value) for t in got.terms] == [
        ("product", "=", 'My "Demo" App'), ("version", ">=", "2.0 beta"), ("signature", "~", "abort_handler")]
