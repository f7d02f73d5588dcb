"""The all-threads (hang) view: the threads of the crashes a query matches merged into call trees (see
:mod:`crashdesk.services.all_threads`), computed in the background with progress, filterable by thread role
and name; selecting a node lists the crashes whose threads pass through it (double-click one to open it)."""

from __future__ import annotations

from crashdesk.services.all_threads import Node, ThreadTree, all_threads, ordered
from crashdesk.ui.qt import (
    QApplication,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSplitter,
    Qt,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    Signal,
)

_NODE = Qt.ItemDataRole.UserRole


class AllThreadsDialog(QDialog):
    crash_requested = Signal(str)
    computed = Signal(int)  # threads merged

    def __init__(self, jobs, store, query: str, parent=None) -> None:
        super().__init__(parent)
        self.jobs, self.store, self.query = jobs, store, query
        self.tree_data: ThreadTree | None = None
        self._job_token = None
        self.setWindowTitle(f"All threads — {query or 'all crashes'}")
        self.resize(1000, 620)
        self.role = QComboBox()
        self.role.addItems(["any", "main", "crashing"])
        self.role.setToolTip("which threads of each crash: any thread, the main thread, the crashing thread")
        self.name = QLineEdit()
        self.name.setPlaceholderText("thread name contains…")
        self.run_button = QPushButton("Merge")
        self.copy_text = QPushButton("Copy as text")
        self.copy_json = QPushButton("Copy as JSON")
        self.copy_text.setToolTip("the merged trees as indented text (as crashdesk threads prints them)")
        self.copy_json.setToolTip("the merged trees as JSON with each node's crash ids (crashdesk threads --json "
                                  "--crash-ids)")
        self.copy_text.clicked.connect(lambda: QApplication.clipboard().setText(self.text()))
        self.copy_json.clicked.connect(lambda: QApplication.clipboard().setText(self.json_text()))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.summary = QLabel("")
        top = QHBoxLayout()
        for w in (QLabel("Threads:"), self.role, self.name, self.run_button, self.progress, self.copy_text,
                  self.copy_json):
            top.addWidget(w)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Function (outermost caller first)", "Threads", "Crashes"])
        self.tree.setColumnWidth(0, 470)
        self.tree.setColumnWidth(1, 80)
        self.tree.setColumnWidth(2, 80)
        self.tree.setUniformRowHeights(True)
        self.tree.itemExpanded.connect(self._fill_children)
        self.tree.currentItemChanged.connect(self._show_crashes)
        self.crashes = QListWidget()
        self.crashes.setToolTip("crashes whose threads pass through the selected function; double-click opens one")
        self.crashes.itemDoubleClicked.connect(lambda item: self.crash_requested.emit(item.text()))
        split = QSplitter()
        split.addWidget(self.tree)
        split.addWidget(self.crashes)
        split.setSizes([720, 280])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)
        self.run_button.clicked.connect(self.compute)
        self.role.currentIndexChanged.connect(self.compute)
        self.name.returnPressed.connect(self.compute)

    def compute(self) -> None:
        store, query = self.store, self.query
        role, name = self.role.currentText(), self.name.text().strip() or None
        if self._job_token is not None:
            self._job_token.cancel()
        self.progress.setValue(0)
        self.summary.setText("merging…")

        def work(cancel, report):
            self._job_token = cancel
            return all_threads(store, query, role=role, thread_name=name,
                               progress=lambda done, total: report(done / max(total, 1), f"{done}/{total}"),
                               cancelled=lambda: cancel.cancelled)
        self.jobs.submit(work, on_done=self._show, on_progress=lambda f, _t: self.progress.setValue(int(f * 1000)),
                         on_error=lambda exc: self.summary.setText(f"failed: {exc}"), title="Merging threads")

    def _show(self, tree: ThreadTree) -> None:
        self.tree_data = tree
        self.progress.setValue(1000)
        self.summary.setText(f"{tree.crashes:,} crashes, {tree.threads:,} threads, {len(tree.roots)} call trees")
        self.tree.clear()
        self._add(self.tree.invisibleRootItem(), tree.roots)
        if self.tree.topLevelItemCount():
            first = self.tree.topLevelItem(0)
            self.tree.setCurrentItem(first)
            self._expand_single_path(first)
        self.computed.emit(tree.threads)

    def _add(self, parent: QTreeWidgetItem, children: dict[str, Node]) -> None:
        for node in ordered(children):
            item = QTreeWidgetItem([node.function, f"{node.threads:,}", f"{len(node.crash_ids):,}"])
            item.setToolTip(0, node.function)
            item.setData(0, _NODE, node)
            for col in (1, 2):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if node.children:
                item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            parent.addChild(item)

    def _fill_children(self, item: QTreeWidgetItem) -> None:
        if item.childCount() == 0:  # children are added when first expanded (deep trees stay cheap)
            self._add(item, item.data(0, _NODE).children)

    def _expand_single_path(self, item: QTreeWidgetItem) -> None:
        """Open the chain of nodes while it does not branch, so the common path shows at once."""
        for _ in range(200):
            item.setExpanded(True)
            if item.childCount() != 1:
                break
            item = item.child(0)

    def _show_crashes(self, item: QTreeWidgetItem | None, _previous=None) -> None:
        self.crashes.clear()
        if item is not None:
            self.crashes.addItems(sorted(item.data(0, _NODE).crash_ids))

    def text(self) -> str:
        return self.tree_data.to_text() if self.tree_data is not None else ""

    def json_text(self) -> str:
        import json

        return json.dumps(self.tree_data.to_json(ids=True), indent=1) if self.tree_data is not None else ""
