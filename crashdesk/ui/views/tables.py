"""Read-only tables for the panels: a ``QTableWidget`` set up the same way everywhere, filled from rows."""

from __future__ import annotations

from typing import Any

from crashdesk.ui.qt import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem


def read_only_table(headers: list[str], name: str, *, single_selection: bool = False,
                    wrap: bool = True) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single_selection:
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.setWordWrap(wrap)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    return table


def fill_rows(table: QTableWidget, rows: list[list[Any]]) -> None:
    """Replace the table's rows; each cell shows ``str(value)`` (empty for None) with itself as tooltip."""
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem("" if value is None else str(value))
            item.setToolTip(item.text())
            table.setItem(r, c, item)
