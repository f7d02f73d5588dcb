"""The facet panel: counts per signature, product, version, OS and module for the current query."""

from __future__ import annotations

from crashdesk.ui.qt import QFont, QHeaderView, Qt, QTreeWidget, QTreeWidgetItem, Signal, emit

TITLES = {"signature": "Signature", "product": "Product", "version": "Version", "os": "OS", "module": "Module"}
FieldRole = Qt.ItemDataRole.UserRole + 1
TermRole = Qt.ItemDataRole.UserRole + 2


#: how to exclude a term, on every facet tooltip
EXCLUDE_HINT = "Ctrl+click (or Alt+Enter) to exclude it"


class FacetPanel(QTreeWidget):
    """Click a term to filter on it; Ctrl+click (or Alt+Enter) to exclude it."""

    facet_clicked = Signal(str, str, bool)  # field, term, exclude

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("facets")
        self.setColumnCount(2)
        self.setHeaderLabels(["Facet", "Count"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(False)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setToolTip(f"Click to filter on a value; {EXCLUDE_HINT}")
        self.itemClicked.connect(self._on_item_clicked)
        self._collapsed: set[str] = set()

    def set_facets(self, facets: dict[str, list[tuple[str, int]]]) -> None:
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if not top.isExpanded():
                self._collapsed.add(top.data(0, FieldRole))
            else:
                self._collapsed.discard(top.data(0, FieldRole))
        self.clear()
        bold = QFont(self.font())
        bold.setBold(True)
        for field, title in TITLES.items():
            if field not in facets:
                continue
            top = QTreeWidgetItem([title, ""])
            top.setToolTip(0, f"{len(facets[field])} values (the top ones for the current query)")
            top.setData(0, FieldRole, field)
            top.setFont(0, bold)
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for term, count in facets[field]:
                child = QTreeWidgetItem([term, f"{count:,}"])
                child.setData(0, FieldRole, field)
                child.setData(0, TermRole, term)
                # the whole term (even when cut), its count, and the hint the item tooltip would otherwise hide
                tip = (f"{term}\n{count:,} crash{'es' if count != 1 else ''}\n"
                       f"Click to filter on it; {EXCLUDE_HINT}")
                child.setToolTip(0, tip)
                child.setToolTip(1, tip)
                child.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                top.addChild(child)
            self.addTopLevelItem(top)
            top.setExpanded(field not in self._collapsed)

    def terms(self, field: str) -> list[tuple[str, int]]:
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top.data(0, FieldRole) == field:
                return [(top.child(j).data(0, TermRole), int(top.child(j).text(1).replace(",", "")))
                        for j in range(top.childCount())]
        return []

    def _on_item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        term = item.data(0, TermRole)
        if term is None:
            return
        from crashdesk.ui.qt import QApplication

        exclude = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier)
        emit(self.facet_clicked, item.data(0, FieldRole), term, exclude)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            term = item.data(0, TermRole)
            if term is not None:
                exclude = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
                emit(self.facet_clicked, item.data(0, FieldRole), term, exclude)
                return
        super().keyPressEvent(event)
