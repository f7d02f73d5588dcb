"""The settings dialog: data folder, symbol folders and servers (in search order), symbol cache size, source
folder mappings, the default signature profile, the theme, and the collector's read-API token.

Everything is stored with ``QSettings`` under the keys the rest of the UI reads (``symbols/paths``,
``symbols/urls``, ``sources/mappings``...), except the token, which only ever goes to the OS keyring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crashdesk.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSettings,
    QSpinBox,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)
from crashdesk.ui.theme import SETTINGS_KEY as THEME_KEY
from crashdesk.ui.theme import THEMES, apply_theme

KEYS = {
    "data_dir": "general/data_dir",
    "symbol_paths": "symbols/paths",
    "symbol_urls": "symbols/urls",
    "debuginfod_urls": "symbols/debuginfod",
    "mozilla_symbols": "symbols/mozilla_for_mozilla_products",
    "cache_mb": "symbols/cache_size_mb",
    "mappings": "sources/mappings",
    "profile": "signature/profile",
    "theme": THEME_KEY,
}
DEFAULT_CACHE_MB = 2048


def settings_list(settings: QSettings, key: str) -> list[str]:
    value = settings.value(key, []) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


class OrderedList(QWidget):
    """An editable list whose order matters (searched first to last): add, remove, move up and down."""

    changed = Signal()

    def __init__(self, add_label: str, browse_folders: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browse_folders = browse_folders
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        buttons = QVBoxLayout()
        for text, slot in ((add_label, self._ask_add), ("Remove", self.remove_current),
                           ("Move up", lambda: self.move_current(-1)), ("Move down", lambda: self.move_current(1))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)

    def items(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_items(self, values: list[str]) -> None:
        self.list.clear()
        for v in values:
            self.add_item(v)

    def add_item(self, text: str) -> None:
        text = text.strip()
        if text and text not in self.items():
            item = QListWidgetItem(text)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            self.list.addItem(item)
            emit(self.changed)

    def _ask_add(self) -> None:
        if self.browse_folders:
            folder = QFileDialog.getExistingDirectory(self, "Add a symbol folder")
            if folder:
                self.add_item(folder)
        else:
            url, ok = QInputDialog.getText(self, "Add a symbol server", "Symbol server URL:")
            if ok:
                self.add_item(url)

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            emit(self.changed)

    def move_current(self, step: int) -> None:
        row = self.list.currentRow()
        new = row + step
        if row < 0 or not 0 <= new < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(new, item)
        self.list.setCurrentRow(new)
        emit(self.changed)


class SettingsDialog(QDialog):
    """Edit the app's settings; ``save()`` (OK) writes them."""

    saved = Signal()

    def __init__(self, settings: QSettings, *, profiles_dir: Path | None = None, data_dir: Path | None = None,
                 jobs: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings — CrashDesk")
        self.resize(780, 600)
        self.settings = settings
        self.profiles_dir = profiles_dir
        self._data_dir = data_dir
        self.jobs = jobs
        s = settings

        # general
        self.data_dir_edit = QLineEdit(str(s.value(KEYS["data_dir"], "") or ""))
        self.data_dir_edit.setPlaceholderText(str(data_dir) if data_dir else "platform default")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_data_dir)
        row = QHBoxLayout()
        row.addWidget(self.data_dir_edit, 1)
        row.addWidget(browse)
        self.theme_combo = QComboBox()
        self.theme_combo.addItems([t.capitalize() for t in THEMES])
        theme = str(s.value(KEYS["theme"], "system") or "system")
        self.theme_combo.setCurrentIndex(THEMES.index(theme) if theme in THEMES else 0)
        general = QWidget()
        gf = QFormLayout(general)
        gf.addRow("Data folder", row)
        note = QLabel("Used from the next start (--data-dir and $CRASHDESK_HOME still win). "
                      f"Now: {data_dir or 'platform default'}")
        note.setWordWrap(True)
        gf.addRow("", note)
        gf.addRow("Theme", self.theme_combo)
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("leave empty to keep the stored one")
        self.clear_token = QPushButton("Forget the stored token")
        self.clear_token.clicked.connect(lambda: self._set_collector_token(None))
        trow = QHBoxLayout()
        trow.addWidget(self.token_edit, 1)
        trow.addWidget(self.clear_token)
        self.new_token = QPushButton("Create a new token")
        self.new_token.clicked.connect(self._create_collector_token)
        trow.addWidget(self.new_token)
        gf.addRow("Collector read-API token", trow)
        self.token_note = QLabel("Stored in the OS keyring only; protects raw crashes and dumps on the read API.")
        self.token_note.setWordWrap(True)
        gf.addRow("", self.token_note)
        # issue 23: the export redaction policy (<data-dir>/export-policy.json), for exports only
        self.export_policy_button = QPushButton("Edit the export policy…")
        self.export_policy_button.setEnabled(data_dir is not None)
        self.export_policy_button.clicked.connect(lambda: self.open_export_policy(data_dir))
        gf.addRow("Export policy", self.export_policy_button)

        # symbols
        self.symbol_paths = OrderedList("Add folder…", browse_folders=True)
        self.symbol_paths.set_items(settings_list(s, KEYS["symbol_paths"]))
        self.symbol_urls = OrderedList("Add server…", browse_folders=False)
        self.symbol_urls.set_items(settings_list(s, KEYS["symbol_urls"]))
        self.debuginfod_urls = OrderedList("Add server…", browse_folders=False)
        self.debuginfod_urls.set_items(settings_list(s, KEYS["debuginfod_urls"]))
        self.mozilla_symbols = QCheckBox("Also ask Mozilla's symbol server for Mozilla products (Firefox, Thunderbird…)")
        self.mozilla_symbols.setChecked(str(s.value(KEYS["mozilla_symbols"], "true")).lower() != "false")
        self.cache_spin = QSpinBox()
        self.cache_spin.setRange(64, 1024 * 1024)
        self.cache_spin.setSuffix(" MB")
        self.cache_spin.setValue(int(s.value(KEYS["cache_mb"], DEFAULT_CACHE_MB) or DEFAULT_CACHE_MB))
        symbols = QWidget()
        sl = QVBoxLayout(symbols)
        sl.addWidget(QLabel("Symbol folders (searched in this order, before any server):"))
        sl.addWidget(self.symbol_paths)
        sl.addWidget(QLabel("Symbol servers (tried in this order):"))
        sl.addWidget(self.symbol_urls)
        servers_note = QLabel("Breakpad/Tecken stores and Microsoft-style symbol servers (e.g. "
                              "https://msdl.microsoft.com/download/symbols): .sym first, then PDB/PE.")
        servers_note.setWordWrap(True)
        sl.addWidget(servers_note)
        sl.addWidget(QLabel("debuginfod servers for Linux libraries (by build id; DEBUGINFOD_URLS is added):"))
        sl.addWidget(self.debuginfod_urls)
        sl.addWidget(self.mozilla_symbols)
        from crashdesk.ui.views.build_folder_panel import BuildFolderPanel

        self.build_folder = BuildFolderPanel(
            jobs, data_dir, add_folder=self.symbol_paths.add_item,
            symbol_sources=lambda: {"symbol_paths": self.symbol_paths.items(), "symbol_urls": self.symbol_urls.items(),
                                    "debuginfod_urls": self.debuginfod_urls.items(),
                                    "mozilla_symbols": self.mozilla_symbols.isChecked()})
        if jobs is None:
            self.build_folder.button.setEnabled(False)
        sl.addWidget(self.build_folder)
        crow = QHBoxLayout()
        crow.addWidget(QLabel("Symbol cache size:"))
        crow.addWidget(self.cache_spin)
        crow.addStretch(1)
        sl.addLayout(crow)

        # sources
        self.mappings = QTableWidget(0, 2)
        self.mappings.setHorizontalHeaderLabels(["Build path prefix", "Local folder"])
        self.mappings.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for item in settings_list(s, KEYS["mappings"]):
            if "=" in item:
                self.add_mapping(*item.split("=", 1))
        add_map = QPushButton("Add mapping")
        add_map.clicked.connect(lambda: self.add_mapping("", ""))
        rm_map = QPushButton("Remove")
        rm_map.clicked.connect(lambda: self.mappings.removeRow(self.mappings.currentRow()))
        sources = QWidget()
        srl = QVBoxLayout(sources)
        srl.addWidget(QLabel("Map the folder a binary was built in to your checkout, to show frames' source:"))
        srl.addWidget(self.mappings, 1)
        mrow = QHBoxLayout()
        mrow.addWidget(add_map)
        mrow.addWidget(rm_map)
        mrow.addStretch(1)
        srl.addLayout(mrow)

        # signatures
        from crashdesk.config.signature_profiles import load_choice
        from crashdesk.engine.signature import list_profiles

        self.signature_data_dir = data_dir
        try:
            choice = load_choice(data_dir)
        except Exception:  # noqa: BLE001 - a broken table file is shown empty and rewritten on save
            from crashdesk.engine.signature.choice import ProfileChoice

            choice = ProfileChoice()
        self.profile_combo = QComboBox()
        self.profile_combo.addItems(list_profiles(profiles_dir))
        current = str(s.value(KEYS["profile"], "") or "") or choice.default
        if self.profile_combo.findText(current) >= 0:
            self.profile_combo.setCurrentText(current)
        # product -> profile: the one rule processing, `crashdesk signature` and the collector follow
        self.product_profiles = QTableWidget(0, 2)
        self.product_profiles.setObjectName("product_profiles")
        self.product_profiles.setHorizontalHeaderLabels(["Product", "Profile"])
        self.product_profiles.horizontalHeader().setStretchLastSection(True)
        for product, name in choice.products:
            self.add_product_profile(product, name)
        add_pp = QPushButton("Add product")
        add_pp.clicked.connect(lambda: self.add_product_profile("", current))
        rm_pp = QPushButton("Remove")
        rm_pp.clicked.connect(lambda: self.product_profiles.removeRow(self.product_profiles.currentRow()))
        sig = QWidget()
        sf = QFormLayout(sig)
        sf.addRow("Default signature profile", self.profile_combo)
        sf.addRow("", QLabel("Products not listed below: Mozilla products use 'mozilla', the rest this default.\n"
                             "Processing and the collector pick changes up when they next start."))
        sf.addRow("Product profiles", self.product_profiles)
        pprow = QHBoxLayout()
        pprow.addWidget(add_pp)
        pprow.addWidget(rm_pp)
        pprow.addStretch(1)
        sf.addRow("", pprow)
        where = QLabel(f"Profiles folder: {profiles_dir}" if profiles_dir else "No profiles folder")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where.setWordWrap(True)
        sf.addRow("", where)
        sf.addRow("", QLabel("Create and edit profiles in the regeneration workbench."))

        self.tabs = QTabWidget()
        for page, title in ((general, "General"), (symbols, "Symbols"), (sources, "Source folders"),
                            (sig, "Signatures")):
            self.tabs.addTab(page, title)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(box)

    def add_product_profile(self, product: str, profile: str) -> None:
        row = self.product_profiles.rowCount()
        self.product_profiles.insertRow(row)
        self.product_profiles.setItem(row, 0, QTableWidgetItem(product))
        self.product_profiles.setItem(row, 1, QTableWidgetItem(profile))

    def product_profile_pairs(self) -> list[tuple[str, str]]:
        out = []
        for row in range(self.product_profiles.rowCount()):
            cells = [self.product_profiles.item(row, c) for c in (0, 1)]
            product, profile = ((c.text().strip() if c is not None else "") for c in cells)
            if product and profile:
                out.append((product, profile))
        return out

    def _browse_data_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.data_dir_edit.text())
        if folder:
            self.data_dir_edit.setText(folder)

    def add_mapping(self, prefix: str, folder: str) -> None:
        row = self.mappings.rowCount()
        self.mappings.insertRow(row)
        self.mappings.setItem(row, 0, QTableWidgetItem(prefix))
        self.mappings.setItem(row, 1, QTableWidgetItem(folder))

    def mapping_pairs(self) -> list[tuple[str, str]]:
        out = []
        for r in range(self.mappings.rowCount()):
            a, b = self.mappings.item(r, 0), self.mappings.item(r, 1)
            if a and b and a.text().strip() and b.text().strip():
                out.append((a.text().strip(), b.text().strip()))
        return out

    @property
    def theme(self) -> str:
        return THEMES[self.theme_combo.currentIndex()]

    def _create_collector_token(self) -> None:
        """Generate a random token and store it (shown once, so it can be given to readers of the API)."""
        import secrets

        token = secrets.token_urlsafe(32)
        self._set_collector_token(token)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Normal)
        self.token_edit.setText(token)
        self.token_edit.setReadOnly(True)

    def _set_collector_token(self, token: str | None) -> None:
        from crashdesk.collector.auth import KEYRING_SERVICE, KEYRING_USER

        def work(cancel=None, report=None) -> str:
            import keyring

            if token is None:
                try:
                    keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
                except keyring.errors.PasswordDeleteError:
                    pass
                return "The collector token was removed from the keyring."
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, token)
            return "The collector token is stored in the keyring (used from the collector's next start)."

        if self.jobs is not None:
            self.jobs.submit(work, on_done=self.token_note.setText,
                             on_error=lambda exc: self.token_note.setText(f"The keyring refused: {exc}"))
        else:
            try:
                self.token_note.setText(work())
            except Exception as exc:  # noqa: BLE001 - keyring backends raise many things
                self.token_note.setText(f"The keyring refused: {exc}")

    def open_export_policy(self, data_dir: Path | None) -> Any:
        from crashdesk.ui.dialogs.export_policy import ExportPolicyDialog

        if data_dir is None:
            return None
        self.export_policy_dialog = ExportPolicyDialog(Path(data_dir), self)
        self.export_policy_dialog.show()
        return self.export_policy_dialog

    def save(self) -> None:
        """Write every setting (QSettings; the token to the keyring) and apply the theme."""
        s = self.settings
        s.setValue(KEYS["data_dir"], self.data_dir_edit.text().strip())
        s.setValue(KEYS["symbol_paths"], self.symbol_paths.items())
        s.setValue(KEYS["symbol_urls"], self.symbol_urls.items())
        s.setValue(KEYS["debuginfod_urls"], self.debuginfod_urls.items())
        s.setValue(KEYS["mozilla_symbols"], "true" if self.mozilla_symbols.isChecked() else "false")
        s.setValue(KEYS["cache_mb"], self.cache_spin.value())
        s.setValue(KEYS["mappings"], [f"{a}={b}" for a, b in self.mapping_pairs()])
        s.setValue(KEYS["profile"], self.profile_combo.currentText())
        if self.signature_data_dir is not None:
            from crashdesk.config.signature_profiles import save_choice
            from crashdesk.engine.signature.choice import ProfileChoice

            save_choice(Path(self.signature_data_dir),
                        ProfileChoice(tuple(self.product_profile_pairs()), self.profile_combo.currentText()))
        s.setValue(KEYS["theme"], self.theme)
        s.sync()
        from crashdesk.ui.symbol_settings import push

        try:  # where `crashdesk process` and `crashdesk collector` read them
            push(s, self._data_dir)
        except Exception as exc:  # noqa: BLE001 - a read-only folder must not lose the rest of the settings
            self.token_note.setText(f"Symbol settings not shared with the command line: {exc}")
        token = self.token_edit.text().strip()
        if token:
            self._set_collector_token(token)
            self.token_edit.clear()
        apply_theme(self.theme)
        emit(self.saved)

    def accept(self) -> None:
        self.save()
        super().accept()
