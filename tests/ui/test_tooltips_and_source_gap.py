"""Cut-off values have their whole text in a tooltip (crash list columns such as OS, facet terms), and the source
pane keeps a gap between line numbers and code (issue 20)."""

from __future__ import annotations

import re
from pathlib import Path

from crashdesk.ui.models.crash_list import Col
from crashdesk.ui.qt import Qt
from crashdesk.ui.sources import SourceMap

SRC = Path(__file__).resolve().parents[1] / "data" / "ui" / "src"


def test_crash_list_and_facet_tooltips(qtbot, make_window, store, cases):
    window = make_window(store)
    model = window.model
    tip_role = Qt.ItemDataRole.ToolTipRole
    for row in range(model.rowCount()):
        for col in (Col.OS, Col.PRODUCT, Col.REASON, Col.VERSION):
            shown = model.index(row, col).data()
            if shown:
                assert model.index(row, col).data(tip_role) == shown
    window.facets.set_facets({"os": [("Windows NT", 3)], "signature": [("a" * 300, 1)]})
    tops = [window.facets.topLevelItem(i) for i in range(window.facets.topLevelItemCount())]
    child = next(t.child(0) for t in tops if t.child(0) and t.child(0).text(0).startswith("a"))
    assert child.toolTip(0).startswith("a" * 300) and "1 crash" in child.toolTip(0)


def test_source_pane_has_a_gap_after_line_numbers(qtbot):
    from crashdesk.ui.qt import QTextBrowser

    source = SRC / "demo_viewer.c"
    text = source.read_text().splitlines()
    browser = QTextBrowser()
    qtbot.addWidget(browser)
    browser.setHtml(SourceMap([("/build/crashfactory-demo", str(SRC))]).render(
        "/build/crashfactory-demo/demo_viewer.c", 33))
    shown = browser.toPlainText().splitlines()
    numbered = [line for line in shown if re.match(r"^\s*\d+", line)]
    assert numbered
    for line in numbered:
        m = re.match(r"^\s*(\d+)(.*)$", line)
        n, rest = int(m.group(1)), m.group(2)
        if text[n - 1].strip():
            assert rest.startswith("  "), repr(line)
            assert rest[2:].rstrip() == text[n - 1].rstrip(), repr(line)
