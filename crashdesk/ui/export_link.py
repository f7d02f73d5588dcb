"""Where the app offers exports: File → Export… (the selected crashes, else every crash of the current
search), the crash list's context menu (the selection), and the signatures view's context menu (every crash
of the selected signatures within the current search). Each opens :class:`ExportDialog`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crashdesk.ui.qt import QAction, QKeySequence, Qt


class ExportLink:
    def __init__(self, window: Any) -> None:
        import weakref

        self._window_ref = weakref.ref(window)
        self.dialog: Any = None
        self.action = QAction("&Export…", window, shortcut=QKeySequence("Ctrl+Shift+S"))
        self.action.setObjectName("export_action")
        self.action.triggered.connect(self.export_from_menu)
        self.selection_action = QAction("Export selected crashes…", window)
        self.selection_action.triggered.connect(self.export_selection)
        file_menu = window.menuBar().actions()[0].menu()
        actions = file_menu.actions()
        before = next((a for a in actions if a.isSeparator()), None)
        file_menu.insertAction(before, self.action) if before is not None else file_menu.addAction(self.action)
        window.addAction(self.action)
        window.export_action = self.selection_action   # the crash list's context menu adds it
        decision = getattr(window, "decision", None)
        signatures = getattr(decision, "signatures", None)
        if signatures is not None:
            self.signature_action = QAction("Export this signature's crashes…", signatures.table)
            self.signature_action.triggered.connect(self.export_signatures)
            signatures.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            signatures.table.addAction(self.signature_action)

    @property
    def window(self) -> Any:
        return self._window_ref()

    def _symbol_paths(self) -> list[Path]:
        w = self.window
        folders, _urls = w.symbol_sources()
        cache = Path(w.store.db.path).parent / "cache" if w.cache_dir is None else Path(w.cache_dir)
        return [*(Path(f) for f in folders), cache / "symbols"]

    def open(self, *, crash_ids: list[str] | None = None, query: str | list[str] | None = None,
             what: str = "") -> Any:
        from crashdesk.ui.dialogs.export_dialog import ExportDialog

        w = self.window
        dialog = ExportDialog(w.store, w.jobs, Path(w.store.db.path).parent, crash_ids=crash_ids, query=query,
                              what=what, symbol_paths=self._symbol_paths(), parent=w)
        dialog.exported.connect(lambda dest: w.status.showMessage(f"Exported to {dest}", 5000))
        self.dialog = dialog
        dialog.show()
        return dialog

    def export_from_menu(self) -> Any:
        ids = self.window.selected_crash_ids()
        if ids:
            return self.export_selection()
        query = self.window.model.query or ""
        return self.open(query=query, what=f"Every crash matching “{query}”" if query else "Every crash")

    def export_selection(self) -> Any:
        ids = self.window.selected_crash_ids()
        return self.open(crash_ids=ids, what=f"{len(ids)} selected crash(es)")

    def export_signatures(self) -> Any:
        view = self.window.decision.signatures
        sigs = view.selected_signatures()
        if not sigs:
            return None
        what = (f"Crashes with signature “{sigs[0] or '(none)'}”" if len(sigs) == 1
                else f"Crashes of {len(sigs)} signatures")
        return self.open(query=[view.query_for(s) for s in sigs], what=what)


def install(window: Any) -> ExportLink:
    return ExportLink(window)
