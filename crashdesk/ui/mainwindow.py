"""The main window: search bar, facet panel, crash list, crash view, status bar; menus and shortcuts.

Views emit what the user did; this window turns that into background jobs (``crashdesk.ui.jobs``) and feeds
the results back to the views. The store is never read on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crashdesk.engine.query import Or, QueryError, parse_query
from crashdesk.errors import CrashDeskError
from crashdesk.ui import searching
from crashdesk.ui.collector_link import CollectorState
from crashdesk.ui.detail import CrashDetail, load_detail
from crashdesk.ui.drops import classify, dumps_inside
from crashdesk.ui.imports import ImportResult, import_minidumps
from crashdesk.ui.jobs import Jobs
from crashdesk.ui.models.crash_list import HEADERS, Col, CrashListModel
from crashdesk.ui.qt import (
    QAbstractItemView,
    QAction,
    QApplication,
    QFileDialog,
    QHeaderView,
    QItemSelectionModel,
    QKeySequence,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QModelIndex,
    QSettings,
    QShortcut,
    QSplitter,
    QStackedWidget,
    Qt,
    QTableView,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)
from crashdesk.ui.samples import load_samples
from crashdesk.ui.sources import SourceMap
from crashdesk.ui.views.crash_view import TABS, CrashView
from crashdesk.ui.views.empty_state import EmptyState
from crashdesk.ui.views.facets import FacetPanel
from crashdesk.ui.views.search_bar import SearchBar, quote_value
from crashdesk.ui.views.status import StatusBar

DEFAULT_HIDDEN = (Col.CRASH_ID,)
#: the Signature column never gets narrower than this when the window is resized (it takes the spare width)
SIGNATURE_MIN_WIDTH = 220


#: facets over text fields, where a bare ``field:value`` means "contains": a facet click wants the exact value
EXACT_FACETS = ("signature",)


def add_term(query: str, term_text: str) -> str:
    """``query`` narrowed by ``term_text``; a query whose top level is an OR is put in parentheses first
    (``a OR b`` + ``x`` is ``(a OR b) x``, not ``a OR (b x)``)."""
    query = query.strip()
    if not query:
        return term_text
    try:
        root = parse_query(query).root
    except QueryError:
        return f"{query} {term_text}"
    return f"({query}) {term_text}" if isinstance(root, Or) else f"{query} {term_text}"


def quote_term(field: str, term: str, exclude: bool = False) -> str:
    """The query term a facet click adds: ``field:value`` (``field:=value`` on text fields), quoted as needed."""
    op = "=" if field in EXACT_FACETS else ""
    return f"{'-' if exclude else ''}{field}:{op}{quote_value(term)}"


class MainWindow(QMainWindow):
    """The workstation's window over one store."""

    detail_shown = Signal(str)  # crash id, after the crash view shows it
    facets_updated = Signal()
    imports_finished = Signal(object)  # ImportResult
    samples_loaded = Signal(list)
    empty_state_changed = Signal(bool)
    closed = Signal()
    crash_received = Signal(str)  # from the collector's thread: a new crash was stored
    crash_processed = Signal(str, bool)  # from the processing service's thread
    processing_progressed = Signal(str)  # status text, from the processing service's thread
    raise_requested = Signal()  # a second start on this data folder asked for this window
    symbols_added = Signal(object)  # a BuildFolderReport (None: failed or cancelled), after a dropped symbol job
    first_painted = Signal()  # once, after the window's first paint (app.py starts background work then)

    def __init__(self, store: Any, *, settings: QSettings | None = None, jobs: Jobs | None = None,
                 collector: CollectorState | None = None, cache_dir: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.settings = settings or QSettings("CrashDesk", "CrashDesk")
        self.jobs = jobs or Jobs(self)
        self.cache_dir = cache_dir
        db_path = getattr(getattr(store, "db", None), "path", None)
        self.setWindowTitle(f"CrashDesk — {Path(db_path).parent}" if db_path else "CrashDesk")
        self.setAcceptDrops(True)
        self.symbols_dialog: Any = None  # "Add symbols": dropped .sym files and build folders
        self._symbol_queue: list[tuple[str, str]] = []
        self.resize(1280, 800)
        self._detail_generation = 0
        self._facet_generation = 0
        self._store_total: int | None = None
        self._pending_select: str | None = None
        self.sources = SourceMap.from_settings(self.settings)

        # --- widgets
        self.model = CrashListModel(self.jobs, store, self)
        self.search_bar = SearchBar(searching.field_names())
        self.facets = FacetPanel()
        self.table = QTableView()
        self.table.setObjectName("crash_list")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab moves to the next pane; the arrows move within the list
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._signature_takes_spare_width()
        header.setSortIndicator(Col.DATE, Qt.SortOrder.DescendingOrder)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._on_header_context_menu)
        for col, width in ((Col.DATE, 120), (Col.SIGNATURE, 300), (Col.PRODUCT, 130), (Col.VERSION, 60),
                           (Col.OS, 55), (Col.CPU, 55), (Col.REASON, 165), (Col.SOURCE, 75), (Col.STATE, 75),
                           (Col.CRASH_ID, 260)):
            self.table.setColumnWidth(col, width)
        for col in DEFAULT_HIDDEN:
            self.table.setColumnHidden(col, True)
        self.crash_view = CrashView(self.sources)

        self.list_splitter = QSplitter(Qt.Orientation.Vertical)
        self.list_splitter.addWidget(self.table)
        self.list_splitter.addWidget(self.crash_view)
        self.list_splitter.setStretchFactor(0, 2)
        self.list_splitter.setStretchFactor(1, 3)
        self.list_splitter.setSizes([330, 470])
        self.side_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.side_splitter.addWidget(self.facets)
        self.side_splitter.addWidget(self.list_splitter)
        self.side_splitter.setStretchFactor(1, 4)
        self.side_splitter.setSizes([260, 1020])
        workspace = QWidget()
        lay = QVBoxLayout(workspace)
        lay.setContentsMargins(6, 6, 6, 0)
        self.read_only_banner = QLabel()
        self.read_only_banner.setObjectName("read_only_banner")
        self.read_only_banner.setWordWrap(True)
        self.read_only_banner.setStyleSheet("QLabel { background: #fff4ce; color: #4d3800; padding: 6px; "
                                            "border: 1px solid #e0c060; border-radius: 3px; }")
        self.read_only_banner.hide()
        lay.addWidget(self.search_bar)
        lay.addWidget(self.side_splitter, 1)
        self.no_results = QLabel()
        self.empty_state = EmptyState()
        self.stack = QStackedWidget()
        self.loading = QLabel("Opening the crash store…")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading)
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(workspace)
        self.workspace = workspace
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.read_only_banner)
        central_layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.status = StatusBar()
        self.setStatusBar(self.status)

        self._build_actions()
        self._connect()
        self._restore_layout()
        self.set_collector(collector or CollectorState(None, "collector not running"))
        self.collector_paths: Any = None  # set by watch_collector: the data folder whose collector is watched
        self._collector_generation = 0
        self._store_counts: Any = None
        self._collector_timer = QTimer(self)
        self._collector_timer.setInterval(2000)
        self._collector_timer.timeout.connect(self._check_collector)
        self.shutdown_hook: Any = None  # app.py: stops processing and the collector before the window goes
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(40)
        self._detail_timer.timeout.connect(self._load_current_detail)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(400)
        self._refresh_timer.timeout.connect(self._refresh_keeping_selection)
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(30_000)
        self._sync_timer.timeout.connect(self.refresh_sync_state)
        self._sync_timer.start()
        self.processing: Any = None
        self.reload_store()
        self.refresh_sync_state()
        # --- issue 10 (signatures, regeneration workbench, compare, collector/sync panels, settings) ---
        from crashdesk.ui.decision_views import install as install_decision_views

        self.decision = install_decision_views(self)
        # --- end of issue 10 ---
        from crashdesk.ui.export_link import install as install_export  # issue 23: File → Export, menus

        self.export = install_export(self)

    # ------------------------------------------------------------------ construction

    def _build_actions(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.open_action = QAction("&Open minidump…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.open_minidumps)
        self.samples_action = QAction("Load &sample crashes", self)
        self.samples_action.triggered.connect(self.load_sample_crashes)
        self.connect_action = QAction("&Connect to a server…", self)
        self.connect_action.triggered.connect(self.connect_to_server)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for a in (self.open_action, self.samples_action, self.connect_action):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

        edit_menu = mb.addMenu("&Edit")
        self.find_action = QAction("&Find…", self)
        self.find_action.setShortcuts([QKeySequence("Ctrl+F"), QKeySequence("Ctrl+K")])
        self.find_action.triggered.connect(self.focus_search)
        self.copy_sig_action = QAction("Copy &signature", self, shortcut=QKeySequence("Ctrl+Shift+C"))
        self.copy_sig_action.triggered.connect(self.copy_signature)
        self.copy_ids_action = QAction("Copy crash &IDs", self, shortcut=QKeySequence("Ctrl+Shift+I"))
        self.copy_ids_action.triggered.connect(self.copy_crash_ids)
        self.typical_action = QAction("Compare with its signature's &typical stack", self)
        self.typical_action.triggered.connect(self.compare_with_typical)
        for a in (self.find_action, self.copy_sig_action, self.copy_ids_action, self.typical_action):
            edit_menu.addAction(a)

        view_menu = mb.addMenu("&View")
        self.next_action = QAction("&Next crash", self)
        self.next_action.setShortcuts([QKeySequence("Alt+Down"), QKeySequence("Ctrl+J")])
        self.next_action.triggered.connect(lambda: self.move_selection(1))
        self.prev_action = QAction("&Previous crash", self)
        self.prev_action.setShortcuts([QKeySequence("Alt+Up"), QKeySequence("Ctrl+Shift+J")])
        self.prev_action.triggered.connect(lambda: self.move_selection(-1))
        self.refresh_action = QAction("&Refresh", self, shortcut=QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.run_query)
        self.facets_action = QAction("&Facets panel", self, checkable=True, checked=True)
        self.facets_action.toggled.connect(self.facets.setVisible)
        self.sources_action = QAction("&Source folders…", self)
        self.sources_action.triggered.connect(self.edit_source_folders)
        self.symbols_action = QAction("S&ymbol sources…", self)
        self.symbols_action.triggered.connect(self.edit_symbol_sources)
        for a in (self.next_action, self.prev_action, self.refresh_action):
            view_menu.addAction(a)
        view_menu.addSeparator()
        self.columns_menu = view_menu.addMenu("&Columns")
        self.column_actions: dict[Col, QAction] = {}
        for col in Col:
            act = QAction(HEADERS[col], self, checkable=True)
            act.setChecked(not self.table.isColumnHidden(col))
            act.toggled.connect(lambda on, c=col: self.table.setColumnHidden(c, not on))
            self.columns_menu.addAction(act)
            self.column_actions[col] = act
        self.all_threads_action = QAction("&All threads of the query…", self, shortcut=QKeySequence("Ctrl+Shift+T"))
        self.all_threads_action.triggered.connect(self.show_all_threads)
        view_menu.addAction(self.all_threads_action)
        view_menu.addAction(self.facets_action)
        view_menu.addAction(self.sources_action)
        view_menu.addAction(self.symbols_action)
        tabs_menu = view_menu.addMenu("Crash &tabs")
        for i, title in enumerate(TABS):
            act = QAction(title, self, shortcut=QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _=False, n=i: self.crash_view.setCurrentIndex(n))
            tabs_menu.addAction(act)
        help_menu = mb.addMenu("&Help")  # issue 26: the facts the collector's /__version__ leaves out
        self.about_action = QAction("&About CrashDesk", self)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)
        self.addActions([self.find_action, self.next_action, self.prev_action, self.copy_sig_action])
        QShortcut(QKeySequence("Escape"), self.table, activated=lambda: self.search_bar.edit.setFocus())

    def _connect(self) -> None:
        self.search_bar.query_submitted.connect(self.run_query)
        self.model.search_finished.connect(self._on_model_search_finished)
        self.model.search_failed.connect(self._on_model_search_failed)
        self.model.page_loaded.connect(self._on_model_page_loaded)
        self.model.modelReset.connect(self._on_model_reset)
        self.facets.facet_clicked.connect(self._on_facets_facet_clicked)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.jobs.changed.connect(self._on_jobs_changed)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.status.cancel_requested.connect(self._on_status_cancel)
        self.empty_state.open_requested.connect(self.open_minidumps)
        self.empty_state.samples_requested.connect(self.load_sample_crashes)
        self.empty_state.connect_requested.connect(self.connect_to_server)
        self.crash_view.fetch_symbols_requested.connect(self.fetch_missing_symbols)
        self.crash_view.reprocess_requested.connect(self.reprocess_crash)
        self.crash_view.open_source_requested.connect(self.open_source_file)
        self.crash_received.connect(self._on_crash_received)
        self.crash_processed.connect(self._on_crash_processed)
        self.processing_progressed.connect(self.status.set_processing)

    # ------------------------------------------------------------------ live updates (any thread may call)

    def notify_crash_received(self, crash_id: str) -> None:
        """The collector stored ``crash_id`` (called on the collector's thread)."""
        emit(self.crash_received, crash_id)

    def notify_crash_processed(self, crash_id: str, ok: bool) -> None:
        """The processing service finished ``crash_id`` (called on its thread)."""
        emit(self.crash_processed, crash_id, ok)

    def notify_processing_progress(self, progress: Any) -> None:
        from crashdesk.ui.processing_link import describe

        emit(self.processing_progressed, describe(progress))

    def attach_processing(self, service: Any) -> None:
        """Use ``service`` (a started ProcessingService) for imports and arrivals; None when unavailable."""
        self.processing = service
        if service is None:
            self.status.set_processing("Processing: not available in this build")
        else:
            service.notify()

    def _on_crash_received(self, crash_id: str) -> None:
        if self.processing is not None:
            self.processing.notify()
        self._refresh_timer.start()

    def _on_crash_processed(self, crash_id: str, ok: bool) -> None:
        self._refresh_timer.start()
        if crash_id == self.current_crash_id():
            self.show_crash(crash_id)

    def _refresh_keeping_selection(self) -> None:
        if self.showing_empty_state or self._store_total in (None, 0):
            self.reload_store()
            return
        self._pending_select = self.current_crash_id()
        self.table.clearSelection()
        store = self.store
        self.jobs.submit(lambda c, r: store.count(), on_done=self._on_store_recounted)
        self.model.refresh()

    def _on_store_recounted(self, total: int) -> None:
        self._store_total = total
        self.status.set_count(self.model.total, total)

    def refresh_sync_state(self) -> None:
        store = self.store

        def read(cancel, report) -> str:
            try:
                from crashdesk.store.syncstate import SyncState

                jobs = SyncState(store).jobs()
            except Exception:  # noqa: BLE001 - no sync tables yet, or no sync package: nothing to say
                return "none configured"
            if not jobs:
                return "none configured"
            last = max(jobs, key=lambda j: j.get("last_run_at") or "")
            if not last.get("last_run_at"):
                return f"{len(jobs)} saved, never run"
            when = (last["last_run_at"] or "")[:16].replace("T", " ")
            return f"{last['server']} {last.get('last_status') or ''} at {when} UTC".replace("  ", " ")

        self.jobs.submit(read, on_done=self.status.set_sync)

    # ------------------------------------------------------------------ store and query

    def reload_store(self) -> None:
        """Count the store in the background; show the empty state or run the last query."""
        store = self.store
        first = self._store_total is None
        self.jobs.submit(lambda c, r: store.count(), on_done=self._on_store_counted,
                         on_error=lambda exc: self._show_error("Cannot read the crash store", exc))
        if first:  # the first page is read alongside the count: first paint does not wait for two round trips
            self.run_query(self.search_bar.text())

    def _on_store_counted(self, total: int) -> None:
        had_total = self._store_total is not None and self.stack.currentWidget() is not self.loading
        self._store_total = total
        if total == 0:
            self.show_empty_state(True)
            return
        self.show_empty_state(False)
        if had_total or self.model.query != self.search_bar.text().strip():
            self.run_query(self.search_bar.text())

    def show_empty_state(self, empty: bool) -> None:
        self.stack.setCurrentWidget(self.empty_state if empty else self.workspace)
        self.status.set_count(0 if empty else self.model.total, self._store_total)
        emit(self.empty_state_changed, empty)

    @property
    def showing_empty_state(self) -> bool:
        return self.stack.currentWidget() is self.empty_state

    def run_query(self, query: str | None = None) -> None:
        if not isinstance(query, str):
            query = self.search_bar.text()
        pasted = searching.pasted_query(query)  # a bp- id, a Crash Stats report or search URL
        if pasted is not None:
            self.status.showMessage(f"{query.strip()[:80]} → {pasted or 'all crashes'}", 8000)
            query = pasted
        self.search_bar.clear_error()
        if query != self.search_bar.text():
            self.search_bar.set_text(query)
        self.model.set_query(query)  # facets are counted once the first page is in (_on_model_search_finished)

    def _refresh_facets(self, query: str) -> None:
        """Count each facet in its own background job, so each shows as soon as it is counted. A new query
        cancels the previous one's facet jobs: one not started yet never runs, a running one has its SQL
        interrupted (so a storm of facet clicks does not queue seconds of stale counting)."""
        for job in getattr(self, "_facet_jobs", ()):
            job.cancel.cancel()
        self._facet_generation += 1
        self._facet_results: dict[str, list[tuple[str, int]]] = {}
        gen, store = self._facet_generation, self.store
        self._facet_jobs = [
            self.jobs.submit(
                lambda c, r, n=name: searching.search(store, query, limit=0, facets=(n,), cancel=c),
                on_done=lambda res, g=gen: self._on_facets_ready(g, res),
                on_error=lambda exc: None)  # the list's own search reports query errors; Cancelled is expected
            for name in searching.FACETS]

    def _on_facets_ready(self, gen: int, result: searching.SearchResult) -> None:
        if gen != self._facet_generation:
            return
        self._facet_results.update(result.facets)
        self.facets.set_facets(self._facet_results)
        for field, items in result.facets.items():
            self.search_bar.set_values(field, [t for t, _ in items])
        if set(self._facet_results) >= set(searching.FACETS):
            emit(self.facets_updated)

    def _on_model_search_finished(self, total: int) -> None:
        query = self.model.query
        notice, self._restore_notice = getattr(self, "_restore_notice", None), None
        if notice:
            self.search_bar.show_error(notice, None)
        # facets once this slot (and the others on the first page: the selection, the tab counts) is done and
        # the rows are painted: started now, their threads would contend with this thread for the GIL
        QTimer.singleShot(0, self, lambda q=query: self._refresh_facets(q) if q == self.model.query else None)
        self.search_bar.add_history(query)
        self.settings.setValue("search/last_query", query)
        self.settings.setValue("search/history", self.search_bar.history)
        self.status.set_count(total, self._store_total)
        if self.model.rowCount() and not self.table.selectionModel().hasSelection():
            row = self.model.row_of(self._pending_select) if self._pending_select else 0
            self._pending_select = None
            self.table.selectRow(max(0, row))

    def _on_model_search_failed(self, exc: BaseException) -> None:
        self.search_bar.show_error(str(exc), searching.error_position(exc))

    def _on_model_page_loaded(self, _rows: int) -> None:
        pass

    def _on_model_reset(self) -> None:
        self.crash_view.clear()

    def _on_facets_facet_clicked(self, field: str, term: str, exclude: bool) -> None:
        term_text = quote_term(field, term, exclude)
        query = self.search_bar.text().strip()
        if term_text in query.split():
            return
        self.run_query(add_term(query, term_text))

    # ------------------------------------------------------------------ selection and detail

    def _on_table_current_row_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if current.isValid():
            self._detail_timer.start()

    def _on_table_selection_changed(self, *_args: Any) -> None:
        n = len(self.table.selectionModel().selectedRows())
        if n > 1:
            self.status.showMessage(f"{n} crashes selected", 2000)

    def selected_crash_ids(self) -> list[str]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [cid for cid in (self.model.crash_id(r) for r in rows) if cid]

    def current_crash_id(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.crash_id(index.row()) if index.isValid() else None

    def _load_current_detail(self) -> None:
        crash_id = self.current_crash_id()
        if not crash_id:
            return
        self.show_crash(crash_id)

    def show_crash(self, crash_id: str) -> None:
        """Load ``crash_id`` in the background and show it in the crash view."""
        self._detail_generation += 1
        gen, store = self._detail_generation, self.store
        paths, sources = self._data_paths(), self._settings_sources()

        def work(cancel, report) -> CrashDetail:
            detail = load_detail(store, crash_id)
            if paths is not None and detail.processed is not None:
                from crashdesk.ui.processing_link import current_symbol_sources

                detail.current_symbol_sources = current_symbol_sources(paths, sources)
            return detail

        self.jobs.submit(work,
                         on_done=lambda d: self._on_detail_loaded(gen, d),
                         on_error=lambda exc: self._show_error(f"Cannot open crash {crash_id}", exc))

    def _on_detail_loaded(self, gen: int, detail: CrashDetail) -> None:
        if gen != self._detail_generation:
            return
        self.crash_view.show_crash(detail)
        emit(self.detail_shown, detail.crash_id)

    def _data_paths(self) -> Any:
        """The data folder's paths (None for a store without a folder on disk)."""
        db_path = getattr(getattr(self.store, "db", None), "path", None)
        if db_path is None:
            return None
        from crashdesk.config.paths import resolve_paths

        return resolve_paths(str(Path(db_path).parent))

    def _settings_sources(self) -> dict[str, Any]:
        from crashdesk.ui.processing_link import settings_sources

        return settings_sources(self.settings)

    def reprocess_crash(self, crash_id: str) -> None:
        """Process ``crash_id`` again (with the symbol sources Settings give now)."""
        if self.processing is None:
            self.status.showMessage("Processing is not running: the crash cannot be processed again now", 8000)
            return
        self.processing.reprocess([crash_id])
        self.status.showMessage(f"Processing {crash_id} again with the current symbol sources", 5000)

    def reconfigure_processing(self) -> None:
        """Settings changed: the processing service uses the new symbol sources from its next crash on."""
        service, paths, sources = self.processing, self._data_paths(), self._settings_sources()
        if service is None or paths is None or not hasattr(service, "reconfigure"):
            return
        from crashdesk.ui.processing_link import worker_config

        def work(cancel, report):
            config = worker_config(paths, sources)
            if config is not None:
                service.reconfigure(config)

        self.jobs.submit(work, on_error=lambda exc: self._show_error("Processing keeps its old settings", exc))

    def open_source_file(self, path: str, line: int) -> None:
        """A double-clicked frame's source: shown at its line in the source pane, and opened in the desktop's
        editor for the file type."""
        from crashdesk.ui.qt import QDesktopServices, QUrl

        self.status.showMessage(f"{path}:{line}", 8000)
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def compare_with_typical(self):
        """The current crash against the typical stack of its signature group (Compare window, 3-way tab)."""
        from crashdesk.ui.views.compare import CompareWindow

        crash_id = self.current_crash_id()
        if crash_id is None:
            self.status.showMessage("Select a crash first", 3000)
            return None
        window = CompareWindow(self.store, self.jobs, parent=self)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        window.show()
        window.view.compare_typical(crash_id)
        return window

    def show_all_threads(self):
        """The all-threads (hang) view of the current query's crashes (views.all_threads)."""
        from crashdesk.ui.views.all_threads import AllThreadsDialog

        dialog = AllThreadsDialog(self.jobs, self.store, self.model.query or "", self)
        dialog.crash_requested.connect(self.show_crash)
        dialog.show()
        dialog.compute()
        return dialog

    def move_selection(self, step: int) -> None:
        row = self.table.currentIndex().row()
        new = min(max(0, row + step), self.model.rowCount() - 1)
        if new >= 0 and new != row:
            index = self.model.index(new, 0)
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)

    # ------------------------------------------------------------------ commands

    def focus_search(self) -> None:
        if self.showing_empty_state:
            return
        self.search_bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_bar.edit.selectAll()

    def copy_signature(self) -> None:
        detail = self.crash_view.detail
        if detail is not None:
            self.crash_view.summary.copy_signature()
            self.status.showMessage("Signature copied", 2000)

    def copy_crash_ids(self) -> None:
        ids = self.selected_crash_ids()
        if ids:
            QApplication.clipboard().setText("\n".join(ids))
            self.status.showMessage(f"{len(ids)} crash id(s) copied", 2000)

    def open_minidumps(self) -> None:
        start = self.settings.value("import/last_folder", str(Path.home()))
        files, _ = QFileDialog.getOpenFileNames(self, "Open minidumps", start,
                                                "Minidumps (*.dmp *.mdmp *.minidump);;All files (*)")
        if files:
            self.settings.setValue("import/last_folder", str(Path(files[0]).parent))
            self.import_files(files)

    def import_files(self, paths: list[str]) -> None:
        """Import dumps on the serial writer thread with progress; then refresh and select the first."""
        store = self.store
        db_path = getattr(getattr(store, "db", None), "path", None)
        cache = Path(self.cache_dir) if self.cache_dir is not None else (
            Path(db_path).parent / "cache" if db_path else None)
        symbols_dir = cache / "symbols" if cache is not None else None  # a packet's symbol files (issue 23)
        self.jobs.submit(lambda cancel, report: import_minidumps(store, paths, cancel, report,
                                                                symbols_dir=symbols_dir),
                         on_done=self._on_import_done, title=f"Importing {len(paths)} file(s)", write=True,
                         visible=True, on_error=lambda exc: self._show_error("Import failed", exc))

    def _on_import_done(self, result: ImportResult) -> None:
        if result.crash_ids:
            self._pending_select = result.crash_ids[0]
            self.status.showMessage(f"Imported {len(result.crash_ids)} crash(es)", 5000)
        if result.failures:
            text = "\n".join(f"{Path(p).name}: {why}" for p, why in result.failures[:20])
            box = QMessageBox(QMessageBox.Icon.Warning, "Import",
                              f"{len(result.failures)} file(s) were not imported:\n{text}",
                              QMessageBox.StandardButton.Ok, self)
            box.setModal(False)
            box.show()
            self.last_import_message = box
        emit(self.imports_finished, result)
        if self.processing is not None and result.crash_ids:
            self.processing.notify()
        self.table.clearSelection()
        self.reload_store()

    def load_sample_crashes(self) -> None:
        store = self.store
        self.jobs.submit(lambda cancel, report: load_samples(store, cancel, report),
                         on_done=self._on_samples_loaded, title="Loading sample crashes", write=True,
                         visible=True, on_error=lambda exc: self._show_error("Cannot load the samples", exc))

    def _on_samples_loaded(self, ids: list[str]) -> None:
        self._pending_select = ids[0] if ids else None
        self.table.clearSelection()
        emit(self.samples_loaded, ids)
        self.reload_store()

    def connect_to_server(self) -> None:
        decision = getattr(self, "decision", None)
        sync = getattr(decision, "sync", None)
        if sync is not None:  # the sync panel (issue 10's views) when installed
            decision.show_tab(decision.tabs.indexOf(sync))
            return
        QMessageBox.information(
            self, "Connect to a server",
            "Crashes from a Socorro server (Crash Stats or another CrashDesk) are pulled with:\n\n"
            "    CRASHDESK_API_TOKEN=… crashdesk sync --server https://crash-stats.mozilla.org "
            "'product:Firefox date:>=2026-11-01'\n\nThey appear here as they arrive.")

    symbols_fetched = Signal(object)  # FetchReport

    def symbol_sources(self) -> tuple[list[str], list[str]]:
        def as_list(key: str) -> list[str]:
            value = self.settings.value(key, []) or []
            return [value] if isinstance(value, str) else [str(v) for v in value]

        return as_list("symbols/paths"), as_list("symbols/urls")

    def debuginfod_sources(self) -> list[str]:
        value = self.settings.value("symbols/debuginfod", []) or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def fetch_missing_symbols(self, crash_id: str) -> None:
        """Look the crash's missing symbols up in the background (progress, cancel), then re-process it."""
        from crashdesk.ui.symbol_fetch import fetch_missing_symbols

        store, (folders, urls) = self.store, self.symbol_sources()
        debuginfod = self.debuginfod_sources()
        cache_dir = Path(self.store.db.path).parent / "cache" if self.cache_dir is None else self.cache_dir
        self.crash_view.modules.fetch_button.setEnabled(False)
        self.crash_view.modules.retry_button.setEnabled(False)
        self.jobs.submit(
            lambda cancel, report: fetch_missing_symbols(store, crash_id, symbol_paths=folders, symbol_urls=urls,
                                                         cache_dir=cache_dir, cancel=cancel, report=report,
                                                         debuginfod_urls=debuginfod),
            on_done=self._on_symbols_fetched, title="Fetching symbols", visible=True,
            on_error=lambda exc: self._on_symbols_failed(exc))

    def _on_symbols_fetched(self, report: Any) -> None:
        self.status.showMessage(report.summary(), 10000)
        if report.found and self.processing is not None:
            self.processing.reprocess([report.crash_id])
        self.crash_view.modules.fetch_button.setEnabled(True)
        self.crash_view.modules.retry_button.setEnabled(True)
        emit(self.symbols_fetched, report)

    def _on_symbols_failed(self, exc: BaseException) -> None:
        self.crash_view.modules.fetch_button.setEnabled(True)
        self.crash_view.modules.retry_button.setEnabled(True)
        self._show_error("Fetching symbols failed", exc)

    def show_about(self) -> None:
        from crashdesk.ui.dialogs.about import AboutDialog

        self.about_dialog = AboutDialog(self, data_dir=self.store.db.path.parent)
        self.about_dialog.open()

    def edit_symbol_sources(self) -> None:
        """Symbol folders and servers have one place: the Settings dialog's "Symbols" page (it also writes the
        symbol-settings file the command line reads)."""
        self._open_settings_page("Symbols")

    def edit_source_folders(self) -> None:
        """Source path mappings have one place: the Settings dialog's "Source folders" page."""
        self._open_settings_page("Source folders")

    def _open_settings_page(self, title: str) -> Any:
        decision = getattr(self, "decision", None)
        if decision is None:
            return None
        dlg = decision.open_settings()
        for i in range(dlg.tabs.count()):
            if dlg.tabs.tabText(i) == title:
                dlg.tabs.setCurrentIndex(i)
        return dlg

    def set_read_only(self, message: str) -> None:
        """Say above the search bar that the store is read-only (and why nothing will arrive or change)."""
        self.read_only_banner.setText(message)
        self.read_only_banner.show()

    def set_collector(self, state: CollectorState) -> None:
        self.collector = state
        starting = getattr(state, "starting", False) and not state.url
        self.status.set_collector(state.url, "Collector: starting…" if starting else state.message)
        self.empty_state.set_collector(state.url, "starting…" if starting else state.message)

    def watch_collector(self, paths: Any, port: int | None = None) -> None:
        """Keep the collector's state true: every 2 s look at the data folder's collector lock (attach, take
        over when the collector this window was attached to stopped) and at the store's counts (crashes that
        another process collected or processed show up here too)."""
        self.collector_paths = paths
        self._collector_port = port  # for a collector this window starts when it takes over (None: the default)
        self._collector_timer.start()

    def _check_collector(self) -> None:
        from crashdesk.ui.collector_link import check_collector

        if self.collector_paths is None or getattr(self.collector, "starting", False):
            return
        self._collector_generation += 1
        gen, paths, state, store = self._collector_generation, self.collector_paths, self.collector, self.store
        port = getattr(self, "_collector_port", None)

        def work(cancel, report):
            return (check_collector(paths, state, self.notify_crash_received, port=port),
                    store.state_counts())

        self.jobs.submit(work, on_done=lambda r: self._on_collector_checked(gen, *r), on_error=lambda exc: None)

    def _on_collector_checked(self, gen: int, state: CollectorState | None, counts: Any) -> None:
        if state is not None:
            if gen == self._collector_generation:
                self.set_collector(state)
            elif state.handle is not None:
                state.stop()  # a newer check already decided: do not keep a second collector
        counts = dict(counts)
        changed = counts != self._store_counts if self._store_counts is not None \
            else self._store_total is not None and sum(counts.values()) != self._store_total
        if changed:  # another process (a collector, `crashdesk process`, sync) changed the store
            self._refresh_timer.start()
        self._store_counts = counts

    def raise_window(self) -> None:
        """Bring this window to the front (a second start on the same data folder asked)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        emit(self.raise_requested)

    # ------------------------------------------------------------------ jobs, errors

    def _on_jobs_changed(self) -> None:
        self.status.set_work(list(self.jobs.visible.values()))

    def _on_jobs_failed(self, title: str, exc: BaseException) -> None:
        self.status.showMessage(f"{title}: {exc}", 8000)

    def _on_status_cancel(self) -> None:
        for job in list(self.jobs.visible):
            job.cancel.cancel()

    def _show_error(self, what: str, exc: BaseException) -> None:
        self.status.showMessage(f"{what}: {exc}", 10000)

    # ------------------------------------------------------------------ header menu, drops, layout

    def _on_header_context_menu(self, pos) -> None:
        menu = QMenu(self)
        for act in self.column_actions.values():
            menu.addAction(act)
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if not classify(self._local_paths(event.mimeData())).empty:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Dumps and crash bundles are imported; .sym files, native debug files and folders go to the
        build-folder flow (:mod:`crashdesk.ui.drops` says which is which)."""
        plan = classify(self._local_paths(event.mimeData()))
        if plan.empty:
            event.ignore()
            return
        event.acceptProposedAction()
        if plan.imports:
            self.import_files(plan.imports)
        if plan.sym_files or plan.build_folders:
            self.add_symbols(plan.sym_files, plan.build_folders)

    @staticmethod
    def _local_paths(mime) -> list[str]:
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]

    @classmethod
    def _dropped_dumps(cls, mime) -> list[str]:
        return classify(cls._local_paths(mime)).imports

    def add_symbols(self, sym_files: list[str], folders: list[str]) -> None:
        """What Settings → Symbols → "Add build folder" does, for dropped files: in the "Add symbols" window
        (progress, Cancel, the report of signature changes), one after the other."""
        if self._data_paths() is None:
            self.status.showMessage("This store has no data folder: symbols cannot be added to it", 8000)
            return
        self._symbol_queue.extend([("sym", p) for p in sym_files] + [("folder", f) for f in folders])
        left = sum(dumps_inside(f) for f in folders)
        if left:
            self.status.showMessage(f"{left} minidump(s) inside the dropped folder were not imported (a folder is "
                                    "a build folder): drop the dump files themselves to import them", 15000)
        panel = self.symbols_panel()
        self.symbols_dialog.show()
        self.symbols_dialog.raise_()
        if not panel.busy:
            self._next_symbols()

    def symbols_panel(self) -> Any:
        """The "Add symbols" window's build-folder panel (made on first use)."""
        if self.symbols_dialog is None:
            from crashdesk.ui.qt import QDialog
            from crashdesk.ui.views.build_folder_panel import BuildFolderPanel

            dlg = QDialog(self)
            dlg.setWindowTitle("Add symbols")
            dlg.setModal(False)
            lay = QVBoxLayout(dlg)
            note = QLabel("Dropped .sym files are installed into the symbol cache; dropped folders (and the "
                          "folder of a dropped native debug file) are added to Settings → Symbols → folders. "
                          "Stored crashes that lacked these symbols are then processed again.")
            note.setWordWrap(True)
            lay.addWidget(note)
            dlg.panel = BuildFolderPanel(self.jobs, self._data_paths().data_dir, add_folder=self._add_symbol_folder,
                                         symbol_sources=self._settings_sources, parent=dlg)
            dlg.panel.finished.connect(self._symbols_finished)
            lay.addWidget(dlg.panel)
            dlg.resize(640, 300)
            self.symbols_dialog = dlg
        return self.symbols_dialog.panel

    def _next_symbols(self) -> None:
        if not self._symbol_queue:
            return
        kind, path = self._symbol_queue.pop(0)
        panel = self.symbols_panel()
        if kind == "sym":
            panel.start_symbol_file(path)
        else:
            panel.start(path)

    def _symbols_finished(self, report: Any) -> None:
        if report is not None and report.crashes:
            self.reload_store()
        emit(self.symbols_added, report)
        self._next_symbols()

    def _add_symbol_folder(self, folder: str) -> None:
        """A dropped build folder joins the symbol folders (QSettings and the command line's settings file)."""
        from crashdesk.ui.dialogs.settings import KEYS, settings_list
        from crashdesk.ui.symbol_settings import push

        folders = settings_list(self.settings, KEYS["symbol_paths"])
        if folder not in folders:
            self.settings.setValue(KEYS["symbol_paths"], [*folders, folder])
            try:
                push(self.settings, self._data_paths().data_dir)
            except CrashDeskError as exc:
                self._show_error("The command line's symbol settings were not updated", exc)
            self.reconfigure_processing()

    def _restore_layout(self) -> None:
        s = self.settings
        if s.value("window/geometry") is not None:
            self.restoreGeometry(s.value("window/geometry"))
        if s.value("window/state") is not None:
            self.restoreState(s.value("window/state"))
        for key, splitter in (("window/side", self.side_splitter), ("window/list", self.list_splitter)):
            if s.value(key) is not None:
                splitter.restoreState(s.value(key))
        if s.value("window/header") is not None:
            self.table.horizontalHeader().restoreState(s.value("window/header"))
            self._signature_takes_spare_width()  # a state saved by an older version stretched the last column
            for col, act in self.column_actions.items():
                act.setChecked(not self.table.isColumnHidden(col))
        history = s.value("search/history", []) or []
        self.search_bar.history = [history] if isinstance(history, str) else list(history)
        self._restore_last_query(str(s.value("search/last_query", "") or ""))
        tab = s.value("window/tab")
        if tab is not None:
            self.crash_view.setCurrentIndex(int(tab))

    def _restore_last_query(self, query: str) -> None:
        """Put the last session's query back only when it parses; otherwise start on every crash and say why."""
        self.restored_query_error: str | None = None
        try:
            if query.strip():
                parse_query(query)
        except QueryError as exc:
            self.restored_query_error = str(exc)
            self.search_bar.set_text("")
            # said under the search box (where the query would be) once the first list is shown, until the
            # user runs a query
            self._restore_notice = (f"The last session's query was not restored because it does not parse "
                                    f"({exc}): {query}")
            return
        self.search_bar.set_text(query)

    def _signature_takes_spare_width(self) -> None:
        """Spare width goes to the Signature column, not to whichever column is last: when the list is resized
        the Signature column gets what the other columns leave (never less than it has at 1024 px wide)."""
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        if not getattr(self, "_fitting_signature", False):
            self._fitting_signature = True
            self.table.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        from crashdesk.ui.qt import QEvent

        if obj is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_signature_column(event.size().width())
        return super().eventFilter(obj, event)

    def _fit_signature_column(self, width: int) -> None:
        others = sum(self.table.columnWidth(c) for c in Col
                     if c != Col.SIGNATURE and not self.table.isColumnHidden(c))
        self.table.setColumnWidth(Col.SIGNATURE, max(SIGNATURE_MIN_WIDTH, width - others))

    def save_layout(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/side", self.side_splitter.saveState())
        s.setValue("window/list", self.list_splitter.saveState())
        s.setValue("window/header", self.table.horizontalHeader().saveState())
        s.setValue("window/tab", self.crash_view.currentIndex())
        s.setValue("search/last_query", self.search_bar.text())
        s.sync()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().paintEvent(event)
        if not getattr(self, "_painted", False):
            self._painted = True
            QTimer.singleShot(0, lambda: emit(self.first_painted))  # after this frame reached the screen

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.save_layout()
        self._collector_timer.stop()
        self.jobs.cancel_all()
        self.jobs.wait(5000)
        self._sync_timer.stop()
        if self.shutdown_hook is not None:  # worker processes and the collector end while the window is up
            self.shutdown_hook()
        super().closeEvent(event)
        emit(self.closed)
