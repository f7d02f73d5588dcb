"""File → Export: export crashes (a selection, a signature's crashes, a query) with a redaction preview.

The dialog prepares the export in the background (every crash built exactly as it will be written, with
progress and cancel), shows per annotation what happens over the whole export (kept, scrubbed, masked,
removed, with the number of crashes), whether dumps go and what of them is kept, and writes that prepared
result when the user confirms. Changing an option or a field's action prepares it again. A field's action
changed here applies to this export only; Settings → Export policy edits the stored policy.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from crashdesk.model.redaction import ACTIONS, RedactionPolicy
from crashdesk.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)

ACTION_TEXT = {"keep": "leaves as it is", "scrub": "leaves scrubbed", "mask": "masked", "remove": "removed"}


class ExportDialog(QDialog):
    """Preview and export. ``crash_ids`` and/or ``query`` (one or several search queries) say what; ``symbol_paths`` are local symbol folders
    (for the walked stack ranges and the packet's symbol files)."""

    preview_ready = Signal(object)   # the ExportPreview
    exported = Signal(str)           # the destination
    failed = Signal(str)

    def __init__(self, store: Any, jobs: Any, data_dir: Path, *, crash_ids: list[str] | None = None,
                 query: str | list[str] | None = None, what: str = "", symbol_paths: list[Path] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from crashdesk.services.sharing import load_policy

        self.setWindowTitle("Export crashes — CrashDesk")
        self.resize(860, 600)
        self.store, self.jobs, self.data_dir = store, jobs, Path(data_dir)
        self.crash_ids = list(crash_ids or [])
        self.queries = [query] if isinstance(query, str) else list(query or [])
        self.symbol_paths = list(symbol_paths or [])
        try:
            self.base_policy = load_policy(self.data_dir)
        except Exception as exc:  # noqa: BLE001 - a broken policy file: the default policy, and say so
            self.base_policy = RedactionPolicy()
            self._policy_note = f"The stored export policy could not be read ({exc}); the default policy is used."
        else:
            self._policy_note = ""
        self.overrides: dict[str, str] = {}
        self.prepared: Any = None
        self._job: Any = None
        self._generation = 0

        self.what_label = QLabel(what or f"{len(self.crash_ids)} crash(es)")
        self.what_label.setObjectName("export_what")
        self.include_dumps = QCheckBox("Include dumps, scrubbed (heap, environment and dead stack zeroed)")
        self.include_dumps.setChecked(self.base_policy.include_dumps)
        self.unscrubbed = QCheckBox("Send dumps unscrubbed (all captured memory and annotations)")
        self.unscrubbed.setChecked(not self.base_policy.scrub_dumps)
        self.include_processed = QCheckBox("Include processed crashes")
        self.include_processed.setChecked(True)
        self.packet = QCheckBox("Reproduction packet: add the symbol files used and the processing facts")
        for box in (self.include_dumps, self.unscrubbed, self.include_processed, self.packet):
            box.toggled.connect(self.refresh_preview)

        self.table = QTableWidget(0, 4)
        self.table.setObjectName("export_preview")
        self.table.setHorizontalHeaderLabels(["Annotation", "Action", "Crashes", "Why"])
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.dumps_label = QLabel()
        self.dumps_label.setObjectName("export_dumps")
        self.dumps_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.setEnabled(False)

        self.dest_edit = QLineEdit(str(Path.home() / f"crashdesk-export-{dt.date.today():%Y%m%d}.zip"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        dest_row = QHBoxLayout()
        dest_row.addWidget(QLabel("Save to"))
        dest_row.addWidget(self.dest_edit, 1)
        dest_row.addWidget(browse)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setEnabled(False)
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        self.export_button.clicked.connect(self.confirm_export)

        lay = QVBoxLayout(self)
        lay.addWidget(self.what_label)
        for box in (self.include_dumps, self.unscrubbed, self.include_processed, self.packet):
            lay.addWidget(box)
        lay.addWidget(QLabel("What leaves this machine (counts over the whole export; change an action for "
                             "this export only):"))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.dumps_label)
        prow = QHBoxLayout()
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.cancel_button)
        lay.addLayout(prow)
        lay.addWidget(self.status)
        lay.addLayout(dest_row)
        lay.addWidget(self.buttons)
        if self._policy_note:
            self.status.setText(self._policy_note)
        self.refresh_preview()

    # ------------------------------------------------------------------ policy of this export

    def policy(self) -> RedactionPolicy:
        policy = RedactionPolicy.from_json(self.base_policy.to_json())
        for name, action in self.overrides.items():
            policy.set_rule(name, action)
        policy.include_dumps = self.include_dumps.isChecked()
        policy.scrub_dumps = not self.unscrubbed.isChecked()
        return policy

    def set_action(self, name: str, action: str) -> None:
        """Change what happens to the annotation ``name`` in this export and prepare it again."""
        self.overrides[name] = action
        self.refresh_preview()

    # ------------------------------------------------------------------ background work

    def refresh_preview(self, *_args: Any) -> None:
        from crashdesk.services.sharing import ExportOptions, prepare_export, resolve_ids

        self.cancel_job()
        self._generation += 1
        gen = self._generation
        self.prepared = None
        self.export_button.setEnabled(False)
        options = ExportOptions(policy=self.policy(), processed=self.include_processed.isChecked(),
                                packet=self.packet.isChecked(), symbol_paths=self.symbol_paths)
        store, ids, queries = self.store, list(self.crash_ids), list(self.queries)

        def work(cancel, report):
            wanted = resolve_ids(store, ids)
            for q in queries:
                wanted = list(dict.fromkeys([*wanted, *resolve_ids(store, [], q)]))
            return prepare_export(store, wanted, options,
                                  progress=lambda done, total: report(done / max(total, 1), f"{done}/{total}"),
                                  cancel=cancel.is_set)

        self.status.setText("Preparing the preview…")
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self._job = self.jobs.submit(work, on_done=lambda p: self._on_prepared(gen, p),
                                     on_error=lambda exc: self._on_error(gen, exc),
                                     on_progress=lambda f, _t: self._on_progress(gen, f))

    def cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()
            self._job = None
        self.cancel_button.setEnabled(False)

    def _on_progress(self, gen: int, fraction: float) -> None:
        if gen == self._generation and fraction >= 0:
            self.progress.setValue(int(fraction * 100))

    def _on_error(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._job = None
        self.cancel_button.setEnabled(False)
        from crashdesk.services.sharing import ExportCancelled

        self.status.setText("Cancelled." if isinstance(exc, ExportCancelled) else f"Cannot export: {exc}")
        emit(self.failed, str(exc))

    def _on_prepared(self, gen: int, prepared: Any) -> None:
        if gen != self._generation:
            return
        self._job = None
        self.cancel_button.setEnabled(False)
        self.prepared = prepared
        self.progress.setValue(100)
        self._fill(prepared.preview.to_json())
        n = len(prepared.crashes)
        self.what_label.setText((self.what_label.text().split(" — ")[0]) + f" — {n} crash(es) to export")
        self.status.setText("Check what leaves, then Export." if n else "Nothing to export.")
        self.export_button.setEnabled(n > 0)
        emit(self.preview_ready, prepared.preview)

    def _fill(self, preview: dict) -> None:
        rows = sorted(preview["annotations"].items(), key=lambda kv: (
            ("remove", "mask", "scrub", "keep").index(kv[1]["action"]), kv[0].lower()))
        self.table.setRowCount(len(rows))
        for r, (name, c) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(name))
            combo = QComboBox()
            combo.addItems(list(ACTIONS))
            combo.setCurrentText(self.overrides.get(name) or ("keep" if c["action"] == "scrub" else c["action"]))
            combo.setToolTip(ACTION_TEXT[c["action"]])
            combo.currentTextChanged.connect(lambda action, n=name: self.set_action(n, action))
            self.table.setCellWidget(r, 1, combo)
            parts = [f"{c[a]} {ACTION_TEXT[a]}" for a in ("keep", "scrub", "mask", "remove") if c.get(a)]
            self.table.setItem(r, 2, QTableWidgetItem(", ".join(parts)))
            self.table.setItem(r, 3, QTableWidgetItem(c["why"]))
        self.dumps_label.setText(dumps_text(preview))

    # ------------------------------------------------------------------ export

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export to", self.dest_edit.text(), "Zip bundles (*.zip)")
        if name:
            self.dest_edit.setText(name)

    def confirm_export(self) -> None:
        """Write the prepared export (what the preview shows) in the background."""
        from crashdesk.services.sharing import write_export

        if self.prepared is None:
            return
        prepared, dest = self.prepared, Path(self.dest_edit.text()).expanduser()
        self.export_button.setEnabled(False)
        self.status.setText(f"Writing {dest}…")
        self.cancel_button.setEnabled(True)
        self._generation += 1
        gen = self._generation

        def work(cancel, report):
            return write_export(prepared, dest, cancel=cancel.is_set)

        self._job = self.jobs.submit(work, on_done=lambda _n: self._on_written(gen, dest),
                                     on_error=lambda exc: self._on_error(gen, exc),
                                     title=f"Exporting to {dest.name}", visible=True)

    def _on_written(self, gen: int, dest: Path) -> None:
        if gen != self._generation:
            return
        self._job = None
        self.cancel_button.setEnabled(False)
        self.status.setText(f"Exported to {dest}")
        emit(self.exported, str(dest))
        self.accept()


def dumps_text(preview: dict) -> str:
    d, m = preview["dumps"], preview["memory"]
    lines = []
    if d.get("included_scrubbed"):
        lines.append(f"Dumps: {d['included_scrubbed']} go scrubbed. Memory kept ({m.get('bytes_kept', 0):,} bytes): "
                     f"stacks from the stack pointer to the outermost frame (+64 words), the crashing "
                     f"instruction's code. Zeroed ({m.get('bytes_zeroed', 0):,} bytes): heap and other memory, "
                     f"dead stack, argv/environment"
                     + (f", streams {', '.join(sorted(preview['streams_zeroed']))}" if preview["streams_zeroed"]
                        else "") + ". Thread contexts, modules and the exception stay.")
        if preview.get("streams_kept"):
            lines.append("Streams kept: " + ", ".join(n.removesuffix("Stream") for n in sorted(preview["streams_kept"]))
                         + ".")
        gone = sorted(k for k, v in preview["dump_annotations"].items() if v.get("remove") or v.get("mask"))
        if gone:
            lines.append("Removed from inside the dumps: " + ", ".join(gone) + ".")
    if d.get("included_unscrubbed"):
        lines.append(f"Dumps: {d['included_unscrubbed']} go UNSCRUBBED: all captured memory and annotations.")
    if d.get("left_out_by_policy"):
        lines.append("Dumps: left out.")
    if d.get("left_out_unreadable"):
        lines.append(f"{d['left_out_unreadable']} dump(s) left out: they cannot be scrubbed.")
    if preview["processed_fields_removed"]:
        lines.append("Processed crash fields removed: " + ", ".join(sorted(preview["processed_fields_removed"])) + ".")
    if preview["packet"]:
        p = preview["packet"]
        lines.append(f"Packet: {p['symbol_files']} symbol file(s) ({p['symbol_bytes']:,} bytes), "
                     f"CrashDesk {p['crashdesk_version']}; {p['modules_without_symbol_file']} module(s) whose "
                     f"symbols were not found locally.")
    return "\n".join(lines)
