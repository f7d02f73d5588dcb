"""The collector panel: is the local collector running, its submit URL (copy) with ready-to-paste client
settings, a live feed of arriving crashes, the submissions it refused and why, and its throttle rules.

Reads only: the store (crashes whose source is ``collector``), the rejection log the collector keeps in the
data folder (:func:`crashdesk.collector.recent_rejections`) and, for a collector this app started, its
configuration and counters. Everything is read in background jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crashdesk.ui.jobs import Jobs
from crashdesk.ui.qt import (
    QApplication,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    Qt,
    QTabWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)
from crashdesk.ui.views.empty_state import snippets
from crashdesk.ui.views.tables import fill_rows, read_only_table

FEED_SIZE = 50


def _when(iso: str | None) -> str:
    return (iso or "")[:19].replace("T", " ")


def describe_rules(throttler: Any) -> list[list[str]]:
    """Rows (rule, result, share) for a collector's throttle rules, in the order they are tried."""
    rows = []
    products = list(getattr(throttler, "products", ()) or ())
    if products:
        rows.append(["(product list)", "REJECT others", f"accepted products: {', '.join(products)}"])
    for rule in getattr(throttler, "rules", ()) or ():
        share = f"{rule.percentage:g}% (the rest rejected)" if rule.percentage is not None else "all matching"
        rows.append([rule.name, rule.result, share])
    rows.append(["(no rule matched)", "REJECT", "NO_MATCH"])
    return rows


def _token_set() -> bool:
    from crashdesk.collector.auth import resolve_token

    return resolve_token() is not None


def load_panel_data(store: Any, data_dir: Path, handle: Any = None) -> dict[str, Any]:
    """Everything the panel shows, read off the GUI thread."""
    from crashdesk.collector import recent_rejections

    hits = store.search("source:collector", sort="-date", limit=FEED_SIZE).hits
    out: dict[str, Any] = {
        "feed": [[_when(h.get("date") or h.get("submitted_at")), h.get("crash_id"), h.get("product"),
                  h.get("version"), h.get("state"), h.get("signature")] for h in hits],
        "rejections": [[_when(r.get("time")), r.get("status"), r.get("reason"), r.get("detail"),
                        r.get("peer"), r.get("user_agent")] for r in recent_rejections(data_dir)],
        "rules": None, "stats": None, "token_set": _token_set(),
    }
    if handle is not None:
        config = getattr(handle, "config", None)
        if config is not None:
            out["rules"] = describe_rules(config.throttler)
        try:
            out["stats"] = handle.stats()
        except Exception:  # noqa: BLE001 - counters are a nicety
            out["stats"] = None
    return out


class CollectorPanel(QWidget):
    """Collector status, URL and snippets, live feed, rejections and throttle rules."""

    refreshed = Signal()
    token_created = Signal()
    received = Signal(str)  # emitted from any thread by post_received; delivered on the GUI thread

    def __init__(self, store: Any, jobs: Jobs, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs
        self.data_dir = Path(data_dir)
        self.url: str | None = None
        self.handle: Any = None
        self.data: dict[str, Any] = {}
        self._gen = 0

        self.status = QLabel()
        self.status.setObjectName("collector_status")
        self.status.setWordWrap(True)
        self.url_edit = QLineEdit()
        self.url_edit.setReadOnly(True)
        self.url_edit.setObjectName("collector_url")
        self.copy_button = QPushButton("Copy URL")
        self.copy_button.clicked.connect(self.copy_url)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        url_row = QHBoxLayout()
        url_row.addWidget(QLabel("Submit URL:"))
        url_row.addWidget(self.url_edit, 1)
        url_row.addWidget(self.copy_button)
        url_row.addWidget(self.refresh_button)
        # offered while no read-API token is set (first run): any local program, and a web page through DNS
        # rebinding, could otherwise read the dumps
        self.token_offer = QWidget()
        self.token_offer.setObjectName("collector_token_offer")
        offer = QHBoxLayout(self.token_offer)
        offer.setContentsMargins(0, 0, 0, 0)
        self.token_label = QLabel("No read-API token is set: every program on this machine can read the "
                                  "collected crashes and dumps through the collector's API.")
        self.token_label.setWordWrap(True)
        self.token_button = QPushButton("Create a token")
        self.token_button.setObjectName("collector_create_token")
        self.token_button.clicked.connect(self.create_token)
        offer.addWidget(self.token_label, 1)
        offer.addWidget(self.token_button)
        self.token_offer.hide()
        self.snippet_tabs = QTabWidget()
        self.snippet_edits: dict[str, QPlainTextEdit] = {}
        for name in ("Crashpad", "Breakpad", "curl"):
            edit = QPlainTextEdit()
            edit.setReadOnly(True)
            edit.setMinimumHeight(120)  # the whole Crashpad snippet (handler line and C++ setup) scrolls
            self.snippet_edits[name] = edit
            page = QWidget()
            pl = QHBoxLayout(page)
            pl.setContentsMargins(2, 2, 2, 2)
            pl.addWidget(edit, 1)
            copy = QPushButton("Copy")
            copy.clicked.connect(lambda _=False, e=edit: QApplication.clipboard().setText(e.toPlainText()))
            pl.addWidget(copy, 0, Qt.AlignmentFlag.AlignTop)
            self.snippet_tabs.addTab(page, name)
        self.snippet_tabs.setMaximumHeight(180)

        self.feed = read_only_table(
            ["Received", "Crash ID", "Product", "Version", "State", "Signature"],
            "collector_feed", wrap=False)
        for col, width in enumerate((135, 270, 120, 60, 75)):
            self.feed.setColumnWidth(col, width)
        self.rejections = read_only_table(
            ["When", "Status", "Reason", "Detail", "Peer", "User agent"],
            "collector_rejections", wrap=False)
        for col, width in enumerate((135, 50, 210, 220, 90)):
            self.rejections.setColumnWidth(col, width)
        self.rules = read_only_table(
            ["Rule", "Result", "Applies to"],
            "collector_rules", wrap=False)
        self.rules.setColumnWidth(0, 140)
        self.rules.setColumnWidth(1, 110)
        self.rules_note = QLabel()
        self.rules_note.setWordWrap(True)
        self.stats = QLabel()
        feed_box = QGroupBox("Arriving crashes (live)")
        QVBoxLayout(feed_box).addWidget(self.feed)
        rej_box = QGroupBox("Rejected submissions")
        QVBoxLayout(rej_box).addWidget(self.rejections)
        rules_box = QGroupBox("Throttle rules (first match decides)")
        rl = QVBoxLayout(rules_box)
        rl.addWidget(self.rules)
        rl.addWidget(self.rules_note)
        rl.addWidget(self.stats)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(rej_box)
        lower.addWidget(rules_box)
        lower.setSizes([700, 450])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(feed_box)
        split.addWidget(lower)
        split.setSizes([330, 250])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.status)
        lay.addLayout(url_row)
        lay.addWidget(self.token_offer)
        lay.addWidget(self.snippet_tabs)
        lay.addWidget(split, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh)
        self.received.connect(self.notify_received, Qt.ConnectionType.QueuedConnection)
        self._poll = QTimer(self)  # rejections are not announced: look again now and then while shown
        self._poll.setInterval(5000)
        self._poll.timeout.connect(self.refresh)
        self.set_state(None, "looking for the local collector", starting=True)

    def set_state(self, url: str | None, message: str, handle: Any = None, starting: bool = False) -> None:
        """Show the collector's state (what ``CollectorState`` carries); ``starting`` while the app is still
        looking for it (grey, not a red "Not running")."""
        self.url, self.handle = url, handle
        running = bool(url)
        if starting and not running:
            self.status.setText(f"<b style='color:#777777'>◌ Starting…</b> — {message}")
        else:
            colour = "#2e7d32" if running else "#c0392b"
            self.status.setText(f"<b style='color:{colour}'>{'● Running' if running else '○ Not running'}</b>"
                                f" — {message}")
        self.url_edit.setText(url or "")
        self.copy_button.setEnabled(running)
        for name, text in snippets(url or "http://127.0.0.1:PORT/submit").items():
            self.snippet_edits[name].setPlainText(text)
        if handle is None:
            self.rules_note.setText("The rules of a collector started elsewhere (crashdesk collector "
                                    "--throttle-rules FILE) are not visible here." if running else "")
        self.refresh()

    def copy_url(self) -> None:
        if self.url:
            QApplication.clipboard().setText(self.url)

    def create_token(self) -> None:
        """Generate a token into the keyring; the collector this app started uses it at once."""
        from crashdesk.collector.auth import create_token

        handle = self.handle
        self.token_button.setEnabled(False)

        def work(cancel, report) -> str:
            token = create_token()
            if handle is not None and hasattr(handle, "set_token"):
                handle.set_token(token)
                return token
            return token

        def done(token: str) -> None:
            QApplication.clipboard().setText(token)
            when = "now" if handle is not None else "from the collector's next start"
            self.token_label.setText(f"A read-API token was created and stored in the keyring (copied to the "
                                     f"clipboard); the collector uses it {when}. Readers send it as Auth-Token.")
            self.token_button.hide()
            emit(self.token_created)

        def failed(exc: BaseException) -> None:
            self.token_label.setText(f"The keyring refused the token: {exc}")
            self.token_button.setEnabled(True)

        self.jobs.submit(work, on_done=done, on_error=failed)

    def post_received(self, crash_id: str) -> None:
        """Thread-safe: give this as a collector's ``on_received`` (it runs on the collector's thread)."""
        emit(self.received, crash_id)

    def notify_received(self, _crash_id: str = "") -> None:
        """A crash arrived (any thread's signal, delivered here): refresh the feed shortly."""
        self._debounce.start()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._poll.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._poll.stop()
        super().hideEvent(event)

    def refresh(self) -> None:
        self._gen += 1
        gen, store, data_dir, handle = self._gen, self.store, self.data_dir, self.handle
        self.jobs.submit(lambda c, r: load_panel_data(store, data_dir, handle),
                         on_done=lambda d: self._on_data(gen, d), on_error=lambda exc: None)

    def _on_data(self, gen: int, data: dict[str, Any]) -> None:
        if gen != self._gen:
            return
        self.data = data
        if data.get("token_set") is False:
            self.token_offer.show()
        elif not self.token_button.isHidden():  # set elsewhere; keep the "created" message when made here
            self.token_offer.hide()
        fill_rows(self.feed, data["feed"])
        fill_rows(self.rejections, data["rejections"])
        if data["rules"] is not None:
            fill_rows(self.rules, data["rules"])
            self.rules_note.setText("")
        elif self.handle is None:
            self.rules.setRowCount(0)
        stats = data.get("stats") or {}
        if "accepted" in stats:
            rejected = stats.get("rejected") or {}
            text = f"Since start: {stats['accepted']} accepted, {sum(rejected.values())} rejected"
            if rejected:
                text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())) + ")"
            if stats.get("last_crash_id"):
                text += f"; last crash {stats['last_crash_id']}"
            self.stats.setText(text)
        else:
            self.stats.setText("")
        emit(self.refreshed)
