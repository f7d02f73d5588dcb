"""Side by side: two crashes, two signatures (their representative crashes), or a crash's stored signature
next to the one a profile gives now, with the generator's notes.

The comparison itself is :mod:`crashdesk.services.compare`; this view loads it in a background job and shows
aligned frames with the differing fields highlighted, frames the signature skipped marked, and the
annotations and modules that differ.
"""

from __future__ import annotations

from typing import Any

from crashdesk.ui.jobs import Jobs
from crashdesk.ui.qt import (
    QAbstractItemView,
    QBrush,
    QColor,
    QFont,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QStandardItem,
    QStandardItemModel,
    Qt,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)

SIDE_FIELDS = ("module", "function", "module_offset", "trust")
FRAME_HEADERS = ("#", "Module", "Function", "Offset", "Trust", "Role", "", "#", "Module", "Function", "Offset",
                 "Trust", "Role")
CHANGED = QColor("#ffe08a")
LEFT_ONLY = QColor("#f8c4c0")
RIGHT_ONLY = QColor("#c5e8c0")
SKIPPED = QColor("#8a8a8a")
STATUS_TEXT = {"same": "=", "changed": "≠", "left-only": "◀", "right-only": "▶"}
FATE_TEXT = {
    "cut": "cut (above the sentinel)", "empty": "empty", "irrelevant": "skipped: irrelevant",
    "merged": "merged with the frame before", "prefix": "kept (prefix, walk goes on)",
    "stop": "kept (walk stops)", "fallback": "kept (fallback)", "unused": "not reached",
}


def _table(name: str) -> tuple[QTableView, QStandardItemModel]:
    model = QStandardItemModel()
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().hide()
    view.setWordWrap(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    return view, model


def _item(text: Any, tooltip: str = "") -> QStandardItem:
    item = QStandardItem("" if text is None else str(text))
    if tooltip:
        item.setToolTip(tooltip)
    return item


def _side(frame: dict | None, index: int | None, role: str, differs: tuple[str, ...], status: str
          ) -> list[QStandardItem]:
    if frame is None:
        items = [_item("") for _ in range(6)]
        for it in items:
            it.setBackground(QBrush(QColor("#eeeeee")))
        return items
    items = [_item(index)] + [_item(frame.get(k)) for k in SIDE_FIELDS]
    offset = frame.get("module_offset")
    if isinstance(offset, str) and offset.startswith("0x"):
        items[3].setText("0x" + (offset[2:].lstrip("0") or "0"))  # short form; the tooltip has it all
        items[3].setToolTip(offset)
    items.append(_item({"signature": "in signature", "skipped": "skipped"}.get(role, ""),
                       {"signature": "this frame's function is part of the signature",
                        "skipped": "above the signature's last frame but not part of it: the signature skipped it",
                        }.get(role, "")))
    if frame.get("file"):
        items[2].setToolTip(f"{frame.get('file')}:{frame.get('line') or ''}")
    if status in ("left-only", "right-only"):
        for it in items:
            it.setBackground(QBrush(LEFT_ONLY if status == "left-only" else RIGHT_ONLY))
    for k in differs:
        items[1 + SIDE_FIELDS.index(k)].setBackground(QBrush(CHANGED))
    if role == "signature":
        font = QFont()
        font.setBold(True)
        items[2].setFont(font)
    elif role == "skipped":
        font = QFont()
        font.setItalic(True)
        for it in items:
            it.setForeground(QBrush(SKIPPED))
            it.setFont(font)
    return items


class CompareView(QWidget):
    """Shows one comparison at a time; ``compare_*`` load it in the background."""

    loaded = Signal(str)  # "crashes" | "signatures" | "explanation"
    failed = Signal(str)

    def __init__(self, store: Any, jobs: Jobs, *, profiles_dir: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs
        self.profiles_dir = profiles_dir
        self.comparison: Any = None
        self.explanation: Any = None
        self._gen = 0
        self.title = QLabel("Nothing compared yet")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.left_label = QLabel()
        self.right_label = QLabel()
        for lab in (self.left_label, self.right_label):
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lab.setWordWrap(True)
        self.legend = QLabel(
            "<span style='background:#ffe08a'>&nbsp;highlighted&nbsp;</span> fields differ · "
            "<span style='background:#f8c4c0'>&nbsp;◀&nbsp;</span> only left · "
            "<span style='background:#c5e8c0'>&nbsp;▶&nbsp;</span> only right · <b>bold</b>: in the signature · "
            "<i style='color:#8a8a8a'>grey italic</i>: skipped by the signature")
        self.tabs = QTabWidget()
        self.frames_view, self.frames = _table("compare_frames")
        self.annotations_view, self.annotations = _table("compare_annotations")
        self.modules_view, self.modules = _table("compare_modules")
        self.notes_view, self.notes = _table("compare_notes")
        self.notes_text = QPlainTextEdit()
        self.notes_text.setReadOnly(True)
        self.notes_text.setObjectName("compare_notes_text")
        notes_page = QWidget()
        nl = QVBoxLayout(notes_page)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.addWidget(self.notes_view, 2)
        nl.addWidget(self.notes_text, 1)
        self.tabs.addTab(self.frames_view, "Stacks")
        self.tabs.addTab(self.annotations_view, "Annotations")
        self.tabs.addTab(self.modules_view, "Modules")
        self.tabs.addTab(notes_page, "Signature notes")
        # three-way: A, B and the typical stack of A's signature group (services.three_way)
        self.three_way: Any = None
        self.three_view, self.three = _table("compare_three_way")
        self.tabs.addTab(self.three_view, "Typical stack (3-way)")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.left_label)
        lay.addWidget(self.right_label)
        lay.addWidget(self.legend)
        lay.addWidget(self.tabs, 1)

    # ------------------------------------------------------------------ loading

    def _run(self, kind: str, fn, title: str) -> None:
        self._gen += 1
        gen = self._gen
        self.title.setText(f"Loading… {title}")
        self.jobs.submit(lambda c, r: fn(), on_done=lambda res: self._on_loaded(gen, kind, title, res),
                         on_error=lambda exc: self._on_failed(gen, f"{title}: {exc}"))

    def compare_crashes(self, left_id: str, right_id: str) -> None:
        from crashdesk.services.compare import compare_crashes

        store = self.store
        self._run("crashes", lambda: compare_crashes(store.get(left_id), store.get(right_id)),
                  f"crash {left_id} ◀▶ crash {right_id}")
        self.compare_three_way(left_id, right_id)

    three_way_loaded = Signal()

    def compare_typical(self, crash_id: str) -> None:
        """One crash against the typical stack of its signature group (the 3-way tab, without B)."""
        self._gen += 1
        self.title.setText(f"crash {crash_id} ◀▶ the typical stack of its signature group")
        self.tabs.setCurrentWidget(self.three_view)
        self.compare_three_way(crash_id, None)

    def compare_three_way(self, left_id: str, right_id: str) -> None:
        """Fill the 3-way tab: A, B and the typical stack of A's signature group."""
        from crashdesk.services.three_way import three_way

        store, gen = self.store, self._gen
        self.three.clear()
        self.jobs.submit(lambda c, r: three_way(store, left_id, right_id),
                         on_done=lambda res: self._show_three_way(gen, res))

    def _show_three_way(self, gen: int, result: Any) -> None:
        if gen != self._gen:
            return
        self.three_way = result
        m = self.three
        m.clear()
        m.setHorizontalHeaderLabels(["#", f"Typical of {result.signature or '(no signature)'} "
                                     f"({result.group_size} crashes)", "Share", "A", "B"])
        differ = QBrush(QColor("#ffe08a"))
        for r in result.rows:
            t = r.typical
            cells = [_item(r.index), _item(t.function if t else "", t.function if t else ""),
                     _item(f"{t.share:.0%}" if t else "", f"{t.crashes} of {result.group_size} crashes" if t else ""),
                     _item(r.a or "", r.a or ""), _item(r.b or "", r.b or "")]
            if "a-typical" in r.differs:
                cells[3].setBackground(differ)
            if "b-typical" in r.differs:
                cells[4].setBackground(differ)
            m.appendRow(cells)
        self.three_view.resizeColumnsToContents()
        for col in (1, 3, 4):
            self.three_view.setColumnWidth(col, min(self.three_view.columnWidth(col), 380))
        emit(self.three_way_loaded)

    def compare_signatures(self, left: str | None, right: str | None) -> None:
        from crashdesk.services.compare import compare_signatures

        store = self.store
        self._run("signatures", lambda: compare_signatures(store, left, right),
                  f"signature {left or '(none)'} ◀▶ signature {right or '(none)'}")

    def explain(self, crash_id: str, profile: Any) -> None:
        """Stored signature of ``crash_id`` next to what ``profile`` (name or Profile) gives now."""
        from crashdesk.services.compare import compare_crashes, explain_signature

        store, pdir = self.store, self.profiles_dir

        def load():
            explanation = explain_signature(store, crash_id, profile, pdir)
            crash = store.get(crash_id)
            history = list(crash.get("signature_history") or [])
            return explanation, compare_crashes(crash, {**crash, "signature": explanation.regenerated.signature}), \
                history

        name = getattr(profile, "name", profile)
        self._run("explanation", load, f"crash {crash_id}: stored signature ◀▶ regenerated with {name}")

    def _on_failed(self, gen: int, message: str) -> None:
        if gen == self._gen:
            self.title.setText(message)
            emit(self.failed, message)

    def _on_loaded(self, gen: int, kind: str, title: str, result: Any) -> None:
        if gen != self._gen:
            return
        if kind == "explanation":
            explanation, comparison, history = result
            self.show_comparison(comparison, title)
            self.show_explanation(explanation, history)
            self.left_label.setText(f"◀ stored: <b>{_esc(explanation.stored)}</b> "
                                    f"({_esc(explanation.stored_profile or 'no profile')})"
                                    + (f"; server: {_esc(explanation.server)}" if explanation.server else ""))
            self.right_label.setText(f"▶ regenerated with {_esc(explanation.profile)}: "
                                     f"<b>{_esc(explanation.regenerated.signature)}</b>")
            self.tabs.setCurrentIndex(3)
        elif result is None:
            self.title.setText(f"{title}: one of the signatures has no processed crash to compare")
            emit(self.failed, self.title.text())
            return
        else:
            self.show_comparison(result, title)
            self.tabs.setCurrentIndex(0)
        emit(self.loaded, kind)

    # ------------------------------------------------------------------ showing

    def show_comparison(self, cmp: Any, title: str = "") -> None:
        self.comparison = cmp
        self.explanation = None
        changed = sum(1 for r in cmp.frames if r.status != "same")
        self.title.setText(f"{title}\n{cmp.identical_frames} identical frame(s), {changed} differing; "
                           f"{len(cmp.annotations)} annotation(s) and {len(cmp.modules)} module(s) differ"
                           + ("".join(f"\n{n}" for n in cmp.notes)))
        self.left_label.setText(f"◀ {cmp.left_id}: <b>{_esc(cmp.left_signature)}</b>")
        self.right_label.setText(f"▶ {cmp.right_id}: <b>{_esc(cmp.right_signature)}</b>")
        self.frames.clear()
        self.frames.setHorizontalHeaderLabels(list(FRAME_HEADERS))
        li = ri = 0
        for row in cmp.frames:
            left = _side(row.left, li if row.left is not None else None, row.left_role, row.differs, row.status)
            right = _side(row.right, ri if row.right is not None else None, row.right_role, row.differs,
                          row.status)
            li += row.left is not None
            ri += row.right is not None
            mid = _item(STATUS_TEXT.get(row.status, row.status),
                        row.status + (f": {', '.join(row.differs)} differ" if row.differs else ""))
            mid.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.frames.appendRow(left + [mid] + right)
        for col, width in enumerate((30, 120, 240, 80, 60, 85, 24, 30, 120, 240, 80, 60, 85)):
            self.frames_view.setColumnWidth(col, width)
        self.annotations.clear()
        self.annotations.setHorizontalHeaderLabels(["Annotation", cmp.left_id, cmp.right_id])
        for key, a, b in cmp.annotations:
            items = [_item(key), _item(_short(a), str(a)), _item(_short(b), str(b))]
            for it, value in zip(items[1:], (a, b), strict=True):
                if value is None:
                    it.setText("(absent)")
                    it.setForeground(QBrush(SKIPPED))
                else:
                    it.setBackground(QBrush(CHANGED))
            self.annotations.appendRow(items)
        self.annotations_view.setColumnWidth(0, 200)
        self.annotations_view.setColumnWidth(1, 320)
        self.modules.clear()
        self.modules.setHorizontalHeaderLabels(["Module", f"{cmp.left_id} version / debug id / symbols",
                                                f"{cmp.right_id} version / debug id / symbols"])
        for name, a, b in cmp.modules:
            self.modules.appendRow([_item(name), _module_item(a), _module_item(b)])
        self.modules_view.setColumnWidth(0, 200)
        self.modules_view.setColumnWidth(1, 380)
        self.notes.clear()
        self.notes_text.setPlainText("")

    def show_explanation(self, explanation: Any, history: list[dict] | None = None) -> None:
        """The regenerated signature's frame walk (one row per considered frame), its notes, and the crash's
        signature history (server, earlier profiles, applied runs)."""
        self.explanation = explanation
        res = explanation.regenerated
        self.notes.clear()
        self.notes.setHorizontalHeaderLabels(["#", "From", "Frame", "Normalised", "Fate", "List entry (line)"])
        for d in res.frames:
            entry = ""
            if d.get("entry"):
                entry = f"{d['entry']}  ({_base(d.get('list'))}:{d.get('line') or '?'})"
            elif isinstance(d.get("sentinel"), dict) and d["sentinel"].get("entry"):
                s = d["sentinel"]
                entry = f"sentinel {s['entry']}  ({_base(s.get('list'))}:{s.get('line') or '?'})"
            fate = d.get("fate", "")
            items = [_item(d.get("index")), _item(d.get("kind")), _item(d.get("raw")), _item(d.get("text")),
                     _item(FATE_TEXT.get(fate, fate)), _item(entry)]
            if fate in ("cut", "irrelevant", "empty", "merged"):
                for it in items:
                    it.setForeground(QBrush(SKIPPED))
            elif fate in ("prefix", "stop", "fallback"):
                font = QFont()
                font.setBold(True)
                items[3].setFont(font)
            self.notes.appendRow(items)
        for col, width in enumerate((30, 100, 240, 200, 180)):
            self.notes_view.setColumnWidth(col, width)
        lines = [f"Stored: {explanation.stored or '(none)'}  (profile {explanation.stored_profile or '-'})"]
        if explanation.server:
            lines.append(f"Server: {explanation.server}")
        lines.append(f"Regenerated with {explanation.profile}: {res.signature}")
        if res.proto_signature:
            lines.append(f"Proto signature: {res.proto_signature}")
        lines.append("")
        lines += ["Notes:"] + [f"  {n}" for n in res.notes] if res.notes else ["Notes: none"]
        if res.explanation:
            lines += ["", "Steps:"] + [f"  {step}" for step in res.explanation]
        if history:
            lines += ["", "Signature history (oldest first):"]
            for h in history:
                run = f", run {h['run_id']}" if h.get("run_id") else ""
                mark = "  (current)" if h.get("active") else ""
                lines.append(f"  {(h.get('created_at') or '')[:19]}  {h.get('profile')}{run}: {h.get('signature')}{mark}")
        self.notes_text.setPlainText("\n".join(lines))


def _base(path: Any) -> str:
    text = str(path or "")
    return text.replace("\\", "/").rsplit("/", 1)[-1]


def _short(value: Any, limit: int = 120) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _esc(text: Any) -> str:
    from html import escape

    return escape("(none)" if text is None or text == "" else str(text))


def _module_item(module: dict | None) -> QStandardItem:
    if module is None:
        item = _item("(not loaded)")
        item.setForeground(QBrush(SKIPPED))
        return item
    return _item(" / ".join(str(module.get(k) or "-") for k in ("version", "debug_id", "symbol_status")))


class CompareWindow(QWidget):
    """A top-level window around a :class:`CompareView` (one per comparison the user asks for)."""

    def __init__(self, store: Any, jobs: Jobs, *, profiles_dir: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare — CrashDesk")
        self.resize(1200, 700)
        self.view = CompareView(store, jobs, profiles_dir=profiles_dir)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
