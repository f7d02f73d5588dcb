"""The crash list: a table over search results that fetches pages lazily in the background.

Only the first page is read when a query runs; Qt asks for more (``canFetchMore``/``fetchMore``) as the user
scrolls, so a store of 100,000 crashes opens as fast as one of ten. Every read runs on a pool thread; a
generation counter drops answers to queries the user has already replaced.
"""

from __future__ import annotations

import enum
from typing import Any

from crashdesk.ui import searching
from crashdesk.ui.jobs import Jobs
from crashdesk.ui.qt import QAbstractTableModel, QColor, QModelIndex, Qt, Signal, emit

PAGE_SIZE = 200
MAX_PAGE = 5000


class Col(enum.IntEnum):
    DATE = 0
    SIGNATURE = 1
    PRODUCT = 2
    VERSION = 3
    OS = 4
    CPU = 5
    REASON = 6
    SOURCE = 7
    STATE = 8
    CRASH_ID = 9


HEADERS = {Col.DATE: "Date", Col.SIGNATURE: "Signature", Col.PRODUCT: "Product", Col.VERSION: "Version",
           Col.OS: "OS", Col.CPU: "CPU", Col.REASON: "Reason", Col.SOURCE: "Source", Col.STATE: "State",
           Col.CRASH_ID: "Crash ID"}
KEYS = {Col.DATE: "submitted_at", Col.SIGNATURE: "signature", Col.PRODUCT: "product", Col.VERSION: "version",
        Col.OS: "os", Col.CPU: "cpu", Col.REASON: "reason", Col.SOURCE: "source", Col.STATE: "state",
        Col.CRASH_ID: "crash_id"}
SORT_FIELDS = {Col.DATE: "date", Col.SIGNATURE: "signature", Col.PRODUCT: "product", Col.VERSION: "version",
               Col.OS: "os", Col.CPU: "cpu", Col.REASON: "reason", Col.SOURCE: "source", Col.STATE: "state",
               Col.CRASH_ID: "crash_id"}
STATE_COLOURS = {"failed": QColor("#b3261e"), "received": QColor("#8a6d00"), "processing": QColor("#1a5fb4")}

CrashIdRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2


def display_date(value: str | None) -> str:
    """``2026-11-29T07:20:48.123+00:00`` -> ``2026-11-29 07:20`` (times are stored in UTC)."""
    if not value:
        return ""
    return value[:16].replace("T", " ")


def display_signature(row: dict[str, Any]) -> str:
    sig = row.get("signature") or row.get("server_signature")
    if sig:
        return str(sig)
    state = row.get("state")
    return "(not processed yet)" if state in ("received", "processing") else "(no signature)"


class CrashListModel(QAbstractTableModel):
    """Search results, read page by page from the store on background threads."""

    search_started = Signal()
    search_finished = Signal(int)  # total matches
    search_failed = Signal(object)  # the query error
    page_loaded = Signal(int)  # rows now loaded

    def __init__(self, jobs: Jobs, store: Any = None, parent=None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._store = store
        self._rows: list[dict[str, Any]] = []
        self._total = 0
        self._query = ""
        self._sort = "-date"
        self._generation = 0
        self._fetching = False
        self.page_size = PAGE_SIZE

    # ------------------------------------------------------------------ control

    @property
    def query(self) -> str:
        return self._query

    @property
    def sort_field(self) -> str:
        return self._sort

    @property
    def total(self) -> int:
        return self._total

    def set_store(self, store: Any) -> None:
        self._store = store
        self.refresh()

    def set_query(self, query: str) -> None:
        self._query = query.strip()
        self.refresh()

    def refresh(self) -> None:
        """Run the current query again from the first page."""
        if self._store is None:
            return
        self._generation += 1
        gen, store, query, sort, limit = self._generation, self._store, self._query, self._sort, self.page_size
        self._fetching = True
        emit(self.search_started)
        self._jobs.submit(lambda cancel, report: searching.search(store, query, sort=sort, offset=0, limit=limit),
                          on_done=lambda res: self._on_first_page(gen, res),
                          on_error=lambda exc: self._on_failed(gen, exc))

    def _on_first_page(self, gen: int, result: searching.SearchResult) -> None:
        if gen != self._generation:
            return
        self.beginResetModel()
        self._rows = list(result.hits)
        self._total = max(result.total, len(self._rows))
        self._fetching = False
        self.endResetModel()
        emit(self.search_finished, self._total)
        emit(self.page_loaded, len(self._rows))

    def _on_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._fetching = False
        emit(self.search_failed, exc)

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: N802 - Qt API
        return not parent.isValid() and not self._fetching and len(self._rows) < self._total

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: N802 - Qt API
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        gen, store, query, sort = self._generation, self._store, self._query, self._sort
        # pages grow as the user scrolls on (200, 200, 400, 800 ... up to 5,000 rows): a long scroll through a
        # big store needs few round trips, while the first page stays small and quick
        offset = len(self._rows)
        limit = min(max(self.page_size, offset // 2 // self.page_size * self.page_size), MAX_PAGE)
        self._jobs.submit(
            lambda cancel, report: searching.search(store, query, sort=sort, offset=offset, limit=limit),
            on_done=lambda res: self._on_more(gen, offset, res),
            on_error=lambda exc: self._on_failed(gen, exc))

    def _on_more(self, gen: int, offset: int, result: searching.SearchResult) -> None:
        if gen != self._generation or offset != len(self._rows):
            return
        self._fetching = False
        hits = result.hits
        if not hits:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(hits) - 1)
        self._rows.extend(hits)
        self.endInsertRows()
        emit(self.page_loaded, len(self._rows))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        field = SORT_FIELDS[Col(column)]
        self._sort = ("-" if order == Qt.SortOrder.DescendingOrder else "") + field
        self.refresh()

    # ------------------------------------------------------------------ reading

    def crash_id(self, row: int) -> str | None:
        return self._rows[row]["crash_id"] if 0 <= row < len(self._rows) else None

    def row_data(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def row_of(self, crash_id: str) -> int:
        for i, r in enumerate(self._rows):
            if r.get("crash_id") == crash_id:
                return i
        return -1

    # ------------------------------------------------------------------ Qt model

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(Col)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row, col = self._rows[index.row()], Col(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if col is Col.DATE:
                return display_date(row.get("submitted_at"))
            if col is Col.SIGNATURE:
                return display_signature(row)
            value = row.get(KEYS[col])
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col is Col.SIGNATURE:
                server = row.get("server_signature")
                tip = display_signature(row)
                if server and server != row.get("signature"):
                    tip += f"\nserver: {server}"
                return tip
            if col is Col.DATE:
                return f"{row.get('submitted_at')} (UTC)"
            value = row.get(KEYS[col])  # the whole value when the column cuts it (OS, reason, product...)
            return None if value in (None, "") else str(value)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col is Col.STATE:
                return STATE_COLOURS.get(str(row.get("state")))
            if col is Col.SIGNATURE and not (row.get("signature") or row.get("server_signature")):
                return QColor("#777777")
            return None
        if role == CrashIdRole:
            return row.get("crash_id")
        if role == RowRole:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Col(section)]
        return None
