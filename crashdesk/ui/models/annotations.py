"""A crash's annotations (the raw crash's key/value pairs) as a two-column table."""

from __future__ import annotations

import json
from typing import Any

from crashdesk.ui.qt import QAbstractTableModel, QModelIndex, Qt

LONG_VALUE = 120
FullValueRole = Qt.ItemDataRole.UserRole + 1


# what the collector adds to a raw crash (as Antenna does), not what the crash reporter sent
COLLECTOR_KEYS = ("metadata", "submitted_timestamp", "uuid")


def split_collector_metadata(annotations: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the reporter's annotations, the collector's metadata). The raw crash format ``version`` (a number,
    2) is the collector's; a ``version`` string sent by a reporter stays an annotation."""
    reporter, collector = {}, {}
    for key, value in (annotations or {}).items():
        ours = key in COLLECTOR_KEYS or (key == "version" and isinstance(value, int))
        (collector if ours else reporter)[key] = value
    return reporter, collector


def value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class AnnotationsModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[tuple[str, str]] = []

    def set_annotations(self, annotations: dict[str, Any]) -> None:
        self.beginResetModel()
        self._items = sorted(((str(k), value_text(v)) for k, v in (annotations or {}).items()),
                             key=lambda kv: kv[0].lower())
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else 2

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        key, value = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return key
            one_line = value.replace("\n", " ⏎ ")
            return one_line if len(one_line) <= LONG_VALUE else one_line[:LONG_VALUE] + " …"
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1 and len(value) > LONG_VALUE:
            return "Long value: select the row to see it whole below"
        if role == FullValueRole:
            return value if index.column() == 1 else key
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Key", "Value")[section]
        return None
