"""Settings → Export policy: edit ``<data-dir>/export-policy.json``, the policy every export (app and
``crashdesk export``) starts from. It changes exports only: the collector's read API keeps protecting Crash
Stats' protected fields whatever it says."""

from __future__ import annotations

from pathlib import Path

from crashdesk.model.protected_fields import PROTECTED_ANNOTATION_PREFIXES, PROTECTED_ANNOTATIONS
from crashdesk.model.redaction import ACTIONS, FREE_TEXT_ANNOTATIONS, RedactionPolicy
from crashdesk.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ExportPolicyDialog(QDialog):
    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from crashdesk.services.sharing import load_policy

        self.setWindowTitle("Export policy — CrashDesk")
        self.resize(640, 560)
        self.data_dir = Path(data_dir)
        try:
            policy = load_policy(self.data_dir)
            problem = ""
        except Exception as exc:  # noqa: BLE001 - shown, and the file is rewritten on save
            policy, problem = RedactionPolicy(), f"The stored policy could not be read ({exc}); showing the default."
        self.protected = QCheckBox("Remove Crash Stats' protected fields: " + ", ".join(sorted(PROTECTED_ANNOTATIONS))
                                   + ", " + ", ".join(p + "…" for p in PROTECTED_ANNOTATION_PREFIXES))
        self.protected.setChecked(policy.use_protected_list)
        self.free_text = QComboBox()
        self.free_text.addItems(list(ACTIONS))
        self.free_text.setCurrentText(policy.free_text)
        self.sensitive = QComboBox()
        self.sensitive.addItems(list(ACTIONS))
        self.sensitive.setCurrentText(policy.sensitive_names)
        self.paths = QCheckBox("Mask user and host names in paths (/home/NAME, C:\\Users\\NAME, \\\\HOST\\share)")
        self.paths.setChecked(policy.scrub_paths)
        self.emails = QCheckBox("Replace e-mail addresses")
        self.emails.setChecked(policy.scrub_emails)
        self.ips = QCheckBox("Replace IP addresses")
        self.ips.setChecked(policy.scrub_ips)
        self.dumps = QCheckBox("Include dumps")
        self.dumps.setChecked(policy.include_dumps)
        self.scrub = QCheckBox("Scrub dumps (zero heap, environment, dead stack; remove annotations inside)")
        self.scrub.setChecked(policy.scrub_dumps)
        self.strip = QCheckBox("Collector: strip on receipt — also remove Email and the telemetry ids from the "
                               "annotations inside each received dump")
        self.strip.setChecked(policy.strip_dumps_on_receipt)
        self.strip.setToolTip("Off by default: the dump is the user's evidence. The raw crash never keeps them.")
        for box in (self.protected, self.paths):
            box.setToolTip(box.text())
        self.protected.setText("Remove Crash Stats' protected fields (Email, URL, Comments, …)")

        self.rules = QTableWidget(0, 2)
        self.rules.setObjectName("policy_rules")
        self.rules.setHorizontalHeaderLabels(["Annotation", "Action"])
        self.rules.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for name, action in sorted(policy.rules.items()):
            self.add_rule(name, action)
        add = QPushButton("Add rule")
        add.clicked.connect(lambda: self.add_rule("", "remove"))
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: self.rules.removeRow(self.rules.currentRow()))

        form = QFormLayout()
        form.addRow(self.protected)
        form.addRow(f"Free-text messages ({', '.join(sorted(FREE_TEXT_ANNOTATIONS)[:4])}, …)", self.free_text)
        form.addRow("Names with password, token, secret, e-mail…", self.sensitive)
        for box in (self.paths, self.emails, self.ips, self.dumps, self.scrub, self.strip):
            form.addRow(box)
        strip_note = QLabel("Strip on receipt is off by default: the dump is the user's evidence, kept as sent.")
        strip_note.setWordWrap(True)
        form.addRow(strip_note)
        note = QLabel("Rules below win over everything above. The policy changes exports only: the collector's "
                      "read API keeps protecting Crash Stats' protected fields.")
        note.setWordWrap(True)
        self.problem = QLabel(problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.rules, 1)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        lay.addLayout(row)
        if problem:
            lay.addWidget(self.problem)
        lay.addWidget(buttons)

    def add_rule(self, name: str, action: str) -> None:
        r = self.rules.rowCount()
        self.rules.insertRow(r)
        self.rules.setItem(r, 0, QTableWidgetItem(name))
        combo = QComboBox()
        combo.addItems(list(ACTIONS))
        combo.setCurrentText(action)
        self.rules.setCellWidget(r, 1, combo)

    def policy(self) -> RedactionPolicy:
        policy = RedactionPolicy(use_protected_list=self.protected.isChecked(),
                                 free_text=self.free_text.currentText(), sensitive_names=self.sensitive.currentText(),
                                 scrub_paths=self.paths.isChecked(), scrub_emails=self.emails.isChecked(),
                                 scrub_ips=self.ips.isChecked(), include_dumps=self.dumps.isChecked(),
                                 scrub_dumps=self.scrub.isChecked(),
                                 strip_dumps_on_receipt=self.strip.isChecked())
        for r in range(self.rules.rowCount()):
            item = self.rules.item(r, 0)
            name = item.text().strip() if item is not None else ""
            if name:
                try:
                    policy.set_rule(name, self.rules.cellWidget(r, 1).currentText())
                except ValueError:
                    continue
        return policy

    def save(self) -> None:
        from crashdesk.services.sharing import save_policy

        save_policy(self.data_dir, self.policy())
        self.accept()
