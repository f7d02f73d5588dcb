"""The regeneration workbench: what would a rule or list change do to the signatures we have?

Choose or create a signature profile, edit its lists (line numbers, bad regular expressions marked live),
run regeneration over a query in the background (progress, cancel), read the result (changed crashes
old -> new, buckets that merge and split, unchanged), then apply or discard it. Applied runs are listed with
an Undo. Back end: :mod:`crashdesk.services.regeneration` and :mod:`crashdesk.engine.signature`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from crashdesk.ui.jobs import Cancelled, Jobs
from crashdesk.ui.qt import (
    QAbstractItemView,
    QAction,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStandardItem,
    QStandardItemModel,
    Qt,
    QTableView,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)
from crashdesk.ui.views.list_editor import ListEditor

#: list name -> (tab title, file name): the engine's names (siggen's files)
LISTS = (
    ("sentinels", "Sentinels", "signature_sentinels.txt"),
    ("irrelevant", "Irrelevant", "irrelevant_signature_re.txt"),
    ("prefix", "Prefix", "prefix_signature_re.txt"),
    ("line_numbers", "Line numbers", "signatures_with_line_numbers_re.txt"),
    ("module_rules", "Modules", "module_rules.txt"),  # +app/-app module rules (the generic walk)
)
#: below this many crashes regeneration signs in the app's process; above, in worker processes
IN_PROCESS_LIMIT = 2000
PAIR_ROLE = Qt.ItemDataRole.UserRole + 1


def profile_texts(name: str, profiles_dir: Path | None) -> tuple[dict[str, str], bool, str]:
    """``({file name: text}, editable, where)`` for a profile: a folder's files as they are on disk (comments
    included); the built-ins read-only from where the engine reads them."""
    from crashdesk.engine.signature import resolve_profile

    profile = resolve_profile(name, profiles_dir)
    source = profile.source
    if source == "builtin:mozilla":
        from crashdesk.engine.signature.profiles import siggen_list_texts

        raw = siggen_list_texts()
        return ({f: raw[f].decode("utf-8", "replace") if f in raw else "" for _, _, f in LISTS}, False,
                "built-in (siggen's lists, read-only: create a profile to edit)")
    if source == "builtin:generic":  # the shipped texts, with each entry's reason
        from crashdesk.engine.signature import generic_lists
        from crashdesk.engine.signature.profiles import _FILES

        return ({_FILES[n]: t for n, t in generic_lists.texts().items()}, False,
                "built-in (read-only: create a profile to edit)")
    if source.startswith("builtin:"):
        return (profile.lists.as_texts(f"{profile.name}: {profile.follows}"), False,
                "built-in (read-only: create a profile to edit)")
    folder = Path(source)
    texts = {}
    for _, _, filename in LISTS:
        path = folder / filename
        texts[filename] = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return texts, True, str(folder)


class RegenerationWorkbench(QWidget):
    """Profiles, list editor, regeneration runs with apply/discard and undo."""

    run_finished = Signal(object)  # RegenerationRun
    run_failed = Signal(str)
    applied = Signal(str)  # run id
    undone = Signal(str, int)  # run id, crashes restored
    history_loaded = Signal()
    profile_loaded = Signal(str)
    explain_requested = Signal(str, str)  # crash id, profile name: stored vs regenerated
    compare_signatures_requested = Signal(object, object)  # old, new signature

    def __init__(self, store: Any, jobs: Jobs, profiles_dir: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs
        self.profiles_dir = Path(profiles_dir) if profiles_dir else None
        self.run: Any = None
        self.job: Any = None
        self.editable = False
        self._loaded_texts: dict[str, str] = {}
        self._profile_gen = 0

        # --- profile and lists (left)
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profile_combo")
        self.profile_combo.setMinimumWidth(160)
        self.profile_combo.currentTextChanged.connect(self.load_profile)
        self.new_button = QToolButton()
        self.new_button.setText("New profile…")
        self.new_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.new_button)
        for base, title in (("mozilla", "Copy of the Mozilla profile (siggen's lists)…"),
                            ("generic", "Copy of the generic profile…")):
            act = QAction(title, self)
            act.triggered.connect(lambda _=False, b=base: self._ask_new_profile(b))
            menu.addAction(act)
        self.new_button.setMenu(menu)
        self.save_button = QPushButton("Save lists")
        self.save_button.clicked.connect(self.save_lists)
        self.profile_info = QLabel()
        self.profile_info.setWordWrap(True)
        self.profile_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Profile:"))
        row.addWidget(self.profile_combo, 1)
        row.addWidget(self.new_button)
        row.addWidget(self.save_button)
        self.list_tabs = QTabWidget()
        self.editors: dict[str, ListEditor] = {}
        for name, title, filename in LISTS:
            editor = ListEditor()
            editor.setObjectName(f"list_editor_{name}")
            editor.validated.connect(self._on_validated)
            self.editors[filename] = editor
            self.list_tabs.addTab(editor, title)
        self.validation = QLabel()
        self.validation.setObjectName("validation_label")
        self.validation.setWordWrap(True)
        self.validation.linkActivated.connect(self._go_to_error)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(row)
        ll.addWidget(self.profile_info)
        ll.addWidget(self.list_tabs, 1)
        ll.addWidget(self.validation)

        # --- run and results (right)
        self.query_edit = QLineEdit()
        self.query_edit.setPlaceholderText("crashes to regenerate (query; empty = all)")
        self.query_edit.setObjectName("regenerate_query")
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        run_row = QHBoxLayout()
        run_row.addWidget(QLabel("Query:"))
        run_row.addWidget(self.query_edit, 1)
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        self.summary = QLabel("No run yet: edit a profile's lists, then Run to see what would change.")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("run_summary")

        self.changed_model = QStandardItemModel(0, 3, self)
        self.changed_model.setHorizontalHeaderLabels(["Old signature", "New signature", "Crashes"])
        self.changed_view = QTableView()
        self.changed_view.setObjectName("changed_table")
        self.changed_view.setModel(self.changed_model)
        self.changed_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changed_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.changed_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.changed_view.verticalHeader().hide()
        self.changed_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.changed_view.horizontalHeader().setStretchLastSection(True)
        self.changed_view.setColumnWidth(0, 320)
        self.changed_view.setColumnWidth(1, 320)
        self.changed_view.doubleClicked.connect(lambda _i: self.explain_selected())
        self.merges = QTreeWidget()
        self.merges.setObjectName("merges_tree")
        self.merges.setHeaderLabels(["New signature ← old signatures", "Crashes"])
        self.splits = QTreeWidget()
        self.splits.setObjectName("splits_tree")
        self.splits.setHeaderLabels(["Old signature → new signatures", "Crashes"])
        for tree in (self.merges, self.splits):
            tree.setColumnWidth(0, 420)
        self.unchanged = QLabel()
        self.unchanged.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.unchanged.setWordWrap(True)
        self.result_tabs = QTabWidget()
        self.result_tabs.addTab(self.changed_view, "Changed")
        self.result_tabs.addTab(self.merges, "Merges")
        self.result_tabs.addTab(self.splits, "Splits")
        self.result_tabs.addTab(self.unchanged, "Unchanged")

        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Write the new signatures into the store (undo from the history below)")
        self.apply_button.clicked.connect(self.apply)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard)
        self.explain_button = QPushButton("Stored vs regenerated…")
        self.explain_button.setToolTip("Compare a changed crash's stored signature with the regenerated one, "
                                       "with the notes explaining each step")
        self.explain_button.clicked.connect(self.explain_selected)
        self.compare_button = QPushButton("Compare old / new…")
        self.compare_button.setToolTip("Compare the representative crashes of the old and the new signature")
        self.compare_button.clicked.connect(self.compare_selected)
        act_row = QHBoxLayout()
        for b in (self.apply_button, self.discard_button):
            act_row.addWidget(b)
        act_row.addStretch(1)
        act_row.addWidget(self.explain_button)
        act_row.addWidget(self.compare_button)

        self.history_model = QStandardItemModel(0, 4, self)
        self.history_model.setHorizontalHeaderLabels(["Applied", "Profile", "Crashes", "Run id"])
        self.history_view = QTableView()
        self.history_view.setObjectName("history_table")
        self.history_view.setModel(self.history_model)
        self.history_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history_view.verticalHeader().hide()
        self.history_view.horizontalHeader().setStretchLastSection(True)
        self.history_view.setColumnWidth(0, 140)
        self.undo_button = QPushButton("Undo run")
        self.undo_button.clicked.connect(self.undo_selected)
        hist_row = QHBoxLayout()
        hist_row.addWidget(QLabel("Applied runs (signature history)"), 1)
        hist_row.addWidget(self.undo_button)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(run_row)
        rl.addWidget(self.progress)
        rl.addWidget(self.summary)
        rl.addWidget(self.result_tabs, 3)
        rl.addLayout(act_row)
        rl.addLayout(hist_row)
        rl.addWidget(self.history_view, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([520, 700])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(split)
        self._set_result_buttons()
        self.refresh_profiles()
        self.refresh_history()
        self._open_usual_profile()

    # ------------------------------------------------------------------ profiles and lists

    def refresh_profiles(self, select: str | None = None) -> None:
        from crashdesk.engine.signature import list_profiles

        current = select or self.profile_combo.currentText() or "mozilla"
        names = list_profiles(self.profiles_dir)
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItems(names)
        self.profile_combo.setCurrentIndex(max(0, names.index(current) if current in names else 0))
        self.profile_combo.blockSignals(False)
        self.load_profile(self.profile_combo.currentText())

    def _open_usual_profile(self) -> None:
        """Open the profile the store's newest crashes were signed with (``generic`` for a store of non-Mozilla
        products) instead of ``mozilla``, unless another profile was picked meanwhile."""
        from crashdesk.engine.signature import list_profiles
        from crashdesk.services.regeneration import usual_profile

        store, first = self.store, self.profile_name
        self.usual_checked = False  # the store was asked (tests wait for it)

        def done(name: str | None) -> None:
            self.usual_checked = True
            if name and name != first and self.profile_name == first and name in list_profiles(self.profiles_dir):
                self.refresh_profiles(select=name)

        def failed(_exc: BaseException) -> None:  # an unreadable store: the first profile stays
            self.usual_checked = True
        self.jobs.submit(lambda c, r: usual_profile(store), on_done=done, on_error=failed)

    @property
    def profile_name(self) -> str:
        return self.profile_combo.currentText()

    def load_profile(self, name: str) -> None:
        if not name:
            return
        pdir = self.profiles_dir
        self._profile_gen += 1
        gen = self._profile_gen
        self.profile_info.setText(f"Loading {name}…")
        self.jobs.submit(lambda c, r: profile_texts(name, pdir),
                         on_done=lambda res: self._on_profile(gen, name, res),
                         on_error=lambda exc: self.profile_info.setText(f"Cannot load profile {name}: {exc}"))

    def _on_profile(self, gen: int, name: str, result: tuple[dict[str, str], bool, str]) -> None:
        if gen != self._profile_gen or name != self.profile_name:
            return
        texts, editable, where = result
        self.editable = editable
        self._loaded_texts = dict(texts)
        for _, _, filename in LISTS:
            editor = self.editors[filename]
            editor.set_list_text(texts.get(filename, ""), filename)
            editor.setReadOnly(not editable)
        self.save_button.setEnabled(editable)
        self.profile_info.setText(f"<b>{name}</b> — {where}")
        emit(self.profile_loaded, name)

    def _ask_new_profile(self, base: str) -> None:
        name, ok = QInputDialog.getText(self, "New signature profile",
                                        f"Name of the new profile (a copy of {base}):")
        if ok and name.strip():
            self.create_profile(name.strip(), base)

    def create_profile(self, name: str, base: str = "mozilla") -> None:
        """Create ``<profiles>/<name>/`` as a copy of a built-in profile (in the background) and select it."""
        from crashdesk.engine.signature import create_generic_profile, create_profile_from_mozilla

        if self.profiles_dir is None:
            self.profile_info.setText("No profiles folder is configured")
            return
        if not name or name in (".", "..") or "/" in name or os.sep in name or name in ("mozilla", "generic"):
            self.profile_info.setText(f"Cannot name a profile {name!r}: use a plain name other than the built-ins")
            return
        dest = self.profiles_dir / name
        make = create_profile_from_mozilla if base == "mozilla" else create_generic_profile
        self.jobs.submit(lambda c, r: make(dest, name), write=True,
                         on_done=lambda _p: self.refresh_profiles(select=name),
                         on_error=lambda exc: self.profile_info.setText(f"Cannot create profile: {exc}"))

    def _on_validated(self, _errors: list) -> None:
        bad = [(f, e) for f, ed in self.editors.items() for e in ed.errors]
        if not bad:
            self.validation.setText("All list entries are valid (regular expressions; module rules).")
            self.validation.setStyleSheet("color: #2e7d32")
            return
        links = [f'<a href="{f}:{e.line}">{f} line {e.line}</a>: {_html(e.message)}' for f, e in bad[:5]]
        more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
        self.validation.setText("<br>".join(links) + more)
        self.validation.setStyleSheet("color: #c0392b")

    def _go_to_error(self, link: str) -> None:
        filename, _, line = link.rpartition(":")
        for i, (_, _, f) in enumerate(LISTS):
            if f == filename:
                self.list_tabs.setCurrentIndex(i)
                self.editors[f].go_to_line(int(line))

    def errors(self) -> dict[str, list]:
        """Bad lines per list file, checked now (empty when every list is valid)."""
        out = {}
        for filename, editor in self.editors.items():
            bad = editor.validate()
            if bad:
                out[filename] = list(bad)
        return out

    def dirty(self) -> bool:
        return any(ed.toPlainText() != self._loaded_texts.get(f, "") for f, ed in self.editors.items())

    def save_lists(self) -> bool:
        """Write the edited lists into the profile folder; refuses (and says where) while a line is bad."""
        if not self.editable:
            self.profile_info.setText("Built-in profiles are read-only: create a profile to edit its lists")
            return False
        bad = self.errors()
        if bad:
            filename, errs = next(iter(bad.items()))
            self.validation.setText(f"Not saved: {filename} line {errs[0].line}: {_html(errs[0].message)}")
            return False
        folder = self.profiles_dir / self.profile_name
        for filename, editor in self.editors.items():
            text = editor.toPlainText()
            if text != self._loaded_texts.get(filename, ""):
                (folder / filename).write_text(text if text.endswith("\n") or not text else text + "\n",
                                               encoding="utf-8")
                self._loaded_texts[filename] = text
        self.profile_info.setText(f"<b>{self.profile_name}</b> — saved to {folder}")
        return True

    # ------------------------------------------------------------------ runs

    def set_query(self, query: str) -> None:
        self.query_edit.setText(query or "")

    def start_run(self) -> None:
        """Regenerate the query's crashes with the chosen profile in the background."""
        from crashdesk.services.regeneration import compute_run

        if self.job is not None:
            return
        if self.editable and self.dirty() and not self.save_lists():
            emit(self.run_failed, "fix the marked list lines first")
            return
        store, name, pdir, query = self.store, self.profile_name, self.profiles_dir, self.query_edit.text()

        def work(cancel, report):
            total = store.search(query, limit=0).total
            report(0.0, f"Signing 0/{total} crashes with {name}")
            done = [0]

            def progress(n: int) -> None:
                done[0] += n
                report(done[0] / max(1, total), f"Signing {done[0]}/{total} crashes with {name}")
                cancel.check()

            cancel.check()
            processes = 1 if total < IN_PROCESS_LIMIT else min(4, os.cpu_count() or 1)
            return compute_run(store, name, query=query, profiles_dir=pdir, processes=processes,
                               progress=progress)

        self.discard(quiet=True)
        self.summary.setText(f"Regenerating with {name}…")
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = self.jobs.submit(work, on_done=self._on_run_done, on_error=self._on_run_failed,
                                    on_progress=self._on_run_progress, title=f"Regenerating with {name}",
                                    visible=True)

    def cancel_run(self) -> None:
        if self.job is not None:
            self.job.cancel.cancel()
            self.summary.setText("Cancelling…")

    def _on_run_progress(self, fraction: float, text: str) -> None:
        if fraction >= 0:
            self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(text or "%p%")

    def _run_ended(self) -> None:
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_run_failed(self, exc: BaseException) -> None:
        self._run_ended()
        message = "Run cancelled: nothing was changed" if isinstance(exc, Cancelled) else f"Run failed: {exc}"
        self.summary.setText(message)
        self.progress.setFormat(message)
        self._set_result_buttons()
        emit(self.run_failed, message)

    def _on_run_done(self, run: Any) -> None:
        self._run_ended()
        self.run = run
        self.progress.setValue(1000)
        self.progress.setFormat("Done")
        self._show_run(run)
        emit(self.run_finished, run)

    def _show_run(self, run: Any) -> None:
        rep = run.report
        scope = f" matching {run.query!r}" if run.query.strip() else ""
        skipped = f"; {run.skipped} not processed yet (not signed)" if run.skipped else ""
        self.summary.setText(
            f"<b>{run.profile.name}</b> over {rep.total} crash(es){scope}: <b>{rep.changed} changed</b>, "
            f"{rep.unchanged} unchanged; buckets {rep.old_buckets} → {rep.new_buckets}, {len(rep.merges)} merge(s), "
            f"{len(rep.splits)} split(s){skipped}. Not applied yet.")
        self.changed_model.removeRows(0, self.changed_model.rowCount())
        for (old, new), count in rep.pairs.most_common():
            items = [QStandardItem(old or "(none)"), QStandardItem(new or "(empty)"), QStandardItem(str(count))]
            items[0].setData((old, new), PAIR_ROLE)
            for it, text in zip(items, (old, new), strict=False):
                it.setToolTip(text or "")
            items[2].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.changed_model.appendRow(items)
        if self.changed_model.rowCount():
            self.changed_view.selectRow(0)
        _fill_tree(self.merges, rep.merges)
        _fill_tree(self.splits, rep.splits)
        self.result_tabs.setTabText(0, f"Changed ({rep.changed})")
        self.result_tabs.setTabText(1, f"Merges ({len(rep.merges)})")
        self.result_tabs.setTabText(2, f"Splits ({len(rep.splits)})")
        self.result_tabs.setTabText(3, f"Unchanged ({rep.unchanged})")
        self.unchanged.setText(f"{rep.unchanged} crash(es) keep their signature with {run.profile.name}."
                               if rep.total else "No processed crash matches the query.")
        self._set_result_buttons()

    def _set_result_buttons(self) -> None:
        pending = self.run is not None and self.run.run_id is None
        self.apply_button.setEnabled(pending and bool(self.run.report.changed))
        self.discard_button.setEnabled(pending)
        has_pairs = self.run is not None and bool(self.run.report.pairs)
        self.explain_button.setEnabled(has_pairs)
        self.compare_button.setEnabled(has_pairs)

    def discard(self, quiet: bool = False) -> None:
        self.run = None
        self.changed_model.removeRows(0, self.changed_model.rowCount())
        self.merges.clear()
        self.splits.clear()
        self.unchanged.setText("")
        for i, title in enumerate(("Changed", "Merges", "Splits", "Unchanged")):
            self.result_tabs.setTabText(i, title)
        if not quiet:
            self.summary.setText("Discarded: nothing was changed.")
        self._set_result_buttons()

    def apply(self) -> None:
        from crashdesk.services.regeneration import apply_run

        run, store = self.run, self.store
        if run is None or run.run_id is not None:
            return
        self.apply_button.setEnabled(False)
        self.jobs.submit(lambda c, r: apply_run(store, run), write=True, on_done=self._on_applied,
                         title=f"Applying {run.report.changed} new signature(s)", visible=True,
                         on_error=lambda exc: self.summary.setText(f"Apply failed: {exc}"))

    def _on_applied(self, run_id: str) -> None:
        self.summary.setText(f"Applied: {self.run.report.changed} crash(es) got new signatures (run {run_id}).")
        self._set_result_buttons()
        self.refresh_history()
        emit(self.applied, run_id)

    def selected_pair(self) -> tuple[str | None, str] | None:
        rows = self.changed_view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.changed_model.item(rows[0].row(), 0).data(PAIR_ROLE)

    def explain_selected(self) -> None:
        pair = self.selected_pair()
        if pair is None or self.run is None:
            return
        crash_id = next((cid for cid, p in self.run.report.changes.items() if tuple(p) == tuple(pair)), None)
        if crash_id is not None:
            emit(self.explain_requested, crash_id, self.run.profile.name)

    def compare_selected(self) -> None:
        pair = self.selected_pair()
        if pair is not None:
            emit(self.compare_signatures_requested, pair[0], pair[1])

    # ------------------------------------------------------------------ history

    def refresh_history(self) -> None:
        from crashdesk.services.regeneration import applied_runs

        store = self.store
        self.jobs.submit(lambda c, r: applied_runs(store), on_done=self._on_history, on_error=lambda exc: None)

    def _on_history(self, runs: list[dict]) -> None:
        self.history_model.removeRows(0, self.history_model.rowCount())
        for run in runs:
            items = [QStandardItem((run["created_at"] or "")[:19].replace("T", " ")), QStandardItem(run["profile"]),
                     QStandardItem(str(run["crashes"])), QStandardItem(run["run_id"])]
            items[0].setData(run["run_id"], PAIR_ROLE)
            self.history_model.appendRow(items)
        self.undo_button.setEnabled(bool(runs))
        if runs:
            self.history_view.selectRow(0)
        emit(self.history_loaded)

    def undo_selected(self) -> None:
        from crashdesk.services.regeneration import undo_run

        rows = self.history_view.selectionModel().selectedRows()
        if not rows:
            return
        run_id = self.history_model.item(rows[0].row(), 0).data(PAIR_ROLE)
        store = self.store
        self.undo_button.setEnabled(False)
        self.jobs.submit(lambda c, r: undo_run(store, run_id), write=True,
                         on_done=lambda n: self._on_undone(run_id, n),
                         on_error=lambda exc: self.summary.setText(f"Undo failed: {exc}"))

    def _on_undone(self, run_id: str, restored: int) -> None:
        self.summary.setText(f"Undone: run {run_id} — {restored} crash(es) got their previous signature back.")
        if self.run is not None and self.run.run_id == run_id:
            self.run = None
            self.discard(quiet=True)
        self.refresh_history()
        emit(self.undone, run_id, restored)


def _fill_tree(tree: QTreeWidget, groups: dict[str, dict[str, int]]) -> None:
    tree.clear()
    for key, members in sorted(groups.items(), key=lambda kv: -sum(kv[1].values())):
        top = QTreeWidgetItem([key or "(none)", str(sum(members.values()))])
        for sig, n in sorted(members.items(), key=lambda kv: -kv[1]):
            top.addChild(QTreeWidgetItem([sig or "(none)", str(n)]))
        tree.addTopLevelItem(top)
        top.setExpanded(True)


def _html(text: str) -> str:
    from html import escape

    return escape(text)
