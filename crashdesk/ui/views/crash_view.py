"""The crash view: Summary, Stack, Modules, Annotations, Processed JSON and Raw tabs for one crash."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from crashdesk.model.registers import ordered as ordered_registers
from crashdesk.ui.detail import (
    CrashDetail,
    best_bit_flip,
    describe_symbol_sources,
    processing_notes,
    signature_notes,
    summary_fields,
)
from crashdesk.ui.models.annotations import AnnotationsModel, FullValueRole, split_collector_metadata
from crashdesk.ui.models.modules import ModulesModel
from crashdesk.ui.models.stack import (
    FrameCol,
    FrameRole,
    FullTextRole,
    StackModel,
    thread_frames,
    thread_label,
    thread_order,
)
from crashdesk.ui.qt import (
    QAbstractItemView,
    QAction,
    QApplication,
    QComboBox,
    QFileDialog,
    QFont,
    QFontDatabase,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequence,
    QLabel,
    QLineEdit,
    QMessageBox,
    QModelIndex,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSortFilterProxyModel,
    QSplitter,
    Qt,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)
from crashdesk.ui.sources import SourceMap

TABS = ("Summary", "Stack", "Modules", "Annotations", "Processed JSON", "Raw")


def _mono() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _compact(table: QTableView) -> None:
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)


def _filter_proxy(model, parent) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setFilterKeyColumn(-1)
    return proxy


FUNCTION_MIN_WIDTH = 240  # px: the stack's function column is capped at half the view, never below this


class SummaryTab(QScrollArea):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        body = QWidget()
        self.setWidget(body)
        outer = QVBoxLayout(body)
        sig_row = QHBoxLayout()
        self.signature = QLineEdit()
        self.signature.setReadOnly(True)
        self.signature.setObjectName("signature")
        font = self.signature.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.signature.setFont(font)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the signature (Ctrl+Shift+C)")
        self.copy_button.clicked.connect(self.copy_signature)
        sig_row.addWidget(self.signature, 1)
        sig_row.addWidget(self.copy_button)
        outer.addLayout(sig_row)
        self.link = QLabel()
        self.link.setOpenExternalLinks(True)
        self.link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        outer.addWidget(self.link)
        # shown when the reference would list a possible bit flip: a hint of bad hardware, not a software bug
        self.bit_flip_badge = QLabel()
        self.bit_flip_badge.setObjectName("bitFlipBadge")
        self.bit_flip_badge.setWordWrap(True)
        self.bit_flip_badge.setStyleSheet(
            "QLabel#bitFlipBadge { background: #fff3cd; color: #664d03; border: 1px solid #e0b84c;"
            " border-radius: 4px; padding: 4px 8px; }"
        )
        self.bit_flip_badge.setVisible(False)
        outer.addWidget(self.bit_flip_badge)
        # symbol sources were added since this crash (lacking some) was processed: offer to process it again
        self.sources_changed = QWidget()
        self.sources_changed.setObjectName("sourcesChanged")
        self.sources_changed.setStyleSheet("QWidget#sourcesChanged { background: #e8f0fe; border: 1px solid "
                                           "#9db7e8; border-radius: 4px; }")
        row = QHBoxLayout(self.sources_changed)
        row.setContentsMargins(8, 4, 8, 4)
        self.sources_changed_text = QLabel()
        self.sources_changed_text.setWordWrap(True)
        row.addWidget(self.sources_changed_text, 1)
        self.reprocess_button = QPushButton("&Reprocess")
        self.reprocess_button.setToolTip("Process this crash again with the current symbol folders and servers")
        row.addWidget(self.reprocess_button)
        self.sources_changed.setVisible(False)
        outer.addWidget(self.sources_changed)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        outer.addLayout(self.form)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.notes)
        outer.addStretch(1)
        self.values: dict[str, str] = {}

    def show_crash(self, detail: CrashDetail) -> None:
        data = detail.data
        sig = data.get("signature") or data.get("server_signature") or ""
        self.signature.setText(sig or header_without_signature(data))
        self.signature.setToolTip(self.signature.text())  # long C++ signatures do not fit the line
        self.signature.setCursorPosition(0)
        url = data.get("source_url")
        self.link.setText(f'<a href="{html.escape(url)}">Open this crash on its server</a>' if url else "")
        self.link.setVisible(bool(url))
        flip = best_bit_flip((data.get("processed") or {}).get("crash_info") or {})
        self.bit_flip_badge.setVisible(flip is not None)
        if flip is not None:
            self.bit_flip_badge.setText(
                f"<b>Possible bit flip</b>: the crash address is one flipped bit away from valid memory "
                f"({html.escape(str(flip.get('address')))}, confidence {flip.get('confidence', 0):.2f}). "
                "A hint of faulty hardware (memory, CPU) rather than a software bug."
            )
        changed = detail.may_gain_symbols
        self.sources_changed.setVisible(changed)
        self.reprocess_button.setEnabled(changed)
        if changed:
            self.sources_changed_text.setText(
                "Symbol sources were added since this crash was processed (Settings → Symbols): processing it "
                "again may find symbols it lacked.<br><small>Added: "
                f"{html.escape(describe_symbol_sources(detail.added_symbol_sources))}</small>")
        rows = summary_fields(data)
        # reuse the form's rows (re-creating ~20 labels per crash costs more than the rest of the tab)
        while self.form.rowCount() > len(rows):
            self.form.removeRow(self.form.rowCount() - 1)
        self.values = {}
        for i, (label, value) in enumerate(rows):
            if i < self.form.rowCount():
                self.form.itemAt(i, QFormLayout.ItemRole.LabelRole).widget().setText(f"{label}:")
                self.form.itemAt(i, QFormLayout.ItemRole.FieldRole).widget().setText(html.escape(value))
            else:
                field = QLabel(html.escape(value))
                field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                field.setWordWrap(True)
                self.form.addRow(f"{label}:", field)
            self.values[label] = value
        parts = []
        notes = processing_notes(data)
        if notes:
            parts.append("<b>Processing notes</b><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes)
                         + "</ul>")
        snotes = signature_notes(data)
        if snotes:
            parts.append("<b>Signature notes</b><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in snotes)
                         + "</ul>")
        self.notes.setText("".join(parts))

    def copy_signature(self) -> None:
        QApplication.clipboard().setText(self.signature.text())


def header_without_signature(data: dict[str, Any]) -> str:
    """What the crash header says when there is no signature: why (failed, with the note; waiting; none)."""
    state = data.get("state")
    if state == "failed":
        notes = processing_notes(data)
        return f"(processing failed: {notes[-1]})" if notes else "(processing failed)"
    if state == "processing":
        return "(being processed)"
    if state != "processed":
        return "(not processed yet)"
    return "(no signature)"


class StackTab(QWidget):
    """Thread picker, frames tree, registers of the selected frame and the source pane."""

    def __init__(self, sources: SourceMap, parent=None) -> None:
        super().__init__(parent)
        self._sources = sources
        self._processed: dict[str, Any] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(QLabel("&Thread:"))
        self.threads = QComboBox()
        self.threads.setMinimumContentsLength(30)
        top.itemAt(0).widget().setBuddy(self.threads)
        top.addWidget(self.threads, 1)
        layout.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        self.model = StackModel(self)
        self.frames = QTreeView()
        self.frames.setModel(self.model)
        self.frames.setUniformRowHeights(True)
        self.frames.setAlternatingRowColors(True)
        self.frames.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.frames.setRootIsDecorated(False)  # flat: inlined functions are rows of their own
        self.frames.setAllColumnsShowFocus(True)
        self.frames.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        copy = QAction("Copy", self.frames)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_frames)
        self.frames.addAction(copy)
        self.frames.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        split.addWidget(self.frames)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        self.registers = QPlainTextEdit()
        self.registers.setReadOnly(True)
        self.registers.setFont(_mono())
        self.registers.setPlaceholderText("Registers of the selected frame")
        self.source = QTextBrowser()
        self.source.setPlaceholderText("Source of the selected frame")
        bottom.addWidget(self.registers)
        bottom.addWidget(self.source)
        bottom.setStretchFactor(1, 3)
        split.addWidget(bottom)
        split.setSizes([220, 300])
        bottom.setSizes([260, 700])
        layout.addWidget(split, 1)
        self.threads.currentIndexChanged.connect(self._on_threads_current_index_changed)
        self.frames.selectionModel().currentRowChanged.connect(self._on_frames_current_changed)

    def show_crash(self, detail: CrashDetail) -> None:
        self._processed = detail.processed
        self.threads.blockSignals(True)
        self.threads.clear()
        crashing = ((self._processed or {}).get("crash_info") or {}).get("crashing_thread")
        for index, thread in thread_order(self._processed):
            self.threads.addItem(thread_label(index, thread, crashing), index)
        self.threads.blockSignals(False)
        if self.threads.count():
            self.threads.setCurrentIndex(0)
            self._on_threads_current_index_changed(0)
        else:
            self.model.set_frames([])
            self.registers.setPlainText("")
            self.source.setHtml("<p>No stack: this crash has not been processed yet.</p>"
                                if detail.processed is None else "<p>The processed crash has no threads.</p>")

    def current_thread_index(self) -> int | None:
        return self.threads.currentData()

    def _on_threads_current_index_changed(self, _pos: int) -> None:
        index = self.threads.currentData()
        frames = thread_frames(self._processed, index)
        self.model.set_frames(frames or [])
        self.frames.expandAll()
        header = self.frames.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        # a long C++ name (templates, parameters) must not push File:Line and Trust out of view: the function
        # column takes at most half of the view, the name elided (its tooltip has it whole); the user can widen it
        cap = max(FUNCTION_MIN_WIDTH, self.frames.viewport().width() // 2)
        if self.frames.sizeHintForColumn(FrameCol.FUNCTION) > cap:
            header.setSectionResizeMode(FrameCol.FUNCTION, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(FrameCol.FUNCTION, cap)
        if self.model.rowCount():
            self.frames.setCurrentIndex(self.model.index(0, 0))

    def _on_frames_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        frame = current.data(FrameRole) if current.isValid() else None
        if not frame:
            self.registers.setPlainText("")
            return
        regs = frame.get("registers") or (frame.get("_inline_of") or {}).get("registers")
        if regs:  # in CPU order, as the reference's text report and debuggers list them
            self.registers.setPlainText("\n".join(f"{k:>6} = {v}" for k, v in ordered_registers(regs)))
        else:
            self.registers.setPlainText("No registers recovered for this frame.\n(They are kept for the crashing "
                                        "thread's frames; a crash processed by an older CrashDesk has them for "
                                        "the context frame only until it is processed again.)")
        self.source.setHtml(self._sources.render(frame.get("file"), frame.get("line")))
        self.source.scrollToAnchor(f"L-{max(1, int(frame.get('line') or 1) - 8)}")


    def source_path(self, frame: dict[str, Any]):
        """The frame's source file on this machine (mapped in Settings → Source folders), else None."""
        return self._sources.resolve(frame.get("file"))

    def focus_source_line(self, line: int) -> None:
        """Put the keyboard focus in the source pane with the cursor on ``line``."""
        from crashdesk.ui.qt import QTextCursor

        self.source.setFocus(Qt.FocusReason.OtherFocusReason)
        doc = self.source.document()
        for n in range(doc.blockCount()):
            block = doc.findBlockByNumber(n)
            if block.text().lstrip().startswith(f"{line} ") or block.text().strip() == str(line):
                cursor = QTextCursor(block)
                cursor.select(QTextCursor.SelectionType.LineUnderCursor)
                self.source.setTextCursor(cursor)
                self.source.ensureCursorVisible()
                return

    def copy_frames(self) -> None:
        """The selected frames (or the current one) to the clipboard, tab-separated, offsets in full."""
        rows = sorted({i.row() for i in self.frames.selectionModel().selectedRows()})
        if not rows and self.frames.currentIndex().isValid():
            rows = [self.frames.currentIndex().row()]
        lines = ["\t".join(str(self.model.index(r, c).data(FullTextRole) or "")
                           for c in range(self.model.columnCount())) for r in rows]
        QApplication.clipboard().setText("\n".join(lines))


class ModulesTab(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter modules")
        self.filter.setClearButtonEnabled(True)
        top.addWidget(self.filter, 1)
        self.summary = QLabel()
        top.addWidget(self.summary)
        self.fetch_button = QPushButton("Fetch missing symbols")
        self.fetch_button.setToolTip("Look the missing symbol files up on the configured symbol sources, "
                                     "then process the crash again")
        top.addWidget(self.fetch_button)
        layout.addLayout(top)
        self.model = ModulesModel(self)
        self.proxy = _filter_proxy(self.model, self)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        _compact(self.table)
        self.table.horizontalHeader().setStretchLastSection(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        # the symbol-lookup explainer for the selected module
        panel = QWidget()
        pl = QVBoxLayout(panel)
        pl.setContentsMargins(0, 0, 0, 0)
        prow = QHBoxLayout()
        self.explain_title = QLabel("Symbol lookup")
        prow.addWidget(self.explain_title, 1)
        self.retry_button = QPushButton("Retry now")
        self.retry_button.setToolTip("Ask the symbol folders and servers again for this crash's missing "
                                     "symbols (remembered misses too), then process the crash again")
        prow.addWidget(self.retry_button)
        pl.addLayout(prow)
        self.explain = QTextBrowser()
        self.explain.setOpenExternalLinks(False)
        self.explain.setPlaceholderText("Select a module to see where its symbols were looked for.")
        pl.addWidget(self.explain, 1)
        split.addWidget(panel)
        split.setSizes([360, 220])
        layout.addWidget(split, 1)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self._detail: CrashDetail | None = None

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() or self._detail is None:
            self.explain.clear()
            return
        row = self.proxy.mapToSource(current).row()
        self.show_explanation(self.model.modules()[row])

    def show_explanation(self, module: dict[str, Any]) -> None:
        """Every place the module's symbols were looked for, what was used, and what to do."""
        from crashdesk.symbols.explain import explain_crash

        assert self._detail is not None
        row = dict(module)
        if row.get("symbol_status") == "not needed":
            row["symbol_status"] = None
        (exp,) = explain_crash(self._detail.data, [row])
        self.explain_title.setText(f"Symbol lookup: {module.get('filename') or module.get('debug_file')}")
        self.explain.setHtml(explain_html(exp))

    def select_module(self, filename: str) -> bool:
        """Select the module named ``filename`` (its symbol lookup shows below); False when not listed."""
        self.filter.clear()
        for row, module in enumerate(self.model.modules()):
            if filename in (module.get("filename"), module.get("debug_file")):
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                self.table.setCurrentIndex(index)
                self.table.selectRow(index.row())
                self.table.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
        return False

    def show_crash(self, detail: CrashDetail) -> None:
        self._detail = detail
        self.explain.clear()
        self.model.set_modules(detail.modules)
        self.table.resizeColumnsToContents()
        counts: dict[str, int] = {}
        for m in detail.modules:
            counts[m["symbol_status"]] = counts.get(m["symbol_status"], 0) + 1
        no_lines = sum(1 for m in detail.modules if m["symbol_status"] == "loaded" and m.get("source_lines") is False)
        self.summary.setText(", ".join(f"{n} {s}" + (f" ({no_lines} without source lines)" if s == "loaded" and no_lines
                                                     else "") for s, n in sorted(counts.items())))
        missing = counts.get("missing", 0) + counts.get("error", 0)
        self.fetch_button.setEnabled(missing > 0)
        self.retry_button.setEnabled(missing > 0)
        first = next((n for n, m in enumerate(detail.modules) if m.get("symbol_status") in ("missing", "corrupt",
                                                                                           "error")), None)
        if first is None:
            first = next((n for n, m in enumerate(detail.modules) if m.get("source_lines") is False), None)
        if first is not None:  # open on the first module that lacks symbols (or lines): the one worth explaining
            self.table.selectRow(self.proxy.mapFromSource(self.model.index(first, 0)).row())


_RESULT_COLOURS = {"not_found": "#777777", "downloaded": "#1e7b34", "loaded": "#1e7b34", "corrupt": "#b3261e",
                   "error": "#b3261e", "unsupported": "#b3261e", "cached_miss": "#8a6d00"}


def explain_html(exp: dict[str, Any]) -> str:
    """The explainer's HTML for one module (see :func:`crashdesk.symbols.explain.explain_module`)."""
    esc = html.escape
    status = exp.get("status") or "not looked up"
    parts = [f"<p><b>{esc(str(exp.get('filename') or exp.get('debug_file') or ''))}</b> "
             f"<code>{esc(str(exp.get('debug_file') or ''))} {esc(str(exp.get('debug_id') or ''))}</code> "
             f"&mdash; <b>{esc(status)}</b>" + (f": {esc(str(exp['note']))}" if exp.get("note") else "") + "</p>"]
    if exp.get("steps"):
        items = "".join(
            f"<li><span style='color:{_RESULT_COLOURS.get(a.get('result'), '#000000')}'>{esc(step)}</span></li>"
            for a, step in zip(exp["attempts"], exp["steps"], strict=True))
        parts.append(f"<p>Tried, in order:</p><ol>{items}</ol>")
    elif exp.get("status") == "loaded":
        parts.append("<p>Found at the first place asked.</p>")
    elif exp.get("status") and not exp.get("trace_kept"):
        parts.append("<p><i>No record of the places tried was kept for this crash (processed before CrashDesk "
                     "kept them). Retry now to look it up again.</i></p>")
    used = exp.get("used")
    if used:
        what = "native debug file" if used.get("kind") == "native" else "Breakpad .sym file"
        files = ", ".join(used.get("files") or []) or used.get("url") or "?"
        parts.append(f"<p>Used: {what} <code>{esc(files)}</code>"
                     + (f" from {esc(str(used['source']))}" if used.get("source") else "") + "</p>")
    if exp.get("advice"):
        tips = "".join(f"<li>{esc(t)}</li>" for t in exp["advice"])
        parts.append(f"<p>What you can do:</p><ul>{tips}</ul>")
    return "".join(parts)


class AnnotationsTab(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter annotations (key or value)")
        self.filter.setClearButtonEnabled(True)
        layout.addWidget(self.filter)
        split = QSplitter(Qt.Orientation.Vertical)
        self.model = AnnotationsModel(self)
        self.proxy = _filter_proxy(self.model, self)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        _compact(self.table)
        self.table.horizontalHeader().setStretchLastSection(True)
        split.addWidget(self.table)
        # what the collector recorded about the submission, apart from what the crash reporter sent
        self.meta_box = QWidget()
        meta_layout = QVBoxLayout(self.meta_box)
        meta_layout.setContentsMargins(0, 0, 0, 0)
        self.meta_label = QLabel("Collector metadata (recorded on arrival, not sent by the crash reporter)")
        self.meta_label.setObjectName("collector_metadata_label")
        meta_layout.addWidget(self.meta_label)
        self.meta_model = AnnotationsModel(self)
        self.meta_table = QTableView()
        self.meta_table.setModel(self.meta_model)
        self.meta_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        _compact(self.meta_table)
        self.meta_table.horizontalHeader().setStretchLastSection(True)
        meta_layout.addWidget(self.meta_table)
        split.addWidget(self.meta_box)
        self.value = QPlainTextEdit()
        self.value.setReadOnly(True)
        self.value.setPlaceholderText("Select an annotation to see its whole value")
        split.addWidget(self.value)
        self.raw = QTextBrowser()
        split.addWidget(self.raw)
        split.setSizes([250, 130, 80, 200])
        layout.addWidget(split, 1)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.meta_table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)

    def show_crash(self, detail: CrashDetail) -> None:
        reporter, collector = split_collector_metadata(detail.data.get("annotations") or {})
        self.model.set_annotations(reporter)
        self.meta_model.set_annotations(collector)
        self.meta_box.setVisible(bool(collector))
        self.table.resizeColumnToContents(0)
        self.meta_table.resizeColumnToContents(0)
        self.raw.setHtml(detail.annotations_html)
        self.value.setPlainText("")

    def _on_table_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.value.setPlainText(current.siblingAtColumn(1).data(FullValueRole) or "" if current.isValid() else "")


class RawTab(QWidget):
    """The dumps (name, size, sha256, save as) and each minidump's stream list."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._dumps: list[dict[str, Any]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.dumps = QTableView()
        from crashdesk.ui.qt import QStandardItemModel

        self.dumps_model = QStandardItemModel(self)
        self.dumps.setModel(self.dumps_model)
        _compact(self.dumps)
        self.dumps.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.dumps.horizontalHeader().setStretchLastSection(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Dumps"))
        row.addStretch(1)
        self.save_button = QPushButton("Save as…")
        self.save_button.clicked.connect(self._on_save_clicked)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        layout.addWidget(self.dumps, 1)
        layout.addWidget(QLabel("Minidump streams"))
        self.streams = QPlainTextEdit()
        self.streams.setReadOnly(True)
        self.streams.setFont(_mono())
        layout.addWidget(self.streams, 2)

    def show_crash(self, detail: CrashDetail) -> None:
        from crashdesk.ui.qt import QStandardItem

        self._dumps = list(detail.data.get("dumps") or [])
        self.dumps_model.clear()
        self.dumps_model.setHorizontalHeaderLabels(["Name", "Size", "SHA-256"])
        for d in self._dumps:
            items = [QStandardItem(d["name"]), QStandardItem(f"{d['size']:,} B"), QStandardItem(d["sha256"])]
            for it in items:
                it.setEditable(False)
            self.dumps_model.appendRow(items)
        self.dumps.resizeColumnsToContents()
        self.save_button.setEnabled(bool(self._dumps))
        lines = []
        for name, streams in detail.streams.items():
            lines.append(f"{name}:")
            if isinstance(streams, str):
                lines.append(f"  {streams}")
                continue
            lines.append(f"  {'stream':<32} {'size':>10} {'offset':>10}")
            for sname, size, rva in streams:
                lines.append(f"  {sname:<32} {size:>10,} {rva:>#10x}")
        self.streams.setPlainText("\n".join(lines) if lines else "This crash has no dumps.")

    def _on_save_clicked(self) -> None:
        rows = self.dumps.selectionModel().selectedRows()
        dump = self._dumps[rows[0].row()] if rows else (self._dumps[0] if self._dumps else None)
        if dump is None:
            return
        target, _ = QFileDialog.getSaveFileName(self, "Save dump as", f"{dump['name']}.dmp",
                                                "Minidumps (*.dmp);;All files (*)")
        if target:
            try:
                Path(target).write_bytes(Path(dump["path"]).read_bytes())
            except OSError as exc:
                QMessageBox.warning(self, "Save dump", f"Cannot save the dump: {exc}")


class CrashView(QTabWidget):
    """All about one crash. ``show_crash`` takes a :class:`CrashDetail` prepared off the GUI thread."""

    fetch_symbols_requested = Signal(str)  # crash id
    reprocess_requested = Signal(str)  # crash id: process it again (symbol sources were added)
    open_source_requested = Signal(str, int)  # a frame's local source file and line (double-click)

    def __init__(self, sources: SourceMap | None = None, parent=None) -> None:
        super().__init__(parent)
        self.detail: CrashDetail | None = None
        self.summary = SummaryTab()
        self.stack = StackTab(sources or SourceMap())
        self.modules = ModulesTab()
        self.annotations = AnnotationsTab()
        self.processed = QTextBrowser()
        self.raw = RawTab()
        for widget, title in zip((self.summary, self.stack, self.modules, self.annotations, self.processed,
                                  self.raw), TABS, strict=True):
            self.addTab(widget, title)
        self.modules.fetch_button.clicked.connect(self._on_fetch_clicked)
        self.modules.retry_button.clicked.connect(self._on_fetch_clicked)
        self.summary.reprocess_button.clicked.connect(self._on_reprocess_clicked)
        self.stack.frames.doubleClicked.connect(self._on_frame_double_clicked)
        self._stale: set[int] = set()
        self.currentChanged.connect(self._on_current_changed)
        self.placeholder = QLabel("Select a crash to see its details.")
        self.setEnabled(False)

    def show_crash(self, detail: CrashDetail) -> None:
        """Show ``detail``: the visible tab is filled now, the others when they are first shown."""
        self.detail = detail
        self.setEnabled(True)
        self._stale = set(range(self.count()))
        self._fill(self.currentIndex())

    def _fill(self, index: int) -> None:
        if self.detail is None or index not in self._stale:
            return
        self._stale.discard(index)
        detail = self.detail
        widget = self.widget(index)
        if widget is self.processed:
            body = detail.processed_html or "<p>Not processed yet.</p>"
            if detail.server_html:  # a synced crash: the server's whole processed crash too
                body = ("<h3>Processed here</h3>" + body + "<h3>The server's processed crash</h3>"
                        + detail.server_html)
            self.processed.setHtml(body)
        else:
            widget.show_crash(detail)

    def fill_all(self) -> None:
        """Fill every tab now (tests, screenshots)."""
        for index in range(self.count()):
            self._fill(index)

    def _on_current_changed(self, index: int) -> None:
        self._fill(index)

    def clear(self) -> None:  # type: ignore[override] - keep the tabs, drop the crash
        self.detail = None
        self.setEnabled(False)

    def _on_reprocess_clicked(self) -> None:
        if self.detail is not None:
            self.summary.reprocess_button.setEnabled(False)
            emit(self.reprocess_requested, self.detail.crash_id)

    def _on_frame_double_clicked(self, index: QModelIndex) -> None:
        """A frame with local source opens it (the source pane at its line, and the file itself); one without
        opens its module on the Modules tab (where its symbols came from, or were looked for)."""
        frame = index.data(FrameRole) if index.isValid() else None
        if not frame:
            return
        path = self.stack.source_path(frame)
        if path is not None:
            line = int(frame.get("line") or 1)
            self.stack.focus_source_line(line)
            emit(self.open_source_requested, str(path), line)
            return
        module = frame.get("module") or (frame.get("_inline_of") or {}).get("module")
        if module:
            self._fill(self.indexOf(self.modules))
            self.setCurrentWidget(self.modules)
            self.modules.select_module(module)

    def _on_fetch_clicked(self) -> None:
        if self.detail is not None:
            emit(self.fetch_symbols_requested, self.detail.crash_id)
