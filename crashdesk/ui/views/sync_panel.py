"""The sync panel: saved servers (a token goes to the OS keyring, never to a file), a connection test, the
saved syncs with their state, and running one (progress, cancel, last result and failures).

Back end: :mod:`crashdesk.config.servers` (saved servers), :mod:`crashdesk.config.secrets` (keyring),
:mod:`crashdesk.sync` (the runner) and :class:`crashdesk.store.syncstate.SyncState` (saved syncs). Every
call runs in a background job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crashdesk.ui.jobs import Jobs
from crashdesk.ui.qt import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)
from crashdesk.ui.views.tables import fill_rows, read_only_table


class _Cancel:
    """Adapts the UI job's cancel token to the sync runner's ``is_set()`` protocol."""

    def __init__(self, token: Any) -> None:
        self.token = token

    def is_set(self) -> bool:
        return self.token.cancelled


def load_sync_data(store: Any, data_dir: Path) -> dict[str, Any]:
    """Saved servers (with whether a token is stored) and saved syncs."""
    from crashdesk.config.secrets import get_token
    from crashdesk.config.servers import ServerRegistry
    from crashdesk.store.syncstate import SyncState

    servers = []
    for s in ServerRegistry(data_dir).list():
        _token, where = get_token(s.url, use_env=False)
        servers.append({"name": s.name, "url": s.url, "rate_limit": s.rate_limit, "token": where})
    return {"servers": servers, "syncs": SyncState(store).jobs()}


def save_server(data_dir: Path, name: str, url: str, token: str) -> dict[str, Any]:
    """Save (or replace) a server; a non-empty token goes to the keyring."""
    from crashdesk.config.secrets import set_token
    from crashdesk.config.servers import ServerRegistry

    server = ServerRegistry(data_dir).add(name, url, replace=True)
    if token.strip():
        set_token(server.url, token)
    return {"name": server.name, "url": server.url}


def remove_server(data_dir: Path, name: str) -> str:
    from crashdesk.config.secrets import delete_token
    from crashdesk.config.servers import ServerRegistry

    server = ServerRegistry(data_dir).remove(name)
    delete_token(server.url)
    return server.name


def probe_server(url: str, timeout: float = 10.0) -> str:
    """Ask the server's SuperSearch for a count (with the stored token, if any); a line saying what it said."""
    import asyncio

    from crashdesk.config.secrets import get_token
    from crashdesk.sync import RetryPolicy, SocorroClient

    token, where = get_token(url)

    async def probe() -> dict[str, Any]:
        async with SocorroClient(url, token=token, timeout=timeout, concurrency=1,
                                 retry=RetryPolicy(attempts=2, base=0.2, cap=1.0)) as client:
            return await client.supersearch([("_results_number", "0")])

    body = asyncio.run(probe())
    auth = f"token from the {where}" if where else "no token (public data only)"
    return f"OK: {url} answers; {body.get('total', '?')} crash(es) in its default range; {auth}"


def run_sync(store: Any, data_dir: Path, server_name: str, params: list[str], since: str | None,
             with_dumps: bool, cancel: Any, report: Any) -> Any:
    """One sync run (what ``crashdesk sync`` does), reporting progress; returns the summary."""
    from crashdesk.config.secrets import get_token
    from crashdesk.config.servers import ServerRegistry
    from crashdesk.sync import Secret, ServerTarget, SyncOptions, SyncQuery, SyncRunner, default_rate_limit

    server = ServerRegistry(data_dir).resolve(server_name)
    token, _where = get_token(server.url)
    rate = server.rate_limit if server.rate_limit is not None else default_rate_limit(server.host,
                                                                                    has_token=bool(token))
    query = SyncQuery.build(params, since=since or None)
    target = ServerTarget(name=server.name, base_url=server.url, token=Secret(token) if token else None,
                          rate_limit=rate or None)

    def progress(p: Any) -> None:
        if p.phase == "scan":
            report(-1.0, f"Listing… found {p.found} ({p.new} new)")
        else:
            done = p.fetched + p.already + p.failed
            report(done / max(1, p.to_fetch), f"Fetched {done}/{p.to_fetch}, failed {p.failed}")

    runner = SyncRunner(store, target, query, SyncOptions(with_dumps=with_dumps), progress=progress,
                        cancel=_Cancel(cancel))
    return runner.run()


class SyncPanel(QWidget):
    """Servers, saved syncs, and running a sync."""

    refreshed = Signal()
    server_saved = Signal(str)
    connection_tested = Signal(bool, str)
    sync_finished = Signal(object)  # SyncSummary
    sync_failed = Signal(str)

    def __init__(self, store: Any, jobs: Jobs, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs
        self.data_dir = Path(data_dir)
        self.data: dict[str, Any] = {"servers": [], "syncs": []}
        self.job: Any = None
        self.last_summary: Any = None

        # servers
        self.servers = read_only_table(
            ["Name", "URL", "Token"],
            "sync_servers", single_selection=True)
        self.servers.setColumnWidth(0, 130)
        self.servers.setColumnWidth(1, 300)
        self.servers.itemSelectionChanged.connect(self._on_server_selected)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("crash-stats")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://crash-stats.mozilla.org")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("API token (stored in the OS keyring; optional)")
        self.add_button = QPushButton("Save server")
        self.add_button.clicked.connect(self.add_server)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_selected)
        self.server_message = QLabel()
        self.server_message.setWordWrap(True)
        self.server_message.setObjectName("server_message")
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("URL", self.url_edit)
        form.addRow("Token", self.token_edit)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.test_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        server_box = QGroupBox("Servers")
        sl = QVBoxLayout(server_box)
        sl.addWidget(self.servers, 1)
        sl.addLayout(form)
        sl.addLayout(buttons)
        sl.addWidget(self.server_message)

        # syncs
        self.syncs = read_only_table(
            ["Server", "Filters", "Listed from", "Listed to", "Last run", "Status", "Items"],
            "saved_syncs", single_selection=True)
        for col, width in enumerate((95, 190, 125, 125, 125, 80)):
            self.syncs.setColumnWidth(col, width)
        self.syncs.itemSelectionChanged.connect(self._on_sync_selected)
        self.server_combo = QComboBox()
        self.params_edit = QPlainTextEdit()
        self.params_edit.setPlaceholderText("one SuperSearch parameter a line, e.g.\nproduct=Firefox\n"
                                            "version=133.0")
        self.params_edit.setMaximumHeight(70)
        self.since_edit = QLineEdit()
        self.since_edit.setPlaceholderText("7d, 2026-11-01, … (default: where the last run stopped)")
        self.dumps_check = QCheckBox("Download minidumps too")
        self.run_button = QPushButton("Run sync")
        self.run_button.clicked.connect(self.start_sync)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_sync)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Idle")
        self.result = QPlainTextEdit()
        self.result.setReadOnly(True)
        self.result.setObjectName("sync_result")
        self.result.setPlaceholderText("The last run's result and failures appear here.")
        run_form = QFormLayout()
        run_form.addRow("Server", self.server_combo)
        run_form.addRow("Filters", self.params_edit)
        run_form.addRow("Since", self.since_edit)
        run_form.addRow("", self.dumps_check)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        sync_box = QGroupBox("Saved syncs")
        yl = QVBoxLayout(sync_box)
        yl.addWidget(self.syncs, 1)
        yl.addLayout(run_form)
        yl.addLayout(run_row)
        yl.addWidget(self.result, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(server_box)
        split.addWidget(sync_box)
        split.setSizes([480, 720])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(split)
        self.refresh()

    # ------------------------------------------------------------------ data

    def refresh(self) -> None:
        store, data_dir = self.store, self.data_dir
        self.jobs.submit(lambda c, r: load_sync_data(store, data_dir), on_done=self._on_data,
                         on_error=lambda exc: self.server_message.setText(f"Cannot read the saved servers: {exc}"))

    def _on_data(self, data: dict[str, Any]) -> None:
        self.data = data
        fill_rows(self.servers, [[s["name"], s["url"], f"in the {s['token']}" if s["token"] else "none"]
                                 for s in data["servers"]])
        current = self.server_combo.currentText()
        self.server_combo.clear()
        self.server_combo.addItems([s["name"] for s in data["servers"]])
        if current:
            self.server_combo.setCurrentText(current)
        rows = []
        for j in data["syncs"]:
            filters = " ".join(f"{k}={v}" for k, v in j["filters"]) or "everything"
            items = ", ".join(f"{k} {v}" for k, v in (j.get("items") or {}).items())
            rows.append([j["server"], filters, _when(j["covered_from"]), _when(j["watermark"]),
                         _when(j["last_run_at"]), j["last_status"] or "never run", items])
        fill_rows(self.syncs, rows)
        emit(self.refreshed)

    def selected_server(self) -> dict[str, Any] | None:
        rows = self.servers.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.data["servers"]):
            return self.data["servers"][rows[0].row()]
        return None

    def _on_server_selected(self) -> None:
        server = self.selected_server()
        if server is not None:  # edit it: Save server replaces the entry (and the token, if one is typed)
            self.name_edit.setText(server["name"])
            self.url_edit.setText(server["url"])

    def _on_sync_selected(self) -> None:
        rows = self.syncs.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.data["syncs"]):
            return
        job = self.data["syncs"][rows[0].row()]
        match = next((s["name"] for s in self.data["servers"] if s["url"] == job["base_url"]), job["base_url"])
        if self.server_combo.findText(match) < 0:
            self.server_combo.addItem(match)
        self.server_combo.setCurrentText(match)
        self.params_edit.setPlainText("\n".join(f"{k}={v}" for k, v in job["filters"]))

    # ------------------------------------------------------------------ servers

    def add_server(self) -> None:
        name, url, token = self.name_edit.text().strip(), self.url_edit.text().strip(), self.token_edit.text()
        data_dir = self.data_dir
        self.jobs.submit(lambda c, r: save_server(data_dir, name, url, token), write=True,
                         on_done=self._on_server_saved,
                         on_error=lambda exc: self.server_message.setText(f"Not saved: {exc}"))

    def _on_server_saved(self, server: dict[str, Any]) -> None:
        self.token_edit.clear()  # the token is in the keyring now, not in the widget
        self.server_message.setText(f"Saved {server['name']} ({server['url']})")
        self.server_combo.setCurrentText(server["name"])
        self.refresh()
        emit(self.server_saved, server["name"])

    def remove_selected(self) -> None:
        server = self.selected_server()
        if server is None:
            return
        data_dir = self.data_dir
        self.jobs.submit(lambda c, r: remove_server(data_dir, server["name"]), write=True,
                         on_done=lambda n: (self.server_message.setText(f"Removed {n} and its token"),
                                            self.refresh()),
                         on_error=lambda exc: self.server_message.setText(f"Not removed: {exc}"))

    def test_selected(self) -> None:
        server = self.selected_server()
        url = server["url"] if server else self.url_edit.text().strip()
        if not url:
            self.server_message.setText("Choose a server (or type its URL) to test")
            return
        self.server_message.setText(f"Testing {url}…")
        self.jobs.submit(lambda c, r: probe_server(url), on_done=self._on_tested,
                         on_error=lambda exc: self._on_tested(None, exc))

    def _on_tested(self, ok_text: str | None, exc: BaseException | None = None) -> None:
        ok = exc is None
        text = ok_text if ok else f"Failed: {exc}"
        self.server_message.setText(text)
        emit(self.connection_tested, ok, text)

    # ------------------------------------------------------------------ runs

    def start_sync(self) -> None:
        if self.job is not None:
            return
        name = self.server_combo.currentText().strip()
        if not name:
            self.result.setPlainText("Save a server first, then choose it.")
            return
        params = [line.strip() for line in self.params_edit.toPlainText().splitlines() if line.strip()]
        since, dumps = self.since_edit.text().strip() or None, self.dumps_check.isChecked()
        store, data_dir = self.store, self.data_dir
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.result.setPlainText(f"Syncing from {name}…")
        self.job = self.jobs.submit(
            lambda cancel, report: run_sync(store, data_dir, name, params, since, dumps, cancel, report),
            on_done=self._on_sync_done, on_error=self._on_sync_failed, on_progress=self._on_progress,
            title=f"Sync from {name}", visible=True)

    def cancel_sync(self) -> None:
        if self.job is not None:
            self.job.cancel.cancel()
            self.progress.setFormat("Cancelling…")

    def _on_progress(self, fraction: float, text: str) -> None:
        if fraction < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(text)

    def _ended(self) -> None:
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1000)
        self.refresh()

    def _on_sync_done(self, summary: Any) -> None:
        self._ended()
        self.last_summary = summary
        self.progress.setValue(1000)
        self.progress.setFormat("Cancelled" if summary.cancelled else ("Complete" if summary.complete
                                                                       else "Incomplete"))
        self.result.setPlainText("\n".join(summary.lines()))
        emit(self.sync_finished, summary)

    def _on_sync_failed(self, exc: BaseException) -> None:
        self._ended()
        self.progress.setFormat("Failed")
        self.result.setPlainText(f"Sync failed: {exc}")
        emit(self.sync_failed, str(exc))


def _when(iso: str | None) -> str:
    return (iso or "")[:19].replace("T", " ")
