"""The modules a crash loaded, with where their symbols stand."""

from __future__ import annotations

import enum
from typing import Any

from crashdesk.ui.qt import QAbstractTableModel, QColor, QModelIndex, Qt


class ModuleCol(enum.IntEnum):
    FILENAME = 0
    VERSION = 1
    BASE = 2
    END = 3
    DEBUG_FILE = 4
    DEBUG_ID = 5
    CODE_ID = 6
    SYMBOLS = 7


HEADERS = ("Module", "Version", "Base address", "End address", "Debug file", "Debug ID", "Code ID", "Symbols")
STATUS_COLOURS = {"loaded": "#1e7b34", "missing": "#b3261e", "corrupt": "#b3261e", "error": "#b3261e",
                  "not needed": "#777777"}
STATUS_TIPS = {
    "loaded": "Symbols were found and used.",
    "missing": "No symbol file was found for this module on any configured source.",
    "corrupt": "A symbol file was found but could not be read.",
    "error": "Fetching the symbol file failed.",
    "not needed": "No frame of the crash fell in this module, so its symbols were not looked up.",
}
NO_LINES = "loaded, no lines"  # shown for symbols from a symbol table alone (a stripped library)
NO_LINES_COLOUR = "#8a5a00"
NO_LINES_TIP = ("Symbols came from a symbol table alone (a stripped library): frames have names but no source "
                "lines. The symbol lookup below says where its debug information can come from.")


def modules_without_symbols_on_stack(processed: dict[str, Any] | None) -> set[str]:
    """Names of modules that frames of the crashing thread fall in but had no symbols for."""
    proc = processed or {}
    thread = proc.get("crashing_thread") if isinstance(proc.get("crashing_thread"), dict) else None
    if thread is None:
        idx = (proc.get("crash_info") or {}).get("crashing_thread")
        threads = proc.get("threads") or []
        thread = threads[idx] if isinstance(idx, int) and 0 <= idx < len(threads) else {}
    return {f.get("module") for f in (thread or {}).get("frames") or []
            if isinstance(f, dict) and f.get("missing_symbols") and f.get("module")}


def merge_modules(processed: dict[str, Any] | None, stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Join the processed crash's module list (addresses, flags) with the store's symbol status and note.

    A module the crashing thread's frames fall in without symbols counts as ``missing`` even when the
    stackwalker was not asked to look symbols up (no symbol source configured)."""
    from crashdesk.symbols.explain import lookup_records

    on_stack_missing = modules_without_symbols_on_stack(processed)
    records = lookup_records(processed)
    by_key = {((m.get("debug_file") or ""), (m.get("debug_id") or ""), m.get("filename")): m for m in stored or []}
    out: list[dict[str, Any]] = []
    source = (processed or {}).get("modules") or []
    if not source:
        source = stored or []
    for module in source:
        if not isinstance(module, dict):
            continue
        key = (module.get("debug_file") or "", module.get("debug_id") or "", module.get("filename"))
        kept = by_key.get(key, {})
        status = kept.get("symbol_status")
        if not status:
            if module.get("corrupt_symbols"):
                status = "corrupt"
            elif module.get("loaded_symbols"):
                status = "loaded"
            elif module.get("missing_symbols") or module.get("filename") in on_stack_missing:
                status = "missing"
            else:
                status = "not needed"
        record = records.get((key[0], key[1].upper()), {})
        out.append({**module, "symbol_status": status, "symbol_note": kept.get("symbol_note"),
                    "source_lines": record.get("source_lines") if status == "loaded" else None})
    return out


class ModulesModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._modules: list[dict[str, Any]] = []

    def set_modules(self, modules: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._modules = list(modules)
        self.endResetModel()

    def modules(self) -> list[dict[str, Any]]:
        return list(self._modules)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._modules)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(ModuleCol)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m, col = self._modules[index.row()], ModuleCol(index.column())
        status = m.get("symbol_status") or ""
        no_lines = status == "loaded" and m.get("source_lines") is False
        if role == Qt.ItemDataRole.DisplayRole:
            value = {
                ModuleCol.FILENAME: m.get("filename"), ModuleCol.VERSION: m.get("version"),
                ModuleCol.BASE: m.get("base_addr"), ModuleCol.END: m.get("end_addr"),
                ModuleCol.DEBUG_FILE: m.get("debug_file"), ModuleCol.DEBUG_ID: m.get("debug_id"),
                ModuleCol.CODE_ID: m.get("code_id"), ModuleCol.SYMBOLS: NO_LINES if no_lines else status,
            }[col]
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.ForegroundRole and col is ModuleCol.SYMBOLS:
            return QColor(NO_LINES_COLOUR if no_lines else STATUS_COLOURS.get(status, "#000000"))
        if role == Qt.ItemDataRole.ToolTipRole and col is ModuleCol.SYMBOLS:
            note = m.get("symbol_note")
            tip = NO_LINES_TIP if no_lines else STATUS_TIPS.get(status, status)
            return f"{tip}\n{note}" if note else tip
        if role == Qt.ItemDataRole.ToolTipRole and col is ModuleCol.FILENAME and m.get("symbol_url"):
            return f"symbols from {m.get('symbol_url')}"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None
