"""The signatures view: one row per signature of the current query (count, share, first and last seen,
versions, OS split) and charts of crashes per day and per version for the selected signature (or the whole
query when none is selected). Double-click lists the signature's crashes; two selected rows can be compared.

All numbers come from :mod:`crashdesk.services.signature_stats`, run in background jobs.
"""

from __future__ import annotations

from typing import Any

from crashdesk.ui.charts import BarChart
from crashdesk.ui.jobs import Jobs
from crashdesk.ui.qt import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QModelIndex,
    QPushButton,
    QSortFilterProxyModel,
    QSplitter,
    QStandardItem,
    QStandardItemModel,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)

HEADERS = ("Signature", "Crashes", "Share", "First seen", "Last seen", "Versions", "OS")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
SIGNATURE_ROLE = Qt.ItemDataRole.UserRole + 2


def signature_index(proxy: QSortFilterProxyModel, signature: str | None) -> QModelIndex | None:
    """The first-column index of ``signature``'s row in ``proxy`` (rows carry it in SIGNATURE_ROLE), or None."""
    for r in range(proxy.rowCount()):
        index = proxy.index(r, 0)
        if index.data(SIGNATURE_ROLE) == signature:
            return index
    return None


def _short_time(iso: str) -> str:
    return iso[:16].replace("T", " ") if iso else ""


def _split_text(pairs: list[tuple[str, int]], total: int, limit: int = 3) -> str:
    parts = [f"{name} {100 * n / total:.0f}%" if total else name for name, n in pairs[:limit]]
    if len(pairs) > limit:
        parts.append(f"+{len(pairs) - limit}")
    return ", ".join(parts)


class SignaturesView(QWidget):
    """Signatures of the current query with charts by day and by version."""

    crashes_requested = Signal(str)  # a query listing the double-clicked signature's crashes
    compare_requested = Signal(object, object)  # two signatures (None = no signature)
    versions_requested = Signal(object)  # the selected signature, to see across versions (issue 25)
    loaded = Signal()  # table refreshed for the current query
    charts_updated = Signal()

    def __init__(self, store: Any, jobs: Jobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs
        self.query = ""
        self.table_data: Any = None
        self._gen = 0
        self._chart_gen = 0

        self.summary = QLabel("Signatures of the current query")
        self.compare_button = QPushButton("Compare selected")
        self.compare_button.setToolTip("Compare the representative crashes of two selected signatures")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self._compare_selected)
        self.list_button = QPushButton("List crashes")
        self.list_button.setEnabled(False)
        self.list_button.clicked.connect(lambda: self._list_crashes(self.table.currentIndex()))
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.list_button)
        top.addWidget(self.compare_button)
        self.versions_button = QPushButton("Versions side by side…")  # issue 25
        self.versions_button.setToolTip("This signature's crashes and share in two versions or two periods")
        self.versions_button.clicked.connect(
            lambda: emit(self.versions_requested, (self.selected_signatures() or [None])[0]))
        top.addWidget(self.versions_button)

        self.model = QStandardItemModel(0, len(HEADERS), self)
        self.model.setHorizontalHeaderLabels(list(HEADERS))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName("signatures_table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((330, 65, 60, 130, 130, 260, 160)):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(self._list_crashes)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

        self.by_day = BarChart("Crashes per day", "#2c5a85")
        self.by_version = BarChart("Crashes per version", "#c0504d")
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.by_day)
        charts.addWidget(self.by_version)
        charts.setSizes([600, 400])

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(charts)
        split.setSizes([420, 300])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(split, 1)

    # ------------------------------------------------------------------ loading

    def set_query(self, query: str) -> None:
        """Show the signatures of ``query`` (reloads the table and the charts in the background)."""
        self.query = query or ""
        self._gen += 1
        gen, store, q = self._gen, self.store, self.query
        from crashdesk.services.signature_stats import signature_table

        self.summary.setText("Counting signatures…")
        self.jobs.submit(lambda c, r: signature_table(store, q), on_done=lambda t: self._on_table(gen, t),
                         on_error=lambda exc: self._on_error(gen, exc))

    def refresh(self) -> None:
        self.set_query(self.query)

    def _on_error(self, gen: int, exc: BaseException) -> None:
        if gen == self._gen:
            self.summary.setText(f"Cannot count signatures: {exc}")

    def _on_table(self, gen: int, table: Any) -> None:
        if gen != self._gen:
            return
        self.table_data = table
        self.model.removeRows(0, self.model.rowCount())
        for row in table.rows:
            items = [
                QStandardItem(row.label),
                QStandardItem(str(row.count)),
                QStandardItem(f"{100 * row.share:.1f}%"),
                QStandardItem(_short_time(row.first_seen)),
                QStandardItem(_short_time(row.last_seen)),
                QStandardItem(_split_text(row.versions, row.count)),
                QStandardItem(_split_text(row.os_split, row.count)),
            ]
            sort_values = (row.label.lower(), row.count, row.share, row.first_seen, row.last_seen,
                           items[5].text(), items[6].text())
            for item, value in zip(items, sort_values, strict=True):
                item.setData(value, SORT_ROLE)
                item.setData(row.signature, SIGNATURE_ROLE)
            items[0].setToolTip(row.label)
            items[5].setToolTip("\n".join(f"{v}: {n}" for v, n in row.versions))
            items[6].setToolTip("\n".join(f"{o}: {n}" for o, n in row.os_split))
            for item in items[1:3]:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not row.signature:
                items[0].setForeground(Qt.GlobalColor.gray)
            self.model.appendRow(items)
        scope = f" for {self.query!r}" if self.query.strip() else ""
        self.summary.setText(f"{len(table.rows)} signature(s), {table.total} crash(es){scope}")
        self._update_charts()
        emit(self.loaded)

    def _on_selection_changed(self, *_args: Any) -> None:
        n = len(self.selected_signatures())
        self.compare_button.setEnabled(n == 2)
        self.list_button.setEnabled(n >= 1)
        self._update_charts()

    def _update_charts(self) -> None:
        from crashdesk.services.signature_stats import crashes_by_version, crashes_over_time

        sigs = self.selected_signatures()
        one = len(sigs) == 1
        signature = sigs[0] if one else None
        self._chart_gen += 1
        gen, store, q = self._chart_gen, self.store, self.query

        def load(cancel, report):
            kw = {"all_signatures": not one}
            return crashes_over_time(store, q, signature, **kw), crashes_by_version(store, q, signature, **kw)

        label = (signature or "(no signature)") if one else "all signatures"
        self.jobs.submit(load, on_done=lambda res: self._on_charts(gen, label, res), on_error=lambda exc: None)

    def _on_charts(self, gen: int, label: str, result: tuple) -> None:
        if gen != self._chart_gen:
            return
        (unit, by_time), by_version = result
        short = label if len(label) <= 60 else label[:57] + "…"
        self.by_day.title = f"Crashes per {unit}"
        self.by_day.set_data(by_time, short)
        self.by_version.set_data(by_version, short)
        emit(self.charts_updated)

    # ------------------------------------------------------------------ commands

    def selected_signatures(self) -> list[str | None]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(SIGNATURE_ROLE) for r in rows]

    def select_signature(self, signature: str | None, add: bool = False) -> bool:
        """Select the row of ``signature`` (tests, and links from other views)."""
        from crashdesk.ui.qt import QItemSelectionModel

        index = signature_index(self.proxy, signature)
        if index is None:
            return False
        flags = QItemSelectionModel.SelectionFlag.Rows | (
            QItemSelectionModel.SelectionFlag.Select if add else QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.table.selectionModel().setCurrentIndex(index, flags)
        return True

    def query_for(self, signature: str | None) -> str:
        from crashdesk.services.signature_stats import signature_query

        term = signature_query(signature)
        return f"{self.query.strip()} {term}".strip()

    def _list_crashes(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        signature = self.proxy.index(index.row(), 0).data(SIGNATURE_ROLE)
        emit(self.crashes_requested, self.query_for(signature))

    def _compare_selected(self) -> None:
        sigs = self.selected_signatures()
        if len(sigs) == 2:
            emit(self.compare_requested, sigs[0], sigs[1])
