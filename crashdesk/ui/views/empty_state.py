"""What a new user sees on an empty store: where to send crashes, and three ways to get some."""

from __future__ import annotations

import html

from crashdesk.ui.qt import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)


def snippets(url: str) -> dict[str, str]:
    """Ready-to-paste client settings for the collector at ``url``: complete enough to send a first crash
    (product and version annotations, uploads enabled in the Crashpad database, no upload rate limit)."""
    return {
        "Crashpad": (
            "# the handler (uploads must be enabled in its database once: crashpad_database_util "
            "--database=./crashpad-db --set-uploads-enabled=true)\n"
            f"crashpad_handler --database=./crashpad-db --url={url} --annotation=ProductName=MyApp "
            "--annotation=Version=1.0 --no-rate-limit\n"
            "\n"
            "// or in the application (C++), before anything can crash:\n"
            '#include "client/crash_report_database.h"\n'
            '#include "client/crashpad_client.h"\n'
            '#include "client/settings.h"\n'
            'base::FilePath db("crashpad-db"), handler("crashpad_handler");  // L"..." on Windows\n'
            "std::map<std::string, std::string> annotations = {{\"ProductName\", \"MyApp\"}, "
            "{\"Version\", \"1.0\"}};\n"
            "std::vector<std::string> arguments = {\"--no-rate-limit\"};\n"
            "auto database = crashpad::CrashReportDatabase::Initialize(db);\n"
            "database->GetSettings()->SetUploadsEnabled(true);\n"
            "crashpad::CrashpadClient client;\n"
            f'client.StartHandler(handler, db, db, "{url}", annotations, arguments,\n'
            "                    /*restartable=*/true, /*asynchronous_start=*/false);"
        ),
        "Breakpad": f"minidump_upload -p MyProduct -v 1.0 crash.dmp {url}\n"
                    f'// or in code: HTTPUpload::SendMultipartPostRequest("{url}", parameters, files, ...);',
        "curl": f"curl -F ProductName=MyProduct -F Version=1.0 -F upload_file_minidump=@crash.dmp {url}",
    }


class EmptyState(QWidget):
    open_requested = Signal()
    samples_requested = Signal()
    connect_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("empty_state")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        card = QFrame()
        card.setFrameShape(QFrame.Shape.StyledPanel)
        card.setMaximumWidth(860)
        lay = QVBoxLayout(card)
        lay.setSpacing(10)
        title = QLabel("<h2>No crashes yet</h2>")
        lay.addWidget(title)
        lay.addWidget(QLabel("Point a Crashpad or Breakpad client at the local collector, open a minidump, "
                             "or load the sample crashes to see every view populated."))
        self.url_label = QLabel()
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_url = QPushButton("Copy URL")
        self.copy_url.clicked.connect(lambda: QApplication.clipboard().setText(self.url or ""))
        row = QHBoxLayout()
        row.addWidget(self.url_label, 1)
        row.addWidget(self.copy_url)
        lay.addLayout(row)
        self.snippet_grid = QGridLayout()
        lay.addLayout(self.snippet_grid)
        self.snippet_edits: dict[str, QPlainTextEdit] = {}
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open a minidump…")
        self.samples_button = QPushButton("Load sample crashes")
        self.connect_button = QPushButton("Connect to a server…")
        self.samples_button.setDefault(True)
        for b in (self.open_button, self.samples_button, self.connect_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        hint = QLabel("Tip: drag .dmp files onto this window to import them.")
        hint.setStyleSheet("color: #666;")
        lay.addWidget(hint)
        center = QHBoxLayout()
        center.addStretch(1)
        center.addWidget(card, 4)
        center.addStretch(1)
        outer.addLayout(center)
        outer.addStretch(2)
        self.open_button.clicked.connect(self.open_requested)
        self.samples_button.clicked.connect(self.samples_requested)
        self.connect_button.clicked.connect(self.connect_requested)
        self.url: str | None = None
        self.set_collector(None, "starting…")

    def set_collector(self, url: str | None, message: str = "") -> None:
        self.url = url
        self.copy_url.setEnabled(bool(url))
        if url:
            self.url_label.setText(f"Local collector submit URL: <b><code>{html.escape(url)}</code></b>")
        else:
            self.url_label.setText(f"Local collector: <i>{html.escape(message or 'not running')}</i>")
        while self.snippet_grid.count():
            item = self.snippet_grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.snippet_edits = {}
        if not url:
            return
        for row, (name, text) in enumerate(snippets(url).items()):
            self.snippet_grid.addWidget(QLabel(f"{name}:"), row, 0, Qt.AlignmentFlag.AlignTop)
            edit = QPlainTextEdit(text)
            edit.setReadOnly(True)
            edit.setMaximumHeight(96 if name == "Crashpad" else 52)
            edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            self.snippet_grid.addWidget(edit, row, 1)
            copy = QPushButton("Copy")
            copy.clicked.connect(lambda _=False, t=text: QApplication.clipboard().setText(t))
            self.snippet_grid.addWidget(copy, row, 2, Qt.AlignmentFlag.AlignTop)
            self.snippet_edits[name] = edit
