"""Hooks the issue-10 views into the main window: tabs next to the crash list (Signatures, Regeneration,
Collector, Sync), a Tools menu, the crash list's context menu (Compare two crashes, stored vs regenerated
signature), compare windows, and the settings dialog.

``install(window)`` is called once at the end of ``MainWindow.__init__``; everything it adds hangs off
``window.decision`` (a :class:`DecisionViews`), so the main window module itself stays small.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from crashdesk.ui.qt import QAction, QKeySequence, QMenu, QObject, Qt, QTabWidget, Signal, emit
from crashdesk.ui.views.collector_panel import CollectorPanel
from crashdesk.ui.views.compare import CompareWindow
from crashdesk.ui.views.signatures import SignaturesView
from crashdesk.ui.views.sync_panel import SyncPanel
from crashdesk.ui.views.topcrashers import TopCrashersView, VersionsWindow
from crashdesk.ui.views.workbench import RegenerationWorkbench

TAB_TITLES = ("Crashes", "Signatures", "Top crashers", "Regeneration", "Collector", "Sync")


def data_dir_of(store: Any) -> Path:
    return Path(store.db.path).parent


class DecisionViews(QObject):
    """The views that turn crashes into decisions, attached to one main window."""

    compare_opened = Signal(object)  # the CompareWindow

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        # a weak reference: window.decision -> self -> window would be a reference cycle holding the (Python
        # owned) main window, and the garbage collector may break it on a worker thread, deleting Qt widgets
        # there (a crash). Without the cycle the window goes when its last reference does, on the GUI thread.
        self._window_ref = weakref.ref(window)
        store, jobs = window.store, window.jobs
        self.data_dir = data_dir_of(store)
        self.profiles_dir = self.data_dir / "profiles"
        self.compare_windows: list[CompareWindow] = []
        self.signatures = SignaturesView(store, jobs)
        self.topcrashers = TopCrashersView(store, jobs)
        self._topcrashers_query: str | None = None
        self.versions_windows: list[VersionsWindow] = []
        self.workbench = RegenerationWorkbench(store, jobs, self.profiles_dir)
        self.collector = CollectorPanel(store, jobs, self.data_dir)
        self.sync = SyncPanel(store, jobs, self.data_dir)
        self._signatures_query: str | None = None

        # the crash list, facets and crash view become the first tab under the search bar
        self.tabs = QTabWidget()
        self.tabs.setObjectName("main_tabs")
        self.tabs.setDocumentMode(True)
        lay = window.workspace.layout()
        index = lay.indexOf(window.side_splitter)
        lay.removeWidget(window.side_splitter)
        for widget, title in zip((window.side_splitter, self.signatures, self.topcrashers, self.workbench,
                                  self.collector, self.sync), TAB_TITLES, strict=True):
            self.tabs.addTab(widget, title)
        lay.insertWidget(index, self.tabs, 1)
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self._build_menu()
        self._connect()
        self.set_collector(window.collector)
        tab = window.settings.value("window/main_tab")
        if tab is not None and str(tab).isdigit():
            self.tabs.setCurrentIndex(int(tab))

    @property
    def window(self) -> Any:
        return self._window_ref()

    # ------------------------------------------------------------------ wiring

    def _build_menu(self) -> None:
        w = self.window
        tools = w.menuBar().addMenu("&Tools")
        self.tab_actions = []
        for i, title in enumerate(TAB_TITLES):
            act = QAction(title, w, shortcut=QKeySequence(f"Alt+{i + 1}"))
            act.triggered.connect(lambda _=False, n=i: self.show_tab(n))
            tools.addAction(act)
            self.tab_actions.append(act)
        tools.addSeparator()
        self.compare_action = QAction("&Compare selected crashes", w, shortcut=QKeySequence("Ctrl+Shift+D"))
        self.compare_action.setEnabled(False)
        self.compare_action.triggered.connect(self.compare_selected_crashes)
        self.explain_action = QAction("Stored vs &regenerated signature", w, shortcut=QKeySequence("Ctrl+Shift+E"))
        self.explain_action.setEnabled(False)
        self.explain_action.triggered.connect(self.explain_current_crash)
        self.settings_action = QAction("&Settings…", w, shortcut=QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.settings_action.triggered.connect(self.open_settings)
        for act in (self.compare_action, self.explain_action):
            tools.addAction(act)
        tools.addSeparator()
        tools.addAction(self.settings_action)
        w.addActions([self.compare_action, self.explain_action, self.settings_action])
        w.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        w.table.customContextMenuRequested.connect(self._on_table_menu)

    def _connect(self) -> None:
        w = self.window
        w.table.selectionModel().selectionChanged.connect(self._on_selection)
        w.model.search_finished.connect(self._on_query_ran)
        w.crash_received.connect(self.collector.notify_received)
        self.signatures.crashes_requested.connect(self._list_crashes)
        self.signatures.compare_requested.connect(self.compare_signatures)
        self.signatures.versions_requested.connect(self.versions_for_signature)
        self.topcrashers.crashes_requested.connect(self._list_crashes)
        self.topcrashers.signature_requested.connect(self.open_in_signatures)
        self.topcrashers.compare_requested.connect(
            lambda product, a, b: self.open_versions(product, a, b))
        self.workbench.explain_requested.connect(self.explain)
        self.workbench.compare_signatures_requested.connect(self.compare_signatures)
        self.workbench.applied.connect(self._signatures_changed)
        self.workbench.undone.connect(self._signatures_changed)
        self.sync.sync_finished.connect(lambda _s: (w.reload_store(), w.refresh_sync_state()))
        w.closed.connect(self._close_compare_windows)
        # "Connect to a server…" (menu and first-run screen) opens the sync panel instead of a text hint
        for source, handler in ((w.empty_state.connect_requested, w.connect_to_server),
                                (w.connect_action.triggered, w.connect_to_server)):
            try:
                source.disconnect(handler)
            except (RuntimeError, TypeError):
                pass
            source.connect(self.connect_to_server)

    def set_collector(self, state: Any) -> None:
        if state is not None:
            self.collector.set_state(state.url, state.message, state.handle, getattr(state, "starting", False))

    def connect_to_server(self, *_args: Any) -> None:
        """Open the sync panel with the server form focused."""
        self.show_tab(TAB_TITLES.index("Sync"))
        self.sync.name_edit.setFocus()

    def show_tab(self, index: int) -> None:
        w = self.window
        if w.showing_empty_state and index != 0:
            w.show_empty_state(False)
        self.tabs.setCurrentIndex(index)

    def _on_tab_changed(self, index: int) -> None:
        self.window.settings.setValue("window/main_tab", index)
        query = self.window.model.query
        if self.tabs.widget(index) is self.signatures and self._signatures_query != query:
            self._signatures_query = query
            self.signatures.set_query(query)
        elif self.tabs.widget(index) is self.topcrashers and self._topcrashers_query != query:
            self._topcrashers_query = query
            self.topcrashers.set_query(query)
        elif self.tabs.widget(index) is self.workbench and not self.workbench.query_edit.isModified():
            self.workbench.set_query(query)  # follows the search bar until the user types their own
        elif self.tabs.widget(index) is self.collector:
            self.collector.refresh()
        elif self.tabs.widget(index) is self.sync:
            self.sync.refresh()

    def _on_query_ran(self, total: int) -> None:
        query = self.window.model.query
        # the Crashes tab says how many crashes the search bar's query matches, from whichever tab it ran
        self.tabs.setTabText(0, f"{TAB_TITLES[0]} ({total:,})" if query.strip() else TAB_TITLES[0])
        current = self.tabs.currentWidget()
        if current is self.signatures and self._signatures_query != query:
            self._signatures_query = query
            self.signatures.set_query(query)
        elif current is not self.signatures:
            self._signatures_query = None  # stale: reload when the tab is shown
        if self.tabs.currentWidget() is self.topcrashers and self._topcrashers_query != query:
            self._topcrashers_query = query
            self.topcrashers.set_query(query)
        elif self.tabs.currentWidget() is not self.topcrashers:
            self._topcrashers_query = None
        if current is self.workbench and not self.workbench.query_edit.isModified():
            self.workbench.set_query(query)
        if current not in (self.window.side_splitter, self.signatures):
            # a tab that does not show the query's crashes: say where they are
            self.window.status.showMessage(
                f"{total:,} crash{'es' if total != 1 else ''} match {query or 'everything'!r}: see the Crashes "
                "tab (Alt+1)", 8000)

    def _on_selection(self, *_args: Any) -> None:
        n = len(self.window.selected_crash_ids())
        self.compare_action.setEnabled(n == 2)
        self.explain_action.setEnabled(n >= 1)

    def _on_table_menu(self, pos) -> None:
        w = self.window
        menu = QMenu(w)
        menu.addAction(self.compare_action)
        menu.addAction(self.explain_action)
        menu.addSeparator()
        menu.addAction(w.copy_ids_action)
        if getattr(w, "export_action", None) is not None:  # issue 23: export the selection
            menu.addAction(w.export_action)
        menu.exec(w.table.viewport().mapToGlobal(pos))

    def _list_crashes(self, query: str) -> None:
        self.tabs.setCurrentIndex(0)
        self.window.run_query(query)

    def _signatures_changed(self, *_args: Any) -> None:
        self._signatures_query = None
        self.window._refresh_timer.start()  # the list refreshes, keeping the selection
        if self.tabs.currentWidget() is self.signatures:
            self._signatures_query = self.window.model.query
            self.signatures.refresh()

    # ------------------------------------------------------------------ top crashers (issue 25)

    def open_in_signatures(self, signature: str | None) -> None:
        """The signature view over the Top crashers' scope, with ``signature`` selected."""
        scope = self.topcrashers.query_for(signature).rsplit(" signature:", 1)[0]
        sv = self.signatures

        def select() -> None:
            sv.loaded.disconnect(select)
            sv.select_signature(signature)

        sv.loaded.connect(select)
        self._signatures_query = scope
        self.tabs.setCurrentWidget(sv)
        sv.set_query(scope)

    def open_versions(self, product: str | None, a: str | None = None, b: str | None = None, *,
                      periods: bool = False, focus: tuple[str | None] | None = None) -> VersionsWindow:
        w = self.window
        vw = VersionsWindow(w.store, w.jobs, parent=w)
        vw.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        vw.crashes_requested.connect(self._list_crashes)
        self.versions_windows.append(vw)
        vw.destroyed.connect(lambda *_: self.versions_windows.remove(vw) if vw in self.versions_windows else None)
        vw.open_for(product, a, b, periods=periods, query=w.model.query, focus=focus)
        vw.show()
        return vw

    def versions_for_signature(self, signature: str | None) -> VersionsWindow:
        """From the signature view: the versions side by side with this signature selected."""
        row = self.window.store.db.conn.execute(
            "SELECT product FROM crashes WHERE signature IS ? AND product IS NOT NULL "
            "GROUP BY product ORDER BY count(*) DESC LIMIT 1", [signature]).fetchone()
        return self.open_versions(row[0] if row else None, focus=(signature,))

    # ------------------------------------------------------------------ comparisons

    def _new_compare_window(self) -> CompareWindow:
        w = self.window
        cw = CompareWindow(w.store, w.jobs, profiles_dir=self.profiles_dir, parent=w)
        cw.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.compare_windows.append(cw)
        cw.destroyed.connect(lambda *_: self.compare_windows.remove(cw) if cw in self.compare_windows else None)
        cw.show()
        emit(self.compare_opened, cw)
        return cw

    def compare_selected_crashes(self) -> CompareWindow | None:
        ids = self.window.selected_crash_ids()
        if len(ids) != 2:
            self.window.status.showMessage("Select two crashes to compare", 3000)
            return None
        cw = self._new_compare_window()
        cw.view.compare_crashes(ids[0], ids[1])
        return cw

    def compare_signatures(self, left: str | None, right: str | None) -> CompareWindow:
        cw = self._new_compare_window()
        cw.view.compare_signatures(left, right)
        return cw

    def explain(self, crash_id: str, profile: str | None = None) -> CompareWindow:
        if not profile:  # the profile that signed it, else the product -> profile rule everyone follows
            from crashdesk.config.signature_profiles import load_choice

            try:
                row = self.window.store.get(crash_id) or {}
                profile = row.get("signature_profile") or load_choice(self.data_dir).for_product(row.get("product") or "")
            except Exception:  # noqa: BLE001 - an unreadable table or crash: fall back to the built-in rule
                profile = "generic"
        cw = self._new_compare_window()
        cw.view.explain(crash_id, profile)
        return cw

    def explain_current_crash(self) -> CompareWindow | None:
        crash_id = self.window.current_crash_id()
        return self.explain(crash_id) if crash_id else None

    def _close_compare_windows(self) -> None:
        for cw in list(self.compare_windows):
            cw.close()
        for vw in list(self.versions_windows):
            vw.close()

    # ------------------------------------------------------------------ settings

    def open_settings(self) -> Any:
        from crashdesk.ui.dialogs.settings import SettingsDialog

        w = self.window
        dlg = SettingsDialog(w.settings, profiles_dir=self.profiles_dir, data_dir=self.data_dir, jobs=w.jobs,
                             parent=w)
        dlg.saved.connect(self._on_settings_saved)
        dlg.setModal(True)
        dlg.show()
        self.settings_dialog = dlg
        return dlg

    def _on_settings_saved(self) -> None:
        from crashdesk.ui.sources import SourceMap

        w = self.window
        w.sources.mappings = SourceMap.from_settings(w.settings).mappings
        w.reconfigure_processing()  # new symbol sources: used from the next crash processed on
        w._load_current_detail()
        self.workbench.refresh_profiles()


def install(window: Any) -> DecisionViews:
    """Add the issue-10 views to ``window`` (a ``MainWindow``); returns what was added."""
    from crashdesk.ui.qt import QSettings
    from crashdesk.ui.theme import SETTINGS_KEY, apply_theme

    views = DecisionViews(window)
    from crashdesk.ui.gc_guard import GuiThreadGarbageCollector

    views.gc_guard = GuiThreadGarbageCollector(views)
    views.gc_guard.start()
    window.closed.connect(views.gc_guard.stop)
    # the collector is found in the background after the window exists (app.py hands the result to
    # window.set_collector): pass it on to the collector panel too. Weak references only, so the window does
    # not end up in a reference cycle (see DecisionViews.__init__).
    window_ref, views_ref = weakref.ref(window), weakref.ref(views)
    original = type(window).set_collector

    def set_collector(state: Any) -> None:
        w, v = window_ref(), views_ref()
        if w is not None:
            original(w, state)
        if v is not None:
            v.set_collector(state)

    window.set_collector = set_collector
    settings: QSettings = window.settings
    theme = settings.value(SETTINGS_KEY)
    if theme:
        apply_theme(str(theme))
    return views
